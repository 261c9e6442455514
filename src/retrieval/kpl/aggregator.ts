import { createHash } from 'node:crypto';
import { IllegalArgumentError } from '../../errors.js';
import {
  AGGREGATED_RECORD_FIELD,
  KINESIS_MAX_RECORD_BYTES,
  KPL_MAGIC,
  KPL_MAGIC_LENGTH,
  KPL_OVERHEAD,
  parseHashKey,
  RECORD_FIELD,
  WIRE_LENGTH_DELIMITED,
  WIRE_VARINT,
} from './kpl-format.js';
import { delimitedFieldSize, varintSize, writeTag, writeVarint } from './protobuf-writer.js';

/** A user record to pack. */
export interface UserRecord {
  /** 1–256 characters. */
  partitionKey: string;
  data: Uint8Array;
  /** Decimal hash key in 0…2^128−1 that overrides the partition key's MD5 for shard routing. */
  explicitHashKey?: string | undefined;
}

/** A record ready for PutRecord / PutRecords (`PartitionKey`, `ExplicitHashKey`, `Data`). */
export interface AggregatedRecord {
  /** The first user record's partition key (as the KPL does): the aggregate goes where its first record would. */
  partitionKey: string;
  /** The first user record's explicit hash key, when it has one. */
  explicitHashKey?: string;
  /** The KPL aggregate bytes, or a lone user record's own data (sent unaggregated, as the KPL does). */
  data: Uint8Array;
  /** User records inside: 1 ⇒ `data` is that record's data, not an aggregate. */
  userRecords: number;
}

export interface RecordAggregatorOptions {
  /**
   * Largest record to produce, counted as Kinesis does: data (magic + protobuf + MD5) plus the partition key's
   * UTF-8 bytes.
   * @defaultValue 1048576 (1 MiB, the Kinesis limit)
   */
  maxRecordBytes?: number;
  /**
   * Most user records in one aggregate.
   * @defaultValue unlimited (only the size bounds an aggregate)
   */
  maxUserRecords?: number;
}

interface Pending {
  pkIndex: number;
  /** −1: none. */
  ehkIndex: number;
  data: Uint8Array;
  /** Bytes of the encoded `Record` message (without its own tag and length). */
  size: number;
}

/** A key table of an aggregate: strings in index order, with their UTF-8 lengths. */
class KeyTable {
  readonly keys: string[] = [];
  readonly byteLengths: number[] = [];
  private readonly index = new Map<string, number>();

  /** Index of `key` if present, else the index it would get. */
  indexOf(key: string): number {
    return this.index.get(key) ?? this.keys.length;
  }

  has(key: string): boolean {
    return this.index.has(key);
  }

  add(key: string, byteLength: number): number {
    let i = this.index.get(key);
    if (i === undefined) {
      i = this.keys.length;
      this.index.set(key, i);
      this.keys.push(key);
      this.byteLengths.push(byteLength);
    }
    return i;
  }
}

/**
 * Packs user records into KPL-compatible aggregated records (magic `F3 89 9A C2`, protobuf `AggregatedRecord`,
 * MD5), each within the Kinesis record limit, for PutRecords. Any KPL-aware consumer (ts-kcl, Java KCL,
 * `aws-kinesis-agg`) splits them back into the user records, in order, with sub-sequence numbers 0…n−1.
 *
 * ```ts
 * const aggregator = new RecordAggregator();
 * for (const r of userRecords) {
 *   const full = aggregator.add(r);      // an aggregate that is complete because `r` did not fit
 *   if (full) entries.push(full);
 * }
 * const last = aggregator.flush();
 * if (last) entries.push(last);
 * // or: const entries = RecordAggregator.aggregate(userRecords);
 * ```
 *
 * An aggregate goes to the shard of its first record's key. When the user records have keys that hash to other
 * shards, consumers get sub-records outside their shard's range: ts-kcl delivers them (unless
 * `retrieval.filterOffRangeSubRecords`), Java KCL drops the whole aggregate. Aggregate per shard (for instance
 * per explicit hash key range) if Java consumers read the stream.
 */
export class RecordAggregator {
  private readonly maxRecordBytes: number;
  private readonly maxUserRecords: number;
  private records: Pending[] = [];
  private partitionKeys = new KeyTable();
  private explicitHashKeys = new KeyTable();
  /** Bytes of the protobuf message with the records so far. */
  private protoBytes = 0;
  private firstKeyBytes = 0;

  constructor(options: RecordAggregatorOptions = {}) {
    const { maxRecordBytes = KINESIS_MAX_RECORD_BYTES, maxUserRecords = Number.POSITIVE_INFINITY } = options;
    if (!Number.isSafeInteger(maxRecordBytes) || maxRecordBytes < 1) {
      throw new IllegalArgumentError(`maxRecordBytes must be a positive integer, got ${String(maxRecordBytes)}`);
    }
    if (!(Number.isSafeInteger(maxUserRecords) || maxUserRecords === Number.POSITIVE_INFINITY) || maxUserRecords < 1) {
      throw new IllegalArgumentError(`maxUserRecords must be a positive integer, got ${String(maxUserRecords)}`);
    }
    this.maxRecordBytes = maxRecordBytes;
    this.maxUserRecords = maxUserRecords;
  }

  /** Packs `records` in order into as few records as the limits allow. */
  static aggregate(records: Iterable<UserRecord>, options?: RecordAggregatorOptions): AggregatedRecord[] {
    const aggregator = new RecordAggregator(options);
    const out: AggregatedRecord[] = [];
    for (const record of records) {
      const full = aggregator.add(record);
      if (full !== undefined) out.push(full);
    }
    const last = aggregator.flush();
    if (last !== undefined) out.push(last);
    return out;
  }

  /** User records waiting for `flush()`. */
  get pendingRecords(): number {
    return this.records.length;
  }

  /** Size (data + partition key, as Kinesis counts it) of the record `flush()` would return now; 0 when empty. */
  get pendingBytes(): number {
    const n = this.records.length;
    if (n === 0) return 0;
    if (n === 1) return this.records[0]!.data.byteLength + this.firstKeyBytes;
    return KPL_OVERHEAD + this.protoBytes + this.firstKeyBytes;
  }

  /**
   * Adds a user record. When it does not fit with the records already waiting (size or count), those are
   * packed and returned, and `record` starts the next aggregate.
   * @throws IllegalArgumentError for an invalid record, or one too large for a Kinesis record even alone.
   */
  add(record: UserRecord): AggregatedRecord | undefined {
    const { partitionKey, data, explicitHashKey } = validate(record);
    const keyBytes = Buffer.byteLength(partitionKey, 'utf8');
    if (data.byteLength + keyBytes > this.maxRecordBytes) {
      throw new IllegalArgumentError(
        `user record (partition key ${JSON.stringify(partitionKey)}) is ${data.byteLength + keyBytes} bytes with its partition key: ` +
          `more than the ${this.maxRecordBytes}-byte record limit`,
      );
    }
    let full: AggregatedRecord | undefined;
    let cost = this.costOf(partitionKey, keyBytes, explicitHashKey, data.byteLength);
    if (
      this.records.length > 0 &&
      (this.records.length >= this.maxUserRecords || KPL_OVERHEAD + this.protoBytes + cost.bytes + this.firstKeyBytes > this.maxRecordBytes)
    ) {
      full = this.flush();
      cost = this.costOf(partitionKey, keyBytes, explicitHashKey, data.byteLength);
    }
    if (this.records.length === 0) this.firstKeyBytes = keyBytes;
    const pkIndex = this.partitionKeys.add(partitionKey, keyBytes);
    const ehkIndex = explicitHashKey === undefined ? -1 : this.explicitHashKeys.add(explicitHashKey, explicitHashKey.length);
    this.records.push({ pkIndex, ehkIndex, data, size: cost.recordSize });
    this.protoBytes += cost.bytes;
    return full;
  }

  /** Packs the waiting user records into one record (a lone record is returned unaggregated); `undefined` when none. */
  flush(): AggregatedRecord | undefined {
    const records = this.records;
    const first = records[0];
    if (first === undefined) return undefined;
    const partitionKey = this.partitionKeys.keys[first.pkIndex]!;
    const explicitHashKey = first.ehkIndex < 0 ? undefined : this.explicitHashKeys.keys[first.ehkIndex];
    const data = records.length === 1 ? first.data : this.encode();
    const out: AggregatedRecord = { partitionKey, data, userRecords: records.length };
    if (explicitHashKey !== undefined) out.explicitHashKey = explicitHashKey;
    this.records = [];
    this.partitionKeys = new KeyTable();
    this.explicitHashKeys = new KeyTable();
    this.protoBytes = 0;
    this.firstKeyBytes = 0;
    return out;
  }

  /** Protobuf bytes that adding this record would add (new table entries + the record), and the record's own size. */
  private costOf(partitionKey: string, keyBytes: number, explicitHashKey: string | undefined, dataBytes: number): { bytes: number; recordSize: number } {
    let bytes = 0;
    if (!this.partitionKeys.has(partitionKey)) bytes += delimitedFieldSize(keyBytes);
    let recordSize = 1 + varintSize(this.partitionKeys.indexOf(partitionKey)) + delimitedFieldSize(dataBytes);
    if (explicitHashKey !== undefined) {
      if (!this.explicitHashKeys.has(explicitHashKey)) bytes += delimitedFieldSize(explicitHashKey.length);
      recordSize += 1 + varintSize(this.explicitHashKeys.indexOf(explicitHashKey));
    }
    return { bytes: bytes + delimitedFieldSize(recordSize), recordSize };
  }

  private encode(): Uint8Array {
    const protoBytes = this.protoBytes;
    const buf = Buffer.allocUnsafe(KPL_OVERHEAD + protoBytes);
    buf.set(KPL_MAGIC, 0);
    let pos = KPL_MAGIC_LENGTH;
    const pks = this.partitionKeys;
    for (let i = 0; i < pks.keys.length; i++) {
      pos = writeTag(buf, pos, AGGREGATED_RECORD_FIELD.partitionKeyTable, WIRE_LENGTH_DELIMITED);
      pos = writeVarint(buf, pos, pks.byteLengths[i]!);
      pos += buf.write(pks.keys[i]!, pos, 'utf8');
    }
    const ehks = this.explicitHashKeys;
    for (let i = 0; i < ehks.keys.length; i++) {
      pos = writeTag(buf, pos, AGGREGATED_RECORD_FIELD.explicitHashKeyTable, WIRE_LENGTH_DELIMITED);
      pos = writeVarint(buf, pos, ehks.byteLengths[i]!);
      pos += buf.write(ehks.keys[i]!, pos, 'latin1'); // decimal digits only
    }
    for (const r of this.records) {
      pos = writeTag(buf, pos, AGGREGATED_RECORD_FIELD.records, WIRE_LENGTH_DELIMITED);
      pos = writeVarint(buf, pos, r.size);
      pos = writeTag(buf, pos, RECORD_FIELD.partitionKeyIndex, WIRE_VARINT);
      pos = writeVarint(buf, pos, r.pkIndex);
      if (r.ehkIndex >= 0) {
        pos = writeTag(buf, pos, RECORD_FIELD.explicitHashKeyIndex, WIRE_VARINT);
        pos = writeVarint(buf, pos, r.ehkIndex);
      }
      pos = writeTag(buf, pos, RECORD_FIELD.data, WIRE_LENGTH_DELIMITED);
      pos = writeVarint(buf, pos, r.data.byteLength);
      buf.set(r.data, pos);
      pos += r.data.byteLength;
    }
    const protoEnd = KPL_MAGIC_LENGTH + protoBytes;
    if (pos !== protoEnd) throw new Error(`bug: encoded ${pos - KPL_MAGIC_LENGTH} protobuf bytes, computed ${protoBytes}`);
    createHash('md5').update(buf.subarray(KPL_MAGIC_LENGTH, protoEnd)).digest().copy(buf, protoEnd);
    return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength); // a plain Uint8Array, as the SDK hands out
  }
}

function validate(record: UserRecord): UserRecord {
  const { partitionKey, data, explicitHashKey } = record;
  if (typeof partitionKey !== 'string' || partitionKey.length < 1 || partitionKey.length > 256) {
    throw new IllegalArgumentError(`partitionKey must be a string of 1–256 characters, got ${describe(partitionKey)}`);
  }
  if (!(data instanceof Uint8Array)) throw new IllegalArgumentError(`data must be a Uint8Array, got ${describe(data)}`);
  if (explicitHashKey !== undefined && (typeof explicitHashKey !== 'string' || parseHashKey(explicitHashKey) === undefined)) {
    throw new IllegalArgumentError(`explicitHashKey must be a decimal string in 0…2^128−1, got ${describe(explicitHashKey)}`);
  }
  return record;
}

function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
  if (value === null) return 'null';
  if (typeof value === 'object') return (value as { constructor?: { name?: string } }).constructor?.name ?? 'object';
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return `${typeof value} ${String(value)}`;
  return typeof value;
}
