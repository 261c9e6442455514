import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { hasStarted, isFinished, shardIdOf } from '../../src/leases/lease.js';

const at = (sequenceNumber: string) => ({ checkpoint: { sequenceNumber, subSequenceNumber: 0 } });

describe('lease model helpers', () => {
  it('isFinished: only a SHARD_END checkpoint', () => {
    assert.equal(isFinished(at('SHARD_END')), true);
    for (const cp of ['TRIM_HORIZON', 'LATEST', 'AT_TIMESTAMP', '49590338271490256608559692538361571095921575989136588898']) {
      assert.equal(isFinished(at(cp)), false, cp);
    }
  });

  it('hasStarted: the checkpoint moved past TRIM_HORIZON / AT_TIMESTAMP', () => {
    assert.equal(hasStarted(at('TRIM_HORIZON')), false);
    assert.equal(hasStarted(at('AT_TIMESTAMP')), false);
    assert.equal(hasStarted(at('LATEST')), true);
    assert.equal(hasStarted(at('4959033827149025660855969253836157109592')), true);
    assert.equal(hasStarted(at('SHARD_END')), true);
  });

  it('shardIdOf: the shardId attribute, else the part of the key after the stream id', () => {
    assert.equal(shardIdOf({ leaseKey: 'shardId-000000000004' }), 'shardId-000000000004');
    assert.equal(shardIdOf({ leaseKey: '123456789012:orders:1700000000:shardId-000000000004' }), 'shardId-000000000004');
    assert.equal(shardIdOf({ leaseKey: '1:a:2:shardId-000000000004', shardId: 'shardId-000000000009' }), 'shardId-000000000009');
  });
});
