import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Shard } from '../../src/shards/shard.js';
import { InMemoryLeaseStore } from '../../src/leases/in-memory-lease-store.js';
import { newLeaseForShard } from '../../src/leases/lease-creation.js';
import { LeaseCleaner } from '../../src/leases/lease-cleaner.js';
import { BlockedOnParentError, ShardEndHandler } from '../../src/leases/shard-end.js';
import { leaseGenerations, ShardSyncer } from '../../src/leases/shard-syncer.js';
import { FakeClock } from '../../src/util/clock.js';
import { silentLogger } from '../../src/util/logger.js';
import { graphA, randomHistory } from '../support/shard-histories.js';
import type { Lease } from '../../src/leases/lease.js';

const stream = { streamName: 's' };
const lister = (shards: Shard[]) => ({ listShards: async () => shards });
const byId = (shards: Shard[], id: string) => shards.find((s) => s.shardId === id)!;

async function storeWith(shards: Shard[], ids: string[], checkpoint = 'TRIM_HORIZON') {
  const store = new InMemoryLeaseStore();
  for (const id of ids) {
    const lease = newLeaseForShard(byId(shards, id), 'TRIM_HORIZON');
    lease.checkpoint = { sequenceNumber: checkpoint, subSequenceNumber: 0 };
    await store.createLeaseIfNotExists(lease);
  }
  return store;
}

describe('ShardEndHandler', () => {
  it('creates split children at TRIM_HORIZON from ListShards when ChildShards is missing, and records them on the parent', async () => {
    const shards = graphA().list();
    const store = await storeWith(shards, ['5']);
    const handler = new ShardEndHandler(lister(shards), store, stream, silentLogger);
    assert.deepEqual(await handler.prepare('5', '5', undefined), ['10', '9']);
    const nine = await store.getLease('9');
    assert.deepEqual([nine!.checkpoint.sequenceNumber, nine!.parentShardIds], ['TRIM_HORIZON', ['5']]);
    assert.deepEqual((await store.getLease('5'))!.childShardIds, ['10', '9']);
  });

  it('a merge child waits until the other parent has a lease, then is created with both parents', async () => {
    const shards = graphA().list();
    const store = await storeWith(shards, ['6']);
    const handler = new ShardEndHandler(lister(shards), store, stream, silentLogger);
    const reported = [{ shardId: '8', parentShards: ['6', '7'], hashKeyRange: byId(shards, '8').hashKeyRange }];
    await assert.rejects(handler.prepare('6', '6', reported), (e: unknown) => e instanceof BlockedOnParentError && e.retriable && /other parent 7/.test(e.message));
    assert.equal(await store.getLease('8'), undefined, 'no child before both parents are tracked');
    await store.createLeaseIfNotExists(newLeaseForShard(byId(shards, '7'), 'TRIM_HORIZON'));
    assert.deepEqual(await handler.prepare('6', '6', reported), ['8']);
    assert.deepEqual((await store.getLease('8'))!.parentShardIds, ['6', '7']);
    // The second parent finds the child already there.
    assert.deepEqual(await handler.prepare('7', '7', reported), ['8']);
  });
});

describe('LeaseCleaner', () => {
  it('deletes a finished parent only when every child started and its own parents are gone', async () => {
    const shards = graphA().list();
    const store = await storeWith(shards, ['5'], 'SHARD_END');
    await store.updateMetaInfo('5', { childShardIds: ['9', '10'] });
    const cleaner = new LeaseCleaner(lister(shards), store, stream, silentLogger);
    const parent = async () => (await store.getLease('5'))!;
    assert.equal(await cleaner.cleanUp(await parent()), false, 'children missing');
    for (const c of ['9', '10']) await store.createLeaseIfNotExists(newLeaseForShard(byId(shards, c), 'TRIM_HORIZON'));
    assert.equal(await cleaner.cleanUp(await parent()), false, 'children not started');
    let nine = (await store.getLease('9'))!;
    nine = (await store.takeLease(nine, 'w') as { ok: true; lease: typeof nine }).lease;
    await store.updateCheckpoint(nine, { checkpoint: { sequenceNumber: '123', subSequenceNumber: 0 } });
    assert.equal(await cleaner.cleanUp(await parent()), false, 'one child not started');
    let ten = (await store.getLease('10'))!;
    ten = (await store.takeLease(ten, 'w') as { ok: true; lease: typeof ten }).lease;
    await store.updateCheckpoint(ten, { checkpoint: { sequenceNumber: '456', subSequenceNumber: 0 } });
    let forgotten = false;
    assert.equal(await cleaner.cleanUp(await parent(), () => (forgotten = true)), true);
    assert.equal(forgotten, true);
    assert.equal(await store.getLease('5'), undefined);
  });

  it('keeps a finished lease while one of its own parents still has a lease', async () => {
    const shards = graphA().list();
    const store = await storeWith(shards, ['6', '0'], 'SHARD_END');
    const cleaner = new LeaseCleaner(lister(shards), store, stream, silentLogger);
    assert.equal(await cleaner.isDeletable((await store.getLease('6'))!), false);
  });
});

describe('ShardSyncer', () => {
  it('retries an empty-table listing that leaves a hole, then fails with a retriable error', async () => {
    const shards = graphA().list().filter((s) => s.shardId !== '3'); // a hole where shard 3 was
    const store = new InMemoryLeaseStore();
    const clock = new FakeClock();
    let calls = 0;
    const syncer = new ShardSyncer({ listShards: async () => { calls++; return shards; } }, store, stream, { initial: 'TRIM_HORIZON', clock, logger: silentLogger });
    const result = syncer.sync();
    const check = assert.rejects(result, (e: unknown) => e instanceof Error && (e as { retriable?: boolean }).retriable === true && /do not cover/.test(e.message));
    await clock.advance(5000);
    await check;
    assert.equal(calls, 3);
    assert.equal((await store.listLeases()).leases.length, 0, 'no partial lease set written');
  });

  it('deletes finished leases of shards past retention and gives a lease-less open shard its lease', async () => {
    const all = graphA().list();
    const store = await storeWith(all, ['4', '8', '9', '10']);
    const gone = newLeaseForShard({ shardId: 'old', hashKeyRange: { startingHashKey: '0', endingHashKey: '1' } }, 'TRIM_HORIZON');
    gone.checkpoint = { sequenceNumber: 'SHARD_END', subSequenceNumber: 0 };
    await store.createLeaseIfNotExists(gone);
    await store.deleteLease('9'); // leaves a hole: 9's range has no unfinished lease
    const holes: number[] = [];
    const syncer = new ShardSyncer(lister(all), store, stream, { initial: 'LATEST', clock: new FakeClock(), logger: silentLogger, onPersistentHole: (g) => holes.push(g.length) });
    const first = await syncer.sync();
    assert.deepEqual(first.deleted, ['old']);
    assert.deepEqual(first.created, ['9'], 'the open shard without a lease or leased ancestor gets one');
    assert.deepEqual(first.gaps, []);
    assert.deepEqual(holes, []);
  });

  it('reports a hole only after it was seen three audits in a row', async () => {
    const all = graphA().list();
    const store = await storeWith(all, ['4', '9', '10']);
    await store.createLeaseIfNotExists({ ...newLeaseForShard(byId(all, '8'), 'TRIM_HORIZON'), checkpoint: { sequenceNumber: 'SHARD_END', subSequenceNumber: 0 } });
    const holes: number[] = [];
    const syncer = new ShardSyncer(lister(all), store, stream, { initial: 'LATEST', clock: new FakeClock(), logger: silentLogger, onPersistentHole: (g) => holes.push(g.length) });
    assert.equal((await syncer.sync()).gaps.length, 1, "8 finished without children: its range is uncovered");
    await syncer.sync();
    assert.deepEqual(holes, []);
    await syncer.sync();
    assert.deepEqual(holes, [1]);
  });

  it('puts the leases of one generation together, and a child only after its parents were put', async () => {
    let maxInFlight = 0;
    for (let seed = 1; seed <= 20; seed++) {
      const shards = randomHistory(seed, 4, 12).list();
      for (const initial of ['TRIM_HORIZON', 'LATEST'] as const) {
        // Two syncs: one on an empty table, one after a lease was dropped (the non-empty rules, descendants too).
        const store = new InMemoryLeaseStore();
        const done = new Set<string>();
        let inFlight = 0;
        const put = store.createLeaseIfNotExists.bind(store);
        store.createLeaseIfNotExists = async (lease: Lease) => {
          for (const parent of lease.parentShardIds) {
            if ((await store.getLease(parent)) !== undefined) assert.ok(done.has(parent), `${lease.leaseKey} put before its parent ${parent} was in`);
          }
          maxInFlight = Math.max(maxInFlight, ++inFlight);
          await new Promise((r) => setImmediate(r));
          const created = await put(lease);
          inFlight--;
          done.add(lease.leaseKey);
          return created;
        };
        const syncer = new ShardSyncer(lister(shards), store, stream, { initial, clock: new FakeClock(), logger: silentLogger });
        const first = await syncer.sync();
        assert.deepEqual([...first.created].sort(), (await store.listLeases()).leases.map((l) => l.leaseKey).sort());
        const oldest = first.created[0]!;
        await store.deleteLease(oldest);
        done.delete(oldest);
        const second = await syncer.sync();
        assert.ok(second.created.includes(oldest), 'the dropped lease is created again');
      }
    }
    assert.ok(maxInFlight > 1, 'independent leases are put concurrently');
  });

  it('orders lease puts in generations: parents in an earlier wave than their children, any listing order', () => {
    const shards = graphA().list(); // 0,1→6; 2,3→7; 6,7→8; 5→9,10
    const leases = ['8', '9', '6', '0', '1', '7', '5', '2', '3', '10', '4'].map((id) => newLeaseForShard(byId(shards, id), 'TRIM_HORIZON'));
    const waves = leaseGenerations(leases).map((w) => w.map((l) => l.leaseKey));
    assert.deepEqual(waves, [['0', '1', '5', '2', '3', '4'], ['9', '6', '7', '10'], ['8']]);
    assert.deepEqual(leaseGenerations(leases.filter((l) => l.leaseKey !== '6' && l.leaseKey !== '7')).map((w) => w.map((l) => l.leaseKey)), [
      ['8', '0', '1', '5', '2', '3', '4'],
      ['9', '10'],
    ]);
  });
});
