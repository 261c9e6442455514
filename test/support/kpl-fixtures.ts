// Helpers for KPL codec tests: a seeded PRNG, hand-built protobuf bytes and framing with magic + MD5.
import { createHash } from 'node:crypto';
import type { KinesisRecord } from '../../src/aws/kinesis-types.js';

export { seededRandom } from './seeded-random.js';

export function randomInt(random: () => number, maxExclusive: number): number {
  return Math.floor(random() * maxExclusive);
}

export function randomBytes(random: () => number, length: number): Uint8Array {
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i++) out[i] = randomInt(random, 256);
  return out;
}

export const MAGIC = Uint8Array.of(0xf3, 0x89, 0x9a, 0xc2);

/** magic + proto + MD5(proto): a well-framed aggregate around any protobuf bytes. */
export function frame(proto: Uint8Array): Uint8Array {
  const digest = createHash('md5').update(proto).digest();
  return concat(MAGIC, proto, digest);
}

export function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let pos = 0;
  for (const p of parts) {
    out.set(p, pos);
    pos += p.length;
  }
  return out;
}

export function varint(value: number | bigint): Uint8Array {
  let v = BigInt(value);
  const out: number[] = [];
  while (v >= 0x80n) {
    out.push(Number(v & 0x7fn) | 0x80);
    v >>= 7n;
  }
  out.push(Number(v));
  return Uint8Array.from(out);
}

const utf8 = new TextEncoder();

/** Protobuf field builders. */
export const pb = {
  varintField: (field: number, value: number | bigint): Uint8Array => concat(varint((field << 3) | 0), varint(value)),
  bytesField: (field: number, payload: Uint8Array | string): Uint8Array => {
    const bytes = typeof payload === 'string' ? utf8.encode(payload) : payload;
    return concat(varint((field << 3) | 2), varint(bytes.length), bytes);
  },
  fixed32Field: (field: number): Uint8Array => concat(varint((field << 3) | 5), Uint8Array.of(1, 2, 3, 4)),
  fixed64Field: (field: number): Uint8Array => concat(varint((field << 3) | 1), new Uint8Array(8)),
  group: (field: number, ...inner: Uint8Array[]): Uint8Array => concat(varint((field << 3) | 3), ...inner, varint((field << 3) | 4)),
};

/** Record { partition_key_index = 1; explicit_hash_key_index = 2; data = 3; tags = 4 } as a field of AggregatedRecord. */
export function subRecord(fields: { pk?: number | bigint; ehk?: number | bigint; data?: Uint8Array | string; extra?: Uint8Array[] }): Uint8Array {
  const parts: Uint8Array[] = [];
  if (fields.pk !== undefined) parts.push(pb.varintField(1, fields.pk));
  if (fields.ehk !== undefined) parts.push(pb.varintField(2, fields.ehk));
  if (fields.data !== undefined) parts.push(pb.bytesField(3, fields.data));
  parts.push(...(fields.extra ?? []));
  return pb.bytesField(3, concat(...parts));
}

/** A KinesisRecord around `data`, as the fetcher would hand it over. */
export function kinesisRecord(data: Uint8Array, sequenceNumber = '49590338271490256608559692538361571095921575989136588898', partitionKey = 'outer'): KinesisRecord {
  return { sequenceNumber, partitionKey, data, approximateArrivalTimestamp: new Date(1_700_000_000_000) };
}

export function text(data: Uint8Array): string {
  return Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('utf8');
}
