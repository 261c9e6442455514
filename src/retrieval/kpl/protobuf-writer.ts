/** The few protobuf wire-format writes the KPL aggregator needs, into a preallocated buffer. */

/** Bytes of `value` (a non-negative safe integer) as an unsigned varint. */
export function varintSize(value: number): number {
  let size = 1;
  while (value >= 0x80) {
    value = Math.floor(value / 128);
    size++;
  }
  return size;
}

/** Bytes of a length-delimited field (one-byte tag) whose payload is `length` bytes. */
export function delimitedFieldSize(length: number): number {
  return 1 + varintSize(length) + length;
}

/** Writes `value` as an unsigned varint at `pos`; returns the position after it. */
export function writeVarint(buf: Uint8Array, pos: number, value: number): number {
  while (value >= 0x80) {
    buf[pos++] = (value & 0x7f) | 0x80;
    value = Math.floor(value / 128);
  }
  buf[pos++] = value;
  return pos;
}

/** Writes a one-byte tag (field number < 16) for `field` with `wireType`; returns the position after it. */
export function writeTag(buf: Uint8Array, pos: number, field: number, wireType: number): number {
  buf[pos] = (field << 3) | wireType;
  return pos + 1;
}
