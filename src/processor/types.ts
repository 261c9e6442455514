import type { ChildShard } from '../shards/shard.js';

/**
 * The processor contract (SPEC §1): what applications implement and what the library hands them.
 * Types only. Every method may be async; the library awaits each call before the next one for the
 * same shard, so a processor never sees two calls for one shard at once.
 */

/** One user record. For KPL aggregates each sub-record is its own `KinesisClientRecord`. */
export interface KinesisClientRecord {
  sequenceNumber: string;
  /** Index inside a KPL aggregate; 0 for ordinary records. */
  subSequenceNumber: number;
  partitionKey: string;
  explicitHashKey?: string | undefined;
  /** Payload bytes, as received (no base64). */
  data: Uint8Array;
  approximateArrivalTimestamp: Date;
  /** True when the record came out of a KPL aggregate. */
  aggregated: boolean;
}

/** A position a checkpoint can name. */
export interface SequenceNumberPosition {
  sequenceNumber: string;
  subSequenceNumber: number;
}

/** A child of the shard that ended: its id, its parents (two after a merge) and its hash-key range. */
export type ChildShardInfo = ChildShard;

/** A prepared (two-phase) checkpoint: `checkpoint()` commits it. */
export interface PreparedCheckpointer {
  readonly pendingCheckpoint: SequenceNumberPosition;
  checkpoint(): Promise<void>;
}

/**
 * Checkpoints through the lease of this shard. Every form fails with `ShutdownError` when the lease is no
 * longer held, `IllegalArgumentError` when the target is outside [last checkpoint, largest delivered],
 * `ThrottlingError` / `DependencyError` when DynamoDB fails.
 */
export interface RecordProcessorCheckpointer {
  /** Checkpoints the largest sequence number delivered so far (SHARD_END once the shard's end was delivered). */
  checkpoint(): Promise<void>;
  checkpoint(record: KinesisClientRecord): Promise<void>;
  checkpoint(sequenceNumber: string, subSequenceNumber?: number): Promise<void>;
  /** First phase of a two-phase checkpoint; `state` is handed to the next owner's `initialize`. */
  prepareCheckpoint(state?: Uint8Array): Promise<PreparedCheckpointer>;
  prepareCheckpoint(record: KinesisClientRecord, state?: Uint8Array): Promise<PreparedCheckpointer>;
  prepareCheckpoint(sequenceNumber: string, subSequenceNumber?: number, state?: Uint8Array): Promise<PreparedCheckpointer>;
  /** The last checkpoint written (or read at initialization). */
  readonly lastCheckpoint: SequenceNumberPosition;
}

export interface InitializationInput {
  shardId: string;
  streamName: string;
  /** Where processing resumes: the stored checkpoint (a sequence number or a sentinel). */
  extendedSequenceNumber: SequenceNumberPosition;
  pendingCheckpointSequenceNumber?: SequenceNumberPosition | undefined;
  pendingCheckpointState?: Uint8Array | undefined;
}

export interface ProcessRecordsInput {
  shardId: string;
  streamName: string;
  records: KinesisClientRecord[];
  checkpointer: RecordProcessorCheckpointer;
  millisBehindLatest?: number | undefined;
  /** True on the batch that reached the end of a closed shard. */
  isAtShardEnd: boolean;
  childShards?: ChildShardInfo[] | undefined;
  /** Aborted when the lease is lost or the worker stops at once: stop work early if you can. */
  signal: AbortSignal;
}

export interface LeaseLostInput {
  shardId: string;
  streamName: string;
}

export interface ShardEndedInput {
  shardId: string;
  streamName: string;
  /** Must be used to checkpoint (`checkpoint()` writes SHARD_END); otherwise the shard is retried. */
  checkpointer: RecordProcessorCheckpointer;
}

export interface ShutdownRequestedInput {
  shardId: string;
  streamName: string;
  checkpointer: RecordProcessorCheckpointer;
}

/**
 * Partial-batch failure report a `processRecords` may return (AWS Lambda's `batchItemFailures`): the first record
 * that failed. Records before it are checkpointed; it and the ones after it are delivered again, under the
 * `processing` options' retries and dead-letter destination.
 */
export interface ProcessRecordsResult {
  /** The first failed record (or its position); `undefined` when the whole batch succeeded. */
  failedRecord?: { sequenceNumber: string; subSequenceNumber?: number } | undefined;
  /** Why it failed (handed to the dead-letter destination). */
  error?: unknown;
}

export interface ShardRecordProcessor {
  initialize(input: InitializationInput): Promise<void> | void;
  /** May return a {@link ProcessRecordsResult} to report a partial failure. */
  processRecords(input: ProcessRecordsInput): Promise<void | ProcessRecordsResult> | void | ProcessRecordsResult;
  leaseLost(input: LeaseLostInput): Promise<void> | void;
  shardEnded(input: ShardEndedInput): Promise<void> | void;
  shutdownRequested?(input: ShutdownRequestedInput): Promise<void> | void;
}

export interface ProcessorContext {
  shardId: string;
  streamName: string;
}

/** Called once per shard consumer (one processor instance per shard per acquisition). */
export type ShardRecordProcessorFactory = (context: ProcessorContext) => ShardRecordProcessor;
