import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { FakeClock } from '../../src/util/clock.js';
import { silentLogger } from '../../src/util/logger.js';
import { InMemoryLeaseStore } from '../../src/leases/in-memory-lease-store.js';
import { LeaseCoordinator } from '../../src/leases/lease-coordinator.js';
import type { Lease } from '../../src/leases/lease.js';

// Issue 15 item 6 / proof (h): handoff races settled, whichever side moves first; deterministic (in-memory, fake clock).
const FAILOVER = 3000;
const TAKER = 500;
const TABLE = { billingMode: 'PAY_PER_REQUEST' as const, readCapacity: 1, writeCapacity: 1, activeTimeoutMillis: 1000 };

function newLease(key: string): Lease {
  return { leaseKey: key, leaseCounter: 0, checkpoint: { sequenceNumber: 'TRIM_HORIZON', subSequenceNumber: 0 }, ownerSwitchesSinceCheckpoint: 0, parentShardIds: [], childShardIds: [] };
}

async function setup(keys: string[]) {
  const clock = new FakeClock(1_000_000);
  const store = new InMemoryLeaseStore();
  await store.createTableIfNotExists(TABLE);
  for (const k of keys) await store.createLeaseIfNotExists(newLease(k));
  const make = (workerId: string, steal = 1) => {
    const c = new LeaseCoordinator(store, {
      workerId, failoverTimeMillis: FAILOVER, renewIntervalMillis: FAILOVER / 3 - 25, takerIntervalMillis: TAKER,
      maxLeasesForWorker: Infinity, maxLeasesToStealAtOneTime: steal,
      // A long handoff timeout: without the fixes the shard would wait this plus the failover time.
      gracefulHandoff: true, gracefulHandoffTimeoutMillis: 60_000, clock, logger: silentLogger, random: () => 0.5,
    });
    const acquired: { key: string; at: number }[] = [];
    c.on('acquired', (e) => acquired.push({ key: e.lease.leaseKey, at: clock.now() }));
    c.on('error', () => undefined);
    return { c, acquired };
  };
  return { clock, store, make };
}

/** Advances in small steps until `c` has started a handoff toward itself (a joining worker's first rounds). */
async function handoffStarted(clock: FakeClock, c: LeaseCoordinator): Promise<void> {
  for (let i = 0; i < 300 && c.pendingHandoffs.length === 0; i++) await clock.advance(10);
}

describe('handoff races (in-memory store, fake clock)', () => {
  it('a release that loses its conditional write to a concurrent handoff start finishes the handoff: the thief starts within one taker interval', async () => {
    const { clock, store, make } = await setup(['s0', 's1']);
    const a = make('a');
    a.c.start();
    for (let i = 0; i < 50 && a.c.heldKeys().length < 2; i++) await clock.advance(100); // a alone holds both
    const b = make('b');
    b.c.start();
    await handoffStarted(clock, b.c); // b's first rounds start a handoff of one of a's two leases
    const [key] = b.c.pendingHandoffs;
    assert.ok(key !== undefined, 'a handoff toward b started');
    assert.equal(a.c.isHandingOff(key), false, 'a has not noticed yet (its next renewal would tell it)');
    // a gives the shard up at this very moment (e.g. its processor failed with onProcessingError 'release').
    const releasedAt = clock.now();
    await a.c.release(key);
    const afterRelease = (await store.getLease(key))!;
    assert.deepEqual([afterRelease.leaseOwner, afterRelease.checkpointOwner], ['b', undefined], 'the handoff was finished, not left half-done');
    await clock.advance(TAKER);
    const got = b.acquired.find((e) => e.key === key);
    assert.ok(got !== undefined && got.at - releasedAt <= TAKER, `b started ${key} within one taker interval`);
    assert.deepEqual(a.c.heldKeys().includes(key), false);
    await Promise.all([a.c.stop(), b.c.stop()]);
  });

  it('the thief shuts down before the old owner finished: the lease is given back and taken again within one taker interval', async () => {
    const { clock, store, make } = await setup(['s0', 's1']);
    const a = make('a');
    a.c.start();
    for (let i = 0; i < 50 && a.c.heldKeys().length < 2; i++) await clock.advance(100); // a alone holds both
    const b = make('b');
    b.c.start();
    await handoffStarted(clock, b.c);
    const [key] = b.c.pendingHandoffs;
    assert.ok(key !== undefined);
    await clock.advance(FAILOVER / 3); // a learns of the handoff and keeps renewing as checkpoint owner
    assert.equal(a.c.isHandingOff(key), true);
    const stoppedAt = clock.now();
    await b.c.stop(); // b goes away with the handoff toward it pending
    const inTable = (await store.getLease(key))!;
    assert.deepEqual([inTable.leaseOwner, inTable.checkpointOwner], [undefined, undefined], 'given back: unowned, no checkpoint owner');
    // a's processor finishes its shutdownRequested now: the transfer cannot complete (nobody to hand to) …
    await a.c.finishHandoff(key);
    // … and the shard is taken again (here by a, the only worker left) within one taker interval.
    await clock.advance(TAKER);
    const retaken = a.acquired.filter((e) => e.key === key && e.at >= stoppedAt);
    assert.equal(retaken.length, 1, `${key} taken again`);
    assert.ok(retaken[0]!.at - stoppedAt <= TAKER);
    assert.equal((await store.getLease(key))!.leaseOwner, 'a');
    await a.c.stop();
  });

  it('the thief shuts down after the old owner finished but before it took the lease: the same', async () => {
    const { clock, store, make } = await setup(['s0', 's1']);
    const a = make('a');
    a.c.start();
    for (let i = 0; i < 50 && a.c.heldKeys().length < 2; i++) await clock.advance(100); // a alone holds both
    const b = make('b');
    b.c.start();
    await handoffStarted(clock, b.c);
    const [key] = b.c.pendingHandoffs;
    assert.ok(key !== undefined);
    await clock.advance(FAILOVER / 3);
    assert.equal(await a.c.finishHandoff(key), true, 'a handed over');
    const stoppedAt = clock.now();
    await b.c.stopTaking(); // graceful shutdown begins on b before its next handoff check
    assert.equal((await store.getLease(key))!.leaseOwner, undefined, 'given back');
    await clock.advance(TAKER);
    assert.equal(a.acquired.filter((e) => e.key === key && e.at >= stoppedAt).length, 1, 'a takes it again within one taker interval');
    await Promise.all([a.c.stop(), b.c.stop()]);
  });
});
