// Strict base64 for record payloads (the lean GetRecords and SubscribeToShard readers).
const EQUALS = 61;

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
  const bytes = Buffer.from(s, 'base64');
  if (bytes.byteLength !== (length / 4) * 3 - padding) return undefined;
  if (s.includes('-') || s.includes('_')) return undefined;
  return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
