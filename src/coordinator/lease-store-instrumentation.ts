import type { HashKeyRange } from '../shards/hash-key-range.js';
import { shardIdOf, type Lease } from '../leases/lease.js';
import type { CallOptions, CheckpointUpdate, LeaseStore, LeaseTableOptions, LeaseWriteResult, ListLeasesResult, RenewOptions } from '../leases/lease-store.js';
import type { Metrics, MetricScope } from '../metrics/metrics.js';
import type { Clock } from '../util/clock.js';

/** What the instrumented store reports besides metrics (for health). */
export interface LeaseStoreObserver {
  /** A renewal, take or checkpoint write went through, or lost a race: either way the table answered. */
  renewalAnswered(): void;
  /** Any lease-table call returned (did not throw). */
  tableAnswered(): void;
}

/**
 * A lease store that times its calls for Java KCL's lease metrics — `RenewAllLeases`: `RenewLease.Success/Time`;
 * `TakeLeases`: `ListLeases.*`, `TakeLease.*`; `ProcessTask` per shard: `UpdateLease.*` (checkpoints) — and tells
 * `observer` which calls went through (health). Results and errors pass through unchanged; time is the `clock`'s.
 */
export class InstrumentedLeaseStore implements LeaseStore {
  private readonly renewScope: MetricScope;
  private readonly takeScope: MetricScope;
  private readonly shardScopes = new Map<string, MetricScope>();

  constructor(
    private readonly store: LeaseStore,
    private readonly metrics: Metrics,
    workerId: string,
    private readonly observer: LeaseStoreObserver,
    private readonly clock: Clock,
  ) {
    this.renewScope = metrics.scope({ Operation: 'RenewAllLeases', WorkerIdentifier: workerId });
    this.takeScope = metrics.scope({ Operation: 'TakeLeases', WorkerIdentifier: workerId });
  }

  createTableIfNotExists(options: LeaseTableOptions): Promise<boolean> {
    return this.observe(() => this.store.createTableIfNotExists(options));
  }

  tableExists(): Promise<boolean> {
    return this.observe(() => this.store.tableExists());
  }

  createLeaseIfNotExists(lease: Lease): Promise<boolean> {
    return this.observe(() => this.store.createLeaseIfNotExists(lease));
  }

  getLease(leaseKey: string, options?: { consistentRead?: boolean }): Promise<Lease | undefined> {
    return this.observe(() => this.store.getLease(leaseKey, options));
  }

  listLeases(): Promise<ListLeasesResult> {
    return this.observe(() => this.store.listLeases(), (ok, millis) => this.takeScope.success('ListLeases', ok, millis, 'DETAILED'));
  }

  renewLease(lease: Lease, update?: RenewOptions): Promise<LeaseWriteResult> {
    return this.observe(() => this.store.renewLease(lease, update), (ok, millis) => {
      this.renewScope.success('RenewLease', ok, millis, 'SUMMARY');
      if (ok) this.observer.renewalAnswered();
    });
  }

  takeLease(lease: Lease, newOwner: string): Promise<LeaseWriteResult> {
    return this.observe(() => this.store.takeLease(lease, newOwner), (ok, millis) => {
      this.takeScope.success('TakeLease', ok, millis, 'DETAILED');
      if (ok) this.observer.renewalAnswered();
    });
  }

  startHandoff(lease: Lease, newOwner: string): Promise<LeaseWriteResult> {
    return this.observe(() => this.store.startHandoff(lease, newOwner), (ok) => ok && this.observer.renewalAnswered());
  }

  finishHandoff(lease: Lease): Promise<LeaseWriteResult> {
    return this.observe(() => this.store.finishHandoff(lease));
  }

  evictLease(lease: Lease): Promise<LeaseWriteResult> {
    return this.observe(() => this.store.evictLease(lease));
  }

  updateCheckpoint(lease: Lease, update: CheckpointUpdate, options?: CallOptions): Promise<LeaseWriteResult> {
    return this.observe(() => this.store.updateCheckpoint(lease, update, options), (ok, millis) => {
      this.shardScope(lease).success('UpdateLease', ok, millis, 'DETAILED');
      if (ok) this.observer.renewalAnswered();
    });
  }

  updateMetaInfo(leaseKey: string, meta: { childShardIds?: string[]; hashKeyRange?: HashKeyRange }): Promise<LeaseWriteResult> {
    return this.observe(() => this.store.updateMetaInfo(leaseKey, meta));
  }

  deleteLease(leaseKey: string): Promise<void> {
    return this.observe(() => this.store.deleteLease(leaseKey));
  }

  /** Runs one call; `after` gets whether it returned (a lost conditional write counts as returned) and its duration. */
  private async observe<T>(call: () => Promise<T>, after?: (ok: boolean, millis: number) => void): Promise<T> {
    const started = this.clock.now();
    let result: T;
    try {
      result = await call();
    } catch (error) {
      after?.(false, this.clock.now() - started);
      throw error;
    }
    this.observer.tableAnswered();
    after?.(true, this.clock.now() - started);
    return result;
  }

  private shardScope(lease: Lease): MetricScope {
    const shardId = shardIdOf(lease);
    let scope = this.shardScopes.get(shardId);
    if (scope === undefined) {
      scope = this.metrics.scope({ Operation: 'ProcessTask', ShardId: shardId });
      this.shardScopes.set(shardId, scope);
    }
    return scope;
  }
}
