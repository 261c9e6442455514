// Strict base64 for record payloads (the lean GetRecords and SubscribeToShard readers).
const EQUALS = 61;

/**
 * Payloads are decoded into shared slabs of this size rather than one allocation each: Node's own pool hands out
 * 8 KiB at a time, so 1 KiB records cost an ArrayBuffer every few records (allocation and GC bookkeeping were ~20 %
 * of a replay drain's samples). A record's `data` keeps its slab alive, as a pooled Buffer keeps Node's pool slab;
 * payloads above a quarter of it get a buffer of their own.
 */
const SLAB_BYTES = 128 * 1024;
let slab: Buffer | undefined;
let slabUsed = 0;

/**
 * Standard base64 (what the SDK accepts: `[A-Za-z0-9+/]*={0,2}`, length a multiple of 4) decoded into a
 * `Uint8Array` view, or `undefined`. Node's decoder skips characters outside its alphabets, so a string with any
 * such character decodes to fewer bytes than its length promises; the URL-safe `-` and `_` it also accepts are
 * looked for directly. Cheaper than the SDK's regular expression over every payload.
 */
export function decodeBase64(s: string): Uint8Array | undefined {
  const length = s.length;
  if (length % 4 !== 0) return undefined;
  const padding = length === 0 ? 0 : s.charCodeAt(length - 1) === EQUALS ? (s.charCodeAt(length - 2) === EQUALS ? 2 : 1) : 0;
  const expected = (length / 4) * 3 - padding;
  if (s.includes('-') || s.includes('_')) return undefined;
  if (expected > SLAB_BYTES >> 2) {
    const bytes = Buffer.from(s, 'base64');
    return bytes.byteLength === expected ? new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength) : undefined;
  }
  if (slab === undefined || slab.byteLength - slabUsed < expected) {
    slab = Buffer.allocUnsafeSlow(SLAB_BYTES);
    slabUsed = 0;
  }
  // A string with characters outside the alphabet decodes to fewer bytes than promised: rejected, slab space reused.
  if (slab.write(s, slabUsed, expected, 'base64') !== expected) return undefined;
  const view = new Uint8Array(slab.buffer, slab.byteOffset + slabUsed, expected);
  slabUsed += expected;
  return view;
}
