import { randomUUID } from 'node:crypto';
import { ShutdownError } from '../errors.js';
import type { Clock } from '../util/clock.js';
import { KeyMutex } from '../util/key-mutex.js';
import type { Logger } from '../util/logger.js';
import { cloneLease, type Lease } from './lease.js';
import type { CheckpointUpdate, LeaseStore, LeaseWriteResult } from './lease-store.js';

/** Why a held lease stopped being ours. */
export type LeaseLossReason = 'renewal-conflict' | 'expired-locally' | 'checkpoint-conflict' | 'released' | 'handed-off';

interface HeldLease {
  lease: Lease;
  /** Fresh per acquisition: writes through a lease that was lost and re-acquired must fail. */
  concurrencyToken: string;
  /** Local time of the last successful write (take, renew or checkpoint). */
  lastRenewedAt: number;
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

  constructor(
    private readonly store: LeaseStore,
    private readonly options: LeaseRenewerOptions,
  ) {}

  /** Starts holding a lease just taken; returns its fresh concurrency token. */
  add(lease: Lease): string {
    const concurrencyToken = randomUUID();
    this.held.set(lease.leaseKey, { lease: cloneLease(lease), concurrencyToken, lastRenewedAt: this.options.clock.now() });
    return concurrencyToken;
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

  /** Renews every held lease in parallel. Failures other than a lost condition are retried next round. */
  async renewAll(): Promise<void> {
    await Promise.all(this.heldKeys().map((key) => this.renewOne(key)));
  }

  private renewOne(leaseKey: string): Promise<void> {
    return this.mutex.run(leaseKey, async () => {
      const h = this.held.get(leaseKey);
      if (h === undefined) return;
      const now = this.options.clock.now();
      if (now - h.lastRenewedAt > this.options.failoverTimeMillis) {
        // Others may already consider it expired and have taken it: stop using it.
        this.lose(leaseKey, h, 'expired-locally');
        return;
      }
      let result: LeaseWriteResult;
      try {
        result = await this.store.renewLease(h.lease);
      } catch (error) {
        this.options.logger.warn({ leaseKey, err: error }, 'lease renewal failed; retrying next round');
        return;
      }
      if (this.held.get(leaseKey) !== h) return;
      if (result.ok) {
        h.lease = result.lease;
        h.lastRenewedAt = this.options.clock.now();
        return;
      }
      if (result.reason === 'conflict' && (await this.adoptAfterConflict(h))) return;
      this.lose(leaseKey, h, 'renewal-conflict');
    });
  }

  /**
   * After a failed renewal, re-read the lease. Keep it when (a) another worker started a graceful handoff: we are
   * its `checkpointOwner` now and keep renewing it until we finish the transfer; or (b) the failure was spurious:
   * our previous write landed although its answer was lost, so the lease is ours with exactly one more increment.
   */
  private async adoptAfterConflict(h: HeldLease): Promise<boolean> {
    const me = this.options.workerId;
    try {
      const current = await this.store.getLease(h.lease.leaseKey, { consistentRead: true });
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
        h.lastRenewedAt = this.options.clock.now();
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
      if (h === undefined || h.concurrencyToken !== token) {
        throw new ShutdownError(`Can't update checkpoint of ${leaseKey}: this worker no longer holds the lease`);
      }
      let result = await this.store.updateCheckpoint(h.lease, update);
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
      h.lastRenewedAt = this.options.clock.now();
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
      try {
        // In a handoff the lease already names its new owner: hand it over instead of evicting that owner.
        const result = h.handoffTo !== undefined ? await this.store.finishHandoff(h.lease) : await this.store.evictLease(h.lease);
        this.options.onLost(leaseKey, 'released');
        return result.ok;
      } catch (error) {
        this.options.logger.warn({ leaseKey, err: error }, 'could not release lease; it will expire instead');
        this.options.onLost(leaseKey, 'released');
        return false;
      }
    });
  }

  /** Stops holding a lease without writing and without a loss event (its item is about to be deleted). */
  forget(leaseKey: string): void {
    this.held.delete(leaseKey);
  }

  private lose(leaseKey: string, h: HeldLease, reason: LeaseLossReason): void {
    if (this.held.get(leaseKey) !== h) return;
    this.held.delete(leaseKey);
    this.options.logger.info({ leaseKey, reason }, 'lease lost');
    this.options.onLost(leaseKey, reason);
  }
}
