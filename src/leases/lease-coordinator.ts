import { EventEmitter } from 'node:events';
import type { Clock } from '../util/clock.js';
import type { Logger } from '../util/logger.js';
import { PeriodicTask } from '../util/periodic-task.js';
import type { Lease } from './lease.js';
import { LeaseRenewer, type LeaseLossReason } from './lease-renewer.js';
import type { LeaseStore } from './lease-store.js';
import { LeaseTaker, type TakeRound } from './lease-taker.js';

export interface LeaseCoordinatorOptions {
  workerId: string;
  failoverTimeMillis: number;
  renewIntervalMillis: number;
  takerIntervalMillis: number;
  maxLeasesForWorker: number;
  maxLeasesToStealAtOneTime: number;
  gracefulHandoff: boolean;
  /** After this long (plus the failover time) a pending incoming handoff is taken outright. */
  gracefulHandoffTimeoutMillis: number;
  clock: Clock;
  logger: Logger;
  random?: () => number;
}

export interface LeaseCoordinatorEvents {
  /** A lease was taken (or stolen): start consuming its shard with this token. */
  acquired: [{ lease: Lease; concurrencyToken: string; stolen: boolean }];
  /** A held lease stopped being ours. */
  lost: [{ leaseKey: string; reason: LeaseLossReason }];
  /** Another worker asked for a lease we hold (graceful handoff): stop its shard, then `finishHandoff`. */
  handoffRequested: [{ leaseKey: string; newOwner: string }];
  /** We started a graceful handoff toward us; the lease arrives as `acquired` once the old owner finished. */
  handoffStarted: [{ lease: Lease; from: string | undefined }];
  /** Result of each taker round (for shard-sync triggers, metrics, tests). */
  takeRound: [TakeRound];
  error: [{ task: string; error: unknown }];
}

/**
 * Runs the renewer and the taker on their own timers (renewal every `failover/3 − epsilon`, never
 * behind record processing) and turns their outcomes into `acquired` / `lost` events.
 */
export class LeaseCoordinator extends EventEmitter<LeaseCoordinatorEvents> {
  readonly renewer: LeaseRenewer;
  readonly taker: LeaseTaker;
  private readonly renewTask: PeriodicTask;
  private readonly takeTask: PeriodicTask;
  private takingEnabled = true;
  /** Handoffs toward us, by lease key, with the local time they started. */
  private readonly incoming = new Map<string, { since: number; from: string | undefined }>();

  constructor(
    readonly store: LeaseStore,
    private readonly options: LeaseCoordinatorOptions,
  ) {
    super();
    this.renewer = new LeaseRenewer(store, {
      workerId: options.workerId,
      failoverTimeMillis: options.failoverTimeMillis,
      clock: options.clock,
      logger: options.logger,
      onLost: (leaseKey, reason) => this.emit('lost', { leaseKey, reason }),
      onHandoffRequested: (leaseKey, newOwner) => this.emit('handoffRequested', { leaseKey, newOwner }),
    });
    this.taker = new LeaseTaker(store, options);
    const onError = (task: string, error: unknown): void => {
      options.logger.warn({ task, err: error }, 'lease task failed; retrying next round');
      this.emit('error', { task, error });
    };
    this.renewTask = new PeriodicTask(
      'renew-leases',
      options.renewIntervalMillis,
      async () => {
        await Promise.all([this.renewer.renewAll(), this.checkIncomingHandoffs()]);
      },
      options.clock,
      onError,
    );
    this.takeTask = new PeriodicTask('take-leases', options.takerIntervalMillis, async () => {
      await this.runTaker();
    }, options.clock, onError);
  }

  start(): void {
    this.takingEnabled = true;
    this.renewTask.start(false);
    this.takeTask.start(true);
  }

  /** One taker round now (also what the timer runs). */
  async runTaker(): Promise<TakeRound | undefined> {
    if (!this.takingEnabled) return undefined;
    const round = await this.taker.takeLeases();
    if (!this.takingEnabled) {
      // Stopped while the round was in flight: give back what it took.
      await Promise.all([...round.taken, ...round.stolen].map((l) => this.store.evictLease(l).catch(() => undefined)));
      return round;
    }
    const stolenKeys = new Set(round.stolen.map((l) => l.leaseKey));
    for (const lease of [...round.taken, ...round.stolen]) this.acquire(lease, stolenKeys.has(lease.leaseKey));
    const previousOwners = new Map(round.decision.toSteal.map((l) => [l.leaseKey, l.leaseOwner]));
    for (const lease of round.handoffs) {
      const from = previousOwners.get(lease.leaseKey);
      this.incoming.set(lease.leaseKey, { since: this.options.clock.now(), from });
      this.emit('handoffStarted', { lease, from });
    }
    this.emit('takeRound', round);
    return round;
  }

  private acquire(lease: Lease, stolen: boolean): void {
    this.incoming.delete(lease.leaseKey);
    const concurrencyToken = this.renewer.add(lease);
    this.emit('acquired', { lease, concurrencyToken, stolen });
  }

  /**
   * Handoffs toward us complete when the old owner removes `checkpointOwner` (it has checkpointed and stopped);
   * then we take the lease at its new counter and start. If the old owner never finishes (dead, or a Java KCL 2.x
   * worker that knows no handoffs), we take it outright after the handoff timeout plus the failover time.
   */
  private async checkIncomingHandoffs(): Promise<void> {
    await Promise.all(
      [...this.incoming].map(async ([leaseKey, pending]) => {
        const lease = await this.store.getLease(leaseKey, { consistentRead: true });
        if (!this.takingEnabled) return;
        if (this.renewer.get(leaseKey) !== undefined) {
          this.incoming.delete(leaseKey); // the taker already took it through expiry
          return;
        }
        if (lease === undefined || lease.leaseOwner !== this.options.workerId) {
          this.incoming.delete(leaseKey); // deleted, or someone else took it after all
          return;
        }
        const overdue = this.options.clock.now() - pending.since > this.options.gracefulHandoffTimeoutMillis + this.options.failoverTimeMillis;
        if (lease.checkpointOwner !== undefined && !overdue) return;
        if (overdue && lease.checkpointOwner !== undefined) {
          this.options.logger.warn({ leaseKey, from: lease.checkpointOwner }, 'handoff not completed by the old owner in time; taking the lease');
        }
        const taken = await this.taker.takeOne(lease);
        if (taken) this.acquire(taken, true);
        else this.incoming.delete(leaseKey);
      }),
    );
  }

  /** Leases we are waiting to receive through a graceful handoff. */
  get pendingHandoffs(): string[] {
    return [...this.incoming.keys()];
  }

  /** Stops taking new leases (graceful shutdown); renewals go on. */
  async stopTaking(): Promise<void> {
    this.takingEnabled = false;
    await this.takeTask.stop();
  }

  /** Stops both timers. Held leases are neither renewed nor released; see `releaseAll`. */
  async stop(): Promise<void> {
    this.takingEnabled = false;
    await Promise.all([this.takeTask.stop(), this.renewTask.stop()]);
  }

  /** Releases every held lease in the table so other workers take them at once. */
  async releaseAll(): Promise<void> {
    await Promise.all(this.renewer.heldKeys().map((key) => this.renewer.release(key)));
  }
}
