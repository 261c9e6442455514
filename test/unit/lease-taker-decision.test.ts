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

  it('steals from the most loaded worker when nothing is available', () => {
    const leases = [lease('a0', 'a'), lease('a1', 'a'), lease('a2', 'a'), lease('a3', 'a'), lease('b0', 'b'), lease('b1', 'b')];
    const obs = observeLeases(new Map(), leases, 0);
    const d = decide(leases, obs, 0);
    assert.equal(d.target, 2);
    assert.equal(d.toSteal.length, 1);
    assert.equal(d.toSteal[0]!.leaseOwner, 'a');
    const d3 = decide(leases, obs, 0, { maxLeasesToStealAtOneTime: 3 });
    assert.equal(d3.toSteal.length, 2, 'never more than the victim holds above target');
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
