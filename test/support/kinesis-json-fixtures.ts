// Generated Kinesis JSON for the lean deserializers' property tests (GetRecords answers, SubscribeToShardEvent
// payloads): records with random, KPL-aggregated and empty payloads, unicode keys, and a JSON writer that varies
// everything JSON allows (whitespace, member order, duplicate members, escapes, number forms).
import { RecordAggregator } from '../../src/retrieval/kpl/aggregator.js';
import { randomBytes, randomInt } from './kpl-fixtures.js';

export class RawNumber {
  constructor(readonly text: string) {}
}

const WS = [' ', '\n', '\t', '\r', '  '];

export function ws(random: () => number): string {
  return random() < 0.6 ? '' : WS[randomInt(random, WS.length)]!;
}

export function writeString(s: string, random: () => number, escapeRate: number): string {
  let out = '"';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    const ch = s[i]!;
    if (ch === '"' || ch === '\\') out += '\\' + ch;
    else if (c < 0x20) out += c === 10 ? '\\n' : c === 9 ? '\\t' : '\\u' + c.toString(16).padStart(4, '0');
    else if (ch === '/' && random() < escapeRate * 5) out += '\\/';
    else if (random() < escapeRate) out += '\\u' + c.toString(16).padStart(4, '0').toUpperCase();
    else out += ch;
  }
  return out + '"';
}

export function writeJson(v: unknown, random: () => number, escapeRate: number): string {
  if (v instanceof RawNumber) return v.text;
  if (v === null) return 'null';
  if (typeof v === 'string') return writeString(v, random, escapeRate);
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (Array.isArray(v)) return `[${ws(random)}${v.map((x) => writeJson(x, random, escapeRate)).join(`${ws(random)},${ws(random)}`)}${ws(random)}]`;
  const entries = Object.entries(v as Record<string, unknown>).filter(([, x]) => x !== undefined);
  for (let i = entries.length - 1; i > 0; i--) {
    const j = randomInt(random, i + 1);
    [entries[i], entries[j]] = [entries[j]!, entries[i]!];
  }
  // Duplicate members (the last wins): an earlier `null` or copy of a member.
  if (entries.length > 0 && random() < 0.1) {
    const [k, x] = entries[randomInt(random, entries.length)]!;
    entries.unshift([k, random() < 0.5 ? null : x]);
  }
  const body = entries.map(([k, x]) => `${ws(random)}${writeString(k, random, escapeRate)}${ws(random)}:${ws(random)}${writeJson(x, random, escapeRate)}`);
  return `{${body.join(',')}${ws(random)}}`;
}

const KEY_CHARS = ['a', 'Z', '9', '-', '_', '/', '"', '\\', ' ', '\n', '\u0001', 'é', '€', '\u{1F600}', '\u2028'];

export function randomKey(random: () => number): string {
  let s = '';
  const n = 1 + randomInt(random, 12);
  for (let i = 0; i < n; i++) s += KEY_CHARS[randomInt(random, KEY_CHARS.length)]!;
  return s;
}

export function timestampText(random: () => number): RawNumber {
  const millis = 1_600_000_000_000 + randomInt(random, 200_000_000_000);
  const forms = [
    String(millis / 1000),
    (millis / 1000).toFixed(3),
    `${millis}e-3`,
    `${(millis / 1000 / 1e9).toString()}E9`,
    String(Math.floor(millis / 1000)),
    (millis / 1000).toFixed(1) + '00',
    (millis / 1000).toFixed(2),
    `${(millis / 1000).toFixed(3)}7`, // a fourth decimal: rounded as the SDK rounds it
    (millis / 1000 + 0.0004999).toFixed(7),
  ];
  return new RawNumber(forms[randomInt(random, forms.length)]!);
}

/** Optional member: present, missing, or `null` (which the SDK treats as missing). */
export function maybe<T>(random: () => number, value: T, missingRate = 0.1): T | null | undefined {
  const r = random();
  return r < missingRate ? undefined : r < missingRate * 2 ? null : value;
}

export function aggregateData(random: () => number): Uint8Array {
  const users = Array.from({ length: 1 + randomInt(random, 20) }, (_, i) => ({
    partitionKey: `user-${i}-${randomKey(random)}`,
    data: randomBytes(random, randomInt(random, 300)),
    ...(random() < 0.3 ? { explicitHashKey: String(BigInt(randomInt(random, 1e9)) * 12345678901234567n) } : {}),
  }));
  const [aggregate] = RecordAggregator.aggregate(users);
  return aggregate!.data;
}

export function generatedRecord(random: () => number, i: number): Record<string, unknown> {
  const data = random() < 0.3 ? aggregateData(random) : randomBytes(random, [0, 1, 2, 3, 100, 1024, 1500][randomInt(random, 7)]!);
  const record: Record<string, unknown> = {
    SequenceNumber: maybe(random, `4959033827149025660855969253836157109592157598913658${String(1000 + i)}`, 0.05),
    ApproximateArrivalTimestamp: maybe(random, timestampText(random), 0.05),
    Data: maybe(random, Buffer.from(data).toString('base64'), 0.05),
    PartitionKey: maybe(random, randomKey(random), 0.05),
  };
  if (random() < 0.3) record.EncryptionType = maybe(random, random() < 0.5 ? 'KMS' : 'NONE');
  if (random() < 0.2) record.SomethingNew = random() < 0.5 ? { nested: [1, 'x', null] } : 42;
  return record;
}
