import { LeaseCoordinator, type LeaseCoordinatorOptions } from '../../../src/leases/lease-coordinator.js';
import type { Lease } from '../../../src/leases/lease.js';
import type { LeaseStore } from '../../../src/leases/lease-store.js';
import { decideLeasesToTake } from '../../../src/leases/lease-taker-decision.js';
import { silentLogger } from '../../../src/util/logger.js';
import { seededRandom } from '../seeded-random.js';
import { decideLikeJava2x } from './java-2x-decision.js';
import { SimClock } from './sim-clock.js';
import { DEFAULT_LATENCY, SimulatedLeaseTable, type CostCounters, type LatencyModel } from './simulated-lease-table.js';

/**
 * - `java2x`: Java KCL 2.x's taker (every 2 × (failover + ε) ≈ 20 s, one lease stolen from one worker per round,
 *   very old leases grabbed beyond the target, no handoff);
 * - `before`: ts-kcl before issue 19 (every worker scans every failover/5, random takes up to the target);
 * - `fleet`: ts-kcl now (fair-share plan, discovery round, steady cadence with failure watchers).
 */
export type FleetProfile = 'java2x' | 'before' | 'fleet';

export interface FleetSimOptions {
  leases: number;
  profile: FleetProfile;
  failoverTimeMillis?: number;
  seed?: number;
  latency?: LatencyModel;
  /** How long an old owner takes to shut a shard down in a graceful handoff. @defaultValue 500 */
  handoffShutdownMillis?: number;
  /** Per-profile settings overridden (e.g. `steadyTakerIntervalMillis`). */
  overrides?: Partial<LeaseCoordinatorOptions>;
  /** What the coordinators call instead of the table itself (e.g. a counting proxy). */
  wrapStore?: (table: SimulatedLeaseTable) => LeaseStore;
}

export const EPSILON_MILLIS = 25;

/** The coordinator settings of a profile at a failover time (ts-kcl's defaults for `before` and `fleet`). */
export function profileSettings(profile: FleetProfile, failover: number): Partial<LeaseCoordinatorOptions> {
  const common = { failoverTimeMillis: failover, renewIntervalMillis: Math.floor(failover / 3) - EPSILON_MILLIS, maxLeasesForWorker: Infinity };
  switch (profile) {
    case 'java2x':
      return { ...common, takerIntervalMillis: (failover + EPSILON_MILLIS) * 2, maxLeasesToStealAtOneTime: 1, gracefulHandoff: false, decide: decideLikeJava2x };
    case 'before':
      return {
        ...common,
        takerIntervalMillis: Math.max(100, Math.floor(failover / 5)),
        maxLeasesToStealAtOneTime: 4,
        gracefulHandoff: true,
        decide: (input) => decideLeasesToTake({ ...input, fairSharePlan: false, discovering: false, watchers: [] }),
      };
    case 'fleet':
      return {
        ...common,
        takerIntervalMillis: Math.max(100, Math.floor(failover / 5)),
        maxLeasesToStealAtOneTime: 8,
        gracefulHandoff: true,
        steadyTakerIntervalMillis: failover * 6,
        failureWatchers: 2,
      };
  }
}

export function newLease(i: number): Lease {
  return {
    leaseKey: `shardId-${String(i).padStart(12, '0')}`,
    leaseCounter: 0,
    // A real sequence number (56 digits), as leases carry once processing has checkpointed.
    checkpoint: { sequenceNumber: `4965072727115320343648742103656396251335712538437${String(i).padStart(7, '0')}`, subSequenceNumber: 0 },
    ownerSwitchesSinceCheckpoint: 0,
    parentShardIds: [],
    childShardIds: [],
    // Realistic item size: Java-style hash range bounds (decimal, up to 39 digits).
    hashKeyRange: { startingHashKey: String(BigInt(i) * 10n ** 30n), endingHashKey: String(BigInt(i + 1) * 10n ** 30n - 1n) },
  };
}

/** A worker id as long as a real one (ts-kcl's default is the host name plus a random suffix), in start order. */
export function workerName(n: number): string {
  return `worker-${String(n).padStart(4, '0')}@ip-10-0-12-34.eu-west-1.compute.internal:3f6c2e7e`;
}

/**
 * Many real `LeaseCoordinator`s — the real taker, renewer and decision code — on one simulated lease table and
 * one simulated clock. Who processes which shard is tracked from the coordinators' own `acquired` / `lost`
 * events (a crashed worker stops at once), so balance and takeover are measured as the application sees them.
 */
export class FleetSimulator {
  readonly clock = new SimClock(0);
  readonly table: SimulatedLeaseTable;
  private readonly store: LeaseStore;
  readonly random: () => number;
  private readonly settings: Partial<LeaseCoordinatorOptions>;
  private readonly alive = new Map<string, LeaseCoordinator>();
  private readonly holder = new Map<string, string>();
  private nextId = 0;
  /** `acquired` events so far: each one after a lease's first is a move. */
  acquisitions = 0;
  readonly leaseKeys: string[] = [];

  constructor(readonly options: FleetSimOptions) {
    this.random = seededRandom(options.seed ?? 1);
    this.table = new SimulatedLeaseTable(this.clock, this.random, options.latency ?? DEFAULT_LATENCY);
    this.store = options.wrapStore?.(this.table) ?? this.table;
    this.settings = { ...profileSettings(options.profile, options.failoverTimeMillis ?? 10_000), ...options.overrides };
    for (let i = 0; i < options.leases; i++) {
      const lease = newLease(i);
      this.leaseKeys.push(lease.leaseKey);
      // Written straight into the table: creating leases is shard sync's cost, not the protocol's.
      void this.table.inner.createLeaseIfNotExists(lease);
    }
  }

  get workerIds(): string[] {
    return [...this.alive.keys()];
  }

  coordinator(id: string): LeaseCoordinator | undefined {
    return this.alive.get(id);
  }

  /** Starts a worker like the Scheduler does (one taker round, then the timers); returns its id. */
  startWorker(id = workerName(this.nextId++)): string {
    const c = new LeaseCoordinator(this.store, {
      workerId: id,
      failoverTimeMillis: 10_000,
      renewIntervalMillis: 3308,
      takerIntervalMillis: 2000,
      maxLeasesForWorker: Infinity,
      maxLeasesToStealAtOneTime: 4,
      gracefulHandoff: true,
      gracefulHandoffTimeoutMillis: 30_000,
      ...this.settings,
      clock: this.clock,
      logger: silentLogger,
      random: this.random,
    });
    c.on('acquired', ({ lease }) => {
      if (this.alive.get(id) !== c) return;
      this.acquisitions++;
      this.holder.set(lease.leaseKey, id);
    });
    c.on('lost', ({ leaseKey }) => {
      if (this.holder.get(leaseKey) === id) this.holder.delete(leaseKey);
    });
    const shutdown = this.options.handoffShutdownMillis ?? 500;
    c.on('handoffRequested', ({ leaseKey }) => {
      // The processor checkpoints and stops, then the old owner completes the transfer.
      void this.clock.sleep(shutdown).then(() => (this.alive.get(id) === c ? c.finishHandoff(leaseKey) : undefined));
    });
    this.alive.set(id, c);
    void (async () => {
      await c.runTaker().catch(() => undefined);
      if (this.alive.get(id) === c) c.start();
    })();
    return id;
  }

  /** Starts `n` workers at random instants within `spreadMillis`. */
  async startWorkers(n: number, spreadMillis: number): Promise<string[]> {
    const offsets = Array.from({ length: n }, () => Math.floor(this.random() * spreadMillis)).sort((a, b) => a - b);
    const ids: string[] = [];
    let t = 0;
    for (const at of offsets) {
      if (at > t) await this.clock.runFor(at - t);
      t = at;
      ids.push(this.startWorker());
    }
    return ids;
  }

  /** The worker dies: no more writes, and it stops processing at once. */
  crash(id: string): void {
    const c = this.alive.get(id);
    if (c === undefined) return;
    this.alive.delete(id);
    for (const [key, holder] of [...this.holder]) if (holder === id) this.holder.delete(key);
    void c.stop();
  }

  /** Graceful shutdown: stops taking, releases every lease (runs on as the clock advances). */
  leave(id: string): void {
    const c = this.alive.get(id);
    if (c === undefined) return;
    this.alive.delete(id);
    for (const [key, holder] of [...this.holder]) if (holder === id) this.holder.delete(key);
    void (async () => {
      await c.stopTaking();
      await c.releaseAll();
      await c.stop();
    })();
  }

  /** Leases held per live worker (zero included). */
  counts(): Map<string, number> {
    const counts = new Map<string, number>([...this.alive.keys()].map((id) => [id, 0]));
    for (const holder of this.holder.values()) if (counts.has(holder)) counts.set(holder, counts.get(holder)! + 1);
    return counts;
  }

  /** Every lease held by a live worker, and counts within one of each other. */
  balanced(): boolean {
    if (this.holder.size < this.leaseKeys.length || this.alive.size === 0) return false;
    let min = Infinity;
    let max = -Infinity;
    for (const n of this.counts().values()) {
      min = Math.min(min, n);
      max = Math.max(max, n);
    }
    return max - min <= 1;
  }

  /** Whether no lease is held by `id` any more and all are held by live workers. */
  allHeld(): boolean {
    return this.holder.size === this.leaseKeys.length;
  }

  /** Advances in `stepMillis` steps until `done()`; the elapsed time, or undefined after `maxMillis`. */
  async runUntil(done: () => boolean, maxMillis: number, stepMillis = 100): Promise<number | undefined> {
    const start = this.clock.now();
    while (this.clock.now() - start < maxMillis) {
      await this.clock.runFor(stepMillis);
      if (done()) return this.clock.now() - start;
    }
    return undefined;
  }

  /** Cost counters now (copy), to diff over a window. */
  costSnapshot(): CostCounters {
    const c = this.table.cost;
    return { requests: { ...c.requests }, rcu: c.rcu, wcu: c.wcu, scanRcu: c.scanRcu };
  }

  /** Stops every worker (end of a run). */
  async shutdown(): Promise<void> {
    const all = [...this.alive.values()];
    this.alive.clear();
    const stopped = Promise.all(all.map((c) => c.stop()));
    await this.clock.runFor(60_000);
    await stopped;
  }
}

/** Counter differences over a window. */
export function costDelta(after: CostCounters, before: CostCounters): CostCounters {
  const requests = { ...after.requests };
  for (const k of Object.keys(requests) as (keyof CostCounters['requests'])[]) requests[k] -= before.requests[k];
  return { requests, rcu: after.rcu - before.rcu, wcu: after.wcu - before.wcu, scanRcu: after.scanRcu - before.scanRcu };
}
