/**
 * KPL deaggregation throughput, in user (sub-)records per second, on the same inputs in the same process:
 *
 *   npx tsx bench/kpl-deaggregation.ts [--rounds 10] [--warmup 3] [--millis 300]
 *
 * Contenders (every one checks the MD5 unless said otherwise, and turns each aggregate into per-sub-record objects):
 * - `ts-kcl`: `deaggregateRecords` (hand-written protobuf decoder; sub-record data are views).
 * - `ts-kcl + protobufjs`: the same pipeline (magic, MD5, table look-ups, the same KinesisClientRecord objects) with
 *   the protobuf message decoded by protobufjs 8 (reflection `Type.decode`, uint64 as JS numbers: its fastest
 *   setup). This is the protobuf decision: library vs hand decoder.
 * - `aws-kinesis-agg`: `deaggregateSync(record, computeChecksums = true)` with SDK v3-style input (`Data` bytes);
 *   its output data are base64 strings, as its API defines.
 * - `aws-kinesis-agg, no MD5`: the same with `computeChecksums = false` (its default in many samples), for reference.
 *
 * Inputs are built by ts-kcl's `RecordAggregator` (byte-identical to aws-kinesis-agg's for these records) before
 * timing. Rounds are interleaved (the contender order rotates every round) after unrecorded warm-up rounds; each
 * contender runs the whole input set repeatedly for `--millis` per round. Prints machine facts and a Markdown
 * table with the median (and min–max) over the recorded rounds, and ratios as medians of per-round ratios.
 */
import { createHash } from 'node:crypto';
import { cpus, loadavg, release } from 'node:os';
import { parseArgs } from 'node:util';
import protobuf from 'protobufjs';
import type { KinesisRecord } from '../src/aws/kinesis-types.js';
import type { KinesisClientRecord } from '../src/processor/types.js';
import { RecordAggregator, type UserRecord } from '../src/retrieval/kpl/aggregator.js';
import { deaggregateRecords, plainClientRecord } from '../src/retrieval/kpl/deaggregate.js';
import { hasKplMagic, KPL_DIGEST_LENGTH, KPL_MAGIC_LENGTH, KPL_OVERHEAD } from '../src/retrieval/kpl/kpl-format.js';
import { aggDeaggregate } from '../test/support/aws-kinesis-agg.js';
import { randomBytes, randomInt, seededRandom } from '../test/support/kpl-fixtures.js';

const { values: args } = parseArgs({
  options: {
    rounds: { type: 'string', default: '10' },
    warmup: { type: 'string', default: '3' },
    millis: { type: 'string', default: '300' },
  },
});
const ROUNDS = Number(args.rounds);
const WARMUP = Number(args.warmup);
const MILLIS = Number(args.millis);

// ---- protobufjs variant of the same pipeline -------------------------------------------------------------------
protobuf.util.Long = null as unknown as typeof protobuf.util.Long; // uint64 → number (no Long objects)
protobuf.configure();
const KPL_PROTO = `
syntax = "proto2";
message AggregatedRecord { repeated string partition_key_table = 1; repeated string explicit_hash_key_table = 2; repeated Record records = 3; }
message Tag { required string key = 1; optional string value = 2; }
message Record { required uint64 partition_key_index = 1; optional uint64 explicit_hash_key_index = 2; required bytes data = 3; repeated Tag tags = 4; }
`;
const AggregatedRecordType = protobuf.parse(KPL_PROTO, { keepCase: true }).root.lookupType('AggregatedRecord');
interface PbRecord { partition_key_index: number; explicit_hash_key_index?: number; data: Uint8Array }
interface PbAggregate { partition_key_table: string[]; explicit_hash_key_table: string[]; records: PbRecord[] }
const hasOwn = (o: object, key: string): boolean => Object.prototype.hasOwnProperty.call(o, key);

function protobufjsDeaggregate(records: readonly KinesisRecord[], out: KinesisClientRecord[]): void {
  for (const record of records) {
    const data = record.data;
    if (!hasKplMagic(data) || data.length < KPL_OVERHEAD) {
      out.push(plainClientRecord(record));
      continue;
    }
    const end = data.length - KPL_DIGEST_LENGTH;
    const digest = createHash('md5').update(data.subarray(KPL_MAGIC_LENGTH, end)).digest();
    let ok = true;
    for (let i = 0; i < KPL_DIGEST_LENGTH; i++) if (digest[i] !== data[end + i]) ok = false;
    let message: PbAggregate | undefined;
    if (ok) {
      try {
        message = AggregatedRecordType.decode(data.subarray(KPL_MAGIC_LENGTH, end)) as unknown as PbAggregate;
      } catch {
        message = undefined;
      }
    }
    if (message === undefined || message.records.length === 0) {
      out.push(plainClientRecord(record));
      continue;
    }
    const mark = out.length;
    let bad = false;
    for (let i = 0; i < message.records.length; i++) {
      const r = message.records[i]!;
      const partitionKey = message.partition_key_table[r.partition_key_index];
      if (partitionKey === undefined) {
        bad = true;
        break;
      }
      const sub: KinesisClientRecord = {
        sequenceNumber: record.sequenceNumber,
        subSequenceNumber: i,
        partitionKey,
        data: r.data,
        approximateArrivalTimestamp: record.approximateArrivalTimestamp,
        aggregated: true,
      };
      if (hasOwn(r, 'explicit_hash_key_index')) {
        const ehk = message.explicit_hash_key_table[r.explicit_hash_key_index!];
        if (ehk === undefined) {
          bad = true;
          break;
        }
        sub.explicitHashKey = ehk;
      }
      out.push(sub);
    }
    if (bad) {
      out.length = mark;
      out.push(plainClientRecord(record));
    }
  }
}

// ---- inputs -----------------------------------------------------------------------------------------------------
interface Profile {
  name: string;
  records: KinesisRecord[];
  v3: { data: Uint8Array; partitionKey: string; sequenceNumber: string }[];
  subRecords: number;
  bytes: number;
}

function uuidLike(random: () => number): string {
  const hex = Buffer.from(randomBytes(random, 16)).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

function profile(name: string, seed: number, opts: { aggregates: number; dataBytes: number; keys: number; maxRecordBytes: number }): Profile {
  const random = seededRandom(seed);
  const keys = Array.from({ length: opts.keys }, () => uuidLike(random));
  const records: KinesisRecord[] = [];
  let subRecords = 0;
  let bytes = 0;
  const aggregator = new RecordAggregator({ maxRecordBytes: opts.maxRecordBytes });
  while (records.length < opts.aggregates) {
    const user: UserRecord = { partitionKey: keys[randomInt(random, keys.length)]!, data: randomBytes(random, opts.dataBytes) };
    const full = aggregator.add(user);
    if (full !== undefined) {
      // A fresh plain Uint8Array per record, as the SDK hands out GetRecords data.
      const data = Uint8Array.from(full.data);
      records.push({ sequenceNumber: String(49_000_000_000n + BigInt(records.length)), partitionKey: full.partitionKey, data, approximateArrivalTimestamp: new Date() });
      subRecords += full.userRecords;
      bytes += full.data.byteLength;
    }
  }
  const v3 = records.map((r) => ({ data: r.data, partitionKey: r.partitionKey, sequenceNumber: r.sequenceNumber }));
  return { name, records, v3, subRecords, bytes };
}

const PROFILES: Profile[] = [
  // The KPL's defaults: aggregates up to 50 KiB (AggregationMaxSize 51200), a distinct-ish key per record.
  profile('100 B records, 50 KiB aggregates, 1000 keys', 1, { aggregates: 40, dataBytes: 100, keys: 1000, maxRecordBytes: 51_200 }),
  // Tiny records under a few keys, packed into full 1 MiB records.
  profile('10 B records, 1 MiB aggregates, 10 keys', 2, { aggregates: 4, dataBytes: 10, keys: 10, maxRecordBytes: 1024 * 1024 }),
  // Larger records in full 1 MiB records: MD5 over every byte weighs more.
  profile('1 KiB records, 1 MiB aggregates, 1000 keys', 3, { aggregates: 6, dataBytes: 1024, keys: 1000, maxRecordBytes: 1024 * 1024 }),
];

// ---- contenders -------------------------------------------------------------------------------------------------
interface Contender {
  name: string;
  /** Deaggregates the whole profile once; returns the number of user records produced. */
  run(p: Profile): number;
}

const CONTENDERS: Contender[] = [
  { name: 'ts-kcl', run: (p) => deaggregateRecords(p.records).length },
  {
    name: 'ts-kcl + protobufjs 8',
    run: (p) => {
      const out: KinesisClientRecord[] = [];
      protobufjsDeaggregate(p.records, out);
      return out.length;
    },
  },
  { name: 'aws-kinesis-agg', run: (p) => p.v3.reduce((n, r) => n + aggDeaggregate(r, true).length, 0) },
  { name: 'aws-kinesis-agg, no MD5', run: (p) => p.v3.reduce((n, r) => n + aggDeaggregate(r, false).length, 0) },
];

/** Sub-records per second over repeated passes for about `millis`. */
function measure(c: Contender, p: Profile, millis: number): number {
  let produced = 0;
  const start = process.hrtime.bigint();
  const deadline = start + BigInt(millis) * 1_000_000n;
  let now = start;
  do {
    const n = c.run(p);
    if (n !== p.subRecords) throw new Error(`${c.name} produced ${n} user records, expected ${p.subRecords}`);
    produced += n;
    now = process.hrtime.bigint();
  } while (now < deadline);
  return produced / (Number(now - start) / 1e9);
}

function verifySameOutput(p: Profile): void {
  const ours = deaggregateRecords(p.records);
  const pb: KinesisClientRecord[] = [];
  protobufjsDeaggregate(p.records, pb);
  const theirs = p.v3.flatMap((r) => aggDeaggregate(r, true));
  for (let i = 0; i < ours.length; i++) {
    const a = ours[i]!;
    const b = pb[i]!;
    const c = theirs[i]!;
    const data = Buffer.from(a.data).toString('base64');
    if (a.partitionKey !== b.partitionKey || a.partitionKey !== c.PartitionKey || Buffer.from(b.data).toString('base64') !== data || c.Data !== data) {
      throw new Error(`${p.name}: contenders disagree at user record ${i}`);
    }
  }
}

function median(values: number[]): number {
  const s = [...values].sort((x, y) => x - y);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

function fmt(perSecond: number): string {
  return perSecond >= 1e6 ? `${(perSecond / 1e6).toFixed(2)} M` : `${(perSecond / 1e3).toFixed(0)} k`;
}

const cpu = cpus()[0];
console.log(`Machine: ${cpus().length} × ${cpu?.model ?? '?'}, Linux ${release()}, Node ${process.version}, load average ${loadavg().map((l) => l.toFixed(1)).join(' ')}`);
console.log(`Rounds: ${WARMUP} warm-up + ${ROUNDS} recorded, ${MILLIS} ms per contender per round, order rotated each round\n`);

const results = new Map<string, number[]>();
for (const p of PROFILES) {
  verifySameOutput(p);
  console.log(`${p.name}: ${p.records.length} aggregates, ${p.subRecords} user records, ${(p.bytes / 1024).toFixed(0)} KiB`);
  for (let round = 0; round < WARMUP + ROUNDS; round++) {
    for (let k = 0; k < CONTENDERS.length; k++) {
      const c = CONTENDERS[(round + k) % CONTENDERS.length]!;
      const rate = measure(c, p, MILLIS);
      if (round >= WARMUP) {
        const key = `${p.name}\u0000${c.name}`;
        results.set(key, [...(results.get(key) ?? []), rate]);
      }
    }
  }
}

/** Median over rounds of the per-round ratio a/b (the two ran back to back in each round: fairer under load). */
function pairedRatio(a: number[], b: number[]): number {
  return median(a.map((x, i) => x / b[i]!));
}

console.log('\n| input | contender | user records/s (median) | min–max | vs aws-kinesis-agg | vs ts-kcl + protobufjs |');
console.log('|---|---|---:|---:|---:|---:|');
for (const p of PROFILES) {
  const reference = results.get(`${p.name}\u0000aws-kinesis-agg`)!;
  const pbjs = results.get(`${p.name}\u0000ts-kcl + protobufjs 8`)!;
  for (const c of CONTENDERS) {
    const rates = results.get(`${p.name}\u0000${c.name}`)!;
    const cells = [
      p.name,
      c.name,
      fmt(median(rates)),
      `${fmt(Math.min(...rates))}–${fmt(Math.max(...rates))}`,
      `${pairedRatio(rates, reference).toFixed(2)}×`,
      `${pairedRatio(rates, pbjs).toFixed(2)}×`,
    ];
    console.log(`| ${cells.join(' | ')} |`);
  }
}
console.log('\nRatios are medians of per-round ratios (each round runs every contender back to back).');
