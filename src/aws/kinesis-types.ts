/**
 * SDK-free Kinesis types: the rest of the library speaks these, never `@aws-sdk/client-kinesis` shapes.
 * Hash keys and sequence numbers are decimal strings (128-bit / up to 128-bit numbers).
 */

/** Names a stream. When both are set the ARN wins (the name is ignored). */
export interface StreamRef {
  streamName?: string;
  streamArn?: string;
}

export interface HashKeyRange {
  /** Inclusive, decimal string. */
  startingHashKey: string;
  /** Inclusive, decimal string. */
  endingHashKey: string;
}

export interface Shard {
  shardId: string;
  parentShardId?: string;
  adjacentParentShardId?: string;
  hashKeyRange: HashKeyRange;
  /** `endingSequenceNumber` set ⇒ the shard is closed (split, merged or scaled away). */
  sequenceNumberRange: { startingSequenceNumber: string; endingSequenceNumber?: string };
}

/** A child of a shard that has been read to its end, as reported by the last GetRecords on the parent. */
export interface ChildShard {
  shardId: string;
  parentShards: string[];
  hashKeyRange: HashKeyRange;
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

/** The largest hash key, 2^128 − 1: shards of a stream cover 0…MAX_HASH_KEY without gaps or overlaps. */
export const MAX_HASH_KEY = (1n << 128n) - 1n;

/**
 * The starting hash key of the upper half when `range` is split evenly, i.e. what to pass as
 * `NewStartingHashKey` to SplitShard. For the full range this is 2^127.
 * Throws `RangeError` when the range holds a single key (it cannot be split).
 */
export function midpointHashKey(range: HashKeyRange): string {
  const start = BigInt(range.startingHashKey);
  const end = BigInt(range.endingHashKey);
  if (end <= start) throw new RangeError(`Hash key range ${range.startingHashKey}..${range.endingHashKey} cannot be split`);
  return (start + (end - start + 1n) / 2n).toString();
}

/**
 * Splits 0…2^128−1 into `count` contiguous ranges of (almost) equal size, as CreateStream does;
 * useful with `explicitHashKey` to target a particular shard.
 */
export function evenHashKeyRanges(count: number): HashKeyRange[] {
  if (!Number.isInteger(count) || count < 1) throw new RangeError(`count must be a positive integer, got ${count}`);
  const size = (MAX_HASH_KEY + 1n) / BigInt(count);
  const ranges: HashKeyRange[] = [];
  for (let i = 0n; i < BigInt(count); i++) {
    const start = i * size;
    const end = i === BigInt(count) - 1n ? MAX_HASH_KEY : start + size - 1n;
    ranges.push({ startingHashKey: start.toString(), endingHashKey: end.toString() });
  }
  return ranges;
}
