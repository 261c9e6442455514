/**
 * KPL deaggregation: one Kinesis record → its user records.
 *
 * Why a hand-written protobuf decoder rather than `protobufjs`: decided by `bench/kpl-deaggregation.ts`, which runs
 * this exact pipeline (magic, MD5 check, the same sub-record objects) with this decoder and with protobufjs 8
 * (reflection `Type.decode`, uint64 as plain numbers, its fastest set-up) on the same inputs, interleaved. On the
 * 2-core development machine (two runs, medians of per-round ratios; BENCHMARKS.md "KPL deaggregation"):
 *   - 100 B records in 50 KiB aggregates (KPL defaults): 0.77–1.01 M vs 0.32–0.43 M sub-records/s, 2.3–2.8×;
 *   - 10 B records in 1 MiB aggregates: 1.67–1.76 M vs 0.94–1.10 M/s, 1.5–1.75×;
 *   - 1 KiB records in 1 MiB aggregates: 0.43 M vs 0.31–0.39 M/s, 1.1–1.4×: the MD5 of every byte dominates.
 * The format needs five fields of one message, so the decoder is small. It also validates like protobuf-java
 * (required fields, a wire-type mismatch is an unknown field, groups skipped) where protobufjs reads a mismatched
 * wire type as the declared one; it keeps `data` as views of the received bytes; and it spares the runtime a
 * dependency (protobufjs is a dev dependency, for the benchmark only).
 */
import { createHash } from 'node:crypto';
import type { KinesisRecord } from '../../aws/kinesis-types.js';
import type { HashKeyRange } from '../../shards/hash-key-range.js';
import type { KinesisClientRecord } from '../../processor/types.js';
import {
  AGGREGATED_RECORD_FIELD,
  hashKeyBounds,
  hasKplMagic,
  KPL_DIGEST_LENGTH,
  KPL_MAGIC_LENGTH,
  KPL_OVERHEAD,
  parseHashKey,
  partitionKeyHash,
  RECORD_FIELD,
  WIRE_LENGTH_DELIMITED,
  WIRE_VARINT,
  type HashKeyBounds,
} from './kpl-format.js';
import { MalformedProtobufError, ProtoReader } from './protobuf-reader.js';

export interface DeaggregationOptions {
  /** The consuming shard's hash-key range (from its lease); needed by `filterOffRangeSubRecords`. */
  hashKeyRange?: HashKeyRange | undefined;
  /**
   * Drop the sub-records whose effective hash key (explicit hash key, else MD5 of the partition key) lies outside
   * `hashKeyRange`, one by one; the others of the same aggregate are still delivered. Off by default: such
   * sub-records (an aggregate packed across shards, or read after a reshard) are delivered.
   */
  filterOffRangeSubRecords?: boolean | undefined;
  /**
   * Called for a record that starts with the KPL magic bytes but cannot be decoded (too short, MD5 mismatch,
   * malformed protobuf, a key index outside its table, no sub-records). The record is delivered as one ordinary
   * record all the same. `reason` never contains payload bytes.
   */
  onMalformed?: ((record: KinesisRecord, reason: string) => void) | undefined;
  /** Called when `filterOffRangeSubRecords` dropped `dropped` sub-records of `record`. */
  onFiltered?: ((record: KinesisRecord, dropped: number) => void) | undefined;
}

/** Why an aggregate could not be decoded. */
class MalformedAggregateError extends Error {}

/** A plain Kinesis record as a processor sees it: same bytes (no copy), sub-sequence number 0, not aggregated. */
export function plainClientRecord(r: KinesisRecord): KinesisClientRecord {
  const record: KinesisClientRecord = {
    sequenceNumber: r.sequenceNumber,
    subSequenceNumber: 0,
    partitionKey: r.partitionKey,
    data: r.data,
    approximateArrivalTimestamp: r.approximateArrivalTimestamp,
    aggregated: false,
  };
  if (r.explicitHashKey !== undefined) record.explicitHashKey = r.explicitHashKey;
  return record;
}

/**
 * Kinesis records → user records, in order, appended to `out`. An aggregate expands into its sub-records
 * (`subSequenceNumber` = index in the aggregate, also when filtering leaves gaps); any other record, and an
 * aggregate that cannot be decoded, becomes one ordinary record. Never throws on record contents.
 */
export function deaggregateRecords(
  records: readonly KinesisRecord[],
  options: DeaggregationOptions = {},
  out: KinesisClientRecord[] = [],
): KinesisClientRecord[] {
  const bounds = options.filterOffRangeSubRecords === true && options.hashKeyRange !== undefined ? hashKeyBounds(options.hashKeyRange) : undefined;
  for (let i = 0; i < records.length; i++) deaggregateInto(records[i]!, out, bounds, options);
  return out;
}

/** One Kinesis record → its user records (see `deaggregateRecords`). */
export function deaggregate(record: KinesisRecord, options: DeaggregationOptions = {}): KinesisClientRecord[] {
  return deaggregateRecords([record], options);
}

// Scratch space for the key indexes of the sub-records being decoded: [pk0, ehk0, pk1, ehk1, ...] (ehk −1 = none).
// Deaggregation is synchronous and calls no user code while this is in use.
const indexes: number[] = [];

function deaggregateInto(
  record: KinesisRecord,
  out: KinesisClientRecord[],
  bounds: HashKeyBounds | undefined,
  options: DeaggregationOptions,
): void {
  const data = record.data;
  if (!hasKplMagic(data)) {
    out.push(plainClientRecord(record));
    return;
  }
  const mark = out.length;
  let reason: string;
  try {
    if (data.length < KPL_OVERHEAD) throw new MalformedAggregateError(`too short for an aggregate (${data.length} bytes)`);
    const protoEnd = data.length - KPL_DIGEST_LENGTH;
    if (!digestMatches(data, KPL_MAGIC_LENGTH, protoEnd)) throw new MalformedAggregateError('MD5 mismatch');
    const dropped = decode(record, data, protoEnd, out, bounds);
    if (dropped > 0) options.onFiltered?.(record, dropped);
    return;
  } catch (error) {
    reason = error instanceof MalformedAggregateError || error instanceof MalformedProtobufError ? error.message : `unexpected: ${String(error)}`;
  }
  out.length = mark;
  out.push(plainClientRecord(record));
  options.onMalformed?.(record, reason);
}

function digestMatches(data: Uint8Array, start: number, end: number): boolean {
  const digest = createHash('md5').update(data.subarray(start, end)).digest();
  for (let i = 0; i < KPL_DIGEST_LENGTH; i++) if (digest[i] !== data[end + i]) return false;
  return true;
}

/**
 * Decodes the protobuf `AggregatedRecord` in `data[4, protoEnd)` and appends its sub-records to `out`.
 * Returns how many sub-records `bounds` filtered out. Throws on malformed input (the caller rolls `out` back).
 */
function decode(
  record: KinesisRecord,
  data: Uint8Array,
  protoEnd: number,
  out: KinesisClientRecord[],
  bounds: HashKeyBounds | undefined,
): number {
  const text = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  const reader = new ProtoReader(data, KPL_MAGIC_LENGTH, protoEnd);
  const partitionKeys: string[] = [];
  const explicitHashKeys: string[] = [];
  const idx = indexes;
  idx.length = 0;
  const first = out.length;
  const { sequenceNumber, approximateArrivalTimestamp } = record;

  while (reader.pos < protoEnd) {
    const tag = reader.tag();
    if ((tag & 7) !== WIRE_LENGTH_DELIMITED) {
      reader.skip(tag); // every known field is length-delimited: a mismatch is an unknown field (protobuf-java)
      continue;
    }
    const field = tag >>> 3;
    const end = reader.delimitedEnd();
    if (field === AGGREGATED_RECORD_FIELD.records) {
      // Record { required uint64 partition_key_index = 1; optional uint64 explicit_hash_key_index = 2;
      //          required bytes data = 3; repeated Tag tags = 4; }
      let pk = -1;
      let ehk = -1;
      let dataStart = -1;
      let dataEnd = -1;
      const outer = reader.end;
      reader.end = end;
      while (reader.pos < end) {
        const t = reader.tag();
        const wire = t & 7;
        const f = t >>> 3;
        if (f === RECORD_FIELD.partitionKeyIndex && wire === WIRE_VARINT) pk = reader.uint();
        else if (f === RECORD_FIELD.explicitHashKeyIndex && wire === WIRE_VARINT) ehk = reader.uint();
        else if (f === RECORD_FIELD.data && wire === WIRE_LENGTH_DELIMITED) {
          dataEnd = reader.delimitedEnd();
          dataStart = reader.pos;
          reader.pos = dataEnd;
        } else if (f === RECORD_FIELD.tags && wire === WIRE_LENGTH_DELIMITED) checkTag(reader);
        else reader.skip(t);
      }
      reader.end = outer;
      if (pk < 0) throw new MalformedProtobufError('sub-record without partition_key_index');
      if (dataStart < 0) throw new MalformedProtobufError('sub-record without data');
      idx.push(pk, ehk);
      const n = out.length - first;
      out.push({
        sequenceNumber,
        subSequenceNumber: n,
        partitionKey: '',
        data: data.subarray(dataStart, dataEnd),
        approximateArrivalTimestamp,
        aggregated: true,
      });
    } else if (field === AGGREGATED_RECORD_FIELD.partitionKeyTable) {
      partitionKeys.push(text.toString('utf8', reader.pos, end));
    } else if (field === AGGREGATED_RECORD_FIELD.explicitHashKeyTable) {
      explicitHashKeys.push(text.toString('utf8', reader.pos, end));
    }
    reader.pos = end;
  }

  const count = out.length - first;
  if (count === 0) throw new MalformedAggregateError('aggregate holds no sub-records');
  for (let i = 0; i < count; i++) {
    const r = out[first + i]!;
    const pk = partitionKeys[idx[2 * i]!];
    if (pk === undefined) throw new MalformedAggregateError(`sub-record ${i}: partition key index outside the table`);
    r.partitionKey = pk;
    const e = idx[2 * i + 1]!;
    if (e >= 0) {
      const ehk = explicitHashKeys[e];
      if (ehk === undefined) throw new MalformedAggregateError(`sub-record ${i}: explicit hash key index outside the table`);
      r.explicitHashKey = ehk;
    }
  }
  return bounds === undefined ? 0 : filterOffRange(out, first, bounds, partitionKeys, explicitHashKeys);
}

/** Tag { required string key = 1; optional string value = 2; }: checked for well-formedness, then ignored. */
function checkTag(reader: ProtoReader): void {
  const end = reader.delimitedEnd();
  const outer = reader.end;
  reader.end = end;
  let hasKey = false;
  while (reader.pos < end) {
    const t = reader.tag();
    if (t >>> 3 === 1 && (t & 7) === WIRE_LENGTH_DELIMITED) hasKey = true;
    reader.skip(t);
  }
  reader.end = outer;
  if (!hasKey) throw new MalformedProtobufError('tag without key');
}

/**
 * Removes from `out[first…]` the sub-records whose effective hash key is outside `bounds`; keeps the rest in order.
 * The partition-key hashes are computed once per table entry. A sub-record whose explicit hash key is not a valid
 * hash key cannot be placed, and is kept (never drop what cannot be judged).
 */
function filterOffRange(
  out: KinesisClientRecord[],
  first: number,
  bounds: HashKeyBounds,
  partitionKeys: string[],
  explicitHashKeys: string[],
): number {
  const pkHashes: (bigint | undefined)[] = new Array<bigint | undefined>(partitionKeys.length);
  const ehkValues: (bigint | null | undefined)[] = new Array<bigint | null | undefined>(explicitHashKeys.length);
  const idx = indexes;
  let kept = first;
  const count = out.length - first;
  for (let i = 0; i < count; i++) {
    const r = out[first + i]!;
    let hash: bigint | undefined;
    const e = idx[2 * i + 1]!;
    if (e >= 0) {
      let v = ehkValues[e];
      if (v === undefined) v = ehkValues[e] = parseHashKey(explicitHashKeys[e]!) ?? null;
      hash = v ?? undefined;
    } else {
      const p = idx[2 * i]!;
      hash = pkHashes[p] ??= partitionKeyHash(partitionKeys[p]!);
    }
    if (hash === undefined || (hash >= bounds.start && hash <= bounds.end)) out[kept++] = r;
  }
  out.length = kept;
  return first + count - kept;
}
