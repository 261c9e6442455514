import type { DeadLetterReason } from '../processor/record-handler-types.js';

/**
 * Where the record pipeline reports (the Scheduler turns these into events and metrics). `streamName` tells shards
 * of different streams apart in multi-stream mode (shard ids repeat across streams).
 */
export interface ProcessingEventSink {
  /** A record (or a batch of `records`, starting at this position) failed and is tried again after `delayMillis`. */
  recordRetried(e: { shardId: string; streamName: string; sequenceNumber: string; subSequenceNumber: number; records: number; attempt: number; delayMillis: number; error: unknown }): void;
  /** A record went to the dead-letter destination and counts as done. */
  recordDeadLettered(e: { shardId: string; streamName: string; sequenceNumber: string; subSequenceNumber: number; partitionKey: string; attempts: number; reason: DeadLetterReason; error: unknown }): void;
  /** A record was older than `maxRecordAgeMillis` (it is dead-lettered next). */
  recordExpired(e: { shardId: string; streamName: string; sequenceNumber: string; subSequenceNumber: number; ageMillis: number }): void;
  /** The library checkpointed the shard's low-water mark (`recordHandler`). */
  checkpointed(e: { shardId: string; streamName: string; sequenceNumber: string; subSequenceNumber: number }): void;
}

export const noProcessingEvents: ProcessingEventSink = {
  recordRetried: () => undefined,
  recordDeadLettered: () => undefined,
  recordExpired: () => undefined,
  checkpointed: () => undefined,
};
