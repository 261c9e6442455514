import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Lease } from '../../src/leases/lease.js';
import { decideLeasesToTake, observeLeases, type LeaseObservation } from '../../src/leases/lease-taker-decision.js';

const FAILOVER = 10_000;

function lease(key: string, owner?: string, counter = 1): Lease {
  return {
    leaseKey: key,
    leaseOwner: owner,
    leaseCounter: counter,
    checkpoint: { sequenceNumber: 'TRIM_HORIZON', subSequenceNumber: 0 },
    ownerSwitchesSinceCheckpoint: 0,
    parentShardIds: [],
    childShardIds: [],
  };
}

function decide(leases: Lease[], observations: Map<string, LeaseObservation>, now: number, extra: Partial<Parameters<typeof decideLeasesToTake>[0]> = {}) {
  return decideLeasesToTake({
    leases,
    observations,
    now,
    workerId: 'me',
    failoverTimeMillis: FAILOVER,
    maxLeasesForWorker: Infinity,
    maxLeasesToStealAtOneTime: 1,
    random: () => 0.5,
    ...extra,
  });
}

const keys = (ls: Lease[]) => ls.map((l) => l.leaseKey).sort();

describe('lease taker decision', () => {
  it('takes an unowned lease at once', () => {
    const leases = [lease('s0')];
    const obs = observeLeases(new Map(), leases, 1000);
    assert.deepEqual(keys(decide(leases, obs, 1000).toTake), ['s0']);
  });

  it('does not take a newly seen owned lease before the failover time has passed on our clock', () => {
    const leases = [lease('s0', 'other', 5)];
    let obs = observeLeases(new Map(), leases, 1000);
    assert.deepEqual(decide(leases, obs, 1000).toTake, []);
    obs = observeLeases(obs, leases, 1000 + FAILOVER);
    assert.deepEqual(decide(leases, obs, 1000 + FAILOVER).toTake, [], 'exactly failover is not yet expired');
    obs = observeLeases(obs, leases, 1001 + FAILOVER);
    assert.deepEqual(keys(decide(leases, obs, 1001 + FAILOVER).toTake), ['s0']);
  });

  it('does not take a lease renewed since the last look', () => {
    let obs = observeLeases(new Map(), [lease('s0', 'other', 5)], 0);
    const renewed = [lease('s0', 'other', 6)];
    obs = observeLeases(obs, renewed, FAILOVER + 5000);
    assert.deepEqual(decide(renewed, obs, FAILOVER + 5000).toTake, []);
    // ...and it only expires a full failover time after the renewal was seen.
    obs = observeLeases(obs, renewed, 2 * FAILOVER + 5001);
    assert.deepEqual(keys(decide(renewed, obs, 2 * FAILOVER + 5001).toTake), ['s0']);
  });

  it('takes its own expired lease', () => {
    const leases = [lease('s0', 'me', 3)];
    let obs = observeLeases(new Map(), leases, 0);
    obs = observeLeases(obs, leases, FAILOVER + 1);
    assert.deepEqual(keys(decide(leases, obs, FAILOVER + 1).toTake), ['s0']);
  });

  it('4 leases, 2 workers: takes 2, not 4', () => {
    const leases = [lease('s0', 'other'), lease('s1', 'other'), lease('s2'), lease('s3')];
    let obs = observeLeases(new Map(), leases, 0);
    // other's leases are expired too, so all 4 are available; other still counts as a worker only via
    // its live leases — make s0 alive and s1 expired.
    obs = observeLeases(obs, [lease('s0', 'other', 2), leases[1]!, leases[2]!, leases[3]!], FAILOVER + 1);
    const d = decide([lease('s0', 'other', 2), leases[1]!, leases[2]!, leases[3]!], obs, FAILOVER + 1);
    assert.equal(d.numWorkers, 2);
    assert.equal(d.target, 2);
    assert.equal(d.toTake.length, 2);
  });

  it('takes several available leases in one round, up to the target', () => {
    const leases = Array.from({ length: 8 }, (_, i) => lease(`s${i}`));
    const obs = observeLeases(new Map(), leases, 0);
    const d = decide(leases, obs, 0);
    assert.equal(d.toTake.length, 8);
    const capped = decide(leases, obs, 0, { maxLeasesForWorker: 3 });
    assert.equal(capped.toTake.length, 3);
    assert.equal(capped.spillover, 5);
  });

  it('takes leases unrenewed for 3 × failover first', () => {
    // other holds 2 live leases; s2 expired recently, s3 unrenewed for > 3 × failover. target = 2 → take 1.
    const t0 = 0;
    const initial = [lease('s0', 'other'), lease('s1', 'other'), lease('s2', 'dead'), lease('s3', 'dead2')];
    let obs = observeLeases(new Map(), initial, t0);
    // s2's counter moved at 2.5 × failover, so at 3.5 × failover it is expired but not very old.
    const later = [lease('s0', 'other', 9), lease('s1', 'other', 9), lease('s2', 'dead', 2), lease('s3', 'dead2')];
    obs = observeLeases(obs, later, 2.5 * FAILOVER);
    const now = 3.5 * FAILOVER + 1;
    const live = [lease('s0', 'other', 10), lease('s1', 'other', 10), lease('s2', 'dead', 2), lease('s3', 'dead2')];
    obs = observeLeases(obs, live, now);
    for (const r of [0, 0.3, 0.6, 0.99]) {
      const d = decide(live, obs, now, { random: () => r });
      assert.equal(d.target, 2);
      assert.deepEqual(keys(d.toTake), ['s3', 's2'].slice(0, 2).sort(), 'needs 2, both available, very old first');
    }
    const oneNeeded = decide([...live, lease('s4', 'me', 1)], observeLeases(obs, [...live, lease('s4', 'me', 1)], now), now, { maxLeasesForWorker: 2 });
    assert.deepEqual(keys(oneNeeded.toTake), ['s3']);
  });

  it('steals up to half of each busier worker’s surplus, from every worker above target, within the budget', () => {
    const leases = [lease('a0', 'a'), lease('a1', 'a'), lease('a2', 'a'), lease('a3', 'a'), lease('b0', 'b'), lease('b1', 'b')];
    const obs = observeLeases(new Map(), leases, 0);
    const d = decide(leases, obs, 0, { maxLeasesToStealAtOneTime: 3 });
    assert.equal(d.target, 2);
    assert.deepEqual(d.toSteal.map((l) => l.leaseOwner), ['a'], 'a is 2 above target: half of that; b is at target');
    const many = [...Array.from({ length: 9 }, (_, i) => lease(`a${i}`, 'a')), ...Array.from({ length: 7 }, (_, i) => lease(`b${i}`, 'b'))];
    const d2 = decide(many, observeLeases(new Map(), many, 0), 0, { maxLeasesToStealAtOneTime: 10 });
    assert.equal(d2.target, 6);
    assert.deepEqual(d2.toSteal.map((l) => l.leaseOwner).sort(), ['a', 'a', 'b'], 'a: ceil(3/2), b: ceil(1/2)');
    const d3 = decide(many, observeLeases(new Map(), many, 0), 0, { maxLeasesToStealAtOneTime: 1 });
    assert.equal(d3.toSteal.length, 1, 'bounded by maxLeasesToStealAtOneTime');
  });

  it('short by more than one while everyone is at target: moves one lease (Java KCL’s rule)', () => {
    const leases = [...['a0', 'a1', 'a2', 'a3'].map((k) => lease(k, 'a')), ...['b0', 'b1', 'b2', 'b3'].map((k) => lease(k, 'b')), lease('m0', 'me'), lease('m1', 'me')];
    // 10 leases, 3 workers: target 4; me at 2.
    const d = decide(leases, observeLeases(new Map(), leases, 0), 0);
    assert.equal(d.target, 4);
    assert.equal(d.toSteal.length, 1);
  });

  it('does not steal when only off by one', () => {
    const leases = [lease('a0', 'a'), lease('a1', 'a'), lease('b0', 'b'), lease('b1', 'b'), lease('m0', 'me')];
    const obs = observeLeases(new Map(), leases, 0);
    const d = decide(leases, obs, 0);
    assert.equal(d.target, 2);
    assert.deepEqual(d.toSteal, []);
  });

  it('does not steal a lease in a graceful handoff', () => {
    const leases = [lease('a0', 'a'), lease('a1', 'a'), lease('a2', 'a'), lease('a3', 'a')];
    for (const l of leases) l.checkpointOwner = 'z';
    const obs = observeLeases(new Map(), leases, 0);
    assert.deepEqual(decide(leases, obs, 0).toSteal, []);
  });

  it('takes nothing when at target', () => {
    const leases = [lease('m0', 'me'), lease('m1', 'me'), lease('a0', 'a'), lease('a1', 'a')];
    const obs = observeLeases(new Map(), leases, 0);
    const d = decide(leases, obs, 0);
    assert.deepEqual([d.toTake, d.toSteal], [[], []]);
    assert.equal(d.myCount, 2);
  });
});

/**
 * Fleet simulation on the pure decision: every worker decides from the same snapshot each round (they run
 * concurrently), conditional writes let the first writer of a lease win, steals move at once.
 */
function simulate(initial: Record<string, number>, joiners: string[], totalLeases: number, maxSteal: number, rounds: number, seed = 1) {
  let state = seed;
  const random = () => ((state = (Math.imul(state, 1103515245) + 12345) >>> 0) / 2 ** 32);
  const owners: string[] = [];
  for (const [w, n] of Object.entries(initial)) for (let i = 0; i < n; i++) owners.push(w);
  while (owners.length < totalLeases) owners.push('');
  const workers = [...Object.keys(initial), ...joiners];
  const history: Record<string, number>[] = [];
  for (let round = 0; round < rounds; round++) {
    const leases = owners.map((o, i) => lease(`s${i}`, o || undefined, round));
    const obs = observeLeases(new Map(), leases, 0);
    const moves: [number, string][] = [];
    for (const w of workers) {
      const d = decideLeasesToTake({ leases, observations: obs, now: 0, workerId: w, failoverTimeMillis: FAILOVER, maxLeasesForWorker: Infinity, maxLeasesToStealAtOneTime: maxSteal, random });
      for (const l of [...d.toTake, ...d.toSteal]) moves.push([Number(l.leaseKey.slice(1)), w]);
    }
    const moved = new Set<number>();
    for (const [i, w] of moves) {
      if (moved.has(i)) continue; // the conditional write of another worker won
      moved.add(i);
      owners[i] = w;
    }
    const counts = Object.fromEntries(workers.map((w) => [w, owners.filter((o) => o === w).length]));
    history.push(counts);
  }
  return history;
}

describe('balancing (fleet simulation on the decision)', () => {
  const spread = (c: Record<string, number>) => Math.max(...Object.values(c)) - Math.min(...Object.values(c));

  it('1 → 4 workers on 32 shards converges to 8 each within 5 rounds with the default budget of 4, without overshoot', () => {
    for (let seed = 1; seed <= 20; seed++) {
      const h = simulate({ a: 32 }, ['b', 'c', 'd'], 32, 4, 6, seed);
      const settled = h.findIndex((c) => spread(c) === 0);
      assert.ok(settled >= 0 && settled < 5, `seed ${seed}: ${JSON.stringify(h)}`);
      for (const c of h) assert.ok(c.a! >= 8, `a never pushed below target: ${JSON.stringify(h)}`);
      assert.deepEqual(h.at(-1), { a: 8, b: 8, c: 8, d: 8 }, 'and stays there');
    }
  });

  it('several workers joining at once do not overshoot a small victim', () => {
    for (let seed = 1; seed <= 20; seed++) {
      const h = simulate({ a: 10 }, ['b', 'c'], 10, 4, 6, seed);
      for (const c of h) assert.ok(c.a! >= 3, `seed ${seed}: ${JSON.stringify(h)}`);
      assert.ok(spread(h.at(-1)!) <= 1, `balanced within one: ${JSON.stringify(h)}`);
    }
  });

  it('a balanced fleet stays put: no ping-pong', () => {
    for (const [initial, total] of [[{ a: 2, b: 1 }, 3], [{ a: 4, b: 3, c: 3 }, 10], [{ a: 16, b: 16 }, 32]] as const) {
      const h = simulate({ ...initial }, [], total, 4, 10);
      for (const c of h) assert.deepEqual(c, initial);
    }
  });

  it('with Java KCL’s budget of 1 it still converges, one lease per worker and round', () => {
    const h = simulate({ a: 32 }, ['b', 'c', 'd'], 32, 1, 12);
    assert.deepEqual(h.at(-1), { a: 8, b: 8, c: 8, d: 8 });
  });
});
