import type { KinesisApi } from '../aws/kinesis-api.js';
import type { GetRecordsResult, HashKeyRange, IteratorPosition, KinesisRecord, StreamRef } from '../aws/kinesis-types.js';
import type { ExtendedSequenceNumber } from '../checkpoint/extended-sequence-number.js';
import { ExpiredIteratorError, IllegalArgumentError, InvalidStateError, ResourceNotFoundError } from '../errors.js';
import { backoffDelay, type BackoffOptions } from '../util/backoff.js';
import type { Clock } from '../util/clock.js';
import type { Logger } from '../util/logger.js';
import { isRetriable } from '../util/retry.js';
import { payloadBytes, toChildShardInfo, toClientRecords, type RecordsBatch } from './records-batch.js';
import { filterAfterCheckpoint, startingPosition, type StartingPosition } from './starting-position.js';
import type { DeaggregationOptions } from './kpl/deaggregate.js';

/** The two Kinesis calls polling needs; `KinesisApi` fits, and so does a small fake in tests. */
export type PollingKinesisApi = Pick<KinesisApi, 'getShardIterator' | 'getRecords'>;

/** What one successful GetRecords brought, for metrics. Counts are as fetched (before checkpoint filtering). */
export interface FetchInfo {
  durationMillis: number;
  records: number;
  bytes: number;
  millisBehindLatest?: number;
  /** KPL aggregates in the batch that could not be decoded (each delivered as one plain record); absent when 0. */
  malformedAggregates?: number;
  /** KPL sub-records dropped as outside the shard's hash range (`filterOffRangeSubRecords`); absent when 0. */
  offRangeSubRecordsDropped?: number;
}

export interface PollingFetcherOptions {
  kinesis: PollingKinesisApi;
  stream: StreamRef;
  shardId: string;
  /** The lease's checkpoint: where reading starts (see `startingPosition`). */
  checkpoint: ExtendedSequenceNumber;
  /** Needed when `checkpoint` is `AT_TIMESTAMP`. */
  initialTimestamp?: Date;
  /** `Limit` of each GetRecords (1…10 000). */
  maxRecords: number;
  /** Pause between GetRecords calls once caught up with the shard's tip. */
  idleTimeBetweenReadsMillis: number;
  /** Batches fetched ahead of the consumer; 0 = fetch only while the consumer waits in `next()`. */
  maxPrefetchBatches: number;
  /** Payload bytes fetched ahead of the consumer; a fetch into an empty queue is always allowed. */
  maxPrefetchBytes: number;
  clock: Clock;
  logger: Logger;
  /** For the backoff jitter (tests). */
  random?: () => number;
  onFetch?: (info: FetchInfo) => void;
  /** The shard's hash-key range (from its lease); used by `filterOffRangeSubRecords`. */
  hashKeyRange?: HashKeyRange | undefined;
  /** Drop KPL sub-records whose hash key is outside `hashKeyRange` (one by one, never the whole aggregate). */
  filterOffRangeSubRecords?: boolean | undefined;
}

/** Backoff after failed calls: full jitter, 100 ms doubling up to 10 s. */
export const FETCH_BACKOFF: BackoffOptions = { baseMillis: 100, maxMillis: 10_000 };
/** Retriable failures in a row are logged at warn every this many (debug in between). */
const LOG_EVERY_FAILURES = 3;

/**
 * Reads one shard with GetRecords, ahead of its consumer, into a bounded queue (Java KCL's
 * `PrefetchRecordsPublisher` + `KinesisDataFetcher`).
 *
 * - The background loop stops fetching while `maxPrefetchBatches` batches or `maxPrefetchBytes` bytes wait,
 *   so a slow processor holds memory flat; it resumes as `next()` takes batches.
 * - It sleeps `idleTimeBetweenReadsMillis` (less the call's duration) only when caught up: an empty answer, or
 *   `millisBehindLatest === 0` on a batch smaller than `maxRecords` (a full batch means more is waiting, whatever
 *   the lag says). Otherwise it fetches again at once.
 * - Expired iterator → a new one `AFTER_SEQUENCE_NUMBER` of the last record fetched (or the starting position if
 *   none was): no loss, no duplicates. Throttling, network and other errors → capped exponential backoff with full
 *   jitter, forever while running (unexpected non-retriable errors are logged at error and also re-fetch the
 *   iterator). `ResourceNotFoundError` → shard end (the shard is past retention or the stream is gone).
 * - No next iterator → the batch is the shard's last (`isAtShardEnd`, with `childShards`) and the loop ends.
 * - Empty batches are delivered (they carry `millisBehindLatest`), but an empty batch still waiting in the queue
 *   absorbs the next empty one (its lag is refreshed) instead of queueing another.
 */
export class PollingFetcher {
  private readonly kinesis: PollingKinesisApi;
  private readonly stream: StreamRef;
  private readonly shardId: string;
  private readonly maxRecords: number;
  private readonly idleMillis: number;
  private readonly maxPrefetchBatches: number;
  private readonly maxPrefetchBytes: number;
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly random: (() => number) | undefined;
  private readonly onFetch: ((info: FetchInfo) => void) | undefined;
  private readonly start0: StartingPosition;
  private readonly deaggregation: DeaggregationOptions;
  /** Per GetRecords result, for `FetchInfo`. */
  private malformedAggregates = 0;
  private offRangeDropped = 0;

  private readonly queue: RecordsBatch[] = [];
  private bytes = 0;
  private state: 'new' | 'running' | 'ended' = 'new';
  /** Why `next()` fails once the queue is drained after the loop ended. */
  private endReason: unknown;
  private controller: AbortController | undefined;
  private loop: Promise<void> | undefined;
  private consumersWaiting = 0;
  private readonly batchAdded = new Notifier();
  private readonly roomMade = new Notifier();
  /** Sequence number of the last Kinesis record received; where an expired iterator resumes after. */
  private lastFetched: string | undefined;
  /** Drop records at or below this; cleared once a record above it was seen. */
  private filter: ExtendedSequenceNumber | undefined;

  constructor(options: PollingFetcherOptions) {
    if (!Number.isInteger(options.maxRecords) || options.maxRecords < 1 || options.maxRecords > 10_000) {
      throw new IllegalArgumentError(`maxRecords must be an integer in 1..10000, got ${options.maxRecords}`);
    }
    if (!Number.isInteger(options.maxPrefetchBatches) || options.maxPrefetchBatches < 0) {
      throw new IllegalArgumentError(`maxPrefetchBatches must be a non-negative integer, got ${options.maxPrefetchBatches}`);
    }
    if (!(options.maxPrefetchBytes > 0)) {
      throw new IllegalArgumentError(`maxPrefetchBytes must be positive, got ${options.maxPrefetchBytes}`);
    }
    if (!(options.idleTimeBetweenReadsMillis >= 0)) {
      throw new IllegalArgumentError(`idleTimeBetweenReadsMillis must be >= 0, got ${options.idleTimeBetweenReadsMillis}`);
    }
    this.kinesis = options.kinesis;
    this.stream = options.stream;
    this.shardId = options.shardId;
    this.maxRecords = options.maxRecords;
    this.idleMillis = options.idleTimeBetweenReadsMillis;
    this.maxPrefetchBatches = options.maxPrefetchBatches;
    this.maxPrefetchBytes = options.maxPrefetchBytes;
    this.clock = options.clock;
    this.log = options.logger.child({ shardId: options.shardId });
    this.random = options.random;
    this.onFetch = options.onFetch;
    this.start0 = startingPosition(options.checkpoint, options.initialTimestamp);
    this.filter = this.start0.filterAtOrBelow;
    if (options.filterOffRangeSubRecords === true && options.hashKeyRange === undefined) {
      this.log.warn({}, 'filterOffRangeSubRecords is on but the lease has no hash-key range: KPL sub-records are not filtered');
    }
    this.deaggregation = {
      hashKeyRange: options.hashKeyRange,
      filterOffRangeSubRecords: options.filterOffRangeSubRecords,
      onMalformed: (record: KinesisRecord, reason: string) => {
        this.malformedAggregates++;
        this.log.warn({ sequenceNumber: record.sequenceNumber, reason }, 'undecodable KPL aggregate: delivered as one plain record');
      },
      onFiltered: (record: KinesisRecord, dropped: number) => {
        this.offRangeDropped += dropped;
        this.log.debug({ sequenceNumber: record.sequenceNumber, dropped }, 'dropped KPL sub-records outside the shard hash range');
      },
    };
  }

  /** Batches fetched and not yet taken by `next()`. */
  get queuedBatches(): number {
    return this.queue.length;
  }

  /** Payload bytes of the batches fetched and not yet taken. */
  get queuedBytes(): number {
    return this.bytes;
  }

  /** True once the background loop has ended (shard end, stop, or the start signal aborted). */
  get ended(): boolean {
    return this.state === 'ended';
  }

  /** Starts the background loop. Aborting `signal` stops it, like `stop()`. */
  start(signal: AbortSignal): void {
    if (this.state !== 'new') throw new InvalidStateError(`Fetcher for ${this.shardId} was already started`);
    this.state = 'running';
    const controller = new AbortController();
    this.controller = controller;
    const onAbort = (): void => controller.abort(signal.reason);
    if (signal.aborted) controller.abort(signal.reason);
    else signal.addEventListener('abort', onAbort, { once: true });
    this.loop = this.run(controller.signal)
      .catch((error: unknown) => {
        // run() handles every failure itself; this is a bug guard so the promise never rejects.
        this.log.error({ err: error }, 'polling loop failed unexpectedly');
        if (!controller.signal.aborted) controller.abort(error);
      })
      .finally(() => {
        signal.removeEventListener('abort', onAbort);
        this.finish(controller.signal);
      });
  }

  /**
   * The next batch, waiting for it if needed. Rejects with `signal`'s reason when it aborts first; with the start
   * signal's reason (or an `InvalidStateError` after `stop()`) once the fetcher stopped; with an
   * `InvalidStateError` after the shard-end batch was taken.
   */
  async next(signal: AbortSignal): Promise<RecordsBatch> {
    for (;;) {
      signal.throwIfAborted();
      const batch = this.queue.shift();
      if (batch !== undefined) {
        this.bytes -= batch.byteSize;
        this.roomMade.notify();
        return batch;
      }
      if (this.state === 'ended') throw this.endReason;
      if (this.state === 'new') throw new InvalidStateError(`Fetcher for ${this.shardId} was not started`);
      this.consumersWaiting++;
      this.roomMade.notify(); // with maxPrefetchBatches 0 a waiting consumer is what lets the loop fetch
      try {
        await this.batchAdded.wait(signal);
      } finally {
        this.consumersWaiting--;
      }
    }
  }

  /** Stops the background loop and waits for it: no call, timer or promise of the fetcher is left behind. */
  async stop(): Promise<void> {
    if (this.state === 'new') {
      this.state = 'ended';
      this.endReason = new InvalidStateError(`Fetcher for ${this.shardId} was stopped`);
      return;
    }
    if (this.controller !== undefined && !this.controller.signal.aborted) {
      this.controller.abort(new InvalidStateError(`Fetcher for ${this.shardId} was stopped`));
    }
    await this.loop;
  }

  private finish(signal: AbortSignal): void {
    this.state = 'ended';
    if (signal.aborted) {
      // Stopped: nobody will process what was fetched ahead; let it go.
      this.endReason = signal.reason;
      this.queue.length = 0;
      this.bytes = 0;
    } else {
      this.endReason = new InvalidStateError(`Shard ${this.shardId} has ended: no batches follow the shard-end batch`);
    }
    this.batchAdded.notify();
  }

  private async run(signal: AbortSignal): Promise<void> {
    const start = this.start0.iterator;
    if (start === undefined) {
      this.log.debug({}, 'checkpoint is SHARD_END: nothing to read');
      this.enqueue({ records: [], isAtShardEnd: true, byteSize: 0 });
      return;
    }
    let iterator: string | undefined;
    let failures = 0; // consecutive failed calls, of any kind
    let expiredInARow = 0;
    while (!signal.aborted) {
      try {
        if (!(await this.waitForRoom(signal))) return;
        iterator ??= await this.kinesis.getShardIterator(this.stream, this.shardId, this.resumePosition(start), { signal });
        const started = this.clock.now();
        const result = await this.kinesis.getRecords(iterator, this.maxRecords, this.stream, { signal, shardId: this.shardId });
        const duration = this.clock.now() - started;
        failures = 0;
        expiredInARow = 0;
        iterator = result.nextShardIterator;
        this.accept(result, duration);
        if (iterator === undefined) {
          this.log.debug({ childShards: result.childShards?.map((c) => c.shardId) }, 'reached the end of the shard');
          return;
        }
        const caughtUp =
          result.records.length === 0 || (result.millisBehindLatest === 0 && result.records.length < this.maxRecords);
        if (caughtUp && !(await this.pause(this.idleMillis - duration, signal))) return;
      } catch (error) {
        if (signal.aborted) return;
        if (error instanceof ResourceNotFoundError) {
          this.log.warn({ err: error }, 'shard not found (expired past retention or deleted): treating it as ended');
          this.enqueue({ records: [], isAtShardEnd: true, byteSize: 0 });
          return;
        }
        failures++;
        if (error instanceof ExpiredIteratorError) {
          iterator = undefined;
          expiredInARow++;
          this.log.info({ after: this.lastFetched, expiredInARow }, 'shard iterator expired: getting a new one');
          if (expiredInARow === 1) continue; // at once; repeated expiry backs off below
        } else if (isRetriable(error)) {
          const fields = { err: error, consecutiveFailures: failures };
          if (failures % LOG_EVERY_FAILURES === 0) this.log.warn(fields, 'fetching records keeps failing; retrying with backoff');
          else this.log.debug(fields, 'fetching records failed; retrying with backoff');
        } else {
          // A surprising answer (bad request, unknown error...): never let it kill the consumer, but say so loudly.
          // The iterator may be what the service disliked: get a fresh one at the same place.
          iterator = undefined;
          const fields = { err: error, consecutiveFailures: failures };
          if (failures === 1 || failures % LOG_EVERY_FAILURES === 0) {
            this.log.error(fields, 'unexpected error fetching records; retrying with backoff');
          } else {
            this.log.debug(fields, 'unexpected error fetching records; retrying with backoff');
          }
        }
        if (!(await this.pause(backoffDelay(failures - 1, FETCH_BACKOFF, this.random), signal))) return;
      }
    }
  }

  /** Where a (new) iterator starts: after the last record received, else where reading began. */
  private resumePosition(start: IteratorPosition): IteratorPosition {
    return this.lastFetched === undefined ? start : { type: 'AFTER_SEQUENCE_NUMBER', sequenceNumber: this.lastFetched };
  }

  private accept(result: GetRecordsResult, durationMillis: number): void {
    const raw = result.records;
    const rawBytes = payloadBytes(raw);
    this.malformedAggregates = 0;
    this.offRangeDropped = 0;
    let records = toClientRecords(raw, this.deaggregation);
    let byteSize = rawBytes;
    if (this.filter !== undefined && records.length > 0) {
      const filtered = filterAfterCheckpoint(records, this.filter);
      if (filtered.done) this.filter = undefined;
      if (filtered.records !== records) {
        records = filtered.records;
        byteSize = payloadBytes(records);
      }
    }
    const batch: RecordsBatch = { records, isAtShardEnd: result.nextShardIterator === undefined, byteSize };
    if (result.millisBehindLatest !== undefined) batch.millisBehindLatest = result.millisBehindLatest;
    if (batch.isAtShardEnd && result.childShards !== undefined) batch.childShards = result.childShards.map(toChildShardInfo);
    this.enqueue(batch);
    // Only once the records are queued: an expired iterator resumes after them.
    const last = raw[raw.length - 1];
    if (last !== undefined) this.lastFetched = last.sequenceNumber;

    if (this.onFetch !== undefined) {
      const info: FetchInfo = { durationMillis, records: raw.length, bytes: rawBytes };
      if (result.millisBehindLatest !== undefined) info.millisBehindLatest = result.millisBehindLatest;
      if (this.malformedAggregates > 0) info.malformedAggregates = this.malformedAggregates;
      if (this.offRangeDropped > 0) info.offRangeSubRecordsDropped = this.offRangeDropped;
      try {
        this.onFetch(info);
      } catch (error) {
        this.log.error({ err: error }, 'onFetch listener threw; ignored');
      }
    }
  }

  private enqueue(batch: RecordsBatch): void {
    if (batch.records.length === 0 && !batch.isAtShardEnd) {
      const tail = this.queue[this.queue.length - 1];
      if (tail !== undefined && tail.records.length === 0 && !tail.isAtShardEnd) {
        // Still waiting: one empty batch is enough; refresh its lag instead of queueing another.
        if (batch.millisBehindLatest === undefined) delete tail.millisBehindLatest;
        else tail.millisBehindLatest = batch.millisBehindLatest;
        return;
      }
    }
    this.queue.push(batch);
    this.bytes += batch.byteSize;
    this.batchAdded.notify();
  }

  private hasRoom(): boolean {
    if (this.queue.length === 0) return this.maxPrefetchBatches > 0 || this.consumersWaiting > 0;
    return this.queue.length < this.maxPrefetchBatches && this.bytes < this.maxPrefetchBytes;
  }

  /** Waits until the queue has room; false when aborted first. */
  private async waitForRoom(signal: AbortSignal): Promise<boolean> {
    while (!this.hasRoom()) {
      try {
        await this.roomMade.wait(signal);
      } catch {
        return false;
      }
    }
    return !signal.aborted;
  }

  /** Sleeps through the clock; false when aborted first. */
  private async pause(ms: number, signal: AbortSignal): Promise<boolean> {
    try {
      await this.clock.sleep(Math.max(0, ms), signal);
      return true;
    } catch {
      return false;
    }
  }
}

/** Wakes every current waiter on `notify()`; waits end early (rejecting) when their signal aborts. */
class Notifier {
  private waiters = new Set<() => void>();

  notify(): void {
    if (this.waiters.size === 0) return;
    const waiters = this.waiters;
    this.waiters = new Set();
    for (const wake of waiters) wake();
  }

  wait(signal: AbortSignal): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      if (signal.aborted) {
        reject(abortReason(signal));
        return;
      }
      const wake = (): void => {
        signal.removeEventListener('abort', onAbort);
        resolve();
      };
      const onAbort = (): void => {
        this.waiters.delete(wake);
        reject(abortReason(signal));
      };
      this.waiters.add(wake);
      signal.addEventListener('abort', onAbort, { once: true });
    });
  }
}

/** The signal's reason (an `AbortError` when it was aborted without one). */
function abortReason(signal: AbortSignal): Error {
  // eslint-disable-next-line @typescript-eslint/no-unsafe-return -- a reason is whatever the aborter chose
  return signal.reason ?? new DOMException('This operation was aborted', 'AbortError');
}
