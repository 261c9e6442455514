import { IllegalArgumentError } from '../errors.js';
import type {
  KinesisClientRecord,
  ProcessRecordsInput,
  ProcessRecordsResult,
  RecordProcessorCheckpointer,
  ShardRecordProcessor,
} from '../processor/types.js';
import type { Logger } from '../util/logger.js';
import type { FailurePipeline } from './failure-pipeline.js';

/** The failure a `processRecords` reported for its first record (`failedRecord` without an `error`). */
export class RecordFailedError extends Error {
  constructor(readonly sequenceNumber: string, readonly subSequenceNumber: number) {
    super(`processRecords reported record ${sequenceNumber}/${subSequenceNumber} as failed`);
    this.name = 'RecordFailedError';
  }
}

/**
 * Wraps a batch processor (`processorFactory` with `processing`): a `processRecords` that returns
 * `{ failedRecord }` gets the records before it checkpointed and is called again from it; one that throws is called
 * again with the same records, or — with `bisectOnError` — with each half in turn until the failing record is
 * alone. Retries, `maxAttempts`, `maxRecordAgeMillis` and the dead-letter destination come from the
 * {@link FailurePipeline}; a dead-lettered record is checkpointed and delivery continues after it. The wrapper's
 * own `processRecords` resolves once every record of the batch succeeded or was dead-lettered (or the lease is lost).
 */
export class BatchFailureProcessor implements ShardRecordProcessor {
  readonly shutdownRequested: ShardRecordProcessor['shutdownRequested'];

  constructor(
    private readonly inner: ShardRecordProcessor,
    private readonly pipeline: FailurePipeline,
    private readonly bisect: boolean,
    private readonly logger: Logger,
  ) {
    this.shutdownRequested = inner.shutdownRequested?.bind(inner);
  }

  initialize: ShardRecordProcessor['initialize'] = (input) => this.inner.initialize(input);
  leaseLost: ShardRecordProcessor['leaseLost'] = (input) => this.inner.leaseLost(input);
  shardEnded: ShardRecordProcessor['shardEnded'] = (input) => this.inner.shardEnded(input);

  async processRecords(input: ProcessRecordsInput): Promise<void> {
    if (input.records.length === 0) {
      await this.inner.processRecords(input);
      return;
    }
    await this.deliver(input, input.records);
  }

  /** Delivers `records` (a tail or a bisected part of the batch). False when the lease was lost. */
  private async deliver(input: ProcessRecordsInput, records: readonly KinesisClientRecord[]): Promise<boolean> {
    let rest = records;
    let firstAttempt = 1;
    let previousError: unknown;
    while (rest.length > 0) {
      const part = rest;
      let next: readonly KinesisClientRecord[] = [];
      let nextFirstAttempt = 1;
      let split = false;
      let onlyFirst = firstAttempt > 1;
      const outcome = await this.pipeline.run(
        part,
        async () => {
          let result: void | ProcessRecordsResult;
          try {
            result = await this.inner.processRecords(this.inputFor(input, part));
          } catch (error) {
            if (this.bisect && part.length > 1) {
              split = true;
              return;
            }
            onlyFirst = false;
            throw error;
          }
          const index = failedIndex(part, result);
          if (index === undefined) return;
          if (index > 0) {
            // The failed record's try counts: the next round starts with its second.
            await input.checkpointer.checkpoint(part[index - 1]!);
            next = part.slice(index);
            nextFirstAttempt = 2;
            previousError = result?.error;
            return;
          }
          onlyFirst = true;
          throw asError(result?.error) ?? new RecordFailedError(part[0]!.sequenceNumber, part[0]!.subSequenceNumber);
        },
        input.signal,
        { failedRecords: () => (onlyFirst ? part.slice(0, 1) : part), firstAttempt, previousError },
      );
      if (outcome === 'aborted') return false;
      if (outcome === 'dead-lettered') {
        const passed = onlyFirst ? part.slice(0, 1) : part;
        await this.checkpointPast(input.checkpointer, passed[passed.length - 1]!);
        next = part.slice(passed.length);
      } else if (split) {
        const half = Math.ceil(part.length / 2);
        this.logger.warn({ records: part.length, first: part[0]!.sequenceNumber }, 'processRecords failed; bisecting the batch');
        if (!(await this.deliver(input, part.slice(0, half)))) return false;
        next = part.slice(half);
      }
      rest = next;
      firstAttempt = nextFirstAttempt;
      if (firstAttempt === 1) previousError = undefined;
    }
    return true;
  }

  /** A dead-lettered record counts as done: checkpoint it (a failure is retried by the next checkpoint). */
  private async checkpointPast(checkpointer: RecordProcessorCheckpointer, record: KinesisClientRecord): Promise<void> {
    try {
      await checkpointer.checkpoint(record);
    } catch (error) {
      this.logger.warn({ err: error, sequenceNumber: record.sequenceNumber }, 'checkpoint after a dead-lettered record failed');
    }
  }

  /** The input for a part of the batch: `checkpoint()` without a target means the part's last record. */
  private inputFor(input: ProcessRecordsInput, part: readonly KinesisClientRecord[]): ProcessRecordsInput {
    if (part === input.records) return input;
    const batchLast = input.records[input.records.length - 1]!;
    const last = part[part.length - 1]!;
    const isTail = last === batchLast;
    const checkpointer = isTail ? input.checkpointer : partCheckpointer(input.checkpointer, last);
    return { ...input, records: [...part], checkpointer, isAtShardEnd: input.isAtShardEnd && isTail, childShards: isTail ? input.childShards : undefined };
  }
}

/** A reported `error` as something throwable (an Error as it is; anything else wrapped). */
function asError(error: unknown): Error | undefined {
  if (error === undefined || error instanceof Error) return error;
  return new Error(typeof error === 'string' ? error : JSON.stringify(error) ?? 'unknown failure');
}

function failedIndex(part: readonly KinesisClientRecord[], result: void | ProcessRecordsResult): number | undefined {
  const failed = result?.failedRecord;
  if (failed === undefined) return undefined;
  const sub = failed.subSequenceNumber ?? 0;
  const index = part.findIndex((r) => r.sequenceNumber === failed.sequenceNumber && r.subSequenceNumber === sub);
  if (index < 0) {
    throw new IllegalArgumentError(`processRecords reported failedRecord ${failed.sequenceNumber}/${sub}, which is not in the batch it was given`);
  }
  return index;
}

/** A checkpointer whose no-target forms stop at `last` (the end of a bisected part, not of the whole batch). */
function partCheckpointer(inner: RecordProcessorCheckpointer, last: KinesisClientRecord): RecordProcessorCheckpointer {
  return {
    get lastCheckpoint() {
      return inner.lastCheckpoint;
    },
    checkpoint: ((arg?: KinesisClientRecord | string, sub?: number) =>
      arg === undefined ? inner.checkpoint(last) : typeof arg === 'string' ? inner.checkpoint(arg, sub) : inner.checkpoint(arg)),
    prepareCheckpoint: ((a?: Uint8Array | KinesisClientRecord | string, b?: Uint8Array | number, c?: Uint8Array) => {
      if (a === undefined || a instanceof Uint8Array) return inner.prepareCheckpoint(last, a);
      if (typeof a === 'string') return typeof b === 'number' || b === undefined ? inner.prepareCheckpoint(a, b, c) : inner.prepareCheckpoint(a, undefined, b);
      return inner.prepareCheckpoint(a, b instanceof Uint8Array ? b : undefined);
    }),
  };
}
