import { crc32 } from 'node:zlib';

/**
 * One whole message of an `application/vnd.amazon.eventstream` body, its prelude checksum verified. Handed to the
 * caller's function synchronously: `bytes` (and `payload`) may be a buffer shared by every reader, valid only
 * during that call — copy what must outlive it.
 */
export interface EventStreamFrame {
  /** The whole message as received (what the SDK's own decoding is given when the lean path declines it). */
  bytes: Buffer;
  /** The message checksum matches and every header is well-formed, of a known type. */
  intact: boolean;
  /** `:message-type` and `:event-type` when string headers (the last of each wins, as in the SDK). */
  messageType: string | undefined;
  eventType: string | undefined;
  payload: Buffer;
}

const PRELUDE = 12;
/** Prelude plus the message checksum: a message without headers or payload. */
const MIN_MESSAGE = 16;
/** Value sizes of the fixed-size header types (0/1 true/false, 2 byte, 3 short, 4 int, 5 long, 8 timestamp, 9 uuid). */
const FIXED_VALUE_BYTES = [0, 0, 1, 2, 4, 8, -1, -1, 8, 16];
const STRING = 7;
const BYTES = 6;
/**
 * Messages up to this size that straddle chunks are joined in one buffer shared by all readers (used synchronously,
 * see {@link EventStreamFrame}): copying into warm memory cost a fraction of copying into a fresh buffer per
 * message (page faults); a larger message gets a buffer of its own.
 */
const SHARED_MAX = 8 * 1024 * 1024;
let shared: Buffer | undefined;

/**
 * Splits an event-stream body (a Node stream's chunks) into whole messages: prelude (total length, headers length,
 * prelude CRC32), headers, payload, message CRC32 — both checksums verified. Only the two routing headers are
 * decoded; the others are skipped by their type's size. A message is handed out only once all of it arrived, so a
 * connection cut mid-message is an error, never a partial message. A message that fits in the chunk it starts in is
 * a view of that chunk; a longer one is joined once all of it is there.
 */
export class EventStreamFrames {
  private readonly chunks: Buffer[] = [];
  /** Read offset in `chunks[0]`. */
  private head = 0;
  /** Unread bytes in `chunks`. */
  private buffered = 0;

  constructor(private readonly source: AsyncIterator<unknown>) {}

  /**
   * Reads the next message and returns what `use` makes of it (called synchronously, see {@link EventStreamFrame});
   * `undefined` when the body ended between messages.
   * @throws when the body ends inside a message, a prelude is too short or its checksum fails (the lengths cannot
   * be trusted, so the stream cannot go on), or the body fails.
   */
  async next<T>(use: (frame: EventStreamFrame) => T): Promise<T | undefined> {
    if (!(await this.fill(PRELUDE))) {
      if (this.buffered === 0) return undefined;
      throw truncated();
    }
    const prelude = this.peek(PRELUDE);
    const total = prelude.readUInt32BE(0);
    const headersLength = prelude.readUInt32BE(4);
    const expected = prelude.readUInt32BE(8);
    // The SDK's checks, in its order and words.
    if (total < MIN_MESSAGE) throw new Error('Provided message too short to accommodate event stream message overhead');
    const actual = crc32(prelude.subarray(0, 8));
    if (actual !== expected) {
      throw new Error(`The prelude checksum specified in the message (${expected}) does not match the calculated CRC32 checksum (${actual})`);
    }
    if (!(await this.fill(total))) throw truncated();
    const bytes = this.take(total);
    // Headers longer than the message: for the SDK's decoding to reject as it does.
    if (headersLength > total - MIN_MESSAGE) return use({ bytes, intact: false, messageType: undefined, eventType: undefined, payload: bytes.subarray(0, 0) });
    return use(decode(bytes, headersLength));
  }

  /** At least `n` bytes buffered; false when the body ended first. */
  private async fill(n: number): Promise<boolean> {
    while (this.buffered < n) {
      const chunk = await this.pull();
      if (chunk === undefined) return false;
      this.chunks.push(chunk);
      this.buffered += chunk.byteLength;
    }
    return true;
  }

  private async pull(): Promise<Buffer | undefined> {
    for (;;) {
      const result: IteratorResult<unknown> = await this.source.next();
      if (result.done === true) return undefined;
      const value = result.value;
      const chunk = typeof value === 'string' ? Buffer.from(value) : Buffer.isBuffer(value) ? value : Buffer.from(value as Uint8Array);
      if (chunk.byteLength > 0) return chunk;
    }
  }

  /** The next `n` (buffered) bytes as one view, joining the first chunks when they straddle (rare: a prelude). */
  private peek(n: number): Buffer {
    let first = this.chunks[0]!;
    if (first.byteLength - this.head < n) {
      let count = 1;
      let length = first.byteLength - this.head;
      while (length < n) length += this.chunks[count++]!.byteLength;
      const joined = Buffer.concat([first.subarray(this.head), ...this.chunks.slice(1, count)], length);
      this.chunks.splice(0, count, joined);
      this.head = 0;
      first = joined;
    }
    return first.subarray(this.head, this.head + n);
  }

  /** The next `n` bytes (buffered), consumed: a view of one chunk, or the chunks joined. */
  private take(n: number): Buffer {
    const first = this.chunks[0]!;
    if (first.byteLength - this.head >= n) {
      const out = first.subarray(this.head, this.head + n);
      this.consume(n);
      return out;
    }
    let out: Buffer;
    if (n > SHARED_MAX) out = Buffer.allocUnsafe(n);
    else {
      if (shared === undefined || shared.byteLength < n) shared = Buffer.allocUnsafeSlow(Math.max(n, Math.min(SHARED_MAX, 2 * (shared?.byteLength ?? 32_768))));
      out = shared.subarray(0, n);
    }
    let filled = 0;
    while (filled < n) {
      const chunk = this.chunks[0]!;
      const part = Math.min(chunk.byteLength - this.head, n - filled);
      chunk.copy(out, filled, this.head, this.head + part);
      filled += part;
      this.consume(part);
    }
    return out;
  }

  private consume(n: number): void {
    this.head += n;
    this.buffered -= n;
    if (this.head === this.chunks[0]!.byteLength) {
      this.chunks.shift();
      this.head = 0;
    }
  }

  /** One message with string headers (synthetic messages for the SDK's decoding; tests). */
  static encode(headers: Record<string, string>, payload: Uint8Array): Buffer {
    const encoded = Object.entries(headers).map(([name, value]) => {
      const n = Buffer.from(name, 'utf8');
      const v = Buffer.from(value, 'utf8');
      const h = Buffer.alloc(n.byteLength + v.byteLength + 4);
      h[0] = n.byteLength;
      n.copy(h, 1);
      h[n.byteLength + 1] = STRING;
      h.writeUInt16BE(v.byteLength, n.byteLength + 2);
      v.copy(h, n.byteLength + 4);
      return h;
    });
    const headerBytes = Buffer.concat(encoded);
    const total = PRELUDE + headerBytes.byteLength + payload.byteLength + 4;
    const out = Buffer.alloc(total);
    out.writeUInt32BE(total, 0);
    out.writeUInt32BE(headerBytes.byteLength, 4);
    out.writeUInt32BE(crc32(out.subarray(0, 8)), 8);
    headerBytes.copy(out, PRELUDE);
    out.set(payload, PRELUDE + headerBytes.byteLength);
    out.writeUInt32BE(crc32(out.subarray(0, total - 4)), total - 4);
    return out;
  }
}

/** The SDK's words for a body that ends inside a message. */
function truncated(): Error {
  return new Error('Truncated event message received.');
}

function decode(bytes: Buffer, headersLength: number): EventStreamFrame {
  const total = bytes.byteLength;
  const end = PRELUDE + headersLength;
  const payload = bytes.subarray(end, total - 4);
  let intact = crc32(bytes.subarray(0, total - 4)) === bytes.readUInt32BE(total - 4);
  let messageType: string | undefined;
  let eventType: string | undefined;
  let p = PRELUDE;
  while (intact && p < end) {
    const nameEnd = p + 1 + bytes[p]!;
    if (nameEnd >= end) {
      intact = false;
      break;
    }
    const name = bytes.toString('latin1', p + 1, nameEnd);
    const type = bytes[nameEnd]!;
    let valueStart = nameEnd + 1;
    let valueEnd: number;
    if (type === STRING || type === BYTES) {
      if (valueStart + 2 > end) {
        intact = false;
        break;
      }
      valueEnd = valueStart + 2 + bytes.readUInt16BE(valueStart);
      valueStart += 2;
    } else if (type < FIXED_VALUE_BYTES.length) {
      valueEnd = valueStart + FIXED_VALUE_BYTES[type]!;
    } else {
      intact = false; // a type this reader (and the SDK) does not know
      break;
    }
    if (valueEnd > end) intact = false;
    else if (name === ':message-type' || name === ':event-type') {
      // A routing header of another type is not one the lean path understands: the SDK decides what it means.
      if (type !== STRING) intact = false;
      else if (name === ':message-type') messageType = bytes.toString('utf8', valueStart, valueEnd);
      else eventType = bytes.toString('utf8', valueStart, valueEnd);
    }
    p = valueEnd;
  }
  return { bytes, intact, messageType, eventType, payload };
}
