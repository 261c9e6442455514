// The chaos run's validator (test/chaos/chaos-run.ts): checks what worker processes reported against what was
// produced and the final shard graph. Several processes report, so deliveries are ordered by each report's
// wall-clock time (one host) and, for equal times, by arrival.
import type { Shard } from '../../src/shards/shard.js';
import { parentsOf } from '../../src/shards/shard-graph.js';
import { runOrderViolations } from './worker-fleet.js';
import type { WorkerReport } from './worker-protocol.js';

/** A produced record: data `${key}#${n}`, n counting per partition key in production order. */
export interface ChaosProduced {
  key: string;
  n: number;
  shardId: string;
  sequenceNumber: string;
}

interface Delivery {
  workerId: string;
  shardId: string;
  key: string;
  n: number;
  sequenceNumber: string;
  t: number;
  /** Arrival index at the parent (ties of `t`). */
  i: number;
  batch: number;
}

function deliveriesOf(reports: readonly WorkerReport[]): Delivery[] {
  const out: Delivery[] = [];
  let i = 0;
  for (const r of reports) {
    if (r.type !== 'records') continue;
    for (const rec of r.records ?? []) {
      const [key, n] = rec.data.split('#');
      out.push({ workerId: r.workerId, shardId: r.shardId, key: key!, n: Number(n), sequenceNumber: rec.sequenceNumber, t: r.t, i: i++, batch: r.batch });
    }
  }
  return out;
}

export interface Validation {
  lost: string[];
  delivered: number;
  uniqueDelivered: number;
  duplicates: number;
  shardOrderViolations: string[];
  keyOrderViolations: string[];
  childBeforeParent: string[];
  duplicatesBeforeCheckpoint: string[];
}

/**
 * Checks the workers' reports (several processes: ordered by each report's wall-clock time, one host) against
 * what was produced and the final shard graph.
 */
export function validateChaos(produced: readonly ChaosProduced[], reports: readonly WorkerReport[], shards: readonly Shard[]): Validation {
  const deliveries = deliveriesOf(reports).sort((a, b) => a.t - b.t || a.i - b.i);
  const id = (r: { key: string; n: number }): string => `${r.key}#${r.n}`;
  const first = new Map<string, Delivery>();
  for (const d of deliveries) if (!first.has(id(d))) first.set(id(d), d);
  const lost = produced.filter((p) => !first.has(id(p))).map(id);

  // Per key: ordered by n, the first deliveries' times never go backwards.
  const keyOrderViolations: string[] = [];
  const byKey = new Map<string, Delivery[]>();
  for (const d of first.values()) byKey.set(d.key, [...(byKey.get(d.key) ?? []), d]);
  for (const [key, list] of byKey) {
    list.sort((a, b) => a.n - b.n);
    for (let j = 1; j < list.length; j++) {
      const a = list[j - 1]!;
      const b = list[j]!;
      if (b.t < a.t) keyOrderViolations.push(`${key}: #${b.n} (${b.shardId} at ${b.t}) before #${a.n} (${a.shardId} at ${a.t})`);
    }
  }

  // Children after parents: a child's first delivery is not earlier than any delivery of its parents.
  const firstT = new Map<string, number>();
  const lastT = new Map<string, number>();
  for (const d of deliveries) {
    if (!firstT.has(d.shardId)) firstT.set(d.shardId, d.t);
    lastT.set(d.shardId, Math.max(lastT.get(d.shardId) ?? 0, d.t));
  }
  const childBeforeParent: string[] = [];
  for (const s of shards) {
    const childFirst = firstT.get(s.shardId);
    if (childFirst === undefined) continue;
    for (const p of parentsOf(s)) {
      const parentLast = lastT.get(p);
      if (parentLast !== undefined && parentLast > childFirst) childBeforeParent.push(`${s.shardId} first delivered at ${childFirst}, parent ${p} last at ${parentLast}`);
    }
  }

  // Duplicates: allowed only for records after the last successful checkpoint the previous deliverer had written
  // *before* the duplicate was delivered (a worker that later takes the shard again and checkpoints further does not
  // make an earlier duplicate wrong).
  const lastOfBatch = new Map<string, string>();
  for (const r of reports) if (r.type === 'records' && r.last) lastOfBatch.set(`${r.workerId}#${r.batch}`, r.last);
  const okCheckpoints = new Map<string, Array<{ t: number; upTo: bigint }>>(); // `${workerId}/${shardId}` → in report order
  for (const r of reports) {
    if (r.type !== 'checkpoint' || !r.ok || r.batch === undefined) continue;
    const last = lastOfBatch.get(`${r.workerId}#${r.batch}`);
    if (last === undefined) continue;
    const k = `${r.workerId}/${r.shardId}`;
    okCheckpoints.set(k, [...(okCheckpoints.get(k) ?? []), { t: r.t, upTo: BigInt(last) }]);
  }
  const checkpointedBefore = (workerId: string, shardId: string, t: number): bigint => {
    let upTo = -1n;
    for (const c of okCheckpoints.get(`${workerId}/${shardId}`) ?? []) if (c.t <= t && c.upTo > upTo) upTo = c.upTo;
    return upTo;
  };
  const duplicatesBeforeCheckpoint: string[] = [];
  const seenBy = new Map<string, Delivery>();
  for (const d of deliveries) {
    const prev = seenBy.get(id(d));
    if (prev && prev.workerId !== d.workerId) {
      const upTo = checkpointedBefore(prev.workerId, prev.shardId, d.t);
      if (BigInt(d.sequenceNumber) <= upTo) duplicatesBeforeCheckpoint.push(`${id(d)} (${d.shardId} ${d.sequenceNumber}) again by ${d.workerId} though ${prev.workerId} checkpointed up to ${upTo}`);
    }
    seenBy.set(id(d), d);
  }

  return {
    lost,
    delivered: deliveries.length,
    uniqueDelivered: first.size,
    duplicates: deliveries.length - first.size,
    shardOrderViolations: runOrderViolations(reports),
    keyOrderViolations,
    childBeforeParent,
    duplicatesBeforeCheckpoint,
  };
}
