import { EventEmitter } from 'node:events';
import { ShutdownError } from '../errors.js';
import type { Clock } from '../util/clock.js';
import type { Logger } from '../util/logger.js';
import { PeriodicTask } from '../util/periodic-task.js';
import { withTimeout } from '../util/with-timeout.js';
import type { Lease } from './lease.js';
import { LeaseRenewer, type LeaseLossReason } from './lease-renewer.js';
import type { CheckpointUpdate, LeaseStore, ListLeasesResult } from './lease-store.js';
import { LeaseTaker, type LeaseTakerOptions, type TakeRound } from './lease-taker.js';

export interface LeaseCoordinatorOptions {
  workerId: string;
  failoverTimeMillis: number;
  renewIntervalMillis: number;
  takerIntervalMillis: number;
  /** See `LeaseTakerOptions.discoveryMillis`. */
  discoveryMillis?: number;
  maxLeasesForWorker: number;
  maxLeasesToStealAtOneTime: number;
  gracefulHandoff: boolean;
  /** After this long (plus the failover time) a pending incoming handoff is taken outright. */
  gracefulHandoffTimeoutMillis: number;
  /**
   * Bound of a checkpoint write and of the keyed calls around handoffs (a renewal waits until its lease's give-up
   * time). The Scheduler passes `timeouts.leaseCallMillis`; default here: the renewal interval.
   */
  renewalTimeoutMillis?: number;
  clock: Clock;
  logger: Logger;
  random?: () => number;
  /**
   * The lease table as the taker sees it (e.g. only the streams consumed now); defaults to `store.listLeases`.
   * Keyed reads and writes (renewals, checkpoints) always go to `store` directly.
   */
  listLeases?: () => Promise<ListLeasesResult>;
  /** Fleet cadence (see `LeaseTakerOptions`): unset keeps every taker tick a full scan. */
  steadyTakerIntervalMillis?: number;
  failureWatchers?: number;
  decide?: LeaseTakerOptions['decide'];
}

/** `release(…, { backOff: true })`: first cool-down, doubled per consecutive failure up to the cap. */
export const RELEASE_BACKOFF = { firstMillis: 1000, maxMillis: 60_000 } as const;

export interface LeaseCoordinatorEvents {
  /**
   * A lease was taken (or stolen): start consuming its shard with this token. `from`: the owner it was stolen
   * from (as the taker saw it), for stolen leases only.
   */
  acquired: [{ lease: Lease; concurrencyToken: string; stolen: boolean; from: string | undefined }];
  /** A held lease stopped being ours. */
  lost: [{ leaseKey: string; reason: LeaseLossReason }];
  /** Another worker asked for a lease we hold (graceful handoff): stop its shard, then `finishHandoff`. */
  handoffRequested: [{ leaseKey: string; newOwner: string }];
  /** We started a graceful handoff toward us; the lease arrives as `acquired` once the old owner finished. */
  handoffStarted: [{ lease: Lease; from: string | undefined }];
  /** Result of each taker round (for shard-sync triggers, metrics, tests). */
  takeRound: [TakeRound];
  error: [{ task: LeaseTask; error: unknown }];
}

/** The coordinator's background tasks, as named in its `error` events. */
export type LeaseTask = 'renew-leases' | 'take-leases';

/**
 * The one thing above src/leases that knows about leases: runs the renewer and the taker on their own timers
 * (renewal every `failover/3 − epsilon`, never behind record processing), turns their outcomes into events, and
 * offers the few operations a consumer of leases needs — release (with a retake backoff), a fenced checkpoint
 * writer, finishing a handoff, the held leases. The renewer and taker stay private to src/leases.
 */
export class LeaseCoordinator extends EventEmitter<LeaseCoordinatorEvents> {
  private readonly renewer: LeaseRenewer;
  private readonly taker: LeaseTaker;
  private readonly renewTask: PeriodicTask<'renew-leases'>;
  private readonly takeTask: PeriodicTask<'take-leases'>;
  private takingEnabled = true;
  /** Handoffs toward us, by lease key, with the local time they started. */
  private readonly incoming = new Map<string, { since: number; from: string | undefined }>();
  /** Consecutive releases after processing failures, per lease (for the retake backoff). */
  private readonly releaseFailures = new Map<string, number>();
  /** Renewal rounds and handoff checks still running (each bounded); `stop` waits for them. */
  private readonly inFlight = new Set<Promise<void>>();
  private checkingHandoffs = false;
  private takerRunning = false;
  private readonly renewalTimeoutMillis: number;

  constructor(
    readonly store: LeaseStore,
    private readonly options: LeaseCoordinatorOptions,
  ) {
    super();
    this.renewalTimeoutMillis = options.renewalTimeoutMillis ?? options.renewIntervalMillis;
    this.renewer = new LeaseRenewer(store, {
      workerId: options.workerId,
      failoverTimeMillis: options.failoverTimeMillis,
      // Nobody else may take a lease before failoverTimeMillis after our last write went out (they start counting when
      // they see it land). One renewal interval before that the shard pauses until a renewal answers; a quarter
      // interval before it the lease is given up, on a timer of its own (see LeaseRenewer).
      pauseMarginMillis: options.renewIntervalMillis,
      giveUpMarginMillis: Math.floor(options.renewIntervalMillis / 4),
      renewalTimeoutMillis: this.renewalTimeoutMillis,
      clock: options.clock,
      logger: options.logger,
      onLost: (leaseKey, reason) => this.emit('lost', { leaseKey, reason }),
      onHandoffRequested: (leaseKey, newOwner) => this.emit('handoffRequested', { leaseKey, newOwner }),
    });
    this.taker = new LeaseTaker(store, options, options.listLeases);
    const onError = (task: LeaseTask, error: unknown): void => {
      options.logger.warn({ task, err: error }, 'lease task failed; retrying next round');
      this.emit('error', { task, error });
    };
    this.renewTask = new PeriodicTask(
      'renew-leases',
      options.renewIntervalMillis,
      // Not awaited: each lease renews on its own (one in flight per lease, each bounded), so a hung call on one
      // lease never delays the next round, the give-up check (renewAll starts with it; its own timer too) or the taker.
      () => {
        this.track(this.renewer.renewAll(), 'renew-leases');
        this.track(this.pollIncomingHandoffs(), 'renew-leases');
        return Promise.resolve();
      },
      options.clock,
      onError,
    );
    this.takeTask = new PeriodicTask('take-leases', options.takerIntervalMillis, async () => {
      // Completed handoffs toward us are picked up within one taker interval too, not only per renewal round.
      await this.pollIncomingHandoffs();
      await this.runTaker();
    }, options.clock, onError);
  }

  private track(work: Promise<void>, task: LeaseTask): void {
    const p: Promise<void> = work.catch((error: unknown) => {
      this.options.logger.warn({ task, err: error }, 'lease task failed; retrying next round');
      this.emit('error', { task, error });
    }).finally(() => this.inFlight.delete(p));
    this.inFlight.add(p);
  }

  /**
   * Starts the renewal and taker timers. `takeNow: false` when the caller has just run a round ({@link runTaker}):
   * the first timed round then comes one taker interval later instead of scanning the table again at once.
   */
  start(takeNow = true): void {
    this.takingEnabled = true;
    this.renewer.start();
    this.renewTask.start(false);
    this.takeTask.start(takeNow);
  }

  /** One taker round now (also what the timer runs). */
  async runTaker(): Promise<TakeRound | undefined> {
    if (!this.takingEnabled) return undefined;
    this.takerRunning = true;
    let round: TakeRound | undefined;
    try {
      round = await this.taker.takeLeasesIfDue();
    } finally {
      this.takerRunning = false;
    }
    if (round === undefined) return undefined; // a steady worker skips most ticks
    if (!this.takingEnabled) {
      // Stopped while the round was in flight: give back what it took.
      await Promise.all([...round.taken, ...round.stolen].map((l) => this.store.evictLease(l).catch(() => undefined)));
      return round;
    }
    // The owners the steals were decided against: who a stolen lease (or a handoff toward us) came from.
    const previousOwners = new Map(round.decision.toSteal.map((l) => [l.leaseKey, l.leaseOwner]));
    for (const lease of round.taken) this.acquire(lease, undefined);
    for (const lease of round.stolen) this.acquire(lease, { from: previousOwners.get(lease.leaseKey) });
    for (const lease of round.handoffs) {
      const from = previousOwners.get(lease.leaseKey);
      this.incoming.set(lease.leaseKey, { since: this.options.clock.now(), from });
      this.emit('handoffStarted', { lease, from });
    }
    await this.completeHandoffsSeen(round.leases);
    this.emit('takeRound', round);
    return round;
  }

  /**
   * Handoffs toward us that the scan shows finished (we own it, no `checkpointOwner`): take them now rather than at
   * the next renewal tick's re-read. Costs no read; the take is the same conditional write.
   */
  private async completeHandoffsSeen(leases: readonly Lease[]): Promise<void> {
    if (this.incoming.size === 0) return;
    const done = leases.filter((l) => this.incoming.has(l.leaseKey) && l.leaseOwner === this.options.workerId && l.checkpointOwner === undefined);
    await Promise.all(
      done.map(async (lease) => {
        const pending = this.incoming.get(lease.leaseKey);
        if (pending === undefined || this.renewer.get(lease.leaseKey) !== undefined || !this.takingEnabled) return;
        const taken = await this.taker.takeOne(lease);
        if (taken) this.acquire(taken, { from: pending.from });
      }),
    );
  }

  /** `steal`: the lease came from another live worker (`from`), not out of the expired or unowned pool. */
  private acquire(lease: Lease, steal: { from: string | undefined } | undefined): void {
    this.incoming.delete(lease.leaseKey);
    const concurrencyToken = this.renewer.add(lease);
    this.emit('acquired', { lease, concurrencyToken, stolen: steal !== undefined, from: steal?.from });
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
        if (taken) this.acquire(taken, { from: pending.from });
        else this.incoming.delete(leaseKey);
      }),
    );
  }

  /** One bounded check of the handoffs toward us (at most one at a time). */
  private async pollIncomingHandoffs(): Promise<void> {
    // Not while a taker round runs: its takes land before it acquires them, and the check would see such a lease
    // as ours-but-not-held and take it a second time (two consumers, one fenced off at once).
    if (this.checkingHandoffs || this.takerRunning || this.incoming.size === 0) return;
    this.checkingHandoffs = true;
    try {
      // Two keyed calls (read, take) each within the renewal bound: a hung one frees the slot for the next round.
      await withTimeout(this.checkIncomingHandoffs(), 2 * this.renewalTimeoutMillis, this.options.clock);
    } finally {
      this.checkingHandoffs = false;
    }
  }

  /**
   * We stop taking (shutdown) while handoffs toward us are pending: we would never start those shards, so give
   * each back — the lease is made unowned (owner and `checkpointOwner` removed), whichever side moved last, and
   * any worker takes it in its next taker round instead of after the handoff timeout plus the failover time.
   */
  private async abandonIncomingHandoffs(): Promise<void> {
    const keys = [...this.incoming.keys()];
    this.incoming.clear();
    await Promise.all(
      keys.map(async (leaseKey) => {
        try {
          const read = await withTimeout(this.store.getLease(leaseKey, { consistentRead: true }), this.renewalTimeoutMillis, this.options.clock);
          if (read.timedOut || read.value === undefined || read.value.leaseOwner !== this.options.workerId || this.renewer.get(leaseKey) !== undefined) return;
          await withTimeout(this.store.evictLease(read.value), this.renewalTimeoutMillis, this.options.clock);
          this.options.logger.info({ leaseKey }, 'stopping: gave back a lease whose handoff toward us had not completed');
        } catch (error) {
          this.options.logger.warn({ leaseKey, err: error }, 'could not give back a pending handoff; it is taken after expiry');
        }
      }),
    );
  }

  /** Whether this worker scans every taker tick to detect failures (see `failureWatchers`). */
  get isWatching(): boolean {
    return this.taker.isWatching;
  }

  /** The failure watchers' leases this worker checks between its steady scans (a standby's; else empty). */
  get watchSentinels(): string[] {
    return this.taker.sentinelKeys;
  }

  /** Leases we are waiting to receive through a graceful handoff. */
  get pendingHandoffs(): string[] {
    return [...this.incoming.keys()];
  }

  /** Stops taking new leases (graceful shutdown); renewals go on. */
  async stopTaking(): Promise<void> {
    this.takingEnabled = false;
    await this.takeTask.stop();
    await this.abandonIncomingHandoffs();
  }

  /** Stops both timers. Held leases are neither renewed nor released; see `releaseAll`. */
  async stop(): Promise<void> {
    this.takingEnabled = false;
    await Promise.all([this.takeTask.stop(), this.renewTask.stop()]);
    this.renewer.stop();
    await this.abandonIncomingHandoffs();
    // Everything in flight is bounded; the bound here only guards against a store that ignores it.
    await withTimeout(Promise.all([...this.inFlight]), 2 * this.renewalTimeoutMillis, this.options.clock);
  }

  /** Releases every held lease in the table so other workers take them at once. */
  async releaseAll(): Promise<void> {
    await Promise.all(this.renewer.heldKeys().map((key) => this.renewer.release(key)));
  }

  /** Keys of the leases held now (renewed by this worker). */
  heldKeys(): string[] {
    return this.renewer.heldKeys();
  }

  /** A copy of a held lease (as last written by us), if held. */
  heldLease(leaseKey: string): Lease | undefined {
    return this.renewer.get(leaseKey)?.lease;
  }

  /** Held under `token` and renewed within `failoverTimeMillis − renewIntervalMillis` on this worker's clock. */
  holdsSafely(leaseKey: string, token: string): boolean {
    return this.renewer.holdsSafely(leaseKey, token);
  }

  /**
   * What a consumer awaits before every batch and checkpoint: `true` at once while the lease is safely held; past
   * `failoverTimeMillis − renewIntervalMillis` without a renewal it waits until one answers (`true`) or the lease is
   * given up at `failoverTimeMillis − renewIntervalMillis / 4` (`false`), before any other worker may take it.
   */
  awaitSafeHold(leaseKey: string, token: string): Promise<boolean> | boolean {
    return this.renewer.awaitSafeHold(leaseKey, token);
  }

  /** Whether `leaseKey` is still held under `token` (the acquisition a consumer was started for). */
  holds(leaseKey: string, token: string): boolean {
    return this.renewer.get(leaseKey, token) !== undefined;
  }

  /**
   * Gives a lease back (only if still held under `token`, when given) so another worker may take it at once; a
   * `lost` event (`released`) follows. During a handoff away from us this completes the handoff instead.
   * `backOff`: the shard was given up after processing failures — this worker does not take it back for 1 s, 2 s,
   * 4 s … (at most 60 s) after consecutive such releases; {@link resetBackoff} starts the count again.
   * Resolves `true` when the table was updated.
   */
  release(leaseKey: string, token?: string, options: { backOff?: boolean } = {}): Promise<boolean> {
    if (options.backOff === true) {
      const failures = (this.releaseFailures.get(leaseKey) ?? 0) + 1;
      this.releaseFailures.set(leaseKey, failures);
      this.taker.coolDown(leaseKey, Math.min(RELEASE_BACKOFF.maxMillis, RELEASE_BACKOFF.firstMillis * 2 ** (failures - 1)));
    }
    return this.renewer.release(leaseKey, token);
  }

  /** The shard made progress (records were delivered): the next failure-release backs off from 1 s again. */
  resetBackoff(leaseKey: string): void {
    this.releaseFailures.delete(leaseKey);
  }

  /**
   * The fenced writer a consumer checkpoints through: it writes only while this worker still holds `leaseKey`
   * under `token` (locally) and the table's counter and owner match; otherwise it rejects with `ShutdownError`.
   */
  checkpointWriter(leaseKey: string, token: string): (update: CheckpointUpdate) => Promise<void> {
    return async (update) => {
      // Waits out a pause (a renewal answering late) before queueing behind it; checked again right before the write.
      if (!(await this.renewer.awaitSafeHold(leaseKey, token))) {
        throw new ShutdownError(`Can't update checkpoint of ${leaseKey}: this worker no longer holds the lease safely`);
      }
      await this.renewer.updateCheckpoint(leaseKey, token, update);
    };
  }

  /** Whether another worker asked for this held lease (graceful handoff) and we have not handed it over yet. */
  isHandingOff(leaseKey: string): boolean {
    return this.renewer.isHandingOff(leaseKey);
  }

  /**
   * Completes a handoff away from us once the shard's consumer stopped: the new owner may start. The lease is no
   * longer held afterwards (`lost`, `handed-off`). Resolves `true` when the table write went through.
   */
  finishHandoff(leaseKey: string): Promise<boolean> {
    return this.renewer.finishHandoff(leaseKey);
  }

  /** Stops holding a lease without a write or a `lost` event (its item is being deleted by cleanup). */
  forget(leaseKey: string): void {
    this.renewer.forget(leaseKey);
  }
}
