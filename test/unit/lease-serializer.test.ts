import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { AttributeMap } from '../../src/aws/dynamodb-api.js';
import { IllegalArgumentError, MalformedLeaseError } from '../../src/errors.js';
import { formatThroughput, fromItem, toItem } from '../../src/leases/lease-serializer.js';
import type { Lease } from '../../src/leases/lease.js';

const base = (): AttributeMap => ({
  leaseKey: { S: 'shardId-000000000001' },
  leaseCounter: { N: '3' },
  ownerSwitchesSinceCheckpoint: { N: '0' },
  checkpoint: { S: 'TRIM_HORIZON' },
  checkpointSubSequenceNumber: { N: '0' },
});

function malformed(item: AttributeMap, attribute: string): void {
  assert.throws(
    () => fromItem(item),
    (e: unknown) => e instanceof MalformedLeaseError && e.attribute === attribute && e.leaseKey === (item.leaseKey?.S ?? '(no leaseKey)'),
  );
}

void describe('lease serializer', () => {
  void it('writes only what is set: no owner, no empty sets, no pending fields', () => {
    const lease: Lease = {
      leaseKey: 'shardId-000000000001',
      leaseCounter: 0,
      checkpoint: { sequenceNumber: 'LATEST', subSequenceNumber: 0 },
      ownerSwitchesSinceCheckpoint: 0,
      parentShardIds: [],
      childShardIds: [],
      leaseOwner: undefined,
      pendingCheckpoint: undefined,
    };
    assert.deepEqual(toItem(lease), {
      leaseKey: { S: 'shardId-000000000001' },
      leaseCounter: { N: '0' },
      ownerSwitchesSinceCheckpoint: { N: '0' },
      checkpoint: { S: 'LATEST' },
      checkpointSubSequenceNumber: { N: '0' },
    });
  });

  void it('writes the pending state as B (never the N quirk) and sets deduplicated', () => {
    const item = toItem({
      leaseKey: 'k',
      leaseCounter: 1,
      checkpoint: { sequenceNumber: '1', subSequenceNumber: 0 },
      pendingCheckpoint: { sequenceNumber: '2', subSequenceNumber: 5 },
      pendingCheckpointState: new Uint8Array([1, 2]),
      ownerSwitchesSinceCheckpoint: 0,
      parentShardIds: ['b', 'a', 'b'],
      childShardIds: [],
    });
    assert.deepEqual(item.pendingCheckpointState, { B: new Uint8Array([1, 2]) });
    assert.deepEqual(item.pendingCheckpointSubSequenceNumber, { N: '5' });
    assert.deepEqual(item.parentShardId, { SS: ['a', 'b'] });
  });

  void it('formats throughput with at most 6 decimals and no exponent', () => {
    assert.deepEqual(formatThroughput(183.25), { N: '183.25' });
    assert.deepEqual(formatThroughput(0), { N: '0' });
    assert.deepEqual(formatThroughput(1e-7), { N: '0' });
    assert.deepEqual(formatThroughput(2.0000004), { N: '2' });
    assert.throws(() => formatThroughput(Number.NaN), IllegalArgumentError);
  });

  void it('refuses leases DynamoDB or Java could not read back', () => {
    const lease: Lease = { leaseKey: 'k', leaseCounter: 1.5, checkpoint: { sequenceNumber: '1', subSequenceNumber: 0 }, ownerSwitchesSinceCheckpoint: 0, parentShardIds: [], childShardIds: [] };
    assert.throws(() => toItem(lease), IllegalArgumentError);
    assert.throws(() => toItem({ ...lease, leaseCounter: 1, hashKeyRange: { startingHashKey: '0x0', endingHashKey: '1' } }), IllegalArgumentError);
    assert.throws(() => toItem({ ...lease, leaseKey: '', leaseCounter: 1 }), IllegalArgumentError);
  });

  void it('skips non-lease entities; items without entityType or with LEASE are leases', () => {
    assert.equal(fromItem({ leaseKey: { S: 'Leader' }, entityType: { S: 'LEADER' } }), undefined);
    assert.equal(fromItem({ ...base(), entityType: { S: 'WORKER_METRIC_STATS' } }), undefined);
    assert.equal(fromItem({ ...base(), entityType: { S: 'LEASE' } })?.leaseCounter, 3);
    assert.equal(fromItem(base())?.leaseCounter, 3);
  });

  void it('is lenient where Java is', () => {
    const item = base();
    delete item.ownerSwitchesSinceCheckpoint;
    delete item.checkpointSubSequenceNumber;
    item.pendingCheckpointState = { N: '0' };
    item.startingHashKey = { S: '0' };
    const lease = fromItem(item)!;
    assert.equal(lease.ownerSwitchesSinceCheckpoint, 0);
    assert.equal(lease.checkpoint.subSequenceNumber, 0);
    assert.equal('pendingCheckpointState' in lease, false);
    assert.equal('hashKeyRange' in lease, false);
    assert.equal(fromItem({ ...base(), leaseCounter: { N: '7.0' } })?.leaseCounter, 7);
  });

  void it('names the lease and the attribute of a malformed item', () => {
    const cases: [string, (i: AttributeMap) => void][] = [
      ['leaseCounter', (i) => delete i.leaseCounter],
      ['leaseCounter', (i) => (i.leaseCounter = { S: '3' })],
      ['leaseCounter', (i) => (i.leaseCounter = { N: 'abc' })],
      ['leaseCounter', (i) => (i.leaseCounter = { N: '-1' })],
      ['leaseCounter', (i) => (i.leaseCounter = { N: '1e400' })],
      ['checkpoint', (i) => delete i.checkpoint],
      ['checkpoint', (i) => (i.checkpoint = { N: '1' })],
      ['checkpointSubSequenceNumber', (i) => (i.checkpointSubSequenceNumber = { N: '' })],
      ['childShardIds', (i) => (i.childShardIds = { L: [] })],
      ['pendingCheckpointState', (i) => (i.pendingCheckpointState = { S: 'x' })],
      ['throughputKBps', (i) => (i.throughputKBps = { N: 'fast' })],
      ['endingHashKey', (i) => (i.endingHashKey = { S: '12ab' })],
      ['leaseKey', (i) => (i.leaseKey = { N: '1' })],
    ];
    for (const [attribute, mutate] of cases) {
      const item = base();
      mutate(item);
      malformed(item, attribute);
    }
    const error = (() => {
      try {
        fromItem({ ...base(), leaseCounter: { S: '3' } });
      } catch (e) {
        return e as MalformedLeaseError;
      }
      return undefined;
    })();
    assert.match(error!.message, /shardId-000000000001.*leaseCounter.*type N/);
  });

  void it('copies bytes on read (the item and the lease never share a buffer)', () => {
    const bytes = new Uint8Array([1, 2, 3]);
    const lease = fromItem({ ...base(), pendingCheckpointState: { B: bytes } })!;
    bytes[0] = 9;
    assert.deepEqual(lease.pendingCheckpointState, new Uint8Array([1, 2, 3]));
  });
});
