import type { DeadLetterFunction, DeadLetterReason } from '../processor/record-handler-types.js';
import type { KinesisClientRecord } from '../processor/types.js';
import { backoffDelay } from '../util/backoff.js';
import type { Clock } from '../util/clock.js';
import type { Logger } from '../util/logger.js';
import type { ProcessingEventSink } from './processing-events.js';

export interface FailurePolicy {
  /** `Infinity`: retry forever. */
  maxAttempts: number;
  maxRecordAgeMillis: number | undefined;
  deadLetter: DeadLetterFunction | undefined;
  retryBaseMillis: number;
  retryMaxMillis: number;
}

export interface RunOptions {
  /** What is dead-lettered after `maxAttempts`. @defaultValue all the records */
  failedRecords?: () => readonly KinesisClientRecord[];
  /** The first try's number, when earlier tries already failed (a partial batch failure). @defaultValue 1 */
  firstAttempt?: number;
  /** The error of those earlier tries. */
  previousError?: unknown;
  /**
   * Try number `firstAttempt` was already made by the caller and failed with `error`: handle that failure (retry after
   * a backoff, or dead-letter) without trying it again first.
   */
  failed?: { error: unknown };
}

export type PipelineOutcome = 'done' | 'dead-lettered' | 'aborted';

export interface FailurePipelineDeps {
  policy: FailurePolicy;
  shardId: string;
  streamName: string;
  /** Waits between tries. */
  clock: Clock;
  /** Wall-clock milliseconds, compared with `approximateArrivalTimestamp` for the age limit. */
  wallClock: () => number;
  events: ProcessingEventSink;
  logger: Logger;
  random?: () => number;
}

/**
 * Retries, age limit and dead letters for one record or one batch: `call(attempt)` is tried until it succeeds;
 * after `maxAttempts` tries (or when the oldest record is older than `maxRecordAgeMillis`) every record goes to the
 * dead-letter destination and the unit counts as done. Without a destination it is retried forever. Resolves
 * `'done'` or `'dead-lettered'`, or `'aborted'` when `signal` aborted first (lease lost, shutdown timed out: nothing
 * counts as done).
 */
export class FailurePipeline {
  constructor(private readonly d: FailurePipelineDeps) {}

  /**
   * Whether the first try must go through {@link run} (an age limit is set). When it is false a caller may make the
   * first try itself and come here only when it failed ({@link RunOptions.failed}): the common case, a record that
   * succeeds at once, then costs no more than the call.
   */
  get checksBeforeFirstTry(): boolean {
    return this.d.policy.deadLetter !== undefined && this.d.policy.maxRecordAgeMillis !== undefined;
  }

  async run(
    records: readonly KinesisClientRecord[],
    call: (attempt: number) => Promise<unknown>,
    signal: AbortSignal,
    options: RunOptions = {},
  ): Promise<PipelineOutcome> {
    const { policy } = this.d;
    const failedRecords = options.failedRecords ?? (() => records);
    let lastError: unknown = options.previousError;
    let failed = options.failed !== undefined;
    if (failed) lastError = options.failed!.error;
    for (let attempt = options.firstAttempt ?? 1; ; attempt++) {
      if (!failed) {
        if (signal.aborted) return 'aborted';
        const age = this.ageOf(records);
        if (policy.deadLetter !== undefined && policy.maxRecordAgeMillis !== undefined && age > policy.maxRecordAgeMillis) {
          for (const r of records) {
            this.d.events.recordExpired({ shardId: this.d.shardId, streamName: this.d.streamName, sequenceNumber: r.sequenceNumber, subSequenceNumber: r.subSequenceNumber, ageMillis: age });
          }
          return (await this.deadLetter(records, lastError, attempt - 1, 'expired', signal)) ? 'dead-lettered' : 'aborted';
        }
        if (policy.deadLetter !== undefined && attempt > policy.maxAttempts) {
          return (await this.deadLetter(failedRecords(), lastError, attempt - 1, 'maxAttempts', signal)) ? 'dead-lettered' : 'aborted';
        }
        try {
          await call(attempt);
          return 'done';
        } catch (error) {
          lastError = error;
        }
      }
      failed = false;
      const error = lastError;
      if (signal.aborted) return 'aborted';
      if (policy.deadLetter !== undefined && attempt >= policy.maxAttempts) {
        return (await this.deadLetter(failedRecords(), error, attempt, 'maxAttempts', signal)) ? 'dead-lettered' : 'aborted';
      }
      const delayMillis = backoffDelay(attempt - 1, { baseMillis: policy.retryBaseMillis, maxMillis: policy.retryMaxMillis }, this.d.random);
      const first = records[0];
      this.d.events.recordRetried({
        shardId: this.d.shardId,
        streamName: this.d.streamName,
        sequenceNumber: first?.sequenceNumber ?? '',
        subSequenceNumber: first?.subSequenceNumber ?? 0,
        records: records.length,
        attempt,
        delayMillis,
        error,
      });
      this.d.logger.warn({ err: error, sequenceNumber: first?.sequenceNumber, records: records.length, attempt, delayMillis }, 'record processing failed; retrying');
      if (!(await this.sleep(delayMillis, signal))) return 'aborted';
    }
  }

  /** Hands each record to the destination, retrying a failing destination with backoff until it works or `signal` aborts. */
  private async deadLetter(records: readonly KinesisClientRecord[], error: unknown, attempts: number, reason: DeadLetterReason, signal: AbortSignal): Promise<boolean> {
    const destination = this.d.policy.deadLetter!;
    const info = { shardId: this.d.shardId, streamName: this.d.streamName, attempts, reason };
    for (const record of records) {
      for (let tries = 0; ; tries++) {
        if (signal.aborted) return false;
        try {
          await destination(record, error, info);
          break;
        } catch (sinkError) {
          if (signal.aborted) return false;
          const delayMillis = backoffDelay(tries, { baseMillis: this.d.policy.retryBaseMillis, maxMillis: this.d.policy.retryMaxMillis }, this.d.random);
          this.d.logger.warn({ err: sinkError, sequenceNumber: record.sequenceNumber, tries, delayMillis }, 'dead-letter destination failed; retrying');
          if (!(await this.sleep(delayMillis, signal))) return false;
        }
      }
      this.d.events.recordDeadLettered({
        shardId: this.d.shardId,
        streamName: this.d.streamName,
        sequenceNumber: record.sequenceNumber,
        subSequenceNumber: record.subSequenceNumber,
        partitionKey: record.partitionKey,
        attempts,
        reason,
        error,
      });
    }
    return true;
  }

  private ageOf(records: readonly KinesisClientRecord[]): number {
    let oldest = Number.POSITIVE_INFINITY;
    for (const r of records) oldest = Math.min(oldest, r.approximateArrivalTimestamp.getTime());
    return oldest === Number.POSITIVE_INFINITY ? 0 : this.d.wallClock() - oldest;
  }

  private async sleep(ms: number, signal: AbortSignal): Promise<boolean> {
    try {
      await this.d.clock.sleep(ms, signal);
      return true;
    } catch {
      return false;
    }
  }
}
