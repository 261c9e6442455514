import { ShutdownError, type Logger } from '../index.js';
import { systemClock } from '../util/clock.js';
import type { ChildChannel } from './child-channel.js';
import type { ChildSupervision } from './child-process-processor.js';

export interface ChildSupervisorOptions {
  logger: Logger;
  /**
   * Delay before restarting a shard's child after its first failure; doubles with every further failure in a
   * row, up to `maxDelayMillis`. A batch processed successfully resets it.
   * @defaultValue 1000
   */
  baseDelayMillis?: number;
  /** @defaultValue 30000 */
  maxDelayMillis?: number;
}

/**
 * The daemon's view of all children: restart backoff per shard (a shard whose child keeps failing is retried
 * after 1 s, 2 s, 4 s … 30 s, while the other shards go on), the set of live children so none outlives the
 * daemon, and the stop switch that ends pending backoffs.
 *
 * The backoff runs in `initialize` of the next processor for that shard, i.e. once the lease was released after
 * the failure and taken again (by this worker; another worker starts its own child at once).
 */
export class ChildSupervisor implements ChildSupervision {
  private readonly failures = new Map<string, number>();
  private readonly live = new Set<ChildChannel>();
  private readonly stopping = new AbortController();
  private readonly base: number;
  private readonly max: number;

  constructor(private readonly o: ChildSupervisorOptions) {
    this.base = o.baseDelayMillis ?? 1000;
    this.max = o.maxDelayMillis ?? 30_000;
  }

  /** Children running now. */
  get liveChildren(): number {
    return this.live.size;
  }

  /** Consecutive failures of the shard's children. */
  failuresOf(shardId: string): number {
    return this.failures.get(shardId) ?? 0;
  }

  async beforeSpawn(shardId: string): Promise<void> {
    if (this.stopping.signal.aborted) throw new ShutdownError('the daemon is shutting down; no new record processors');
    const failures = this.failuresOf(shardId);
    if (failures === 0) return;
    const delay = Math.min(this.max, this.base * 2 ** Math.min(failures - 1, 20));
    this.o.logger.info({ shardId, failures, delayMillis: delay }, `restarting the record processor of ${shardId} after ${delay} ms`);
    try {
      await systemClock.sleep(delay, this.stopping.signal);
    } catch {
      throw new ShutdownError('the daemon is shutting down; no new record processors');
    }
  }

  track(channel: ChildChannel): () => void {
    this.live.add(channel);
    return () => this.live.delete(channel);
  }

  failed(shardId: string): void {
    this.failures.set(shardId, this.failuresOf(shardId) + 1);
  }

  succeeded(shardId: string): void {
    this.failures.delete(shardId);
  }

  /** No more spawns; pending backoffs end with a `ShutdownError`. */
  stop(): void {
    this.stopping.abort();
  }

  /** SIGKILL to every live child (last resort at daemon exit). */
  killAll(): void {
    for (const channel of this.live) channel.kill();
  }
}
