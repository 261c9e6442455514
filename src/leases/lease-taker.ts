import type { Clock } from '../util/clock.js';
import type { Logger } from '../util/logger.js';
import type { Lease } from './lease.js';
import type { LeaseStore, ListLeasesResult } from './lease-store.js';
import { decideLeasesToTake, observeLeases, type LeaseObservation, type TakerDecision } from './lease-taker-decision.js';

export interface LeaseTakerOptions {
  workerId: string;
  failoverTimeMillis: number;
  maxLeasesForWorker: number;
  maxLeasesToStealAtOneTime: number;
  /** Steal through KCL 3.x's graceful handoff instead of taking at once. */
  gracefulHandoff: boolean;
  clock: Clock;
  logger: Logger;
  random?: () => number;
}

export interface TakeRound {
  decision: TakerDecision;
  taken: Lease[];
  /** Taken from another worker at once (graceful handoff off). */
  stolen: Lease[];
  /** Graceful handoffs started: we are the owner-to-be; the old owner still has to finish. */
  handoffs: Lease[];
  /** Every lease the scan returned (for shard sync, parents checks, status). */
  leases: Lease[];
}

/**
 * Executes the taker decision: scan, update observations, decide, then take with conditional writes
 * (in parallel). A lost race is normal and simply not counted as taken.
 */
export class LeaseTaker {
  private observations = new Map<string, LeaseObservation>();
  /** Leases this worker gave up after failures, with the local time before which it will not take them again. */
  private readonly cooldowns = new Map<string, number>();

  constructor(
    private readonly store: LeaseStore,
    private readonly options: LeaseTakerOptions,
    /** The leases the taker may consider (a filtered view of the table); defaults to the whole table. */
    private readonly listLeases: () => Promise<ListLeasesResult> = () => store.listLeases(),
  ) {}

  async takeLeases(): Promise<TakeRound> {
    const { leases, malformed } = await this.listLeases();
    for (const error of malformed) this.options.logger.warn({ err: error, leaseKey: error.leaseKey }, 'skipping malformed lease item');
    const now = this.options.clock.now();
    this.observations = observeLeases(this.observations, leases, now);
    const decision = decideLeasesToTake({
      leases,
      observations: this.observations,
      now,
      workerId: this.options.workerId,
      failoverTimeMillis: this.options.failoverTimeMillis,
      maxLeasesForWorker: this.options.maxLeasesForWorker,
      maxLeasesToStealAtOneTime: this.options.maxLeasesToStealAtOneTime,
      ...(this.options.random ? { random: this.options.random } : {}),
    });
    if (decision.spillover > 0) {
      this.options.logger.warn({ spillover: decision.spillover, target: decision.target }, 'maxLeasesForWorker leaves some shards unprocessed by this fleet');
    }
    for (const [key, until] of this.cooldowns) if (until <= now) this.cooldowns.delete(key);
    if (this.cooldowns.size > 0) {
      decision.toTake = decision.toTake.filter((l) => !this.cooldowns.has(l.leaseKey));
      decision.toSteal = decision.toSteal.filter((l) => !this.cooldowns.has(l.leaseKey));
    }
    const [taken, moved] = await Promise.all([this.takeAll(decision.toTake), this.stealAll(decision.toSteal)]);
    return {
      decision,
      taken,
      stolen: this.options.gracefulHandoff ? [] : moved,
      handoffs: this.options.gracefulHandoff ? moved : [],
      leases,
    };
  }

  /**
   * Do not take `leaseKey` again for `millis` (a shard released after processing failures backs off here, while
   * other workers may take it at once).
   */
  coolDown(leaseKey: string, millis: number): void {
    this.cooldowns.set(leaseKey, this.options.clock.now() + millis);
  }

  private async takeAll(leases: Lease[]): Promise<Lease[]> {
    const results = await Promise.all(leases.map((lease) => this.takeOne(lease)));
    return results.filter((l): l is Lease => l !== undefined);
  }

  /** Steal candidates were observed up to a round ago; re-read so the counter condition can hold. */
  private async stealAll(leases: Lease[]): Promise<Lease[]> {
    const results = await Promise.all(
      leases.map(async (observed) => {
        const fresh = await this.store.getLease(observed.leaseKey, { consistentRead: true });
        if (fresh === undefined || fresh.leaseOwner !== observed.leaseOwner || fresh.checkpointOwner !== undefined) return undefined;
        const moved = this.options.gracefulHandoff ? await this.startHandoff(fresh) : await this.takeOne(fresh);
        if (moved) this.options.logger.info({ leaseKey: moved.leaseKey, from: observed.leaseOwner, graceful: this.options.gracefulHandoff }, 'stealing lease');
        return moved;
      }),
    );
    return results.filter((l): l is Lease => l !== undefined);
  }

  private async startHandoff(lease: Lease): Promise<Lease | undefined> {
    try {
      const result = await this.store.startHandoff(lease, this.options.workerId);
      return result.ok ? result.lease : undefined;
    } catch (error) {
      this.options.logger.warn({ leaseKey: lease.leaseKey, err: error }, 'starting a handoff failed');
      return undefined;
    }
  }

  /** Takes a lease at its current counter (also used to complete a handoff or to force one whose old owner is gone). */
  async takeOne(lease: Lease): Promise<Lease | undefined> {
    try {
      const result = await this.store.takeLease(lease, this.options.workerId);
      if (!result.ok) return undefined;
      this.observations.set(lease.leaseKey, {
        counter: result.lease.leaseCounter,
        owner: result.lease.leaseOwner,
        lastChangeAt: this.options.clock.now(),
      });
      return result.lease;
    } catch (error) {
      this.options.logger.warn({ leaseKey: lease.leaseKey, err: error }, 'taking lease failed');
      return undefined;
    }
  }
}
