import { MAX_DEFAULT_DISCOVERY_MILLIS } from '../config/option-defaults.js';
import type { Clock } from '../util/clock.js';
import type { Logger } from '../util/logger.js';
import type { Lease } from './lease.js';
import type { LeaseStore, ListLeasesResult } from './lease-store.js';
import { decideLeasesToTake, isAvailable, observeLeases, type LeaseObservation, type TakerDecision, type TakerInput } from './lease-taker-decision.js';


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
  /**
   * Fleet cadence: a worker that has nothing to take or steal, and is not a failure watcher, scans only this
   * often; the taker timer still ticks at `takerIntervalMillis` and such ticks are skipped. Unset or ≤ the taker
   * interval: every tick scans.
   */
  steadyTakerIntervalMillis?: number;
  /**
   * How many workers (the lowest ids holding live leases) keep scanning every tick to detect failures; the next as
   * many ids are standbys that check one lease of each watcher every tick (a GetItem each) and start watching when
   * one goes stale. A fleet of at most twice this many workers all watch. @defaultValue 0
   */
  failureWatchers?: number;
  /** The taker interval; the first one after start is the discovery window (at most one lease taken). */
  takerIntervalMillis?: number;
  /**
   * How long after its first scan a worker takes at most one lease (the discovery window); 0: none, a lone worker
   * takes all its leases in its first round. @defaultValue the taker interval when it is at most 5 s, else 0
   */
  discoveryMillis?: number;
  /** Replaces the decision (the fleet simulator's Java KCL 2.x baseline). */
  decide?: (input: TakerInput) => TakerDecision;
}

interface Sentinel {
  leaseKey: string;
  owner: string;
  counter: number;
  lastChangeAt: number;
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
  private firstScanAt: number | undefined;
  /** Past its first two taker intervals. */
  private settled = false;
  /** Local time each live owner was first seen (dropped when it holds no live lease). */
  private readonly ownersSeenAt = new Map<string, number>();
  private lastScanAt: number | undefined;
  /** Whether the last round found nothing to do for this worker and it does not watch: scan at the steady cadence. */
  private steady = false;
  /** In the watcher set of a big fleet (past its start): also takes a dead worker's leases beyond its share. */
  private watcher = false;
  /** Scans every tick: a watcher, everyone in a small fleet, a worker starting, or a standby that saw a watcher stop. */
  private watching = true;
  /** A standby's watch on the watchers: one lease of each, with the local time its counter last moved. */
  private sentinels: Sentinel[] = [];
  /** A standby that saw a watcher's lease go stale watches until then (its own scans catch up meanwhile). */
  private promotedUntil = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly store: LeaseStore,
    private readonly options: LeaseTakerOptions,
    /** The leases the taker may consider (a filtered view of the table); defaults to the whole table. */
    private readonly listLeases: () => Promise<ListLeasesResult> = () => store.listLeases(),
  ) {}

  /** Whether this worker currently keeps watch for failures (scans every tick). */
  get isWatching(): boolean {
    return this.watching;
  }

  /** The watchers' leases a standby checks between its steady scans. */
  get sentinelKeys(): string[] {
    return this.sentinels.map((s) => s.leaseKey);
  }

  /** Whether the next tick would scan (false while steady and the steady interval has not passed). */
  scanDue(): boolean {
    const steadyEvery = this.options.steadyTakerIntervalMillis;
    if (this.lastScanAt === undefined || !this.steady || steadyEvery === undefined) return true;
    // Half a tick of slack: the timer runs with fixed delay, so ticks drift later than the nominal interval.
    const slack = (this.options.takerIntervalMillis ?? 0) / 2;
    return this.options.clock.now() - this.lastScanAt >= steadyEvery - slack;
  }

  /** One taker round, or `undefined` when the round is skipped by the steady cadence (see {@link scanDue}). */
  async takeLeasesIfDue(): Promise<TakeRound | undefined> {
    if (this.scanDue()) return this.takeLeases();
    if (this.sentinels.length > 0 && (await this.sentinelStale())) {
      // A watcher stopped renewing (or its lease moved): watch until our own observations show who is gone.
      this.promotedUntil = this.options.clock.now() + 2 * this.options.failoverTimeMillis;
      this.options.logger.info({ watchers: this.sentinels.map((s) => s.owner) }, 'a failure watcher looks stale; watching for failures');
      return this.takeLeases();
    }
    return undefined;
  }

  /** One eventually consistent GetItem per sentinel; true when one's owner changed or its counter stood still too long. */
  private async sentinelStale(): Promise<boolean> {
    const stale = await Promise.all(
      this.sentinels.map(async (sentinel) => {
        let lease: Lease | undefined;
        try {
          lease = await this.store.getLease(sentinel.leaseKey);
        } catch (error) {
          this.options.logger.warn({ leaseKey: sentinel.leaseKey, err: error }, 'checking a failure watcher failed; next tick');
          return false;
        }
        const now = this.options.clock.now();
        if (lease === undefined || lease.leaseOwner !== sentinel.owner) return true;
        if (lease.leaseCounter !== sentinel.counter) {
          sentinel.counter = lease.leaseCounter;
          sentinel.lastChangeAt = now;
          return false;
        }
        return now - sentinel.lastChangeAt > this.options.failoverTimeMillis;
      }),
    );
    return stale.includes(true);
  }

  async takeLeases(): Promise<TakeRound> {
    const { leases, malformed } = await this.listLeases();
    for (const error of malformed) this.options.logger.warn({ err: error, leaseKey: error.leaseKey }, 'skipping malformed lease item');
    const now = this.options.clock.now();
    this.lastScanAt = now;
    this.firstScanAt ??= now;
    this.observations = observeLeases(this.observations, leases, now);
    const owners = new Set<string>([this.options.workerId]);
    for (const lease of leases) {
      // Owners of live leases only: when a watcher dies, the next worker in id order takes over the watch.
      if (lease.leaseOwner !== undefined && !isAvailable(lease, this.observations, now, this.options.failoverTimeMillis)) owners.add(lease.leaseOwner);
    }
    for (const owner of owners) if (!this.ownersSeenAt.has(owner)) this.ownersSeenAt.set(owner, now);
    for (const owner of this.ownersSeenAt.keys()) if (!owners.has(owner)) this.ownersSeenAt.delete(owner);
    const k = this.options.failureWatchers ?? 0;
    const ranked = [...owners].sort();
    const watchers = ranked.slice(0, k);
    const rank = ranked.indexOf(this.options.workerId);
    // A small fleet all watch: the slow cadence saves little there, and no worker waits on a single other one.
    const everyoneWatches = k > 0 && ranked.length <= 2 * k;
    // Discovery costs a single worker one taker interval for the rest of its leases: only with short intervals.
    const interval = this.options.takerIntervalMillis ?? 0;
    const discoveryMillis = this.options.discoveryMillis ?? (interval <= MAX_DEFAULT_DISCOVERY_MILLIS ? interval : 0);
    const discovering = discoveryMillis > 0 && now - this.firstScanAt < discoveryMillis;
    // Not in its first two intervals: a fleet starting together spreads by the plan, not into the watchers; and
    // until then every worker watches (it cannot know yet whether it is a watcher).
    this.settled ||= now - this.firstScanAt >= 2 * interval;
    const settledIn = this.settled;
    this.watcher = settledIn && !everyoneWatches && rank < k;
    this.watching = !settledIn || everyoneWatches || rank < k || now < this.promotedUntil;
    const input: TakerInput = {
      leases,
      observations: this.observations,
      now,
      workerId: this.options.workerId,
      failoverTimeMillis: this.options.failoverTimeMillis,
      maxLeasesForWorker: this.options.maxLeasesForWorker,
      maxLeasesToStealAtOneTime: this.options.maxLeasesToStealAtOneTime,
      discovering,
      ...(this.watcher ? { watchers, unownedGraceMillis: 2 * interval, newWorkers: this.newWorkers(now, interval) } : {}),
      ...(settledIn && this.options.steadyTakerIntervalMillis !== undefined
        ? { freshReleaseGraceMillis: 2 * (this.options.takerIntervalMillis ?? 0) }
        : {}),
      ...(this.options.random ? { random: this.options.random } : {}),
    };
    const decision = (this.options.decide ?? decideLeasesToTake)(input);
    if (decision.spillover > 0) {
      this.options.logger.warn({ spillover: decision.spillover, target: decision.target }, 'maxLeasesForWorker leaves some shards unprocessed by this fleet');
    }
    for (const [key, until] of this.cooldowns) if (until <= now) this.cooldowns.delete(key);
    if (this.cooldowns.size > 0) {
      decision.toTake = decision.toTake.filter((l) => !this.cooldowns.has(l.leaseKey));
      decision.toSteal = decision.toSteal.filter((l) => !this.cooldowns.has(l.leaseKey));
    }
    const [taken, moved] = await Promise.all([this.takeAll(decision.toTake), this.stealAll(decision.toSteal)]);
    // Steady only when this round had nothing to do and got nothing wrong; any move keeps the fast cadence.
    this.steady = !this.watching && !discovering && decision.deferred === 0 && decision.toTake.length === 0 && decision.toSteal.length === 0 && decision.myCount >= decision.floorShare;
    // Standbys (the next k ids) keep an eye on one lease of each watcher, so the watch never rests on one worker.
    this.sentinels = this.steady && rank >= k && rank < 2 * k ? watchers.flatMap((owner) => this.sentinelOf(owner, leases, now)) : [];
    return {
      decision,
      taken,
      stolen: this.options.gracefulHandoff ? [] : moved,
      handoffs: this.options.gracefulHandoff ? moved : [],
      leases,
    };
  }

  /** Workers first seen less than four taker intervals ago: still in their start-up, scanning every tick. */
  private newWorkers(now: number, interval: number): Set<string> {
    const out = new Set<string>();
    for (const [owner, seenAt] of this.ownersSeenAt) if (now - seenAt < 4 * interval && seenAt > this.firstScanAt!) out.add(owner);
    return out;
  }

  private sentinelOf(owner: string, leases: readonly Lease[], now: number): Sentinel[] {
    if (owner === this.options.workerId) return [];
    const held = leases.find((l) => l.leaseOwner === owner && !isAvailable(l, this.observations, now, this.options.failoverTimeMillis));
    // Counted from now, not from our (possibly minute-old) observation: a stale call needs a full failover time.
    return held === undefined ? [] : [{ leaseKey: held.leaseKey, owner, counter: held.leaseCounter, lastChangeAt: now }];
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
        seenAt: this.options.clock.now(),
      });
      return result.lease;
    } catch (error) {
      this.options.logger.warn({ leaseKey: lease.leaseKey, err: error }, 'taking lease failed');
      return undefined;
    }
  }
}
