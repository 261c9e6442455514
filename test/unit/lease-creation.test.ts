import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Shard } from '../../src/aws/kinesis-types.js';
import { leasesToCreate } from '../../src/shards/lease-creation.js';

function shard(id: string, opts: { parents?: string[]; closed?: boolean } = {}): Shard {
  const s: Shard = {
    shardId: id,
    hashKeyRange: { startingHashKey: '0', endingHashKey: '340282366920938463463374607431768211455' },
    sequenceNumberRange: { startingSequenceNumber: '1', ...(opts.closed ? { endingSequenceNumber: '9' } : {}) },
  };
  const [p, q] = opts.parents ?? [];
  if (p) s.parentShardId = p;
  if (q) s.adjacentParentShardId = q;
  return s;
}

// s0 split into s2+s3; s1 and s3 merged into s4.
const graph = [
  shard('s0', { closed: true }),
  shard('s1', { closed: true }),
  shard('s2', { parents: ['s0'] }),
  shard('s3', { parents: ['s0'], closed: true }),
  shard('s4', { parents: ['s1', 's3'] }),
];
const summary = (ls: ReturnType<typeof leasesToCreate>) => ls.map((l) => `${l.leaseKey}@${l.checkpoint.sequenceNumber}${l.parentShardIds.length ? `<${l.parentShardIds.join('+')}` : ''}`).sort();

describe('leasesToCreate', () => {
  it('empty table, LATEST: every open shard at LATEST', () => {
    assert.deepEqual(summary(leasesToCreate(graph, new Set(), 'LATEST')), ['s2@LATEST<s0', 's4@LATEST<s1+s3']);
  });

  it('empty table, TRIM_HORIZON: the oldest listed shards only', () => {
    assert.deepEqual(summary(leasesToCreate(graph, new Set(), 'TRIM_HORIZON')), ['s0@TRIM_HORIZON', 's1@TRIM_HORIZON']);
  });

  it('non-empty table: children of leased parents wait for the shard-end path', () => {
    assert.deepEqual(leasesToCreate(graph, new Set(['s0', 's1']), 'LATEST'), []);
  });

  it('non-empty table: an open shard without leased ancestors gets its oldest unleased ancestors at TRIM_HORIZON', () => {
    const withNew = [...graph, shard('s9')];
    assert.deepEqual(summary(leasesToCreate(withNew, new Set(['s2', 's4']), 'LATEST')), ['s9@TRIM_HORIZON']);
    assert.deepEqual(summary(leasesToCreate(graph, new Set(['x']), 'LATEST')), ['s0@TRIM_HORIZON', 's1@TRIM_HORIZON']);
    assert.deepEqual(summary(leasesToCreate(graph, new Set(['x']), 'AT_TIMESTAMP')), ['s0@AT_TIMESTAMP', 's1@AT_TIMESTAMP']);
  });

  it('copies hash ranges and both merge parents onto the lease', () => {
    const [s4] = leasesToCreate([shard('s4', { parents: ['s1', 's3'] })], new Set(), 'LATEST');
    assert.deepEqual(s4!.parentShardIds, ['s1', 's3']);
    assert.equal(s4!.hashKeyRange!.endingHashKey, '340282366920938463463374607431768211455');
    assert.equal(s4!.leaseOwner, undefined);
    assert.equal(s4!.leaseCounter, 0);
  });
});
