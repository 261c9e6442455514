/**
 * SDK-free Kinesis types: the rest of the library speaks these, never `@aws-sdk/client-kinesis` shapes.
 * Hash keys and sequence numbers are decimal strings (128-bit / up to 128-bit numbers).
 * The shard model (`Shard`, `ChildShard`, `HashKeyRange`) lives in src/shards.
 */
import type { ChildShard } from '../shards/shard.js';

/** Names a stream. When both are set the ARN wins (the name is ignored). */
export interface StreamRef {
  streamName?: string;
  streamArn?: string;
}

export interface KinesisRecord {
  sequenceNumber: string;
  partitionKey: string;
  /** The SDK's bytes as received (no copy). */
  data: Uint8Array;
  approximateArrivalTimestamp: Date;
  explicitHashKey?: string;
  encryptionType?: string;
}

export type IteratorPosition =
  | { type: 'TRIM_HORIZON' }
  | { type: 'LATEST' }
  | { type: 'AT_TIMESTAMP'; timestamp: Date }
  | { type: 'AT_SEQUENCE_NUMBER'; sequenceNumber: string }
  | { type: 'AFTER_SEQUENCE_NUMBER'; sequenceNumber: string };

export interface GetRecordsResult {
  records: KinesisRecord[];
  /** Undefined ⇒ the shard is closed and has been read to its end. */
  nextShardIterator?: string;
  millisBehindLatest?: number;
  /** Present (AWS, kinesis-local) on the last GetRecords of a closed shard. */
  childShards?: ChildShard[];
}

export type ShardFilter =
  | { type: 'AT_LATEST' }
  | { type: 'AT_TRIM_HORIZON' }
  | { type: 'AT_TIMESTAMP'; timestamp: Date }
  | { type: 'AFTER_SHARD_ID'; shardId: string }
  | { type: 'FROM_TRIM_HORIZON' }
  | { type: 'FROM_TIMESTAMP'; timestamp: Date };

export interface StreamSummary {
  streamName: string;
  streamArn: string;
  /** `CREATING` | `DELETING` | `ACTIVE` | `UPDATING` (kept as a string: AWS may add states). */
  status: string;
  openShardCount: number;
  retentionPeriodHours: number;
  streamCreationTimestamp: Date;
  consumerCount?: number;
}
