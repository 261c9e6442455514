import type { Lease } from './lease.js';

/** A cheap, stable string hash (FNV-1a, 32 bits): the same on every worker, spreads neighbouring shard ids. */
export function stableHash(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** Orders leases the same way on every worker (by hash, then key), so plans computed apart agree. */
export function planOrder(leases: readonly Lease[]): Lease[] {
  return leases
    .map((lease) => ({ lease, h: stableHash(lease.leaseKey) }))
    .sort((a, b) => a.h - b.h || (a.lease.leaseKey < b.lease.leaseKey ? -1 : a.lease.leaseKey > b.lease.leaseKey ? 1 : 0))
    .map((x) => x.lease);
}

export interface FairSharePlanInput {
  /** Leases held per visible worker (available leases not counted); must include this worker. */
  counts: ReadonlyMap<string, number>;
  /** Leases free to take. */
  available: readonly Lease[];
  /** All leases in the table. */
  totalLeases: number;
  maxLeasesForWorker: number;
  /** Leases to hand out before the others (very old ones); keep it the same on every worker. */
  first?: (lease: Lease) => boolean;
}

/**
 * Splits the available leases among the visible workers so that each ends at its fair share: `floor(L/N)` or one
 * more, the extra ones going to workers that already hold more, then in id order. Every worker computes the same plan from the same
 * scan and takes only its own part, so a fleet that starts together takes disjoint leases instead of racing for
 * the same ones. The split is a prefix cut: workers in id order take consecutive runs of the available leases in
 * hash order. A worker that has already taken its run removes exactly a prefix, so a later scan that sees part of
 * its takes still computes the same runs for everyone else.
 */
export function planFairShare(input: FairSharePlanInput): Map<string, Lease[]> {
  const workers = [...input.counts.keys()].sort();
  const n = workers.length;
  const plan = new Map<string, Lease[]>();
  if (n === 0) return plan;
  const base = Math.floor(input.totalLeases / n);
  const extra = input.totalLeases - base * n;
  const first = input.first;
  const ordered = first === undefined ? planOrder(input.available) : [...planOrder(input.available.filter(first)), ...planOrder(input.available.filter((l) => !first(l)))];
  let next = 0;
  // The `extra` leases above `base` go first to workers already holding more than `base` (no move needed), then
  // in id order. A worker that reaches base + 1 by its own run stays among the first, so the cut stays stable.
  const above = workers.filter((w) => (input.counts.get(w) ?? 0) > base);
  const extraFor = new Set([...above, ...workers.filter((w) => (input.counts.get(w) ?? 0) <= base)].slice(0, extra));
  workers.forEach((worker) => {
    const share = Math.min(input.maxLeasesForWorker, base + (extraFor.has(worker) ? 1 : 0));
    const deficit = Math.max(0, share - (input.counts.get(worker) ?? 0));
    plan.set(worker, ordered.slice(next, next + deficit));
    next += deficit;
  });
  return plan;
}
