import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { FakeClock } from '../../src/util/clock.js';
import { silentLogger } from '../../src/util/logger.js';
import { InMemoryLeaseStore } from '../../src/leases/in-memory-lease-store.js';
import { LeaseCoordinator } from '../../src/leases/lease-coordinator.js';
import type { Lease } from '../../src/leases/lease.js';
import type { LeaseStore } from '../../src/leases/lease-store.js';
import { NetworkError, ShutdownError } from '../../src/errors.js';

// Issue 15 items 2 and 3: renewals independent of each other, a worker that cannot renew stands down in time.
const FAILOVER = 3000;
const RENEW = FAILOVER / 3 - 25;
/** Past this since its last successful renewal went out, a lease is not acted on until a renewal answers. */
const PAUSE = FAILOVER - RENEW;
/** Past this it is given up: before any other worker may take it (they count from when they see the write land). */
const GIVE_UP = FAILOVER - Math.floor(RENEW / 4);
const TABLE = { billingMode: 'PAY_PER_REQUEST' as const, readCapacity: 1, writeCapacity: 1, activeTimeoutMillis: 1000 };

function newLease(key: string): Lease {
  return { leaseKey: key, leaseCounter: 0, checkpoint: { sequenceNumber: 'TRIM_HORIZON', subSequenceNumber: 0 }, ownerSwitchesSinceCheckpoint: 0, parentShardIds: [], childShardIds: [] };
}

/** The store as one worker sees it: `hang(key)` makes that key's renewals never answer; `cutOff` makes every call fail. */
function faultyView(store: InMemoryLeaseStore) {
  const hung = new Set<string>();
  /** Hung calls, parked: `land()` lets them through (late answers); never called, they hang forever. */
  const parked: Array<() => void> = [];
  const land = (): void => {
    for (const go of parked.splice(0)) go();
  };
  const state = { cutOff: false };
  const view = new Proxy(store, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver) as unknown;
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        if (state.cutOff) return Promise.reject(new NetworkError('partitioned'));
        const renewing = prop === 'renewLease' ? (args[0] as Lease).leaseKey : undefined;
        if (renewing !== undefined && hung.has(renewing)) {
          return new Promise((resolve) => parked.push(() => resolve((value as (...a: unknown[]) => unknown).apply(target, args))));
        }
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  }) as LeaseStore;
  return { view, hung, land, state };
}

async function setup(keys: string[]) {
  const clock = new FakeClock(1_000_000);
  const store = new InMemoryLeaseStore();
  await store.createTableIfNotExists(TABLE);
  for (const k of keys) await store.createLeaseIfNotExists(newLease(k));
  const make = (workerId: string, s: LeaseStore = store) => {
    const c = new LeaseCoordinator(s, {
      workerId, failoverTimeMillis: FAILOVER, renewIntervalMillis: RENEW, takerIntervalMillis: 500,
      maxLeasesForWorker: Infinity, maxLeasesToStealAtOneTime: 10,
      gracefulHandoff: false, gracefulHandoffTimeoutMillis: 1000, clock, logger: silentLogger, random: () => 0.5,
    });
    const tokens = new Map<string, string>();
    const events: string[] = [];
    c.on('acquired', (e) => {
      tokens.set(e.lease.leaseKey, e.concurrencyToken);
      events.push(`${clock.now()} ${workerId} acquired ${e.lease.leaseKey}`);
    });
    c.on('error', () => undefined); // the Scheduler reports these as taskError
    c.on('lost', (e) => events.push(`${clock.now()} ${workerId} lost ${e.leaseKey}:${e.reason}`));
    return { c, tokens, events };
  };
  return { clock, store, make };
}

/** Stops coordinators whose calls may still hang: their bounded waits run on the fake clock. */
async function stopAll(clock: FakeClock, ...cs: LeaseCoordinator[]): Promise<void> {
  const stopping = Promise.all(cs.map((c) => c.stop()));
  await clock.advance(FAILOVER);
  await stopping;
}

describe('lease renewal independence and stand-down (in-memory store, fake clock)', () => {
  it('a renewal that never answers on one lease does not delay the others; that lease alone is given up in time', async () => {
    const { clock, store, make } = await setup(['s0', 's1', 's2']);
    const f = faultyView(store);
    const w = make('w', f.view);
    w.c.start();
    // A worker starting alone takes its leases over its first taker rounds.
    for (let i = 0; i < 20 && w.tokens.size < 3; i++) await clock.advance(100);
    assert.deepEqual([...w.tokens.keys()].sort(), ['s0', 's1', 's2']);
    const hungAt = clock.now();
    f.hung.add('s0');
    const before = Object.fromEntries(await Promise.all(['s1', 's2'].map(async (k) => [k, (await store.getLease(k))!.leaseCounter])));
    for (let round = 1; round <= 6; round++) {
      await clock.advance(RENEW);
      for (const k of ['s1', 's2']) {
        assert.ok((await store.getLease(k))!.leaseCounter >= before[k] + round, `${k} renewed in round ${round} despite the hung s0`);
      }
    }
    // (The taker may take s0 back once it expired in the table — its renewals still hang, so it is given up again.)
    assert.deepEqual([...new Set(w.events.filter((e) => e.includes('lost')).map((e) => e.split(' ').slice(2).join(' ')))], ['lost s0:expired-locally']);
    const lostAt = Number(w.events.find((e) => e.includes('lost s0'))!.split(' ')[0]);
    // On a timer of its own, to the millisecond: not at the next renewal round.
    // s0's last answered write went out no later than the hang: it is given up within the give-up time of that.
    assert.ok(lostAt - hungAt <= GIVE_UP + 1, `s0 given up ${lostAt - hungAt} ms after the hang, ${FAILOVER - GIVE_UP} ms before the failover time`);
    assert.equal(w.c.holds('s1', w.tokens.get('s1')!), true);
    assert.equal(w.c.holdsSafely('s2', w.tokens.get('s2')!), true);
    await stopAll(clock, w.c);
  });

  it('a worker cut off from the table stands down before another worker can take its leases, and rejoins after healing', async () => {
    const { clock, store, make } = await setup(['s0', 's1', 's2', 's3']);
    const f = faultyView(store);
    const a = make('a', f.view);
    a.c.start();
    await clock.advance(0);
    const b = make('b');
    b.c.start();
    await clock.advance(600); // b steals its fair share
    await clock.advance(RENEW); // a's renewals notice what b stole
    const aHeld = (await store.listLeases()).leases.filter((l) => l.leaseOwner === 'a').map((l) => l.leaseKey).sort();
    assert.deepEqual(a.c.heldKeys().sort(), aHeld);
    assert.equal(aHeld.length, 2, `a holds ${aHeld.join(",")}`);
    const cutAt = clock.now();
    f.state.cutOff = true;
    // Past the pause time nothing is acted on; past the give-up time the leases are gone — both on a's own clock.
    const tokenOf = (k: string) => a.tokens.get(k)!;
    let pausedAt: number | undefined;
    while (a.c.heldKeys().length > 0) {
      await clock.advance(25);
      if (pausedAt === undefined && aHeld.every((k) => !a.c.holdsSafely(k, tokenOf(k)))) pausedAt = clock.now();
      assert.ok(clock.now() - cutAt <= GIVE_UP + 25, `given up ${clock.now() - cutAt} ms after the cut, within ${GIVE_UP} ms`);
    }
    assert.ok(pausedAt !== undefined && pausedAt - cutAt <= PAUSE + 25, `paused ${pausedAt! - cutAt} ms after the cut, within ${PAUSE} ms`);
    assert.deepEqual(a.c.heldKeys(), []);
    await clock.advance(FAILOVER * 2);
    const after = (e: string) => Number(e.split(' ')[0]) > cutAt;
    const firstTakeByB = b.events.filter((e) => after(e) && aHeld.some((k) => e.endsWith(`acquired ${k}`))).map((e) => Number(e.split(' ')[0]));
    const lossByA = a.events.filter((e) => after(e) && e.includes('lost')).map((e) => Number(e.split(' ')[0]));
    assert.equal(firstTakeByB.length, aHeld.length, 'b took all of a’s shards');
    assert.ok(Math.max(...lossByA) < Math.min(...firstTakeByB), `a lost its leases (${lossByA.join(",")}) before b took any (${firstTakeByB.join(",")})`);
    // The checkpoint writer of a stood-down lease is fenced locally too.
    const write = a.c.checkpointWriter(aHeld[0]!, tokenOf(aHeld[0]!));
    await assert.rejects(write({ checkpoint: { sequenceNumber: '1', subSequenceNumber: 0 } }), ShutdownError);
    // Healed: a takes a fair share again, nothing crashed.
    f.state.cutOff = false;
    await clock.advance(2000);
    await clock.advance(2000);
    assert.equal(a.c.heldKeys().length, 2, 'a rejoined with its fair share');
    await stopAll(clock, a.c, b.c);
  });

  it('a checkpoint past the pause time waits; it is refused without a write when the lease is given up', async () => {
    const { clock, store, make } = await setup(['s0']);
    const f = faultyView(store);
    const w = make('w', f.view);
    w.c.start();
    await clock.advance(0);
    const token = w.tokens.get('s0')!;
    f.hung.add('s0');
    await clock.advance(RENEW + 1); // one renewal is hanging; the next round skips (one in flight per lease)
    assert.equal(w.c.holdsSafely('s0', token), true);
    await clock.advance(PAUSE - RENEW); // just past the pause time since the take
    assert.equal(w.c.holdsSafely('s0', token), false);
    assert.deepEqual(w.c.heldKeys(), ['s0'], 'paused, not given up yet');
    const calls = store.calls.updateCheckpoint ?? 0;
    const write = w.c.checkpointWriter('s0', token)({ checkpoint: { sequenceNumber: '7', subSequenceNumber: 0 } });
    let settled = false;
    write.then(() => (settled = true), () => (settled = true));
    await clock.advance(RENEW / 2);
    assert.equal(settled, false, 'the checkpoint waits while the lease is paused');
    await clock.advance(GIVE_UP - PAUSE);
    await assert.rejects(write, ShutdownError);
    assert.equal(store.calls.updateCheckpoint ?? 0, calls, 'no write was sent');
    assert.deepEqual(w.events.filter((e) => e.includes('lost')).map((e) => e.split(' ').slice(2).join(' ')), ['lost s0:expired-locally']);
    await stopAll(clock, w.c);
  });

  it('a renewal answering late pauses the shard and resumes it: the lease is kept and the waiting checkpoint written', async () => {
    const { clock, store, make } = await setup(['s0']);
    const f = faultyView(store);
    const w = make('w', f.view);
    w.c.start();
    await clock.advance(0);
    const token = w.tokens.get('s0')!;
    f.hung.add('s0');
    await clock.advance(PAUSE + 1);
    assert.equal(w.c.holdsSafely('s0', token), false);
    const held = w.c.awaitSafeHold('s0', token);
    assert.ok(held instanceof Promise, 'past the pause time the answer waits');
    const write = w.c.checkpointWriter('s0', token)({ checkpoint: { sequenceNumber: '7', subSequenceNumber: 0 } });
    // The table answers again: the renewal in flight lands late, before the give-up time.
    f.hung.delete('s0');
    f.land();
    await clock.advance(FAILOVER);
    assert.equal(await held, true, 'resumed');
    await write;
    assert.equal((await store.getLease('s0'))!.checkpoint.sequenceNumber, '7');
    assert.deepEqual(w.events.filter((e) => e.includes('lost')), [], 'never given up');
    assert.equal(w.c.holdsSafely('s0', token), true);
    await stopAll(clock, w.c);
  });
});
