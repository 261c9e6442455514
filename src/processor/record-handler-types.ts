/**
 * The record-level contract (`recordHandler` and `processing` options): what a handler receives, and the
 * dead-letter function's arguments. Types only.
 */
import type { KinesisClientRecord } from './types.js';
import type { Logger } from '../util/logger.js';

/** What a `recordHandler` call gets besides the record (read-only: one frozen object serves every first try of a shard). */
export interface RecordContext {
  readonly shardId: string;
  readonly streamName: string;
  /**
   * Aborted when the lease is lost, or when a graceful stop (shutdown, handoff) runs out of time: stop early if
   * you can; nothing after the last checkpoint is lost, the next owner processes it again.
   */
  readonly signal: AbortSignal;
  /** 1 for the first try, 2 for the first retry… */
  readonly attempt: number;
  /** The worker's logger bound to `{ shardId }`. */
  logger: Logger;
}

/**
 * Processes one record; resolves when it is done, rejects (throws) when it failed (then `processing` decides:
 * retry, dead-letter). Records with the same partition key never run at once under `orderBy: 'partitionKey'`.
 */
export type RecordHandler = (record: KinesisClientRecord, context: RecordContext) => Promise<void> | void;

/** Why a record went to the dead-letter destination. */
export type DeadLetterReason = 'maxAttempts' | 'expired';

export interface DeadLetterInfo {
  shardId: string;
  streamName: string;
  /** Handler calls made (0 when the record expired before its first try). */
  attempts: number;
  reason: DeadLetterReason;
}

/**
 * A user dead-letter destination: store the failed record somewhere. When it resolves the record counts as done
 * (the checkpoint may pass it); when it throws it is called again with backoff (the record is never skipped).
 * `error` is the handler's last error (`undefined` for a record that expired before its first try).
 */
export type DeadLetterFunction = (record: KinesisClientRecord, error: unknown, info: DeadLetterInfo) => Promise<void> | void;

/** Built-in dead-letter sink: each failed record is written as JSON to this Kinesis stream, with its partition key. */
export interface DeadLetterStream {
  streamName: string;
}
