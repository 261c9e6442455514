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
  clock: Clock;
  logger: Logger;
  random?: () => number;
}

export interface LeaseCoordinatorEvents {
  /** A lease was taken (or stolen): start consuming its shard with this token. */
  acquired: [{ lease: Lease; concurrencyToken: string; stolen: boolean }];
  /** A held lease stopped being ours. */
  lost: [{ leaseKey: string; reason: LeaseLossReason }];
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
    });
    this.taker = new LeaseTaker(store, options);
    const onError = (task: string, error: unknown): void => {
      options.logger.warn({ task, err: error }, 'lease task failed; retrying next round');
      this.emit('error', { task, error });
    };
    this.renewTask = new PeriodicTask('renew-leases', options.renewIntervalMillis, () => this.renewer.renewAll(), options.clock, onError);
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
    for (const lease of [...round.taken, ...round.stolen]) {
      const concurrencyToken = this.renewer.add(lease);
      this.emit('acquired', { lease, concurrencyToken, stolen: stolenKeys.has(lease.leaseKey) });
    }
    this.emit('takeRound', round);
    return round;
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
