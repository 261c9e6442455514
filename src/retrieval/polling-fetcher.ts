import type { KinesisApi } from '../aws/kinesis-api.js';
import type { GetRecordsResult, IteratorPosition, StreamRef } from '../aws/kinesis-types.js';
import { DependencyError, ExpiredIteratorError, ResourceNotFoundError } from '../errors.js';
import { backoffDelay, type BackoffOptions } from '../util/backoff.js';
import { isRetriable } from '../util/retry.js';
import { BatchSource, type BatchSourceOptions } from './batch-source.js';
import { payloadBytes } from './records-batch.js';
import type { ShardState } from './shard-state-cache.js';

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

export interface PollingFetcherOptions extends BatchSourceOptions {
  kinesis: PollingKinesisApi;
  stream: StreamRef;
  /** `Limit` of each GetRecords (1…10 000). */
  maxRecords: number;
  /** Pause between GetRecords calls once caught up with the shard's tip. */
  idleTimeBetweenReadsMillis: number;
  /** Batches fetched ahead of the consumer; 0 = fetch only while the consumer waits in `next()`. */
  maxPrefetchBatches: number;
  /** Payload bytes fetched ahead of the consumer; a fetch into an empty queue is always allowed. */
  maxPrefetchBytes: number;
  /** For the backoff jitter (tests). */
  random?: () => number;
  onFetch?: (info: FetchInfo) => void;
  /**
   * At most this many GetRecords calls per second (call starts at least `1000 / n` ms apart), however far behind
   * the shard is. Unset: no bound beyond `idleTimeBetweenReadsMillis` when caught up.
   */
  maxCallsPerSecond?: number | undefined;
  /**
   * The shard as a (cached) ListShards sees it. An answer with neither a next iterator nor child shards is the
   * shard's end only when this says the shard is closed; without it such an answer is always retried.
   */
  shardState?: ((shardId: string, signal: AbortSignal) => Promise<ShardState>) | undefined;
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
 * - No next iterator with child shards → the batch is the shard's last (`isAtShardEnd`, with `childShards`) and the
 *   loop ends. No next iterator and no child shards is the end only when `shardState` (ListShards) shows the shard
 *   closed (then with the listing's children); otherwise the answer is invalid (Java KCL's
 *   `DataRetrievalUtil.isValidResult`): its records are dropped, a warning logged, and the read retried after the
 *   last record delivered, with backoff. An open shard is never ended.
 * - GetRecords calls start at least `1000 / maxCallsPerSecond` ms apart, so a catching-up shard stays within the
 *   service's per-shard budget.
 * - Empty batches are delivered (they carry `millisBehindLatest`), but an empty batch still waiting in the queue
 *   absorbs the next empty one (its lag is refreshed) instead of queueing another.
 */
export class PollingFetcher extends BatchSource {
  private readonly kinesis: PollingKinesisApi;
  private readonly stream: StreamRef;
  private readonly maxRecords: number;
  private readonly idleMillis: number;
  private readonly maxPrefetchBatches: number;
  private readonly maxPrefetchBytes: number;
  private readonly random: (() => number) | undefined;
  private readonly onFetch: ((info: FetchInfo) => void) | undefined;
  /** Sequence number of the last Kinesis record received; where an expired iterator resumes after. */
  private lastFetched: string | undefined;
  private readonly minCallGapMillis: number;
  private readonly shardState: PollingFetcherOptions['shardState'];
  /** When the last GetRecords call started (clock time); the rate bound counts from it. */
  private lastCallAt = Number.NEGATIVE_INFINITY;

  /** The numeric options come validated from config/ (`retrieval.*`); they are not checked again here. */
  constructor(options: PollingFetcherOptions) {
    super('Fetcher', options);
    this.minCallGapMillis = options.maxCallsPerSecond === undefined ? 0 : 1000 / options.maxCallsPerSecond;
    this.shardState = options.shardState;
    this.kinesis = options.kinesis;
    this.stream = options.stream;
    this.maxRecords = options.maxRecords;
    this.idleMillis = options.idleTimeBetweenReadsMillis;
    this.maxPrefetchBatches = options.maxPrefetchBatches;
    this.maxPrefetchBytes = options.maxPrefetchBytes;
    this.random = options.random;
    this.onFetch = options.onFetch;
  }

  protected hasRoom(): boolean {
    if (this.queue.length === 0) return this.maxPrefetchBatches > 0 || this.consumersWaiting > 0;
    return this.queue.length < this.maxPrefetchBatches && this.queuedBytes < this.maxPrefetchBytes;
  }

  protected async run(signal: AbortSignal): Promise<void> {
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
        const gap = this.lastCallAt + this.minCallGapMillis - this.clock.now();
        if (gap > 0 && !(await this.pause(gap, signal))) return;
        const started = this.clock.now();
        this.lastCallAt = started;
        let result = await this.kinesis.getRecords(iterator, this.maxRecords, this.stream, { signal, shardId: this.shardId });
        const duration = this.clock.now() - started;
        if (result.nextShardIterator === undefined && !(result.childShards !== undefined && result.childShards.length > 0)) {
          const children = await this.closedShardChildren(signal);
          if (children === undefined) {
            // Not known to be closed: an invalid answer, never the end of an open shard. Read again after the last
            // record delivered, with a fresh iterator.
            if (signal.aborted) return;
            failures++;
            iterator = undefined;
            const invalid = new DependencyError(
              `Kinesis.GetRecords(${this.shardId}) answered without NextShardIterator or ChildShards for a shard not listed as closed`,
              { retriable: true },
            );
            this.log.warn({ err: invalid, after: this.lastFetched, consecutiveFailures: failures }, 'invalid GetRecords answer for an open shard: retrying with backoff');
            if (!(await this.pause(backoffDelay(failures - 1, FETCH_BACKOFF, this.random), signal))) return;
            continue;
          }
          result = { ...result, childShards: children };
        }
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

  /** The shard's children when the listing shows it closed; undefined when open, unlisted, unknown or the check failed. */
  private async closedShardChildren(signal: AbortSignal): Promise<GetRecordsResult['childShards'] | undefined> {
    if (this.shardState === undefined) return undefined;
    try {
      const state = await this.shardState(this.shardId, signal);
      return state.state === 'closed' ? state.children : undefined;
    } catch (error) {
      if (!signal.aborted) this.log.debug({ err: error }, 'could not list shards to confirm the shard end; retrying');
      return undefined;
    }
  }

  /** Where a (new) iterator starts: after the last record received, else where reading began. */
  private resumePosition(start: IteratorPosition): IteratorPosition {
    return this.lastFetched === undefined ? start : { type: 'AFTER_SEQUENCE_NUMBER', sequenceNumber: this.lastFetched };
  }

  private accept(result: GetRecordsResult, durationMillis: number): void {
    const raw = result.records;
    const rawBytes = payloadBytes(raw);
    this.enqueue(
      this.toBatch(raw, {
        isAtShardEnd: result.nextShardIterator === undefined,
        millisBehindLatest: result.millisBehindLatest,
        childShards: result.childShards,
      }),
    );
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
}
