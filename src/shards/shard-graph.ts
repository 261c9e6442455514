import { MAX_HASH_KEY, type HashKeyRange } from '../shards/hash-key-range.js';
import type { Shard } from '../shards/shard.js';

/** The listed parents of a shard: one after a split, two after a merge. */
export function parentsOf(shard: Pick<Shard, 'parentShardId' | 'adjacentParentShardId'>): string[] {
  return [shard.parentShardId, shard.adjacentParentShardId].filter((p): p is string => p !== undefined && p !== '');
}

/** Shards that name `shardId` as a parent (for when a closed shard's last read carried no ChildShards). */
export function childrenOf(shardId: string, shards: readonly Shard[]): Shard[] {
  return shards.filter((s) => s.parentShardId === shardId || s.adjacentParentShardId === shardId);
}

export interface CoverageGap {
  /** First hash key not covered. */
  from: bigint;
  /** Last hash key not covered. */
  to: bigint;
}

/**
 * Gaps in the hash-key space 0 … 2^128−1 left by `ranges` (overlaps are fine: a parent and its children may both
 * be listed). Empty result = full coverage.
 */
export function hashRangeGaps(ranges: readonly HashKeyRange[]): CoverageGap[] {
  const sorted = ranges
    .map((r) => ({ start: BigInt(r.startingHashKey), end: BigInt(r.endingHashKey) }))
    .sort((a, b) => (a.start < b.start ? -1 : a.start > b.start ? 1 : 0));
  const gaps: CoverageGap[] = [];
  let next = 0n; // first key not yet covered
  for (const r of sorted) {
    if (r.start > next) gaps.push({ from: next, to: r.start - 1n });
    if (r.end + 1n > next) next = r.end + 1n;
  }
  if (next <= MAX_HASH_KEY) gaps.push({ from: next, to: MAX_HASH_KEY });
  return gaps;
}
