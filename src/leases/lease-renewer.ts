import { randomUUID } from 'node:crypto';
import { NetworkError, ShutdownError } from '../errors.js';
import type { Clock } from '../util/clock.js';
import { DeadlineTimer } from '../util/deadline-timer.js';
import { KeyMutex } from '../util/key-mutex.js';
import type { Logger } from '../util/logger.js';
import { withTimeout } from '../util/with-timeout.js';
import { cloneLease, type Lease } from './lease.js';
import type { CheckpointUpdate, LeaseStore, LeaseWriteResult } from './lease-store.js';

/** A retry of a failed renewal is not worth sending with less time than this left before the give-up. */
const MIN_RETRY_MILLIS = 50;

/** Why a held lease stopped being ours. */
export type LeaseLossReason = 'renewal-conflict' | 'expired-locally' | 'checkpoint-conflict' | 'released' | 'handed-off';

interface HeldLease {
  lease: Lease;
  /** Fresh per acquisition: writes through a lease that was lost and re-acquired must fail. */
  concurrencyToken: string;
  /** Local time the last successful write (take, renew or checkpoint) was sent: a lower bound of when it landed. */
  lastRenewedAt: number;
  /** A renewal of this lease is in flight (a hung one must not make the next rounds pile up behind it). */
  renewing?: boolean;
  /** A round came while the renewal was in flight: renew again as soon as it settles, not a whole interval later. */
  roundMissed?: boolean;
  /** Past the pause time: its shard waits (no batch, no checkpoint) for a renewal or the give-up, these callers too. */
  waiters?: Array<(held: boolean) => void>;
  /** Send time of the latest write whose answer never came (timed out): if it landed, it landed after this. */
  unansweredSentAt?: number | undefined;
  /** Set while a graceful handoff to this worker runs: we stay checkpoint owner until we finish it. */
  handoffTo?: string | undefined;
}

/** A read-only view of a held lease handed to consumers. */
export interface HeldLeaseView {
  lease: Lease;
  concurrencyToken: string;
}

export interface LeaseRenewerOptions {
  workerId: string;
  failoverTimeMillis: number;
  /**
   * A lease whose last successful write went out more than `failoverTimeMillis − pauseMarginMillis` ago (own clock)
   * is not used: its shard dispatches no batch and writes no checkpoint until a renewal answers. Default: 0.
   */
  pauseMarginMillis?: number;
  /**
   * A lease whose last successful write went out more than `failoverTimeMillis − giveUpMarginMillis` ago is given up
   * (`expired-locally`), on a timer of its own: before any other worker may take it, since others count the failover
   * time from when they see that write land, which is after it went out. Default: 0.
   */
  giveUpMarginMillis?: number;
  /** The bound of a checkpoint write (a renewal waits until its lease's give-up time). Unbounded when not set. */
  renewalTimeoutMillis?: number;
  clock: Clock;
  logger: Logger;
  /** Called once per lease that stops being held, whatever the reason. */
  onLost: (leaseKey: string, reason: LeaseLossReason) => void;
  /** Another worker started a graceful handoff of a lease we hold (we are now its `checkpointOwner`). */
  onHandoffRequested?: (leaseKey: string, newOwner: string) => void;
}

/**
 * Keeps this worker's leases alive and is the only writer of held leases: renewals and checkpoints
 * for one lease go through one per-key queue, so they never race on the counter. Independent of
 * record processing — a slow processor never delays a renewal.
 */
export class LeaseRenewer {
  private readonly held = new Map<string, HeldLease>();
  private readonly mutex = new KeyMutex();
  /** Fires when the earliest held lease reaches its give-up time. */
  private readonly giveUpTimer: DeadlineTimer;
  /** Until `start()`: no timer, no follow-up renewals (a renewer used on its own drives rounds itself). */
  private stopped = true;

  constructor(
    private readonly store: LeaseStore,
    private readonly options: LeaseRenewerOptions,
  ) {
    this.giveUpTimer = new DeadlineTimer(options.clock, () => this.expireStale());
  }

  /** Starts holding a lease just taken; returns its fresh concurrency token. */
  add(lease: Lease): string {
    const concurrencyToken = randomUUID();
    this.held.set(lease.leaseKey, { lease: cloneLease(lease), concurrencyToken, lastRenewedAt: this.options.clock.now() });
    this.armWatch();
    return concurrencyToken;
  }

  /** Renewals and the stand-down timer run (again); the coordinator calls it at start. */
  start(): void {
    this.stopped = false;
    this.armWatch();
  }

  /** No more follow-up renewals and no stand-down timer (held leases stay held until released or forgotten). */
  stop(): void {
    this.stopped = true;
    this.giveUpTimer.cancel();
  }

  /**
   * Arms the give-up timer for the earliest held lease, so a worker that cannot renew gives a lease up on time to the
   * millisecond, not at the next renewal round (which may itself be late); when it fires it expires what is stale
   * and arms the next one.
   */
  private armWatch(): void {
    if (this.stopped || this.held.size === 0) return;
    let earliest = Infinity;
    for (const h of this.held.values()) earliest = Math.min(earliest, h.lastRenewedAt + this.giveUpAfterMillis);
    this.giveUpTimer.arm(earliest);
  }

  get size(): number {
    return this.held.size;
  }

  heldKeys(): string[] {
    return [...this.held.keys()];
  }

  /** The held lease, if still held under `token` (any token when omitted). */
  get(leaseKey: string, token?: string): HeldLeaseView | undefined {
    const h = this.held.get(leaseKey);
    if (h === undefined || (token !== undefined && h.concurrencyToken !== token)) return undefined;
    return { lease: cloneLease(h.lease), concurrencyToken: h.concurrencyToken };
  }

  /** How long a lease may go without a successful renewal before this worker stops acting on it (pauses). */
  private get pauseAfterMillis(): number {
    return this.options.failoverTimeMillis - (this.options.pauseMarginMillis ?? 0);
  }

  /** How long a lease may go without a successful renewal before this worker gives it up. */
  private get giveUpAfterMillis(): number {
    return this.options.failoverTimeMillis - (this.options.giveUpMarginMillis ?? 0);
  }

  /**
   * Gives up (`expired-locally`) every held lease not renewed within the give-up time. Synchronous and independent of
   * any store call in flight, so a hung renewal never delays it.
   */
  expireStale(): void {
    const now = this.options.clock.now();
    for (const [leaseKey, h] of this.held) {
      if (now - h.lastRenewedAt > this.giveUpAfterMillis) this.lose(leaseKey, h, 'expired-locally');
    }
    this.armWatch();
  }

  /**
   * Whether `leaseKey` is held under `token` AND was renewed recently enough to act on it (within the pause time):
   * no other worker can have taken it. Past that the answer is `false` until a renewal lands (or the lease is given up).
   */
  holdsSafely(leaseKey: string, token: string): boolean {
    const h = this.held.get(leaseKey);
    return h !== undefined && h.concurrencyToken === token && this.options.clock.now() - h.lastRenewedAt <= this.pauseAfterMillis;
  }

  /**
   * Resolves `true` as soon as the lease may be acted on (at once when it is), `false` once it is not ours any more.
   * Past the pause time it waits for a renewal to answer (resume) or the give-up (stand down): a slow DynamoDB costs
   * a pause of the shard, not a lease loss and records processed again; a cut-off worker never acts on a lease
   * another worker may be about to take.
   */
  awaitSafeHold(leaseKey: string, token: string): Promise<boolean> | boolean {
    const h = this.held.get(leaseKey);
    if (h === undefined || h.concurrencyToken !== token) return false;
    const unrenewedMillis = this.options.clock.now() - h.lastRenewedAt;
    if (unrenewedMillis <= this.pauseAfterMillis) return true;
    if (h.waiters === undefined) {
      h.waiters = [];
      this.options.logger.warn({ leaseKey, unrenewedMillis, renewalInFlight: h.renewing === true }, 'lease not renewed in time; pausing its shard until a renewal answers');
    }
    return new Promise((resolve) => h.waiters!.push(resolve));
  }

  /** A write through `h` succeeded (its send time is in `lastRenewedAt`): a paused shard resumes. */
  private renewed(h: HeldLease): void {
    if (h.waiters === undefined || this.options.clock.now() - h.lastRenewedAt > this.pauseAfterMillis) return;
    this.options.logger.info({ leaseKey: h.lease.leaseKey }, 'lease renewed again; its shard resumes');
    this.wakeWaiters(h, true);
  }

  /**
   * Stale leases are given up, then every held lease without a renewal in flight gets one, each on its own
   * (bounded by the lease's give-up time): a hung call on one lease never delays another's renewal. Resolves once
   * the renewals started here settled; failures other than a lost condition are retried next round.
   */
  async renewAll(): Promise<void> {
    this.expireStale();
    await Promise.all(this.heldKeys().map((key) => this.renewOne(key)));
  }

  private renewOne(leaseKey: string): Promise<void> {
    const h0 = this.held.get(leaseKey);
    if (h0 === undefined) return Promise.resolve();
    if (h0.renewing === true) {
      h0.roundMissed = true;
      return Promise.resolve();
    }
    h0.renewing = true;
    return this.mutex.run(leaseKey, () => this.renewHeld(leaseKey)).finally(() => {
      h0.renewing = false;
      // A slow answer made us skip a round: renew again now, so a latency above the renewal interval does not halve
      // the renewal rate (and bring the lease close to its stand-down time).
      if (h0.roundMissed === true && !this.stopped && this.held.get(leaseKey) === h0) {
        h0.roundMissed = false;
        void this.renewOne(leaseKey);
      }
      h0.roundMissed = false;
    });
  }

  /**
   * One renewal; a failed attempt is retried at once (twice at most) while an answer could still come before the
   * give-up time — one slow or failed call on a loaded table must not cost the lease.
   */
  private async renewHeld(leaseKey: string): Promise<void> {
    for (let attempt = 0; attempt < 3; attempt++) {
      const h = this.held.get(leaseKey);
      if (h === undefined) return;
      const remaining = h.lastRenewedAt + this.giveUpAfterMillis - this.options.clock.now();
      if (remaining < MIN_RETRY_MILLIS) return; // the give-up timer takes it from here
      if (await this.renewAttempt(leaseKey, h, remaining)) return;
    }
  }

  /**
   * One renewal attempt that waits for its answer until the give-up time (`budgetMillis`): an answer that late still
   * renews, and a slow table is not made slower by more writes (no retry while the first may still land). Resolves
   * `true` when settled (renewed, adopted or lost), `false` when it failed and may be retried.
   */
  private async renewAttempt(leaseKey: string, h: HeldLease, budgetMillis: number): Promise<boolean> {
    const sentAt = this.options.clock.now();
    if (sentAt - h.lastRenewedAt > this.giveUpAfterMillis) {
      this.lose(leaseKey, h, 'expired-locally'); // others may soon consider it expired and take it
      return true;
    }
    let result: LeaseWriteResult;
    try {
      const outcome = await this.bounded(this.store.renewLease(h.lease, { timeoutMillis: budgetMillis }), budgetMillis);
      if (outcome.timedOut) {
        // It may still land: the next renewal then conflicts and adopts the one-higher counter.
        h.unansweredSentAt = sentAt;
        this.options.logger.warn({ leaseKey, waitedMillis: budgetMillis }, 'lease renewal not answered before the give-up time');
        return false;
      }
      result = outcome.value;
    } catch (error) {
      this.options.logger.warn({ leaseKey, err: error }, 'lease renewal failed; retrying');
      return false;
    }
    if (this.held.get(leaseKey) !== h) return true;
    if (result.ok) {
      h.lease = result.lease;
      h.lastRenewedAt = Math.max(h.lastRenewedAt, sentAt);
      this.renewed(h);
      return true;
    }
    if (result.reason === 'conflict' && (await this.adoptAfterConflict(h))) return true;
    this.lose(leaseKey, h, 'renewal-conflict');
    return true;
  }

  /**
   * A checkpoint write bounded like a renewal: a call still unanswered then fails (retriable `NetworkError`, or
   * `ShutdownError` once the lease is no longer safely held), so a processor never waits forever on a hung table.
   */
  private async boundedCheckpoint(leaseKey: string, token: string, h: HeldLease, sentAt: number, update: CheckpointUpdate): Promise<LeaseWriteResult> {
    // Like a renewal, it may wait until the give-up time (it renews too), at least the lease-call bound.
    const budget = Math.max(this.options.renewalTimeoutMillis ?? 0, h.lastRenewedAt + this.giveUpAfterMillis - sentAt);
    const outcome = await this.bounded(this.store.updateCheckpoint(h.lease, update, { timeoutMillis: budget }), budget);
    if (!outcome.timedOut) return outcome.value;
    h.unansweredSentAt = sentAt;
    if (this.held.get(leaseKey) !== h || this.options.clock.now() - h.lastRenewedAt > this.giveUpAfterMillis) {
      throw new ShutdownError(`Can't update checkpoint of ${leaseKey}: the lease was not renewed in time`);
    }
    throw new NetworkError(`checkpoint of ${leaseKey} not answered within ${budget} ms`);
  }

  /** A store call bounded by `renewalTimeoutMillis` (unbounded when not set). */
  private bounded<T>(call: Promise<T>, ms = this.options.renewalTimeoutMillis): Promise<{ timedOut: false; value: T } | { timedOut: true }> {
    if (ms === undefined) return call.then((value) => ({ timedOut: false as const, value }));
    return withTimeout(call, ms, this.options.clock);
  }

  /**
   * After a failed renewal, re-read the lease. Keep it when (a) another worker started a graceful handoff: we are
   * its `checkpointOwner` now and keep renewing it until we finish the transfer; or (b) the failure was spurious:
   * our previous write landed although its answer was lost, so the lease is ours with exactly one more increment.
   */
  private async adoptAfterConflict(h: HeldLease): Promise<boolean> {
    const me = this.options.workerId;
    try {
      const read = await this.bounded(this.store.getLease(h.lease.leaseKey, { consistentRead: true }));
      if (read.timedOut) return false;
      const current = read.value;
      if (current === undefined) return false;
      if (current.checkpointOwner === me && current.leaseOwner !== undefined && current.leaseOwner !== me) {
        const first = h.handoffTo === undefined;
        h.lease = current;
        h.handoffTo = current.leaseOwner;
        if (first) {
          this.options.logger.info({ leaseKey: current.leaseKey, to: current.leaseOwner }, 'graceful handoff requested');
          this.options.onHandoffRequested?.(current.leaseKey, current.leaseOwner);
        }
        return true;
      }
      if (current.leaseOwner === me && current.checkpointOwner === undefined && current.leaseCounter === h.lease.leaseCounter + 1) {
        h.lease = current;
        // That write of ours was sent no earlier than the last unanswered one: others saw the counter move after it.
        h.lastRenewedAt = Math.max(h.lastRenewedAt, h.unansweredSentAt ?? h.lastRenewedAt);
        this.renewed(h);
        return true;
      }
    } catch (error) {
      this.options.logger.warn({ leaseKey: h.lease.leaseKey, err: error }, 'could not re-read lease after a failed renewal');
    }
    return false;
  }

  /** Whether a graceful handoff of this held lease to another worker is under way. */
  isHandingOff(leaseKey: string): boolean {
    return this.held.get(leaseKey)?.handoffTo !== undefined;
  }

  /**
   * Completes a graceful handoff we are the old owner of: removes `checkpointOwner` and bumps the counter, which
   * tells the new owner to start. Resolves `true` when written.
   */
  finishHandoff(leaseKey: string): Promise<boolean> {
    return this.mutex.run(leaseKey, async () => {
      const h = this.held.get(leaseKey);
      if (h === undefined || h.handoffTo === undefined) return false;
      let ok = false;
      try {
        ok = (await this.store.finishHandoff(h.lease)).ok;
      } catch (error) {
        this.options.logger.warn({ leaseKey, err: error }, 'could not finish the handoff; the new owner takes it after expiry');
      }
      this.lose(leaseKey, h, 'handed-off');
      return ok;
    });
  }

  /**
   * Writes a checkpoint through the held lease, fenced by the concurrency token (locally) and by
   * counter and owner (in DynamoDB). Throws `ShutdownError` when the lease is not held any more.
   */
  updateCheckpoint(leaseKey: string, token: string, update: CheckpointUpdate): Promise<Lease> {
    return this.mutex.run(leaseKey, async () => {
      const h = this.held.get(leaseKey);
      // The write is conditional on our counter, so it can only land while nobody took the lease; past the give-up
      // time it is not sent at all.
      if (h === undefined || h.concurrencyToken !== token || this.options.clock.now() - h.lastRenewedAt > this.giveUpAfterMillis) {
        throw new ShutdownError(`Can't update checkpoint of ${leaseKey}: this worker no longer holds the lease`);
      }
      const sentAt = this.options.clock.now();
      let result = await this.boundedCheckpoint(leaseKey, token, h, sentAt, update);
      // A graceful handoff toward another worker changes the owner without a counter bump: adopt it (we are the
      // checkpoint owner, which is exactly who should write this checkpoint) and write again.
      if (!result.ok && result.reason === 'conflict' && (await this.adoptAfterConflict(h))) {
        result = await this.store.updateCheckpoint(h.lease, update);
      }
      if (!result.ok) {
        if (this.held.get(leaseKey) === h) this.lose(leaseKey, h, 'checkpoint-conflict');
        throw new ShutdownError(`Can't update checkpoint of ${leaseKey}: the lease was taken by another worker or deleted`);
      }
      h.lease = result.lease;
      if (this.held.get(leaseKey) === h) {
        h.lastRenewedAt = Math.max(h.lastRenewedAt, sentAt);
        this.renewed(h);
      }
      return cloneLease(result.lease);
    });
  }

  /**
   * Gives a lease back (evicts our ownership in the table) so another worker can take it at once.
   * Resolves `true` when the table was updated; a lease already lost resolves `false`.
   */
  release(leaseKey: string, token?: string): Promise<boolean> {
    return this.mutex.run(leaseKey, async () => {
      const h = this.held.get(leaseKey);
      if (h === undefined || (token !== undefined && h.concurrencyToken !== token)) return false;
      this.held.delete(leaseKey);
      this.wakeWaiters(h, false);
      try {
        // In a handoff the lease already names its new owner: hand it over instead of evicting that owner.
        let result = h.handoffTo !== undefined ? await this.store.finishHandoff(h.lease) : await this.store.evictLease(h.lease);
        if (!result.ok && result.reason === 'conflict') result = await this.finishRacedHandoff(leaseKey);
        this.options.onLost(leaseKey, 'released');
        return result.ok;
      } catch (error) {
        this.options.logger.warn({ leaseKey, err: error }, 'could not release lease; it will expire instead');
        this.options.onLost(leaseKey, 'released');
        return false;
      }
    });
  }

  /**
   * A release lost its conditional write: if that is because another worker started a handoff of this lease
   * toward itself meanwhile (we are its `checkpointOwner` now), finish the handoff so the new owner starts at
   * once instead of waiting for the handoff timeout plus the failover time.
   */
  private async finishRacedHandoff(leaseKey: string): Promise<LeaseWriteResult> {
    const current = await this.store.getLease(leaseKey, { consistentRead: true });
    if (current === undefined || current.checkpointOwner !== this.options.workerId || current.leaseOwner === this.options.workerId) {
      return { ok: false, reason: 'conflict' };
    }
    this.options.logger.info({ leaseKey, to: current.leaseOwner }, 'release raced a handoff start; finishing the handoff');
    return this.store.finishHandoff(current);
  }

  /** Stops holding a lease without writing and without a loss event (its item is about to be deleted). */
  forget(leaseKey: string): void {
    const h = this.held.get(leaseKey);
    this.held.delete(leaseKey);
    if (h !== undefined) this.wakeWaiters(h, false);
  }

  private wakeWaiters(h: HeldLease, held: boolean): void {
    const waiters = h.waiters ?? [];
    h.waiters = undefined;
    for (const w of waiters) w(held);
  }

  private lose(leaseKey: string, h: HeldLease, reason: LeaseLossReason): void {
    if (this.held.get(leaseKey) !== h) return;
    this.held.delete(leaseKey);
    this.wakeWaiters(h, false);
    if (reason === 'expired-locally') {
      // Say why: no answer in time (a renewal in flight or failing) — the worker was cut off, or its event loop stalled.
      const unrenewedMillis = this.options.clock.now() - h.lastRenewedAt;
      this.options.logger.warn({ leaseKey, reason, unrenewedMillis, renewalInFlight: h.renewing === true }, 'lease not renewed in time; giving it up');
    } else {
      this.options.logger.info({ leaseKey, reason }, 'lease lost');
    }
    this.options.onLost(leaseKey, reason);
  }
}

