import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ShardCheckpointer } from '../../src/checkpoint/shard-checkpointer.js';
import { ExtendedSequenceNumber as ESN } from '../../src/checkpoint/extended-sequence-number.js';
import { DependencyError, IllegalArgumentError, InvalidStateError, ResourceNotFoundError, ShutdownError, ThrottlingError } from '../../src/errors.js';
import type { CheckpointUpdate } from '../../src/leases/lease-store.js';
import type { KinesisClientRecord } from '../../src/processor/types.js';

function setup(initial = ESN.TRIM_HORIZON) {
  const writes: CheckpointUpdate[] = [];
  let fail: unknown;
  const cp = new ShardCheckpointer('shardId-000000000000', async (u) => {
    if (fail !== undefined) throw fail;
    writes.push(u);
  }, initial);
  return { cp, writes, failWith: (e: unknown) => { fail = e; } };
}

const rec = (seq: string, sub = 0): KinesisClientRecord => ({
  sequenceNumber: seq, subSequenceNumber: sub, partitionKey: 'k', data: new Uint8Array(), approximateArrivalTimestamp: new Date(), aggregated: sub > 0,
});

describe('ShardCheckpointer', () => {
  it('checkpoint() writes the largest delivered record and clears pending state', async () => {
    const { cp, writes } = setup();
    cp.advanceLargestPermitted(new ESN('100'));
    cp.advanceLargestPermitted(new ESN('50'));
    await cp.checkpoint();
    assert.deepEqual(writes, [{ checkpoint: { sequenceNumber: '100', subSequenceNumber: 0 }, pendingCheckpoint: null, pendingCheckpointState: null }]);
    assert.deepEqual(cp.lastCheckpoint, { sequenceNumber: '100', subSequenceNumber: 0 });
    await cp.checkpoint();
    assert.equal(writes.length, 1, 'the same checkpoint again is a no-op');
  });

  it('accepts records and (sequence, sub-sequence) and enforces the range', async () => {
    const { cp, writes } = setup(new ESN('10'));
    cp.advanceLargestPermitted(new ESN('30', 2));
    await cp.checkpoint(rec('20'));
    await cp.checkpoint('30', 1);
    await assert.rejects(cp.checkpoint('25'), IllegalArgumentError, 'before last checkpoint');
    await assert.rejects(cp.checkpoint('31'), IllegalArgumentError, 'after largest delivered');
    await assert.rejects(cp.checkpoint('30', 3), IllegalArgumentError);
    await assert.rejects(cp.checkpoint('abc'), IllegalArgumentError);
    await assert.rejects(cp.checkpoint('LATEST'), IllegalArgumentError);
    await cp.checkpoint(rec('30', 2));
    assert.deepEqual(writes.map((w) => `${w.checkpoint.sequenceNumber}/${w.checkpoint.subSequenceNumber}`), ['20/0', '30/1', '30/2']);
  });

  it('writes SHARD_END for the last record at shard end, even after checkpointing it already (Java KCL #211)', async () => {
    const { cp, writes } = setup();
    cp.advanceLargestPermitted(new ESN('500'));
    await cp.checkpoint('500');
    cp.markShardEnd();
    await cp.checkpoint('500');
    assert.deepEqual(writes.map((w) => w.checkpoint.sequenceNumber), ['500', 'SHARD_END']);
    assert.ok(cp.lastCheckpointValue.isShardEnd);
  });

  it('checkpoint() at shard end writes SHARD_END even for an empty shard', async () => {
    const { cp, writes } = setup();
    cp.markShardEnd();
    await cp.checkpoint();
    assert.deepEqual(writes.map((w) => w.checkpoint.sequenceNumber), ['SHARD_END']);
  });

  it('prepareCheckpoint stores pending checkpoint and state; commit clears them', async () => {
    const { cp, writes } = setup(new ESN('1'));
    cp.advanceLargestPermitted(new ESN('9'));
    const state = new TextEncoder().encode('{"batch":42}');
    const prepared = await cp.prepareCheckpoint('9', 0, state);
    assert.deepEqual(prepared.pendingCheckpoint, { sequenceNumber: '9', subSequenceNumber: 0 });
    assert.deepEqual(writes[0], { checkpoint: { sequenceNumber: '1', subSequenceNumber: 0 }, pendingCheckpoint: { sequenceNumber: '9', subSequenceNumber: 0 }, pendingCheckpointState: state });
    await prepared.checkpoint();
    assert.deepEqual(writes[1], { checkpoint: { sequenceNumber: '9', subSequenceNumber: 0 }, pendingCheckpoint: null, pendingCheckpointState: null });
    const viaState = await cp.prepareCheckpoint(state);
    assert.deepEqual(viaState.pendingCheckpoint, { sequenceNumber: '9', subSequenceNumber: 0 });
    const viaRecord = await cp.prepareCheckpoint(rec('9'));
    await viaRecord.checkpoint();
    await assert.rejects(cp.prepareCheckpoint('10'), IllegalArgumentError);
  });

  it('passes typed errors through and maps the rest (Java checkpoint exceptions)', async () => {
    const { cp, failWith } = setup();
    cp.advanceLargestPermitted(new ESN('5'));
    for (const [thrown, expected] of [
      [new ShutdownError('gone'), ShutdownError],
      [new ThrottlingError('slow'), ThrottlingError],
      [new ResourceNotFoundError('no table'), InvalidStateError],
      [new Error('boom'), DependencyError],
    ] as const) {
      failWith(thrown);
      await assert.rejects(cp.checkpoint(), expected);
    }
    assert.deepEqual(cp.lastCheckpoint, { sequenceNumber: 'TRIM_HORIZON', subSequenceNumber: 0 }, 'a failed write changes nothing');
  });

  it('checkpoint() and prepareCheckpoint() with no record delivered and the lease at a sentinel do nothing (Java KCL)', async () => {
    for (const initial of [ESN.TRIM_HORIZON, ESN.LATEST, ESN.AT_TIMESTAMP]) {
      const { cp, writes } = setup(initial);
      await cp.checkpoint();
      const prepared = await cp.prepareCheckpoint();
      await prepared.checkpoint();
      await cp.prepareCheckpoint(new Uint8Array([1]));
      assert.equal(writes.length, 0, `nothing written at ${initial.sequenceNumber}`);
      assert.deepEqual(cp.lastCheckpoint, initial.toJSON());
      // Once a record is delivered, checkpoint() writes it as usual.
      cp.advanceLargestPermitted(new ESN('7'));
      await cp.checkpoint();
      assert.deepEqual(writes.map((w) => w.checkpoint.sequenceNumber), ['7']);
    }
  });

  it('still refuses an explicit sentinel, and writes SHARD_END when a shard ends with nothing delivered', async () => {
    const { cp, writes } = setup(ESN.TRIM_HORIZON);
    await assert.rejects(cp.checkpoint('LATEST'), IllegalArgumentError);
    cp.markShardEnd();
    await cp.checkpoint();
    assert.deepEqual(writes.map((w) => w.checkpoint.sequenceNumber), ['SHARD_END']);
  });
});
