import { shardIdOf, type Lease } from '../leases/lease.js';
import type { LeaseStore } from '../leases/lease-store.js';
import type { Metrics, MetricScope } from '../metrics/metrics.js';

/** What the instrumented store reports besides metrics (for health). */
export interface LeaseStoreObserver {
  /** A renewal, take or checkpoint write went through, or lost a race: either way the table answered. */
  renewalAnswered(): void;
  /** Any lease-table call returned (did not throw). */
  tableAnswered(): void;
}

type Method = (...args: unknown[]) => unknown;

/**
 * Wraps a lease store (any `LeaseStore`, with a `Proxy`, so methods added later pass through untouched) to time
 * its calls for Java KCL's lease metrics — `RenewAllLeases`: `RenewLease.Success/Time`; `TakeLeases`:
 * `ListLeases.*`, `TakeLease.*`; `ProcessTask` per shard: `UpdateLease.*` (checkpoints) — and to tell `observer`
 * which calls went through.
 */
export function instrumentLeaseStore<T extends LeaseStore>(store: T, metrics: Metrics, workerId: string, observer: LeaseStoreObserver): T {
  const renewScope = metrics.scope({ Operation: 'RenewAllLeases', WorkerIdentifier: workerId });
  const takeScope = metrics.scope({ Operation: 'TakeLeases', WorkerIdentifier: workerId });
  const shardScopes = new Map<string, MetricScope>();
  const shardScope = (lease: Lease): MetricScope => {
    const shardId = shardIdOf(lease);
    let scope = shardScopes.get(shardId);
    if (scope === undefined) {
      scope = metrics.scope({ Operation: 'ProcessTask', ShardId: shardId });
      shardScopes.set(shardId, scope);
    }
    return scope;
  };

  const after = (method: string, args: unknown[], ok: boolean, result: unknown, millis: number): void => {
    if (ok) observer.tableAnswered();
    const lease = args[0] as Lease;
    switch (method) {
      case 'renewLease':
        renewScope.success('RenewLease', ok, millis, 'SUMMARY');
        if (ok) observer.renewalAnswered();
        return;
      case 'takeLease':
      case 'startHandoff':
        if (method === 'takeLease') takeScope.success('TakeLease', ok, millis, 'DETAILED');
        if (ok) observer.renewalAnswered();
        return;
      case 'listLeases':
        takeScope.success('ListLeases', ok, millis, 'DETAILED');
        return;
      case 'updateCheckpoint':
        shardScope(lease).success('UpdateLease', ok, millis, 'DETAILED');
        if (ok) observer.renewalAnswered();
        return;
    }
  };

  return new Proxy(store, {
    get(target, property, receiver) {
      const value = Reflect.get(target, property, receiver) as unknown;
      if (typeof value !== 'function' || typeof property !== 'string' || property === 'constructor') return value;
      const method = value as Method;
      return (...args: unknown[]): unknown => {
        const started = performance.now();
        const result = method.apply(target, args);
        if (!(result instanceof Promise)) return result;
        return result.then(
          (value: unknown) => {
            after(property, args, true, value, performance.now() - started);
            return value;
          },
          (error: unknown) => {
            after(property, args, false, undefined, performance.now() - started);
            throw error;
          },
        );
      };
    },
  });
}
