// Checks a consumer's deliveries against what was produced, across resharding: nothing lost, per-key order of
// first deliveries, and no record of a child shard delivered before the last record of each of its parents.
import type { Shard } from '../../src/shards/shard.js';
import { parentsOf } from '../../src/shards/shard-graph.js';

export interface ProducedRecord {
  key: string; // partition key
  n: number; // per-key counter, increasing in production order
  shardId: string;
}

export interface DeliveredRecord {
  key: string;
  n: number;
  shardId: string;
}

export interface ReshardingReport {
  produced: number;
  delivered: number;
  uniqueDelivered: number;
  missing: string[];
  duplicates: number;
  keyOrderViolations: string[];
  childBeforeParent: string[];
}

const id = (r: { key: string; n: number }): string => `${r.key}#${r.n}`;

/** `deliveries` must be in the order the processors saw them (one process, so one global order). */
export function validateResharding(produced: readonly ProducedRecord[], deliveries: readonly DeliveredRecord[], shards: readonly Shard[]): ReshardingReport {
  const firstIndex = new Map<string, number>();
  deliveries.forEach((d, i) => {
    if (!firstIndex.has(id(d))) firstIndex.set(id(d), i);
  });
  const missing = produced.filter((p) => !firstIndex.has(id(p))).map(id);

  // Per key: first deliveries in increasing n.
  const keyOrderViolations: string[] = [];
  const lastN = new Map<string, number>();
  const seen = new Set<string>();
  for (const d of deliveries) {
    if (seen.has(id(d))) continue;
    seen.add(id(d));
    const prev = lastN.get(d.key);
    if (prev !== undefined && d.n < prev) keyOrderViolations.push(`${d.key}: #${d.n} after #${prev}`);
    lastN.set(d.key, Math.max(prev ?? -1, d.n));
  }

  // Parents first: the first delivery from a child comes after the last first-delivery from each parent.
  const lastFromShard = new Map<string, number>();
  const firstFromShard = new Map<string, number>();
  for (const [rid, index] of firstIndex) {
    const shardId = deliveries[index]!.shardId;
    void rid;
    lastFromShard.set(shardId, Math.max(lastFromShard.get(shardId) ?? -1, index));
    firstFromShard.set(shardId, Math.min(firstFromShard.get(shardId) ?? Infinity, index));
  }
  const childBeforeParent: string[] = [];
  for (const s of shards) {
    const first = firstFromShard.get(s.shardId);
    if (first === undefined) continue;
    for (const p of parentsOf(s)) {
      const parentLast = lastFromShard.get(p);
      if (parentLast !== undefined && parentLast > first) childBeforeParent.push(`${s.shardId} started at #${first} before parent ${p} finished at #${parentLast}`);
    }
  }
  return {
    produced: produced.length,
    delivered: deliveries.length,
    uniqueDelivered: firstIndex.size,
    missing,
    duplicates: deliveries.length - firstIndex.size,
    keyOrderViolations,
    childBeforeParent,
  };
}
