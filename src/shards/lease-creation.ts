import type { Shard } from '../aws/kinesis-types.js';
import type { Lease } from '../leases/lease.js';

/** Checkpoint sentinel a new lease starts from. */
export type StartSentinel = 'TRIM_HORIZON' | 'LATEST' | 'AT_TIMESTAMP';

export function parentsOf(shard: Shard): string[] {
  return [shard.parentShardId, shard.adjacentParentShardId].filter((p): p is string => p !== undefined && p !== '');
}

export function isOpen(shard: Shard): boolean {
  return shard.sequenceNumberRange.endingSequenceNumber === undefined;
}

/** A fresh, unowned lease for a shard, in Java KCL's shape. */
export function newLeaseForShard(shard: Shard, checkpoint: StartSentinel): Lease {
  return {
    leaseKey: shard.shardId,
    leaseCounter: 0,
    checkpoint: { sequenceNumber: checkpoint, subSequenceNumber: 0 },
    ownerSwitchesSinceCheckpoint: 0,
    parentShardIds: parentsOf(shard),
    childShardIds: [],
    hashKeyRange: { ...shard.hashKeyRange },
  };
}

/**
 * Which leases a shard sync creates (after Java KCL's HierarchicalShardSyncer):
 * - empty table: LATEST → every open shard; TRIM_HORIZON / AT_TIMESTAMP → the oldest shards still listed
 *   (no listed parent), whose descendants follow through the shard-end path. Checkpoint = the initial position.
 * - otherwise, for an open shard without a lease: if an ancestor is leased, nothing (the child is created when
 *   that ancestor ends); else the oldest unleased listed ancestor gets a lease at TRIM_HORIZON
 *   (AT_TIMESTAMP when that is the initial position), so no record between it and the open shard is skipped.
 */
export function leasesToCreate(shards: readonly Shard[], existing: ReadonlySet<string>, initial: StartSentinel): Lease[] {
  const byId = new Map(shards.map((s) => [s.shardId, s]));
  const listedParents = (s: Shard): Shard[] => parentsOf(s).map((p) => byId.get(p)).filter((p): p is Shard => p !== undefined);
  const out = new Map<string, Lease>();

  if (existing.size === 0) {
    for (const s of shards) {
      const wanted = initial === 'LATEST' ? isOpen(s) : listedParents(s).length === 0;
      if (wanted) out.set(s.shardId, newLeaseForShard(s, initial));
    }
    return [...out.values()];
  }

  const catchUp: StartSentinel = initial === 'AT_TIMESTAMP' ? 'AT_TIMESTAMP' : 'TRIM_HORIZON';
  const hasLeasedAncestor = (s: Shard, seen = new Set<string>()): boolean =>
    parentsOf(s).some((p) => {
      if (seen.has(p)) return false;
      seen.add(p);
      if (existing.has(p)) return true;
      const parent = byId.get(p);
      return parent !== undefined && hasLeasedAncestor(parent, seen);
    });
  const oldestUnleased = (s: Shard, seen = new Set<string>()): Shard[] => {
    const parents = listedParents(s).filter((p) => !seen.has(p.shardId));
    if (parents.length === 0) return [s];
    for (const p of parents) seen.add(p.shardId);
    return parents.flatMap((p) => oldestUnleased(p, seen));
  };

  for (const s of shards) {
    if (!isOpen(s) || existing.has(s.shardId) || hasLeasedAncestor(s)) continue;
    const roots = oldestUnleased(s);
    for (const r of roots) {
      if (existing.has(r.shardId)) continue;
      out.set(r.shardId, newLeaseForShard(r, catchUp));
    }
  }
  return [...out.values()];
}
