import { ExtendedSequenceNumber as ESN } from '../checkpoint/extended-sequence-number.js';
import type { ResolvedProcessing } from '../config/resolve-processing.js';
import { ShutdownError } from '../errors.js';
import type { RecordHandler, RecordContext } from '../processor/record-handler-types.js';
import type {
  InitializationInput,
  KinesisClientRecord,
  LeaseLostInput,
  ProcessRecordsInput,
  RecordProcessorCheckpointer,
  ShardEndedInput,
  ShardRecordProcessor,
  ShutdownRequestedInput,
} from '../processor/types.js';
import type { Clock } from '../util/clock.js';
import type { Logger } from '../util/logger.js';
import { Notifier } from '../util/notifier.js';
import type { FailurePipeline, PipelineOutcome } from './failure-pipeline.js';
import { InFlightScheduler, type InFlightEntry } from './in-flight-scheduler.js';
import type { ProcessingEventSink } from './processing-events.js';

export interface RecordHandlerProcessorOptions {
  handler: RecordHandler;
  settings: ResolvedProcessing;
  pipeline: FailurePipeline;
  shardId: string;
  streamName: string;
  clock: Clock;
  logger: Logger;
  events: ProcessingEventSink;
  /** How long `shutdownRequested` lets records in flight finish (the graceful handoff timeout, minus a margin). */
  drainTimeoutMillis: number;
}

/**
 * Turns a `recordHandler` into a `ShardRecordProcessor`: `processRecords` hands the batch's records to an
 * {@link InFlightScheduler} and returns as soon as they are all accepted (it waits while the buffer is full, so the
 * shard's fetching pauses); records run up to `maxInFlight` at once, per-key FIFO; the low-water mark is checkpointed
 * every `checkpointIntervalMillis` (and every `checkpointEveryRecords`). Lease loss aborts the handlers' signal and
 * nothing more is checkpointed; `shutdownRequested` lets the records in flight finish (bounded) then checkpoints the
 * mark; `shardEnded` waits for every record, then checkpoints SHARD_END.
 */
export class RecordHandlerProcessor implements ShardRecordProcessor {
  private readonly scheduler: InFlightScheduler;
  /** The handlers' signal: lease lost, or a graceful stop ran out of time. */
  private readonly controller = new AbortController();
  /** Wakes `processRecords` when a full buffer has drained to its resume mark, and `drain` when it is empty. */
  private readonly changed = new Notifier();
  /** The context of every first try (one object for all records: they differ only from the second try on). */
  private readonly firstTry: RecordContext;
  private checkpointer: RecordProcessorCheckpointer | undefined;
  private checkpointedAt: ESN | undefined;
  private sinceCheckpoint = 0;
  private chain: Promise<void> = Promise.resolve();
  private tickerStarted = false;
  /** Lease lost or finished: no checkpoint is written any more. */
  private closed = false;

  constructor(private readonly o: RecordHandlerProcessorOptions) {
    const s = o.settings;
    this.scheduler = new InFlightScheduler({
      maxInFlight: s.maxInFlight,
      orderBy: s.orderBy,
      maxBufferedRecords: s.maxBufferedRecords,
      maxBufferedBytes: s.maxBufferedBytes,
    });
    this.firstTry = Object.freeze({ shardId: o.shardId, streamName: o.streamName, signal: this.controller.signal, attempt: 1, logger: o.logger });
  }

  /** Records accepted and not yet below the low-water mark (for tests and status). */
  get buffered(): number {
    return this.scheduler.buffered;
  }

  get inFlight(): number {
    return this.scheduler.inFlight;
  }

  initialize(input: InitializationInput): void {
    this.checkpointedAt = ESN.from(input.extendedSequenceNumber);
  }

  async processRecords(input: ProcessRecordsInput): Promise<void> {
    this.attach(input.checkpointer, input.signal);
    for (const record of input.records) {
      if (!this.scheduler.hasRoom()) {
        // Full: wait until it drained to its resume mark (not for every finished record: one wake per quarter of it).
        while (!this.scheduler.hasRoomToResume() && !this.closed) {
          try {
            await this.changed.wait(input.signal);
          } catch {
            return; // lease lost: leaseLost() follows
          }
        }
      }
      if (this.closed) return;
      this.scheduler.push(record);
      this.pump();
    }
  }

  leaseLost(_input?: LeaseLostInput): void {
    this.close();
  }

  async shutdownRequested(input: ShutdownRequestedInput): Promise<void> {
    this.checkpointer ??= input.checkpointer;
    if (this.closed) return;
    const drained = await this.drain(this.o.drainTimeoutMillis);
    if (this.controller.signal.aborted) return;
    if (!drained) {
      this.o.logger.warn({ inFlight: this.scheduler.inFlight, buffered: this.scheduler.buffered }, 'records still in flight at the end of the graceful stop; checkpointing the low-water mark');
    }
    await this.checkpointNow();
    this.close();
  }

  async shardEnded(input: ShardEndedInput): Promise<void> {
    this.checkpointer ??= input.checkpointer;
    if (!(await this.drain(Number.POSITIVE_INFINITY))) return; // lease lost while waiting
    await this.chain;
    // Every record finished: a checkpoint at the largest delivered position is SHARD_END.
    await input.checkpointer.checkpoint();
    this.o.events.checkpointed({ shardId: this.o.shardId, streamName: this.o.streamName, sequenceNumber: 'SHARD_END', subSequenceNumber: 0 });
    this.close();
  }

  private attach(checkpointer: RecordProcessorCheckpointer, signal: AbortSignal): void {
    this.checkpointer = checkpointer;
    if (this.tickerStarted) return;
    this.tickerStarted = true;
    if (signal.aborted) this.close();
    else signal.addEventListener('abort', () => this.close(), { once: true });
    void this.tick();
  }

  private close(): void {
    this.closed = true;
    if (!this.controller.signal.aborted) this.controller.abort(new ShutdownError(`processing of ${this.o.shardId} stopped`));
    this.changed.notify();
  }

  /** Starts every record the scheduler allows now. */
  private pump(): void {
    for (let entry = this.scheduler.next(); entry !== undefined; entry = this.scheduler.next()) void this.run(entry);
  }

  private async run(entry: InFlightEntry): Promise<void> {
    const { record } = entry;
    const signal = this.controller.signal;
    const { pipeline, handler } = this.o;
    try {
      let outcome: PipelineOutcome;
      if (pipeline.checksBeforeFirstTry) {
        outcome = await pipeline.run([record], this.tries(record), signal);
      } else {
        // The first try made here: a record that succeeds at once costs no pipeline (it runs for every record).
        try {
          if (signal.aborted) return;
          await handler(record, this.firstTry);
          outcome = 'done';
        } catch (error) {
          outcome = await pipeline.run([record], this.tries(record), signal, { failed: { error } });
        }
      }
      if (outcome === 'aborted') return; // stays unfinished: the mark never passes it
      const retired = this.scheduler.complete(entry);
      this.sinceCheckpoint += retired;
      if (this.scheduler.hasRoomToResume()) this.changed.notify();
      if (!this.closed) this.pump();
      const every = this.o.settings.checkpointEveryRecords;
      if (retired > 0 && every !== undefined && this.sinceCheckpoint >= every) void this.checkpointNow();
    } catch (error) {
      // Only a bug or a throwing event listener lands here; the record stays unfinished (never skipped).
      this.o.logger.error({ err: error, sequenceNumber: record.sequenceNumber }, 'record pipeline failed');
    }
  }

  /** The pipeline's tries of one record (made only when the pipeline is needed: not on the fast path). */
  private tries(record: KinesisClientRecord): (attempt: number) => Promise<void> {
    const { shardId, streamName, logger } = this.o;
    const signal = this.controller.signal;
    return async (attempt) => {
      await this.o.handler(record, attempt === 1 ? this.firstTry : Object.freeze({ shardId, streamName, signal, attempt, logger }));
    };
  }

  private async tick(): Promise<void> {
    const signal = this.controller.signal;
    while (!this.closed) {
      try {
        await this.o.clock.sleep(this.o.settings.checkpointIntervalMillis, signal);
      } catch {
        return;
      }
      await this.checkpointNow();
    }
  }

  /** Resolves true when every accepted record finished, false after `timeoutMillis` or when the lease is lost. */
  private async drain(timeoutMillis: number): Promise<boolean> {
    const deadline = this.o.clock.now() + timeoutMillis;
    const signal = this.controller.signal;
    while (!this.scheduler.idle) {
      if (signal.aborted) return false;
      const left = deadline - this.o.clock.now();
      if (left <= 0) return false;
      const timer = new AbortController();
      const woken = AbortSignal.any([signal, timer.signal]);
      const sleeping = Number.isFinite(left) ? this.o.clock.sleep(left, woken).then(() => timer.abort(), () => undefined) : undefined;
      await this.changed.wait(woken).catch(() => undefined);
      timer.abort();
      await sleeping;
    }
    return !signal.aborted;
  }

  /** Writes the low-water mark if it moved; serialized; never rejects. */
  private checkpointNow(): Promise<void> {
    this.chain = this.chain.then(() => this.writeMark());
    return this.chain;
  }

  private async writeMark(): Promise<void> {
    const mark = this.scheduler.lowWaterMark;
    const checkpointer = this.checkpointer;
    if (this.closed || mark === undefined || checkpointer === undefined) return;
    if (this.checkpointedAt !== undefined && mark.compareTo(this.checkpointedAt) <= 0) return;
    const retired = this.sinceCheckpoint;
    try {
      await checkpointer.checkpoint(mark.sequenceNumber, mark.subSequenceNumber);
      this.checkpointedAt = mark;
      this.sinceCheckpoint -= retired;
      this.o.events.checkpointed({ shardId: this.o.shardId, streamName: this.o.streamName, sequenceNumber: mark.sequenceNumber, subSequenceNumber: mark.subSequenceNumber });
    } catch (error) {
      // Retried at the next tick; a lost lease shows up as leaseLost.
      this.o.logger.warn({ err: error, checkpoint: mark.toString() }, 'checkpoint of the low-water mark failed');
    }
  }
}
