import { WIRE_FIXED32, WIRE_FIXED64, WIRE_LENGTH_DELIMITED, WIRE_VARINT } from './kpl-format.js';

/** Thrown by `ProtoReader` for bytes that are not a well-formed protobuf message; caught by the deaggregator. */
export class MalformedProtobufError extends Error {
  constructor(reason: string) {
    super(reason);
    this.name = 'MalformedProtobufError';
  }
}

const WIRE_START_GROUP = 3;
const WIRE_END_GROUP = 4;
/** Nesting limit for (deprecated) groups in unknown fields, as protobuf's own recursion limit. */
const MAX_GROUP_DEPTH = 100;

/**
 * A minimal protobuf wire-format reader over `buf[pos, end)`: varints, length-delimited fields and skipping of
 * unknown fields (every wire type, groups included, as protobuf-java does). Every read is bounds-checked against
 * `end` and throws `MalformedProtobufError` rather than reading past it.
 */
export class ProtoReader {
  constructor(
    readonly buf: Uint8Array,
    public pos: number,
    public end: number,
  ) {}

  /**
   * An unsigned varint of up to 10 bytes as a number. Values above 2^53 lose precision, which is harmless here:
   * they are only ever table indexes (out of range anyway), lengths (checked against the bytes left) or tags.
   */
  uint(): number {
    const buf = this.buf;
    let pos = this.pos;
    if (pos < this.end) {
      const b = buf[pos]!;
      if (b < 0x80) {
        this.pos = pos + 1;
        return b;
      }
    }
    let result = 0;
    let scale = 1;
    for (let i = 0; i < 10; i++) {
      if (pos >= this.end) throw new MalformedProtobufError('truncated varint');
      const b = buf[pos++]!;
      result += (b & 0x7f) * scale;
      if (b < 0x80) {
        this.pos = pos;
        return result;
      }
      scale *= 128;
    }
    throw new MalformedProtobufError('varint longer than 10 bytes');
  }

  /**
   * A field tag: `(fieldNumber << 3) | wireType`, truncated to 32 bits as protobuf-java reads it. Field number 0
   * is invalid.
   */
  tag(): number {
    const tag = this.uint() >>> 0;
    if (tag < 8) throw new MalformedProtobufError('invalid field number 0');
    return tag;
  }

  /** Reads the length prefix of a length-delimited field; returns the end of its bytes (`pos` is their start). */
  delimitedEnd(): number {
    const length = this.uint();
    if (length > this.end - this.pos) throw new MalformedProtobufError('length-delimited field runs past the end');
    return this.pos + length;
  }

  /** Skips the value of a field with this tag (any wire type). */
  skip(tag: number, depth = 0): void {
    switch (tag & 7) {
      case WIRE_VARINT:
        this.uint();
        return;
      case WIRE_FIXED64:
        this.advance(8);
        return;
      case WIRE_LENGTH_DELIMITED:
        this.pos = this.delimitedEnd();
        return;
      case WIRE_FIXED32:
        this.advance(4);
        return;
      case WIRE_START_GROUP: {
        if (depth >= MAX_GROUP_DEPTH) throw new MalformedProtobufError('groups nested too deeply');
        const field = Math.floor(tag / 8);
        for (;;) {
          if (this.pos >= this.end) throw new MalformedProtobufError('unterminated group');
          const inner = this.tag();
          if ((inner & 7) === WIRE_END_GROUP) {
            if (Math.floor(inner / 8) !== field) throw new MalformedProtobufError('mismatched end of group');
            return;
          }
          this.skip(inner, depth + 1);
        }
      }
      case WIRE_END_GROUP:
        throw new MalformedProtobufError('unexpected end of group');
      default:
        throw new MalformedProtobufError(`invalid wire type ${tag & 7}`);
    }
  }

  private advance(bytes: number): void {
    if (bytes > this.end - this.pos) throw new MalformedProtobufError('fixed-width field runs past the end');
    this.pos += bytes;
  }
}
