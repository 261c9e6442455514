import { isAscii } from 'node:buffer';
import type { ChildShard as SdkChildShard, _Record as SdkRecord } from '@aws-sdk/client-kinesis';
import { decodeBase64 } from './strict-base64.js';

/** Thrown (preallocated, never escapes) when the bytes are not what the fast reader takes. */
export const BAIL = new Error('not a plain Kinesis answer');

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const COLON = 0x3a;
const LBRACE = 0x7b;
const RBRACE = 0x7d;
const LBRACKET = 0x5b;
const RBRACKET = 0x5d;
const NUMBER = /^-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?$/;

/** The member names of a GetRecords answer and a SubscribeToShardEvent, by length (see `KinesisJsonReader.key`). */
const KEYS_BY_LENGTH: { name: string; bytes: Buffer }[][] = [];
for (const name of [
  'Records', 'NextShardIterator', 'ContinuationSequenceNumber', 'MillisBehindLatest', 'ChildShards', 'SequenceNumber', 'ApproximateArrivalTimestamp',
  'Data', 'PartitionKey', 'EncryptionType', 'ShardId', 'ParentShards', 'HashKeyRange', 'StartingHashKey', 'EndingHashKey',
]) {
  (KEYS_BY_LENGTH[name.length] ??= []).push({ name, bytes: Buffer.from(name, 'latin1') });
}

/**
 * Reads the JSON Kinesis answers with records (a GetRecords body, a SubscribeToShardEvent payload) straight from
 * their bytes into the SDK's shapes; `records-page-json.ts` reads the top level of both with it.
 * Why not `JSON.parse`: it needs the whole body as one string, and a multi-megabyte string costs V8 more than
 * parsing it (measured: ~7 ms to make the string of a 1.4 MB answer, ~1 ms to parse it, ~1 ms to decode its base64).
 * Here every string is a small slice of the bytes, and `Data` goes from its slice to a `Uint8Array` at once.
 *
 * Strict: anything that is not valid JSON, or not the documented shape (a member of an unexpected type, `__type`,
 * base64 the SDK would reject or read differently, a `__proto__` key), throws `BAIL` and the caller hands the
 * bytes to the SDK, whose result or error then stands. What valid JSON allows is read as `JSON.parse` would:
 * whitespace, any member order, duplicate members (the last wins), escapes (those strings go through `JSON.parse`),
 * `null` (the member is absent, as in the SDK), unknown members (validated, then dropped).
 */
export class KinesisJsonReader {
  private pos = 0;
  /** The first backslash at or after `pos`: strings ending before it have no escapes. */
  private nextBackslash: number;
  private readonly encoding: 'latin1' | 'utf8';

  constructor(private readonly b: Buffer) {
    const i = b.indexOf(BACKSLASH);
    this.nextBackslash = i < 0 ? b.length : i;
    // ASCII bytes are the same in latin1, which V8 copies without decoding.
    this.encoding = isAscii(b) ? 'latin1' : 'utf8';
  }

  /** After the top-level value: only whitespace may follow. */
  atEnd(): boolean {
    return this.ws() === -1;
  }

  records(): SdkRecord[] {
    const records: SdkRecord[] = [];
    this.array(() => records.push(this.record()));
    return records;
  }

  private record(): SdkRecord {
    let sequenceNumber: string | undefined;
    let data: string | undefined;
    let arrival: number | undefined;
    let partitionKey: string | undefined;
    let encryptionType: string | undefined;
    this.object((key) => {
      if (key === 'Data') data = this.isNull() ? undefined : this.string(false);
      else if (key === 'SequenceNumber') sequenceNumber = this.isNull() ? undefined : this.string(true);
      else if (key === 'ApproximateArrivalTimestamp') arrival = this.isNull() ? undefined : this.epochMillis();
      else if (key === 'PartitionKey') partitionKey = this.isNull() ? undefined : this.string(true);
      else if (key === 'EncryptionType') encryptionType = this.isNull() ? undefined : this.string(true);
      else if (key === '__type') throw BAIL;
      else this.skip();
    });
    const r = {} as SdkRecord;
    if (sequenceNumber !== undefined) r.SequenceNumber = sequenceNumber;
    if (data !== undefined) {
      const bytes = decodeBase64(data);
      if (bytes === undefined) throw BAIL;
      r.Data = bytes;
    }
    if (arrival !== undefined) r.ApproximateArrivalTimestamp = new Date(arrival);
    if (partitionKey !== undefined) r.PartitionKey = partitionKey;
    if (encryptionType !== undefined) r.EncryptionType = encryptionType as SdkRecord['EncryptionType'];
    return r;
  }

  /** Skips whitespace; the byte there, or -1 at the end. */
  private ws(): number {
    const b = this.b;
    let p = this.pos;
    while (p < b.length) {
      const c = b[p]!;
      if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) break;
      p++;
    }
    this.pos = p;
    return p < b.length ? b[p]! : -1;
  }

  object(member: (key: string) => void): void {
    if (this.ws() !== LBRACE) throw BAIL;
    this.pos++;
    if (this.ws() === RBRACE) {
      this.pos++;
      return;
    }
    for (;;) {
      if (this.ws() !== QUOTE) throw BAIL;
      const key = this.key();
      if (key === '__proto__') throw BAIL;
      if (this.ws() !== COLON) throw BAIL;
      this.pos++;
      member(key);
      const c = this.ws();
      this.pos++;
      if (c === RBRACE) return;
      if (c !== COMMA) throw BAIL;
    }
  }

  private array(element: () => void): void {
    if (this.ws() !== LBRACKET) throw BAIL;
    this.pos++;
    if (this.ws() === RBRACKET) {
      this.pos++;
      return;
    }
    for (;;) {
      element();
      const c = this.ws();
      this.pos++;
      if (c === RBRACKET) return;
      if (c !== COMMA) throw BAIL;
    }
  }

  /** `null` here: consumes it. */
  isNull(): boolean {
    if (this.ws() !== 0x6e) return false;
    this.literal('null');
    return true;
  }

  private literal(word: string): void {
    if (this.b.toString('latin1', this.pos, this.pos + word.length) !== word) throw BAIL;
    this.pos += word.length;
  }

  /**
   * A member name: the names of a GetRecords answer come back as the same constant strings, compared byte by byte
   * (five per record: making each one a new string cost more than the rest of reading its record); any other
   * name, or one with escapes, is read as a string.
   */
  private key(): string {
    const b = this.b;
    const start = this.pos + 1;
    if (b[this.pos] === QUOTE && start < this.nextBackslash) {
      const candidates = KEYS_BY_LENGTH[b.indexOf(QUOTE, start) - start];
      if (candidates !== undefined) {
        for (const { name, bytes } of candidates) {
          let i = 0;
          while (i < bytes.length && b[start + i] === bytes[i]) i++;
          if (i === bytes.length) {
            this.pos = start + i + 1;
            return name;
          }
        }
      }
    }
    return this.string(true);
  }

  /**
   * A string. `checkControl`: reject raw control characters here (invalid JSON); `Data` skips it because its
   * base64 check rejects them anyway.
   */
  string(checkControl: boolean): string {
    if (this.ws() !== QUOTE) throw BAIL;
    const b = this.b;
    const start = this.pos + 1;
    const end = b.indexOf(QUOTE, start);
    if (end < 0) throw BAIL;
    if (this.nextBackslash < end) return this.escapedString(start);
    if (checkControl) for (let i = start; i < end; i++) if (b[i]! < 0x20) throw BAIL;
    this.pos = end + 1;
    return b.toString(this.encoding, start, end);
  }

  /** A string with escapes: its exact end, then `JSON.parse` of just that string. */
  private escapedString(start: number): string {
    const b = this.b;
    let i = start;
    while (i < b.length && b[i] !== QUOTE) i += b[i] === BACKSLASH ? 2 : 1;
    if (i >= b.length) throw BAIL;
    let s: unknown;
    try {
      s = JSON.parse(b.toString('utf8', start - 1, i + 1));
    } catch {
      throw BAIL;
    }
    this.pos = i + 1;
    const next = b.indexOf(BACKSLASH, this.pos);
    this.nextBackslash = next < 0 ? b.length : next;
    return s as string;
  }

  /**
   * Epoch seconds as the SDK turns them into a `Date`: `Math.round(seconds × 1000)` milliseconds. The form Kinesis
   * writes (up to 12 integer digits, up to 3 decimals) is computed from the digits — exactly that value, as the
   * error of the double is far below half a millisecond there — without making a string; any other form goes
   * through {@link number}.
   */
  private epochMillis(): number {
    const b = this.b;
    const start = this.pos;
    let p = start;
    let whole = 0;
    while (p < b.length && p - start < 12 && b[p]! >= 0x30 && b[p]! <= 0x39) whole = whole * 10 + (b[p++]! - 0x30);
    const wholeDigits = p - start;
    let millis = 0;
    let plain = wholeDigits > 0 && !(wholeDigits > 1 && b[start] === 0x30);
    if (plain && b[p] === 0x2e) {
      p++;
      let scale = 100;
      const fractionStart = p;
      while (p < b.length && p - fractionStart < 3 && b[p]! >= 0x30 && b[p]! <= 0x39) {
        millis += (b[p++]! - 0x30) * scale;
        scale /= 10;
      }
      plain = p > fractionStart;
    }
    const next = p < b.length ? b[p]! : -1;
    if (plain && !((next >= 0x30 && next <= 0x39) || next === 0x2e || next === 0x65 || next === 0x45 || next === 0x2b || next === 0x2d)) {
      this.pos = p;
      return whole * 1000 + millis;
    }
    const seconds = this.number();
    if (!Number.isFinite(seconds)) throw BAIL;
    return Math.round(seconds * 1000);
  }

  number(): number {
    const b = this.b;
    const start = this.pos;
    let p = start;
    while (p < b.length) {
      const c = b[p]!;
      // digits, '+', '-', '.', 'e', 'E'
      if ((c >= 0x30 && c <= 0x39) || c === 0x2b || c === 0x2d || c === 0x2e || c === 0x65 || c === 0x45) p++;
      else break;
    }
    const text = b.toString('latin1', start, p);
    if (!NUMBER.test(text)) throw BAIL;
    this.pos = p;
    return Number(text);
  }

  /** Any JSON value, validated and dropped. */
  skip(): void {
    const c = this.ws();
    if (c === LBRACE) this.object(() => this.skip());
    else if (c === LBRACKET) this.array(() => this.skip());
    else if (c === QUOTE) this.string(true);
    else if (c === 0x74) this.literal('true');
    else if (c === 0x66) this.literal('false');
    else if (c === 0x6e) this.literal('null');
    else this.number();
  }

  /** ChildShards as the SDK reads them (small and rare: built as plain values, then checked). */
  childShards(): SdkChildShard[] {
    return childShards(this.value());
  }

  /** Any JSON value, built. */
  private value(): unknown {
    const c = this.ws();
    if (c === LBRACE) {
      const o: Record<string, unknown> = {};
      this.object((key) => (o[key] = this.value()));
      return o;
    }
    if (c === LBRACKET) {
      const a: unknown[] = [];
      this.array(() => a.push(this.value()));
      return a;
    }
    if (c === QUOTE) return this.string(true);
    if (c === 0x74) return this.literal('true'), true;
    if (c === 0x66) return this.literal('false'), false;
    if (c === 0x6e) return this.literal('null'), null;
    return this.number();
  }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** ChildShards as the SDK reads them (`null` members absent), or BAIL for any other shape. */
function childShards(value: unknown): SdkChildShard[] {
  if (!Array.isArray(value)) throw BAIL;
  return value.map((c: unknown) => {
    if (!isObject(c) || c.__type !== undefined) throw BAIL;
    const out = {} as SdkChildShard;
    const { ShardId, ParentShards, HashKeyRange } = c;
    if (ShardId != null) out.ShardId = str(ShardId);
    if (ParentShards != null) {
      if (!Array.isArray(ParentShards)) throw BAIL;
      out.ParentShards = ParentShards.map(str);
    }
    if (HashKeyRange != null) {
      if (!isObject(HashKeyRange) || HashKeyRange.__type !== undefined) throw BAIL;
      const range = {} as NonNullable<SdkChildShard['HashKeyRange']>;
      if (HashKeyRange.StartingHashKey != null) range.StartingHashKey = str(HashKeyRange.StartingHashKey);
      if (HashKeyRange.EndingHashKey != null) range.EndingHashKey = str(HashKeyRange.EndingHashKey);
      out.HashKeyRange = range;
    }
    return out;
  });
}

function str(v: unknown): string {
  if (typeof v !== 'string') throw BAIL;
  return v;
}
