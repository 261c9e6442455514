/**
 * Reusable buffers for the bodies of GetRecords answers, which the lean reader needs only while it parses them (every
 * value it returns is a copy: strings, and payloads decoded into their own slabs).
 *
 * Why: an answer of several megabytes in a fresh allocation costs more CPU than reading it — the kernel maps and
 * zeroes every page on first touch (measured on this project's machines: ~11–15 ms for 7 MB fresh against ~0.1 ms
 * reused), and the external memory makes V8 collect sooner. A catching-up shard reads such answers back to back.
 *
 * Bounded: at most `maxFreeBytes` are kept while unused, and none for longer than `idleMillis` (a shard that caught
 * up reads small answers, which do not use the pool: its big buffers go back to the GC at the next read). Buffers
 * are sized in whole MiB so that answers of similar size share them; one above `maxFreeBytes` is never kept.
 */
const MIB = 1024 * 1024;

export class AnswerBufferPool {
  private readonly free: { buffer: Buffer; since: number }[] = [];
  private freeBytes = 0;

  /**
   * @param maxFreeBytes - how many bytes of unused buffers are kept for the next answers.
   * @param idleMillis - how long an unused buffer is kept.
   * @param now - the clock (milliseconds), injectable for tests.
   */
  constructor(
    private readonly maxFreeBytes: number,
    private readonly idleMillis: number,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** A buffer of at least `size` bytes (the smallest free one that fits, else a new one); give it back when done. */
  take(size: number): Buffer {
    this.trim();
    let best = -1;
    for (let i = 0; i < this.free.length; i++) {
      const length = this.free[i]!.buffer.byteLength;
      if (length >= size && (best < 0 || length < this.free[best]!.buffer.byteLength)) best = i;
    }
    if (best < 0) return Buffer.allocUnsafeSlow(Math.ceil(size / MIB) * MIB);
    const { buffer } = this.free.splice(best, 1)[0]!;
    this.freeBytes -= buffer.byteLength;
    return buffer;
  }

  /** Returns a buffer from {@link take}; nothing may read it afterwards. Dropped (to the GC) when the pool is full. */
  give(buffer: Buffer): void {
    if (this.freeBytes + buffer.byteLength > this.maxFreeBytes) return;
    this.free.push({ buffer, since: this.now() });
    this.freeBytes += buffer.byteLength;
  }

  /** Drops the buffers unused for `idleMillis` (called on every read, large or not). */
  trim(): void {
    if (this.free.length === 0) return;
    const oldest = this.now() - this.idleMillis;
    for (let i = this.free.length - 1; i >= 0; i--) {
      if (this.free[i]!.since > oldest) continue;
      this.freeBytes -= this.free[i]!.buffer.byteLength;
      this.free.splice(i, 1);
    }
  }

  /** Bytes held unused (for tests and diagnostics). */
  get idleBytes(): number {
    return this.freeBytes;
  }
}
