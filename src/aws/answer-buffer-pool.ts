/**
 * Reusable buffers for the bodies of GetRecords answers, which the lean reader needs only while it parses them (every
 * value it returns is a copy: strings, and payloads decoded into their own slabs).
 *
 * Why: an answer of several megabytes in a fresh allocation costs more CPU than reading it — the kernel maps and
 * zeroes every page on first touch (measured on this project's machines: ~11–15 ms for 7 MB fresh against ~0.1 ms
 * reused), and the external memory makes V8 collect sooner. A catching-up shard reads such answers back to back.
 *
 * Bounded: at most `maxFreeBytes` are kept while unused, buffers are sized in whole MiB so that answers of similar
 * size share them, and a buffer above `maxFreeBytes` is never kept.
 */
const MIB = 1024 * 1024;

export class AnswerBufferPool {
  private readonly free: Buffer[] = [];
  private freeBytes = 0;

  /** @param maxFreeBytes - how many bytes of unused buffers are kept for the next answers. */
  constructor(private readonly maxFreeBytes: number) {}

  /** A buffer of at least `size` bytes (the smallest free one that fits, else a new one); give it back when done. */
  take(size: number): Buffer {
    let best = -1;
    for (let i = 0; i < this.free.length; i++) {
      const length = this.free[i]!.byteLength;
      if (length >= size && (best < 0 || length < this.free[best]!.byteLength)) best = i;
    }
    if (best >= 0) {
      const [buffer] = this.free.splice(best, 1);
      this.freeBytes -= buffer!.byteLength;
      return buffer!;
    }
    return Buffer.allocUnsafeSlow(Math.ceil(size / MIB) * MIB);
  }

  /** Returns a buffer from {@link take}; nothing may read it afterwards. Dropped (to the GC) when the pool is full. */
  give(buffer: Buffer): void {
    if (this.freeBytes + buffer.byteLength > this.maxFreeBytes) return;
    this.free.push(buffer);
    this.freeBytes += buffer.byteLength;
  }

  /** Bytes held unused (for tests and diagnostics). */
  get idleBytes(): number {
    return this.freeBytes;
  }
}
