import type { LeaseStatus } from '../lease-table-status.js';
import { shardKey } from './dashboard-problems.js';

/**
 * Where one shard sits on the dashboard's map: its row is its generation in the split/merge lineage (a shard
 * whose parents are not in the table is generation 0; a child sits one row below its deepest parent) and its
 * horizontal extent is its hash-key range as a fraction of the whole 128-bit key space, so children appear
 * right under the part of the parent they took over.
 */
export interface ShardPlacement {
  leaseKey: string;
  depth: number;
  /** Start of the range in [0, 1]; `null` when the lease stores no hash-key range. */
  x0: number | null;
  /** End of the range (exclusive) in [0, 1]; `null` when the lease stores no hash-key range. */
  x1: number | null;
}

const KEY_SPACE = 1n << 128n;
const RESOLUTION = 1_000_000_000n;

function fraction(hashKey: bigint): number {
  return Number((hashKey * RESOLUTION) / KEY_SPACE) / Number(RESOLUTION);
}

function range(lease: LeaseStatus): [number, number] | [null, null] {
  const r = lease.hashKeyRange;
  if (r === null) return [null, null];
  try {
    const start = BigInt(r.startingHashKey);
    const end = BigInt(r.endingHashKey);
    if (start < 0n || end < start || end >= KEY_SPACE) return [null, null];
    return [fraction(start), fraction(end + 1n)];
  } catch {
    return [null, null]; // not a decimal string: show the shard without a range
  }
}

/** One placement per lease, in the leases' order. Lineage cycles (corrupt tables) are cut, never followed twice. */
export function layoutShards(leases: readonly LeaseStatus[]): ShardPlacement[] {
  const byShard = new Map(leases.map((l) => [shardKey(l.stream, l.shardId), l]));
  const depth = new Map<string, number>();
  const depthOf = (lease: LeaseStatus, visiting: Set<string>): number => {
    const known = depth.get(lease.leaseKey);
    if (known !== undefined) return known;
    visiting.add(lease.leaseKey);
    let d = 0;
    for (const parentId of lease.parents) {
      const parent = byShard.get(shardKey(lease.stream, parentId));
      if (parent === undefined || visiting.has(parent.leaseKey)) continue;
      d = Math.max(d, depthOf(parent, visiting) + 1);
    }
    visiting.delete(lease.leaseKey);
    depth.set(lease.leaseKey, d);
    return d;
  };
  return leases.map((l) => {
    const [x0, x1] = range(l);
    return { leaseKey: l.leaseKey, depth: depthOf(l, new Set()), x0, x1 };
  });
}
