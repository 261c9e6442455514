// The chaos run's validator on hand-made worker reports: it passes a clean history (with allowed duplicates)
// and finds each kind of violation.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Shard } from '../../src/shards/shard.js';
import { validateChaos, type ChaosProduced } from '../support/chaos-validator.js';
import type { WorkerReport } from '../support/worker-protocol.js';

const range = { startingHashKey: '0', endingHashKey: '10' };
const P: Shard = { shardId: 'P', hashKeyRange: range, sequenceNumberRange: { startingSequenceNumber: '1', endingSequenceNumber: '99' } };
const C: Shard = { shardId: 'C', parentShardId: 'P', hashKeyRange: range, sequenceNumberRange: { startingSequenceNumber: '100' } };
const SHARDS = [P, C];

/** Builds reports: `init(w, shard, t, checkpoint)`, `batch(w, shard, t, [seq, 'key#n']...)`, `ok(w, batch)`. */
class History {
  readonly reports: WorkerReport[] = [];
  private batchNo = 0;

  init(workerId: string, shardId: string, t: number, checkpoint = 'TRIM_HORIZON'): this {
    this.reports.push({ type: 'initialize', workerId, shardId, t, sequenceNumber: checkpoint, subSequenceNumber: 0 });
    return this;
  }

  batch(workerId: string, shardId: string, t: number, records: [string, string][], checkpointed = true): this {
    const batch = ++this.batchNo;
    this.reports.push({
      type: 'records',
      workerId,
      shardId,
      t,
      batch,
      count: records.length,
      first: records[0]![0],
      last: records.at(-1)![0],
      records: records.map(([sequenceNumber, data]) => ({ sequenceNumber, subSequenceNumber: 0, data })),
    });
    if (checkpointed) this.reports.push({ type: 'checkpoint', workerId, shardId, t: t + 1, phase: 'processRecords', batch, target: records.at(-1)![0], ok: true });
    return this;
  }
}

const produced: ChaosProduced[] = [
  { key: 'a', n: 0, shardId: 'P', sequenceNumber: '10' },
  { key: 'a', n: 1, shardId: 'P', sequenceNumber: '11' },
  { key: 'a', n: 2, shardId: 'C', sequenceNumber: '100' },
  { key: 'b', n: 0, shardId: 'P', sequenceNumber: '12' },
];

describe('chaos validator', () => {
  it('a clean history with a kill: duplicates only of what was not checkpointed, nothing else reported', () => {
    const h = new History()
      .init('w1', 'P', 0)
      .batch('w1', 'P', 10, [['10', 'a#0']])
      .batch('w1', 'P', 20, [['11', 'a#1'], ['12', 'b#0']], false) // killed before the checkpoint
      .init('w2', 'P', 30, '10')
      .batch('w2', 'P', 40, [['11', 'a#1'], ['12', 'b#0']])
      .init('w2', 'C', 50)
      .batch('w2', 'C', 60, [['100', 'a#2']]);
    const v = validateChaos(produced, h.reports, SHARDS);
    assert.deepEqual(v.lost, []);
    assert.equal(v.duplicates, 2);
    assert.deepEqual([v.shardOrderViolations, v.keyOrderViolations, v.childBeforeParent, v.duplicatesBeforeCheckpoint], [[], [], [], []]);
  });

  it('finds lost records, redelivery of checkpointed records, children before parents and key order violations', () => {
    const h = new History()
      .init('w1', 'P', 0)
      .batch('w1', 'P', 10, [['10', 'a#0'], ['11', 'a#1']]) // checkpointed at 11
      .init('w2', 'C', 15)
      .batch('w2', 'C', 16, [['100', 'a#2']]) // before the parent finished
      .init('w2', 'P', 30, '10') // a stale checkpoint: 11 comes again
      .batch('w2', 'P', 40, [['11', 'a#1']]);
    const v = validateChaos(produced, h.reports, SHARDS);
    assert.deepEqual(v.lost, ['b#0']);
    assert.equal(v.childBeforeParent.length, 1);
    assert.equal(v.duplicatesBeforeCheckpoint.length, 1);
    assert.match(v.duplicatesBeforeCheckpoint[0]!, /a#1 .* w1 checkpointed up to 11/);

    const keyOrder = new History().init('w1', 'P', 0).batch('w1', 'P', 10, [['11', 'a#1']]).batch('w1', 'P', 20, [['12', 'a#0']]);
    assert.equal(validateChaos(produced, keyOrder.reports, SHARDS).keyOrderViolations.length, 1);
  });

  it('finds sequence numbers that go backwards within a run, or at or before its start checkpoint', () => {
    const h = new History()
      .init('w1', 'P', 0, '11')
      .batch('w1', 'P', 10, [['11', 'a#1'], ['10', 'a#0']]);
    assert.equal(validateChaos(produced, h.reports, SHARDS).shardOrderViolations.length, 2);
  });
});
