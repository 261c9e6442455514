import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { FakeClock } from '../../src/util/clock.js';
import { silentLogger } from '../../src/util/logger.js';
import { InMemoryLeaseStore } from '../../src/leases/in-memory-lease-store.js';
import { LeaseCoordinator } from '../../src/leases/lease-coordinator.js';
import type { Lease } from '../../src/leases/lease.js';
import { NetworkError, ShutdownError } from '../../src/errors.js';

const FAILOVER = 3000;
const TABLE = { billingMode: 'PAY_PER_REQUEST' as const, readCapacity: 1, writeCapacity: 1, activeTimeoutMillis: 1000 };

function newLease(key: string): Lease {
  return { leaseKey: key, leaseCounter: 0, checkpoint: { sequenceNumber: 'TRIM_HORIZON', subSequenceNumber: 0 }, ownerSwitchesSinceCheckpoint: 0, parentShardIds: [], childShardIds: [] };
}

async function setup(keys: string[]) {
  const clock = new FakeClock(1_000_000);
  const store = new InMemoryLeaseStore();
  await store.createTableIfNotExists(TABLE);
  for (const k of keys) await store.createLeaseIfNotExists(newLease(k));
  const make = (workerId: string, extra: { gracefulHandoff?: boolean; maxLeasesToStealAtOneTime?: number; handoffTimeout?: number; discoveryMillis?: number } = {}) => {
    const c = new LeaseCoordinator(store, {
      workerId, failoverTimeMillis: FAILOVER, renewIntervalMillis: FAILOVER / 3 - 25, takerIntervalMillis: 500,
      maxLeasesForWorker: Infinity, maxLeasesToStealAtOneTime: extra.maxLeasesToStealAtOneTime ?? 1,
      gracefulHandoff: extra.gracefulHandoff ?? false, gracefulHandoffTimeoutMillis: extra.handoffTimeout ?? 1000, clock, logger: silentLogger, random: () => 0.5,
      ...(extra.discoveryMillis === undefined ? {} : { discoveryMillis: extra.discoveryMillis }),
    });
    const acquired: string[] = [];
    const lost: string[] = [];
    c.on('acquired', (e) => acquired.push(e.lease.leaseKey));
    c.on('lost', (e) => lost.push(`${e.leaseKey}:${e.reason}`));
    return { c, acquired, lost };
  };
  return { clock, store, make };
}

async function owners(store: InMemoryLeaseStore): Promise<Record<string, string | undefined>> {
  const { leases } = await store.listLeases();
  return Object.fromEntries(leases.map((l) => [l.leaseKey, l.leaseOwner]));
}

describe('LeaseCoordinator (in-memory store, fake clock)', () => {
  it('a single worker takes one lease in its first taker interval (to be seen), then every other one, and keeps them renewed', async () => {
    const { clock, store, make } = await setup(['s0', 's1', 's2', 's3']);
    const w = make('w1');
    w.c.start();
    await clock.advance(0);
    assert.equal(w.acquired.length, 1, 'discovery: one lease, so workers starting together see each other');
    await clock.advance(500);
    assert.deepEqual(w.acquired.sort(), ['s0', 's1', 's2', 's3']);
    const before = (await store.getLease('s0'))!.leaseCounter;
    await clock.advance(FAILOVER * 5);
    const after = (await store.getLease('s0'))!.leaseCounter;
    assert.ok(after >= before + 10, `counter moved from ${before} to ${after}`);
    assert.deepEqual(w.lost, []);
    await w.c.stop();
  });

  it('startup discovery 0: a lone worker takes every lease in its first round', async () => {
    const { clock, make } = await setup(['s0', 's1', 's2', 's3']);
    const w = make('w1', { discoveryMillis: 0 });
    w.c.start();
    await clock.advance(0);
    assert.deepEqual(w.acquired.sort(), ['s0', 's1', 's2', 's3']);
    await w.c.stop();
  });

  it('a discovery window longer than the taker interval keeps a starting worker at one lease for that long', async () => {
    const { clock, make } = await setup(['s0', 's1', 's2', 's3']);
    const w = make('w1', { discoveryMillis: 1200 });
    w.c.start();
    await clock.advance(1000); // rounds at 0, 500 and 1000: all inside the window
    assert.equal(w.acquired.length, 1);
    await clock.advance(500);
    assert.deepEqual(w.acquired.sort(), ['s0', 's1', 's2', 's3']);
    await w.c.stop();
  });

  it('a dead worker’s leases move to the survivor after the failover time, not before', async () => {
    const { clock, store, make } = await setup(['s0', 's1', 's2', 's3']);
    const a = make('a');
    const b = make('b');
    a.c.start();
    await clock.advance(500); // past a's discovery round: a holds everything
    b.c.start();
    await clock.advance(100);
    assert.equal(b.acquired.length, 1, 'one steal per round (maxLeasesToStealAtOneTime 1)');
    await clock.advance(500);
    assert.equal(b.acquired.length, 2, 'balanced 2/2 after the second round');
    await a.c.stop(); // a "dies": no more renewals
    await clock.advance(FAILOVER - 700);
    assert.equal(Object.values(await owners(store)).filter((o) => o === 'b').length, 2, 'not before failover');
    await clock.advance(FAILOVER + 1200);
    assert.deepEqual(Object.values(await owners(store)).sort(), ['b', 'b', 'b', 'b']);
    await b.c.stop();
  });

  it('a checkpoint through a lost lease fails with ShutdownError, also after re-acquisition (new token)', async () => {
    const { clock, store, make } = await setup(['s0']);
    const w = make('w1');
    const tokens: string[] = [];
    w.c.on('acquired', (e) => tokens.push(e.concurrencyToken));
    w.c.start();
    await clock.advance(0);
    const lease = (await store.getLease('s0'))!;
    // Someone else takes it.
    assert.ok((await store.takeLease(lease, 'thief')).ok);
    await clock.advance(FAILOVER / 3);
    assert.deepEqual(w.lost, ['s0:renewal-conflict']);
    await assert.rejects(w.c.checkpointWriter('s0', tokens[0]!)({ checkpoint: { sequenceNumber: '1', subSequenceNumber: 0 } }), ShutdownError);
    // The thief dies, we take it back under a new token; the old token still cannot write.
    await clock.advance(FAILOVER * 4);
    assert.equal(tokens.length, 2);
    assert.notEqual(tokens[0], tokens[1]);
    await assert.rejects(w.c.checkpointWriter('s0', tokens[0]!)({ checkpoint: { sequenceNumber: '1', subSequenceNumber: 0 } }), ShutdownError);
    await w.c.checkpointWriter('s0', tokens[1]!)({ checkpoint: { sequenceNumber: '1', subSequenceNumber: 0 } });
    assert.equal((await store.getLease('s0'))!.checkpoint.sequenceNumber, '1');
    await w.c.stop();
  });

  it('transient renewal failures do not lose the lease; failures past the failover time do', async () => {
    const { clock, store, make } = await setup(['s0']);
    const w = make('w1');
    w.c.start();
    await clock.advance(0);
    store.failNext('renewLease', new NetworkError('reset'));
    await clock.advance(FAILOVER / 3 + 10);
    await clock.advance(FAILOVER / 3 + 10);
    assert.deepEqual(w.lost, []);
    await w.c.stopTaking();
    for (let i = 0; i < 6; i++) store.failNext('renewLease', new NetworkError('reset'));
    await clock.advance(FAILOVER * 2);
    assert.deepEqual(w.lost, ['s0:expired-locally']);
    await w.c.stop();
  });

  it('releaseAll gives every lease back so another worker takes them at once', async () => {
    const { clock, store, make } = await setup(['s0', 's1']);
    const a = make('a');
    a.c.start();
    await clock.advance(0);
    await a.c.stop();
    await a.c.releaseAll();
    assert.deepEqual(await owners(store), { s0: undefined, s1: undefined });
    const b = make('b');
    b.c.start();
    await clock.advance(500); // one lease in the discovery round, the other a taker interval later
    assert.deepEqual(b.acquired.sort(), ['s0', 's1']);
    await b.c.stop();
  });

  it('graceful handoff: the thief waits until the old owner finished, then starts; nobody holds it twice', async () => {
    const { clock, store, make } = await setup(['s0', 's1', 's2', 's3']);
    const a = make('a', { gracefulHandoff: true, handoffTimeout: 60_000 });
    const b = make('b', { gracefulHandoff: true, maxLeasesToStealAtOneTime: 4, handoffTimeout: 60_000 });
    const requested: string[] = [];
    a.c.on('handoffRequested', (e) => requested.push(`${e.leaseKey}->${e.newOwner}`));
    a.c.start();
    await clock.advance(500); // past a's discovery round: a holds everything
    b.c.start();
    await clock.advance(100);
    assert.deepEqual(b.acquired, [], 'nothing acquired before the old owner hands over');
    assert.equal(b.c.pendingHandoffs.length, 1, 'half of a’s surplus of 2 in the first round');
    await clock.advance(FAILOVER / 3);
    const keys = b.c.pendingHandoffs.sort();
    assert.equal(keys.length, 2, 'the second round asks for the other one');
    for (const key of keys) {
      const inTable = (await store.getLease(key))!;
      assert.deepEqual([inTable.leaseOwner, inTable.checkpointOwner], ['b', 'a']);
    }
    // a learns at its next renewal and keeps renewing as checkpoint owner.
    await clock.advance(FAILOVER / 3);
    assert.deepEqual(requested.sort(), keys.map((k) => `${k}->b`));
    for (const key of keys) {
      assert.ok(a.c.isHandingOff(key));
      assert.ok(a.c.heldLease(key), 'a still holds it until it finishes');
    }
    await clock.advance(FAILOVER * 2);
    assert.deepEqual(b.acquired, [], 'still waiting: a keeps the leases alive while its processors shut down');
    // a's processors checkpointed and stopped: finish the transfers.
    for (const key of keys) assert.equal(await a.c.finishHandoff(key), true);
    assert.deepEqual(a.lost.sort(), keys.map((k) => `${k}:handed-off`));
    await clock.advance(FAILOVER / 3);
    assert.deepEqual(b.acquired.sort(), keys);
    for (const key of keys) {
      const after = (await store.getLease(key))!;
      assert.deepEqual([after.leaseOwner, after.checkpointOwner], ['b', undefined]);
    }
    assert.equal(a.c.heldKeys().length, 2);
    await a.c.stop();
    await b.c.stop();
  });

  it('graceful handoff whose old owner is dead completes through expiry', async () => {
    const { clock, store, make } = await setup(['s0', 's1', 's2', 's3']);
    const a = make('a', { gracefulHandoff: true });
    const b = make('b', { gracefulHandoff: true, maxLeasesToStealAtOneTime: 4 });
    a.c.start();
    await clock.advance(500); // past a's discovery round: a holds everything
    await a.c.stop(); // a dies right away: no renewals, no handoff completion
    b.c.start();
    await clock.advance(100);
    assert.equal(b.c.pendingHandoffs.length, 1);
    await clock.advance(FAILOVER + 2000); // the last handoff started a round later and expires a failover after that
    assert.deepEqual([...b.acquired].sort(), ['s0', 's1', 's2', 's3'], 'the handed-off lease and the other expired ones, each once');
    const { leases } = await store.listLeases();
    assert.ok(leases.every((l) => l.leaseOwner === 'b' && l.checkpointOwner === undefined));
    await b.c.stop();
  });

  it('an old owner that keeps renewing but never finishes (e.g. Java KCL 2.x) loses the lease after the handoff timeout', async () => {
    const { clock, make } = await setup(['s0', 's1']);
    const a = make('a', { gracefulHandoff: true });
    const b = make('b', { gracefulHandoff: true, maxLeasesToStealAtOneTime: 4 });
    a.c.start();
    await clock.advance(500); // past a's discovery round: a holds everything
    b.c.start();
    await clock.advance(100);
    assert.equal(b.c.pendingHandoffs.length, 1);
    const [key] = b.c.pendingHandoffs;
    await clock.advance(FAILOVER); // a renews as checkpoint owner but never finishes
    assert.ok(a.c.isHandingOff(key!));
    assert.deepEqual(b.acquired, []);
    await clock.advance(1000 + FAILOVER);
    assert.deepEqual(b.acquired, [key]);
    await clock.advance(FAILOVER / 3);
    assert.deepEqual(a.lost, [`${key}:renewal-conflict`], 'a finds out at its next renewal');
    await a.c.stop();
    await b.c.stop();
  });

  it('release with backOff: this worker retakes the lease after 1 s, 2 s, 4 s … at most 60 s of consecutive failures; resetBackoff starts over', async () => {
    const { clock, store, make } = await setup(['s0', 's1']);
    const w = make('w1');
    w.c.start();
    await clock.advance(500);
    assert.deepEqual(w.acquired.sort(), ['s0', 's1']);
    const step = 100;
    /** Releases s0 after a "failure" and measures (fake) time until this worker owns it again. */
    const retakenAfter = async (): Promise<number> => {
      assert.equal(await w.c.release('s0', undefined, { backOff: true }), true);
      assert.equal((await store.getLease('s0'))!.leaseOwner, undefined, 'released in the table: others may take it at once');
      const released = clock.now();
      while ((await store.getLease('s0'))!.leaseOwner !== 'w1') await clock.advance(step);
      return clock.now() - released;
    };
    const taker = 500; // the taker interval: a cool-down ends, the next round takes it
    for (const backoff of [1000, 2000, 4000, 8000, 16_000, 32_000, 60_000, 60_000]) {
      const waited = await retakenAfter();
      assert.ok(waited >= backoff && waited <= backoff + taker + step, `backoff ${backoff}: retaken after ${waited} ms`);
    }
    w.c.resetBackoff('s0');
    const waited = await retakenAfter();
    assert.ok(waited >= 1000 && waited <= 1000 + taker + step, `after a reset: ${waited} ms`);
    assert.equal((await store.getLease('s1'))!.leaseOwner, 'w1', 'the other lease was never affected');
    await w.c.stop();
  });
});
