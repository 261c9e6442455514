/** Inclusive hash-key range of a shard, as decimal strings (0 … 2^128−1). */
export interface HashKeyRange {
  /** Inclusive, decimal string. */
  startingHashKey: string;
  /** Inclusive, decimal string. */
  endingHashKey: string;
}

/** The largest hash key, 2^128 − 1: shards of a stream cover 0…MAX_HASH_KEY without gaps or overlaps. */
export const MAX_HASH_KEY = (1n << 128n) - 1n;

/**
 * The starting hash key of the upper half when `range` is split evenly, i.e. what to pass as
 * `NewStartingHashKey` to SplitShard. For the full range this is 2^127.
 * Throws `RangeError` when the range holds a single key (it cannot be split).
 */
export function midpointHashKey(range: HashKeyRange): string {
  const start = BigInt(range.startingHashKey);
  const end = BigInt(range.endingHashKey);
  if (end <= start) throw new RangeError(`Hash key range ${range.startingHashKey}..${range.endingHashKey} cannot be split`);
  return (start + (end - start + 1n) / 2n).toString();
}

/**
 * Splits 0…2^128−1 into `count` contiguous ranges of (almost) equal size, as CreateStream does;
 * useful with `explicitHashKey` to target a particular shard.
 */
export function evenHashKeyRanges(count: number): HashKeyRange[] {
  if (!Number.isInteger(count) || count < 1) throw new RangeError(`count must be a positive integer, got ${count}`);
  const size = (MAX_HASH_KEY + 1n) / BigInt(count);
  const ranges: HashKeyRange[] = [];
  for (let i = 0n; i < BigInt(count); i++) {
    const start = i * size;
    const end = i === BigInt(count) - 1n ? MAX_HASH_KEY : start + size - 1n;
    ranges.push({ startingHashKey: start.toString(), endingHashKey: end.toString() });
  }
  return ranges;
}
