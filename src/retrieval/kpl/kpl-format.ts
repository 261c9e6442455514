/**
 * The KPL aggregated record format (amazon-kinesis-producer `aggregation-format.md`, Java KCL `AggregatorUtil`):
 *
 * ```
 * [F3 89 9A C2] [protobuf AggregatedRecord] [16-byte MD5 of the protobuf bytes]
 * message AggregatedRecord { repeated string partition_key_table = 1; repeated string explicit_hash_key_table = 2;
 *                            repeated Record records = 3; }
 * message Record { required uint64 partition_key_index = 1; optional uint64 explicit_hash_key_index = 2;
 *                  required bytes data = 3; repeated Tag tags = 4; }
 * message Tag    { required string key = 1; optional string value = 2; }
 * ```
 */
import { createHash } from 'node:crypto';
import type { HashKeyRange } from '../../shards/hash-key-range.js';

/** The four bytes every KPL aggregate starts with. */
export const KPL_MAGIC: Readonly<Uint8Array> = Uint8Array.of(0xf3, 0x89, 0x9a, 0xc2);
export const KPL_MAGIC_LENGTH = 4;
/** Length of the trailing MD5 digest. */
export const KPL_DIGEST_LENGTH = 16;
/** Magic + digest: the bytes of an aggregate around its protobuf message. */
export const KPL_OVERHEAD = KPL_MAGIC_LENGTH + KPL_DIGEST_LENGTH;

/** Largest Kinesis record: data blob plus partition key (UTF-8), 1 MiB. */
export const KINESIS_MAX_RECORD_BYTES = 1024 * 1024;

/** Protobuf field numbers. */
export const AGGREGATED_RECORD_FIELD = { partitionKeyTable: 1, explicitHashKeyTable: 2, records: 3 } as const;
export const RECORD_FIELD = { partitionKeyIndex: 1, explicitHashKeyIndex: 2, data: 3, tags: 4 } as const;

/** Protobuf wire types used by the format. */
export const WIRE_VARINT = 0;
export const WIRE_FIXED64 = 1;
export const WIRE_LENGTH_DELIMITED = 2;
export const WIRE_FIXED32 = 5;

/** Largest hash key, 2^128 − 1. */
const MAX_HASH_KEY = (1n << 128n) - 1n;
const DECIMAL = /^[0-9]{1,39}$/;

/** True when `data` starts with the KPL magic bytes. */
export function hasKplMagic(data: Uint8Array): boolean {
  return data.length >= KPL_MAGIC_LENGTH && data[0] === 0xf3 && data[1] === 0x89 && data[2] === 0x9a && data[3] === 0xc2;
}

/** MD5 of the partition key's UTF-8 bytes as a 128-bit big-endian integer: the hash key Kinesis routes by. */
export function partitionKeyHash(partitionKey: string): bigint {
  return BigInt(`0x${createHash('md5').update(partitionKey, 'utf8').digest('hex')}`);
}

/** A decimal hash key string as a number, or `undefined` when it is not a decimal in 0…2^128−1. */
export function parseHashKey(hashKey: string): bigint | undefined {
  if (!DECIMAL.test(hashKey)) return undefined;
  const value = BigInt(hashKey);
  return value <= MAX_HASH_KEY ? value : undefined;
}

/**
 * The hash key that decides a record's shard: the explicit hash key when there is one, else the MD5 of the
 * partition key. Returns `undefined` for an explicit hash key that is not a decimal in 0…2^128−1.
 */
export function effectiveHashKey(partitionKey: string, explicitHashKey?: string): bigint | undefined {
  return explicitHashKey === undefined ? partitionKeyHash(partitionKey) : parseHashKey(explicitHashKey);
}

/** A shard's hash-key range as numbers (inclusive on both ends). */
export interface HashKeyBounds {
  start: bigint;
  end: bigint;
}

/** Parses a `HashKeyRange` (decimal strings); `undefined` when either end is not a valid hash key. */
export function hashKeyBounds(range: HashKeyRange): HashKeyBounds | undefined {
  const start = parseHashKey(range.startingHashKey);
  const end = parseHashKey(range.endingHashKey);
  return start === undefined || end === undefined || end < start ? undefined : { start, end };
}
