import type { KinesisRecord } from '../aws/kinesis-types.js';
import type { ChildShard } from '../shards/shard.js';
import type { HashKeyRange } from '../shards/hash-key-range.js';
import type { ExtendedSequenceNumber } from '../checkpoint/extended-sequence-number.js';
import { InvalidStateError } from '../errors.js';
import type { Clock } from '../util/clock.js';
import type { Logger } from '../util/logger.js';
import { Notifier } from '../util/notifier.js';
import type { DeaggregationOptions } from './kpl/deaggregate.js';
import { payloadBytes, toChildShardInfo, toClientRecords, type RecordsBatch } from './records-batch.js';
import { filterAfterCheckpoint, startingPosition, type StartingPosition } from './starting-position.js';

export interface BatchSourceOptions {
  shardId: string;
  /** The lease's checkpoint: where reading starts (see `startingPosition`). */
  checkpoint: ExtendedSequenceNumber;
  /** Needed when `checkpoint` is `AT_TIMESTAMP`. */
  initialTimestamp?: Date | undefined;
  /** The shard's hash-key range (from its lease); used by `filterOffRangeSubRecords`. */
  hashKeyRange?: HashKeyRange | undefined;
  filterOffRangeSubRecords?: boolean | undefined;
  clock: Clock;
  logger: Logger;
}

/**
 * What polling and fan-out share: a background loop (`run`) that fills a bounded queue of batches, which the shard
 * consumer drains with `next()`; `start` / `stop` / shard-end semantics; KPL deaggregation and the checkpoint filter
 * of raw records; and the room / pause helpers of the loop. Subclasses decide how records arrive and what "room"
 * means.
 */
export abstract class BatchSource {
  protected readonly shardId: string;
  protected readonly clock: Clock;
  protected readonly log: Logger;
  /** Where the first read starts, and the checkpoint filter that goes with it. */
  protected readonly start0: StartingPosition;
  /** Drop records at or below this; cleared once a record above it was seen. */
  protected filter: ExtendedSequenceNumber | undefined;
  /** KPL aggregates that could not be decoded / sub-records dropped off range, in the last `toBatch` call. */
  protected malformedAggregates = 0;
  protected offRangeDropped = 0;
  protected readonly queue: RecordsBatch[] = [];
  /** Consumers blocked in `next()`; lets a zero-prefetch source fetch exactly when asked. */
  protected consumersWaiting = 0;
  protected readonly roomMade = new Notifier();
  private readonly deaggregation: DeaggregationOptions;
  private bytes = 0;
  private state: 'new' | 'running' | 'ended' = 'new';
  /** Why `next()` fails once the queue is drained after the loop ended. */
  private endReason: unknown;
  private controller: AbortController | undefined;
  private loop: Promise<void> | undefined;
  private readonly batchAdded = new Notifier();

  constructor(
    /** "Fetcher" or "Subscriber", for messages. */
    private readonly kind: string,
    options: BatchSourceOptions,
  ) {
    this.shardId = options.shardId;
    this.clock = options.clock;
    this.log = options.logger.child({ shardId: options.shardId });
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

  /** The background loop: reads the shard and `enqueue`s batches until shard end or `signal` aborts. */
  protected abstract run(signal: AbortSignal): Promise<void>;

  /** Whether the loop may read another batch now. */
  protected abstract hasRoom(): boolean;

  /** Batches read and not yet taken by `next()`. */
  get queuedBatches(): number {
    return this.queue.length;
  }

  /** Payload bytes of the batches read and not yet taken. */
  get queuedBytes(): number {
    return this.bytes;
  }

  /** True once the background loop has ended (shard end, stop, or the start signal aborted). */
  get ended(): boolean {
    return this.state === 'ended';
  }

  /** Starts the background loop. Aborting `signal` stops it, like `stop()`. */
  start(signal: AbortSignal): void {
    if (this.state !== 'new') throw new InvalidStateError(`${this.kind} for ${this.shardId} was already started`);
    this.state = 'running';
    const controller = new AbortController();
    this.controller = controller;
    const onAbort = (): void => controller.abort(signal.reason);
    if (signal.aborted) controller.abort(signal.reason);
    else signal.addEventListener('abort', onAbort, { once: true });
    this.loop = this.run(controller.signal)
      .catch((error: unknown) => {
        // run() handles every failure itself; this is a bug guard so the promise never rejects.
        this.log.error({ err: error }, `${this.kind.toLowerCase()} loop failed unexpectedly`);
        if (!controller.signal.aborted) controller.abort(error);
      })
      .finally(() => {
        signal.removeEventListener('abort', onAbort);
        this.finish(controller.signal);
      });
  }

  /**
   * The next batch, waiting for it if needed. Rejects with `signal`'s reason when it aborts first; with the start
   * signal's reason (or an `InvalidStateError` after `stop()`) once the source stopped; with an
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
      if (this.state === 'new') throw new InvalidStateError(`${this.kind} for ${this.shardId} was not started`);
      this.consumersWaiting++;
      this.roomMade.notify(); // with no prefetch a waiting consumer is what lets the loop read
      try {
        await this.batchAdded.wait(signal);
      } finally {
        this.consumersWaiting--;
      }
    }
  }

  /** Stops the background loop and waits for it: no call, timer or promise of the source is left behind. */
  async stop(): Promise<void> {
    if (this.state === 'new') {
      this.state = 'ended';
      this.endReason = new InvalidStateError(`${this.kind} for ${this.shardId} was stopped`);
      return;
    }
    if (this.controller !== undefined && !this.controller.signal.aborted) {
      this.controller.abort(new InvalidStateError(`${this.kind} for ${this.shardId} was stopped`));
    }
    await this.loop;
  }

  private finish(signal: AbortSignal): void {
    this.state = 'ended';
    if (signal.aborted) {
      // Stopped: nobody will process what was read ahead; let it go.
      this.endReason = signal.reason;
      this.queue.length = 0;
      this.bytes = 0;
    } else {
      this.endReason = new InvalidStateError(`Shard ${this.shardId} has ended: no batches follow the shard-end batch`);
    }
    this.batchAdded.notify();
  }

  /**
   * Raw Kinesis records → the batch a processor sees: KPL deaggregation, then the records at or below the starting
   * checkpoint dropped. `byteSize` is the raw payload unless filtering dropped records (what is held in memory).
   */
  protected toBatch(
    raw: readonly KinesisRecord[],
    extra: { isAtShardEnd: boolean; millisBehindLatest?: number | undefined; childShards?: ChildShard[] | undefined },
  ): RecordsBatch {
    this.malformedAggregates = 0;
    this.offRangeDropped = 0;
    let records = toClientRecords(raw, this.deaggregation);
    let byteSize = payloadBytes(raw);
    if (this.filter !== undefined && records.length > 0) {
      const filtered = filterAfterCheckpoint(records, this.filter);
      if (filtered.done) this.filter = undefined;
      if (filtered.records !== records) {
        records = filtered.records;
        byteSize = payloadBytes(records);
      }
    }
    const batch: RecordsBatch = { records, isAtShardEnd: extra.isAtShardEnd, byteSize };
    if (extra.millisBehindLatest !== undefined) batch.millisBehindLatest = extra.millisBehindLatest;
    if (extra.isAtShardEnd && extra.childShards !== undefined) batch.childShards = extra.childShards.map(toChildShardInfo);
    return batch;
  }

  /** Queues a batch; a waiting empty batch absorbs the next empty one (its lag refreshed) instead of queueing more. */
  protected enqueue(batch: RecordsBatch): void {
    if (batch.records.length === 0 && !batch.isAtShardEnd) {
      const tail = this.queue[this.queue.length - 1];
      if (tail !== undefined && tail.records.length === 0 && !tail.isAtShardEnd) {
        if (batch.millisBehindLatest === undefined) delete tail.millisBehindLatest;
        else tail.millisBehindLatest = batch.millisBehindLatest;
        return;
      }
    }
    this.queue.push(batch);
    this.bytes += batch.byteSize;
    this.batchAdded.notify();
  }

  /** Waits until `hasRoom()`; false when aborted first. */
  protected async waitForRoom(signal: AbortSignal): Promise<boolean> {
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
  protected async pause(ms: number, signal: AbortSignal): Promise<boolean> {
    try {
      await this.clock.sleep(Math.max(0, ms), signal);
      return true;
    } catch {
      return false;
    }
  }
}
