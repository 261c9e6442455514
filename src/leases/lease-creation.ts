import { isOpen, type Shard } from '../shards/shard.js';
import type { Lease } from './lease.js';
import { parentsOf } from '../shards/shard-graph.js';
import { leaseKeyOf } from './lease-key.js';

/** Checkpoint sentinel a new lease starts from. */
export type StartSentinel = 'TRIM_HORIZON' | 'LATEST' | 'AT_TIMESTAMP';

/**
 * A fresh, unowned lease for a shard, in Java KCL's shape. With a multi-stream `streamId`
 * (`account:stream:creationEpoch`) the lease also gets the `streamName` (that identifier) and `shardId` attributes.
 */
export function newLeaseForShard(shard: Pick<Shard, 'shardId' | 'hashKeyRange' | 'parentShardId' | 'adjacentParentShardId'>, checkpoint: StartSentinel, streamId = ''): Lease {
  return {
    leaseKey: leaseKeyOf(streamId, shard.shardId),
    ...(streamId === '' ? {} : { streamName: streamId, shardId: shard.shardId }),
    leaseCounter: 0,
    checkpoint: { sequenceNumber: checkpoint, subSequenceNumber: 0 },
    ownerSwitchesSinceCheckpoint: 0,
    parentShardIds: parentsOf(shard),
    childShardIds: [],
    hashKeyRange: { ...shard.hashKeyRange },
  };
}

/**
 * Leases for an empty table: the shards the service returned for the initial position (its ShardFilter), each at
 * the initial position. Emulators ignore ShardFilter, so the filter is applied here too: LATEST keeps the open
 * shards, TRIM_HORIZON / AT_TIMESTAMP keep the oldest listed shards (descendants follow through shard end).
 */
export function leasesForEmptyTable(shards: readonly Shard[], initial: StartSentinel, streamId = ''): Lease[] {
  const listed = new Set(shards.map((s) => s.shardId));
  return shards
    .filter((s) => (initial === 'LATEST' ? isOpen(s) : parentsOf(s).every((p) => !listed.has(p))))
    .map((s) => newLeaseForShard(s, initial, streamId));
}

/**
 * Leases for a non-empty table: Java KCL's `NonEmptyLeaseTableSynchronizer` and its memoized
 * `checkIfDescendantAndAddNewLeasesForAncestors`. For every open shard without a lease:
 * - a descendant of a leased shard gets no lease (its parents create it at shard end), but a parent on its path
 *   that is not itself covered gets one — at TRIM_HORIZON when that parent descends from a leased or to-be-created
 *   shard, else at the initial position;
 * - with TRIM_HORIZON / AT_TIMESTAMP, ancestors without leased ancestors are traced back to the oldest listed
 *   shards, which get leases (so no record between them and the open shard is skipped);
 * - an open shard with no leased ancestor at all gets a lease at the initial position.
 * Worked example (Java's docs): `0 1 2 3 4 5 → 6(0,1) 7(2,3) → 8(6,7), 9(5), 10(5)` with leases {4,5,7}:
 * LATEST creates {6}, TRIM_HORIZON creates {0,1}, AT_TIMESTAMP creates {0,1} at AT_TIMESTAMP.
 */
export function leasesForNonEmptyTable(shards: readonly Shard[], leased: ReadonlySet<string>, initial: StartSentinel, streamId = ''): Lease[] {
  const byId = new Map(shards.map((s) => [s.shardId, s]));
  const isDescendantMemo = new Map<string, boolean>();
  const shouldCreate = new Set<string>();
  const created = new Map<string, Lease>();
  const includeAncestors = initial === 'TRIM_HORIZON' || initial === 'AT_TIMESTAMP';

  const listedParents = (s: Shard): string[] => parentsOf(s).filter((p) => byId.has(p));

  const isDescendant = (shardId: string): boolean => {
    const memo = isDescendantMemo.get(shardId);
    if (memo !== undefined) return memo;
    isDescendantMemo.set(shardId, false); // guards against cycles in a malformed listing
    const shard = byId.get(shardId);
    let result = false;
    if (shard !== undefined) {
      if (leased.has(shardId)) {
        result = true;
      } else {
        const parents = listedParents(shard);
        const descendantParents = new Set<string>();
        for (const p of parents) {
          if (isDescendant(p) || shouldCreate.has(p)) {
            result = true;
            descendantParents.add(p);
          }
        }
        if (result) {
          for (const p of parents) {
            if (leased.has(p)) continue;
            let lease = created.get(p);
            if (lease === undefined && (shouldCreate.has(p) || !descendantParents.has(p))) {
              lease = newLeaseForShard(byId.get(p)!, initial, streamId);
              created.set(p, lease);
            }
            if (lease !== undefined) {
              const checkpoint = descendantParents.has(p) && initial !== 'AT_TIMESTAMP' ? 'TRIM_HORIZON' : initial;
              lease.checkpoint = { sequenceNumber: checkpoint, subSequenceNumber: 0 };
            }
          }
        } else if (includeAncestors) {
          shouldCreate.add(shardId);
        }
      }
    }
    isDescendantMemo.set(shardId, result);
    return result;
  };

  const open = shards.filter(isOpen).sort(byStartingSequenceNumber);
  for (const s of open) {
    if (leased.has(s.shardId)) continue;
    if (!isDescendant(s.shardId)) created.set(s.shardId, newLeaseForShard(s, initial, streamId));
  }
  return [...created.values()];
}

function byStartingSequenceNumber(a: Shard, b: Shard): number {
  const x = BigInt(a.sequenceNumberRange.startingSequenceNumber || '0');
  const y = BigInt(b.sequenceNumberRange.startingSequenceNumber || '0');
  return x < y ? -1 : x > y ? 1 : 0;
}

/** Which leases a shard sync creates: {@link leasesForEmptyTable} or {@link leasesForNonEmptyTable}. */
export function leasesToCreate(shards: readonly Shard[], leased: ReadonlySet<string>, initial: StartSentinel): Lease[] {
  return leased.size === 0 ? leasesForEmptyTable(shards, initial) : leasesForNonEmptyTable(shards, leased, initial);
}
