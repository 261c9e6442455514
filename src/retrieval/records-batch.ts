import type { KinesisRecord } from '../aws/kinesis-types.js';
import type { ChildShard } from '../shards/shard.js';
import type { ChildShardInfo, KinesisClientRecord } from '../processor/types.js';
import { deaggregateRecords, plainClientRecord, type DeaggregationOptions } from './kpl/deaggregate.js';

/** One delivery from a fetcher to the shard consumer: what a single `processRecords` call will see. */
export interface RecordsBatch {
  /** User records in shard order, already filtered to those after the checkpoint. May be empty. */
  records: KinesisClientRecord[];
  /** As reported by the GetRecords call that produced the batch (0 ⇒ caught up). */
  millisBehindLatest?: number;
  /** True on the last batch of a closed shard (or when the shard no longer exists); nothing follows it. */
  isAtShardEnd: boolean;
  /** The children of a closed shard, on the shard-end batch when the service reports them. */
  childShards?: ChildShardInfo[];
  /** Payload bytes of `records` (sum of `data.byteLength`); what the prefetch byte bound counts. */
  byteSize: number;
}

/** A plain Kinesis record as a processor sees it: same bytes (no copy), sub-sequence number 0, not aggregated. */
export const toClientRecord: (r: KinesisRecord) => KinesisClientRecord = plainClientRecord;

/**
 * Kinesis records → user records, in order. **This is the single place where KPL deaggregation plugs in**: an
 * aggregated record expands into one `KinesisClientRecord` per sub-record (same `sequenceNumber`,
 * `subSequenceNumber` 0…n−1, `aggregated: true`), optionally without the sub-records outside the shard's hash
 * range; every other record, and an aggregate that cannot be decoded (reported through `options.onMalformed`),
 * maps to one user record. Everything downstream (checkpoint filtering, byte accounting) works on the user records.
 */
export function toClientRecords(records: readonly KinesisRecord[], options?: DeaggregationOptions): KinesisClientRecord[] {
  return deaggregateRecords(records, options);
}

/** Sum of the payload sizes, as counted against `maxPrefetchBytes`. */
export function payloadBytes(records: readonly { data: Uint8Array }[]): number {
  let bytes = 0;
  for (const r of records) bytes += r.data.byteLength;
  return bytes;
}

/** The service's child-shard description as the processor types carry it (a fresh copy, nothing shared). */
export function toChildShardInfo(c: ChildShard): ChildShardInfo {
  return {
    shardId: c.shardId,
    parentShards: [...c.parentShards],
    hashKeyRange: { startingHashKey: c.hashKeyRange.startingHashKey, endingHashKey: c.hashKeyRange.endingHashKey },
  };
}
