import type { EventEmitter } from 'node:events';
import { shardIdOf, type Lease } from '../leases/lease.js';
import type { LeaseCoordinator } from '../leases/lease-coordinator.js';
import type { ShardConsumer } from '../lifecycle/shard-consumer.js';
import type { Clock } from '../util/clock.js';
import type { Logger } from '../util/logger.js';
import { withTimeout } from '../util/with-timeout.js';
import type { SchedulerEvents } from './scheduler-events.js';
import type { StreamContext } from './stream-context.js';

interface RunningConsumer {
  consumer: ShardConsumer;
  stream: StreamContext;
  token: string;
  done: Promise<void>;
}

export interface ConsumerRegistryOptions {
  coordinator: LeaseCoordinator;
  /**
   * Builds the consumer of a lease just acquired; `undefined` when its stream is no longer consumed, `null` when no
   * processor could be made (the builder already gave the lease back).
   */
  build(lease: Lease, token: string): { consumer: ShardConsumer; stream: StreamContext } | undefined | null;
  /** Where `shardConsumerStopped`, `handoffRequested` and `handoffCompleted` are emitted. */
  events: EventEmitter<SchedulerEvents>;
  gracefulHandoffTimeoutMillis: number;
  clock: Clock;
  logger: Logger;
  onTaskError(task: 'release', error: unknown): void;
}

/** Which consumers a stop applies to (all when omitted). */
export type ConsumerFilter = (stream: StreamContext) => boolean;

/**
 * The running shard consumers, one per held lease, and what happens when one ends: a handoff away from us is
 * finished, a shard given up after processing failures is released with a retake backoff, a requested stop
 * releases the lease, a finished shard (SHARD_END) keeps its lease until cleanup deletes it.
 */
export class ConsumerRegistry {
  private readonly running = new Map<string, RunningConsumer>();

  constructor(private readonly o: ConsumerRegistryOptions) {}

  /** Lease keys with a running consumer. */
  keys(): string[] {
    return [...this.running.keys()];
  }

  has(leaseKey: string): boolean {
    return this.running.has(leaseKey);
  }

  /** Starts consuming a lease just acquired under `token` (a previous run of the same lease is stopped first). */
  start(lease: Lease, token: string): void {
    const key = lease.leaseKey;
    this.running.get(key)?.consumer.leaseLost(); // re-acquired under a new token: the old run must end
    const built = this.o.build(lease, token);
    if (built === null) return;
    if (built === undefined) {
      // Its stream was removed between the taker's scan and now.
      void this.o.coordinator.release(key, token).catch((error: unknown) => this.o.onTaskError('release', error));
      return;
    }
    const { consumer, stream } = built;
    const entry: RunningConsumer = { consumer, stream, token, done: Promise.resolve() };
    entry.done = consumer.run().then(async (result) => {
      if (this.running.get(key) === entry) this.running.delete(key);
      const coordinator = this.o.coordinator;
      // Records delivered in this run: its failure (if any) is not a consecutive one, so the backoff starts over.
      if (consumer.delivered > 0) coordinator.resetBackoff(key);
      if (coordinator.isHandingOff(key)) {
        await this.finishHandoff(key);
      } else if (result.releaseLease || result.reason === 'REQUESTED') {
        await coordinator.release(key, token, { backOff: result.releaseLease });
      }
      // SHARD_END: keep holding the finished lease (as Java KCL does) so nobody re-runs it; cleanup deletes it.
      // Listeners last: the lease is settled whatever they do.
      this.o.events.emit('shardConsumerStopped', { leaseKey: key, shardId: shardIdOf(lease), reason: result.reason, recordsDelivered: consumer.delivered });
    });
    this.running.set(key, entry);
  }

  /** The lease is not ours any more: its consumer stops and the processor gets `leaseLost`. */
  leaseLost(leaseKey: string): void {
    this.running.get(leaseKey)?.consumer.leaseLost();
  }

  /**
   * Another worker stole a lease of ours gracefully: the shard's processor gets `shutdownRequested` (it checkpoints),
   * the consumer stops, and only then is the transfer completed. After `gracefulHandoffTimeoutMillis` the consumer
   * is stopped as on lease loss and the transfer completed anyway.
   */
  handOff(leaseKey: string, newOwner: string): void {
    const shardId = shardIdOf({ leaseKey });
    const running = this.running.get(leaseKey);
    if (running === undefined) {
      void this.finishHandoff(leaseKey);
      this.o.events.emit('handoffRequested', { leaseKey, shardId, to: newOwner });
      return;
    }
    running.consumer.requestShutdown();
    this.o.events.emit('handoffRequested', { leaseKey, shardId, to: newOwner });
    void withTimeout(running.done, this.o.gracefulHandoffTimeoutMillis, this.o.clock).then(({ timedOut }) => {
      if (timedOut && this.running.get(leaseKey) === running) {
        this.o.logger.warn({ shardId, to: newOwner }, 'shutdownRequested took longer than the handoff timeout; stopping the shard');
        running.consumer.leaseLost();
      }
    });
  }

  private async finishHandoff(leaseKey: string): Promise<void> {
    const written = await this.o.coordinator.finishHandoff(leaseKey);
    this.o.events.emit('handoffCompleted', { leaseKey, shardId: shardIdOf({ leaseKey }), written });
  }

  /**
   * Stops the matching consumers — `'requested'`: the processor gets `shutdownRequested` and may checkpoint;
   * `'lost'`: `leaseLost` — and waits for them up to `timeoutMillis`. Resolves `true` when all of them finished.
   * Their leases are left to the consumers' own ending (see {@link start}) and to the caller.
   */
  async stop(how: 'requested' | 'lost', timeoutMillis: number, filter?: ConsumerFilter): Promise<boolean> {
    const matching = [...this.running.values()].filter((r) => filter === undefined || filter(r.stream));
    for (const r of matching) {
      if (how === 'requested') r.consumer.requestShutdown();
      else r.consumer.leaseLost();
    }
    const outcome = await withTimeout(Promise.all(matching.map((r) => r.done)), timeoutMillis, this.o.clock);
    return !outcome.timedOut;
  }

  /**
   * Stops the matching consumers as on lease loss and forgets them at once, although a processor call may still be
   * running (its later checkpoints fail once the lease is released). Returns their lease keys.
   */
  abandon(filter: ConsumerFilter): string[] {
    const keys: string[] = [];
    for (const [key, r] of this.running) {
      if (!filter(r.stream)) continue;
      r.consumer.leaseLost();
      this.running.delete(key);
      keys.push(key);
    }
    return keys;
  }
}
