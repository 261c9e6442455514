import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Shard } from '../../src/shards/shard.js';
import { leasesToCreate, type StartSentinel } from '../../src/leases/lease-creation.js';
import { hashRangeGaps, parentsOf } from '../../src/shards/shard-graph.js';
import { graphA, graphB, graphC, randomHistory, type ShardHistory } from '../support/shard-histories.js';

const created = (h: ShardHistory, leased: string[], initial: StartSentinel): string[] =>
  leasesToCreate(h.list(), new Set(leased), initial)
    .map((l) => (l.checkpoint.sequenceNumber === initial ? l.leaseKey : `${l.leaseKey}@${l.checkpoint.sequenceNumber}`))
    .sort((a, b) => Number.parseInt(a, 10) - Number.parseInt(b, 10));

describe('leasesToCreate over Java KCL shard graphs', () => {
  // [graph, leased, LATEST, TRIM_HORIZON, AT_TIMESTAMP]; an entry "x@Y" means lease x with checkpoint Y ≠ the initial position.
  const cases: [string, () => ShardHistory, string[], string[], string[], string[]][] = [
    ['A empty', graphA, [], ['4', '8', '9', '10'], ['0', '1', '2', '3', '4', '5'], ['0', '1', '2', '3', '4', '5']],
    ['A {4,5,7} (Java docs)', graphA, ['4', '5', '7'], ['6'], ['0', '1'], ['0', '1']],
    ['A {8}', graphA, ['8'], ['4', '9', '10'], ['4', '5'], ['4', '5']],
    ['A all open leased', graphA, ['4', '8', '9', '10'], [], [], []],
    ['B empty', graphB, [], ['9', '10'], ['0', '1'], ['0', '1']],
    ['B {5}', graphB, ['5'], [], [], []],
    ['B {9}', graphB, ['9'], ['10'], ['0', '1'], ['0', '1']],
    ['C empty', graphC, [], ['1', '6', '7', '8', '9', '10'], ['0', '1', '2', '3'], ['0', '1', '2', '3']],
    ['C {1,6}', graphC, ['1', '6'], ['7', '8', '9', '10'], ['0'], ['0']],
    ['C {4} (unrealistic: 0 done but 5 never leased — Java re-creates 0)', graphC, ['4'], ['1', '6', '9', '10'], ['0', '1', '2', '3'], ['0', '1', '2', '3']],
  ];
  for (const [name, graph, leased, latest, trim, atTs] of cases) {
    it(`${name}: LATEST ${JSON.stringify(latest)}, TRIM_HORIZON ${JSON.stringify(trim)}, AT_TIMESTAMP ${JSON.stringify(atTs)}`, () => {
      assert.deepEqual(created(graph(), leased, 'LATEST'), latest);
      assert.deepEqual(created(graph(), leased, 'TRIM_HORIZON'), trim);
      assert.deepEqual(created(graph(), leased, 'AT_TIMESTAMP'), atTs);
    });
  }

  it('copies hash ranges and both merge parents onto the lease', () => {
    const [lease] = leasesToCreate(graphA().list().filter((s) => s.shardId === '8'), new Set(), 'LATEST');
    assert.deepEqual(lease!.parentShardIds, ['6', '7']);
    assert.equal(lease!.leaseOwner, undefined);
    assert.equal(lease!.leaseCounter, 0);
    assert.ok(lease!.hashKeyRange);
  });
});

describe('leasesToCreate properties over random split/merge histories', () => {
  const ancestorsCovered = (shard: Shard, byId: Map<string, Shard>, covered: Set<string>, seen = new Set<string>()): boolean => {
    if (covered.has(shard.shardId)) return true;
    return parentsOf(shard).some((p) => {
      if (seen.has(p)) return false;
      seen.add(p);
      const parent = byId.get(p);
      return parent !== undefined && ancestorsCovered(parent, byId, covered, seen);
    });
  };

  it('an empty table gets leases covering the whole key space, without a gap', () => {
    for (let seed = 1; seed <= 300; seed++) {
      const h = randomHistory(seed, 1 + (seed % 5), seed % 12);
      for (const initial of ['LATEST', 'TRIM_HORIZON', 'AT_TIMESTAMP'] as const) {
        const leases = leasesToCreate(h.list(), new Set(), initial);
        assert.deepEqual(hashRangeGaps(leases.map((l) => l.hashKeyRange!)), [], `seed ${seed} ${initial}`);
      }
    }
  });

  it('with some leases, every open shard ends up leased or reachable from a lease; TRIM_HORIZON never skips an ancestor', () => {
    for (let seed = 1; seed <= 300; seed++) {
      const h = randomHistory(seed * 7919, 2 + (seed % 4), 4 + (seed % 10));
      const byId = new Map(h.list().map((s) => [s.shardId, s]));
      const all = h.list();
      const leased = new Set(all.filter((_, i) => (seed * (i + 3)) % 5 === 0).map((s) => s.shardId));
      if (leased.size === 0) continue;
      for (const initial of ['LATEST', 'TRIM_HORIZON'] as const) {
        const made = leasesToCreate(all, leased, initial);
        const covered = new Set([...leased, ...made.map((l) => l.leaseKey)]);
        for (const open of h.open()) {
          assert.ok(ancestorsCovered(open, byId, covered), `seed ${seed} ${initial}: open shard ${open.shardId} not covered`);
        }
        if (initial === 'TRIM_HORIZON') {
          for (const lease of made) {
            const shard = byId.get(lease.leaseKey)!;
            for (const p of parentsOf(shard).filter((x) => byId.has(x))) {
              assert.ok(ancestorsCovered(byId.get(p)!, byId, covered), `seed ${seed}: ${lease.leaseKey} created before its ancestor ${p} is covered`);
            }
          }
        }
      }
    }
  });
});

describe('hashRangeGaps', () => {
  it('finds holes and accepts overlaps', () => {
    const r = (a: bigint, b: bigint) => ({ startingHashKey: a.toString(), endingHashKey: b.toString() });
    const max = (1n << 128n) - 1n;
    assert.deepEqual(hashRangeGaps([r(0n, max)]), []);
    assert.deepEqual(hashRangeGaps([r(0n, 10n), r(5n, max)]), []);
    assert.deepEqual(hashRangeGaps([r(0n, 10n), r(12n, max)]), [{ from: 11n, to: 11n }]);
    assert.deepEqual(hashRangeGaps([r(1n, max - 1n)]), [{ from: 0n, to: 0n }, { from: max, to: max }]);
  });
});
