// Builds shard listings for tests: named graphs from Java KCL's test suite and random split/merge histories,
// with real hash ranges so coverage can be checked.
import { MAX_HASH_KEY } from '../../src/shards/hash-key-range.js';
import type { Shard } from '../../src/shards/shard.js';

export class ShardHistory {
  readonly shards = new Map<string, Shard>();
  private seq = 1000n;

  constructor(initialShards: number) {
    const width = (MAX_HASH_KEY + 1n) / BigInt(initialShards);
    for (let i = 0; i < initialShards; i++) {
      const start = width * BigInt(i);
      const end = i === initialShards - 1 ? MAX_HASH_KEY : start + width - 1n;
      this.add(String(i), start, end);
    }
  }

  private add(id: string, start: bigint, end: bigint, parents: string[] = []): Shard {
    const s: Shard = {
      shardId: id,
      hashKeyRange: { startingHashKey: start.toString(), endingHashKey: end.toString() },
      sequenceNumberRange: { startingSequenceNumber: String((this.seq += 10n)) },
    };
    if (parents[0] !== undefined) s.parentShardId = parents[0];
    if (parents[1] !== undefined) s.adjacentParentShardId = parents[1];
    this.shards.set(id, s);
    return s;
  }

  private close(id: string): Shard {
    const s = this.shards.get(id)!;
    if (s.sequenceNumberRange.endingSequenceNumber !== undefined) throw new Error(`${id} already closed`);
    s.sequenceNumberRange.endingSequenceNumber = String((this.seq += 10n));
    return s;
  }

  split(id: string, a: string, b: string): this {
    const s = this.close(id);
    const start = BigInt(s.hashKeyRange.startingHashKey);
    const end = BigInt(s.hashKeyRange.endingHashKey);
    const mid = start + (end - start) / 2n;
    this.add(a, start, mid, [id]);
    this.add(b, mid + 1n, end, [id]);
    return this;
  }

  merge(x: string, y: string, child: string): this {
    const a = this.close(x);
    const b = this.close(y);
    const lo = BigInt(a.hashKeyRange.startingHashKey) < BigInt(b.hashKeyRange.startingHashKey) ? a : b;
    const hi = lo === a ? b : a;
    if (BigInt(lo.hashKeyRange.endingHashKey) + 1n !== BigInt(hi.hashKeyRange.startingHashKey)) throw new Error(`${x} and ${y} are not adjacent`);
    this.add(child, BigInt(lo.hashKeyRange.startingHashKey), BigInt(hi.hashKeyRange.endingHashKey), [x, y]);
    return this;
  }

  open(): Shard[] {
    return [...this.shards.values()].filter((s) => s.sequenceNumberRange.endingSequenceNumber === undefined);
  }

  list(): Shard[] {
    return [...this.shards.values()];
  }
}

/** A: 0 1 2 3 4 5 → 6=(0,1) 7=(2,3) → 8=(6,7), 9,10 from 5. */
export const graphA = (): ShardHistory => new ShardHistory(6).merge('0', '1', '6').merge('2', '3', '7').merge('6', '7', '8').split('5', '9', '10');
/** B: 0,1→2; 2→3,4; 3,4→5; 5→6,7; 6,7→8; 8→9,10. */
export const graphB = (): ShardHistory =>
  new ShardHistory(2).merge('0', '1', '2').split('2', '3', '4').merge('3', '4', '5').split('5', '6', '7').merge('6', '7', '8').split('8', '9', '10');
/** C: 0→4,5; 2,3→6; 4→7,8; 5→9,10. */
export const graphC = (): ShardHistory => new ShardHistory(4).split('0', '4', '5').merge('2', '3', '6').split('4', '7', '8').split('5', '9', '10');

/** A random history of `steps` splits and merges of adjacent open shards, seeded. */
export function randomHistory(seed: number, initial: number, steps: number): ShardHistory {
  let state = seed >>> 0 || 1;
  const rand = (n: number): number => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state % n;
  };
  const h = new ShardHistory(initial);
  let next = initial;
  for (let i = 0; i < steps; i++) {
    const open = h.open().sort((a, b) => (BigInt(a.hashKeyRange.startingHashKey) < BigInt(b.hashKeyRange.startingHashKey) ? -1 : 1));
    if (open.length > 1 && rand(2) === 0) {
      const k = rand(open.length - 1);
      h.merge(open[k]!.shardId, open[k + 1]!.shardId, String(next++));
    } else {
      const s = open[rand(open.length)]!;
      if (BigInt(s.hashKeyRange.endingHashKey) - BigInt(s.hashKeyRange.startingHashKey) < 4n) continue;
      h.split(s.shardId, String(next++), String(next++));
    }
  }
  return h;
}
