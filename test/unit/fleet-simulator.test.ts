import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { costDelta, FleetSimulator, type FleetProfile } from '../support/fleet/fleet-simulator.js';

const FAILOVER = 10_000;
const TAKER = 2000;

/** Starts `workers` within one second and waits for balance; returns the simulator and the time it took. */
async function coldStart(profile: FleetProfile, workers: number, leases: number, seed: number) {
  const sim = new FleetSimulator({ leases, profile, seed });
  let steals = 0;
  await sim.startWorkers(workers, 1000);
  for (const id of sim.workerIds) sim.coordinator(id)!.on('takeRound', (r) => (steals += r.decision.toSteal.length));
  const balancedAfter = await sim.runUntil(() => sim.balanced(), 120_000, 100);
  return { sim, balancedAfter: balancedAfter === undefined ? undefined : balancedAfter + 1000, steals: () => steals };
}

describe('fleet simulator (real LeaseCoordinators, simulated DynamoDB and clock)', () => {
  it('a fleet started within a second holds fair shares (±1) within two taker rounds, with no steals and no lease moved twice', async () => {
    for (const [workers, leases, seed] of [[8, 64, 1], [12, 100, 2], [20, 30, 3]] as const) {
      const { sim, balancedAfter, steals } = await coldStart('fleet', workers, leases, seed);
      // Last start ≤ 1 s, then its discovery round and two taker intervals, plus request latencies.
      assert.ok(balancedAfter !== undefined && balancedAfter <= 1000 + 2 * TAKER + 500, `${workers}×${leases}: balanced after ${balancedAfter} ms`);
      assert.equal(sim.acquisitions, leases, `${workers}×${leases}: every lease taken exactly once`);
      assert.equal(steals(), 0);
      await sim.shutdown();
    }
  });

  it('the Java KCL 2.x baseline does not spread a cold start (the first worker takes everything), which is what the plan fixes', async () => {
    const { sim } = await coldStart('java2x', 8, 64, 1).then(async (r) => r);
    const counts = [...sim.counts().values()];
    assert.ok(Math.max(...counts) - Math.min(...counts) > 1, `java-like counts ${counts.join(',')}`);
    await sim.shutdown();
  });

  it('a crashed worker’s leases are processed again within failover + 3 s, also when the crashed one is a failure watcher', async () => {
    const { sim } = await coldStart('fleet', 10, 100, 4);
    await sim.clock.runFor(90_000); // settle into the steady cadence
    for (const pick of ['middle', 'watcher'] as const) {
      const ids = sim.workerIds.sort();
      const victim = pick === 'watcher' ? ids[0]! : ids[Math.floor(ids.length / 2)]!;
      assert.ok((sim.counts().get(victim) ?? 0) > 0);
      sim.crash(victim);
      const takeover = await sim.runUntil(() => sim.allHeld(), 120_000, 100);
      assert.ok(takeover !== undefined && takeover <= FAILOVER + 3000, `${pick} crash: takeover after ${takeover} ms`);
      const balanced = await sim.runUntil(() => sim.balanced(), 180_000, 250);
      assert.ok(balanced !== undefined, `${pick} crash: balanced again`);
      await sim.clock.runFor(30_000);
    }
    await sim.shutdown();
  });

  it('a small fleet all watch: a crash is taken over within failover + 3 s even when the survivors are no watchers by id', async () => {
    // 3 workers, failover 3 s (the fan-out failover test's setting): with 2 watchers by id, the third would scan
    // only every 18 s; in a fleet of at most 2 × failureWatchers everyone scans every tick.
    for (const seed of [1, 2, 3]) {
      const sim = new FleetSimulator({ leases: 4, profile: 'fleet', seed, failoverTimeMillis: 3000 });
      for (const id of ['f1', 'f2', 'f3']) sim.startWorker(id);
      assert.ok((await sim.runUntil(() => sim.balanced(), 30_000)) !== undefined);
      await sim.clock.runFor(40_000); // past two steady intervals
      for (const id of sim.workerIds) assert.equal(sim.coordinator(id)!.isWatching, true, `${id} watches`);
      const victim = sim.workerIds.sort()[seed % 3]!;
      sim.crash(victim);
      const takeover = await sim.runUntil(() => sim.allHeld(), 60_000, 100);
      assert.ok(takeover !== undefined && takeover <= 3000 + 3000, `seed ${seed}, ${victim} crashed: takeover after ${takeover} ms`);
      await sim.shutdown();
    }
  });

  it('both watchers crashing together: the standbys see their leases go stale and take over within 2 × failover + 3 s', async () => {
    const { sim } = await coldStart('fleet', 12, 120, 7);
    await sim.clock.runFor(90_000);
    const ids = sim.workerIds.sort();
    // Standbys (ids 3 and 4) check one lease of each watcher per tick; the others only scan every 60 s.
    assert.ok(sim.coordinator(ids[2]!)!.watchSentinels.length === 2 && sim.coordinator(ids[5]!)!.watchSentinels.length === 0);
    const gets = sim.table.cost.requests.GetItem;
    await sim.clock.runFor(60_000);
    const perTick = (sim.table.cost.requests.GetItem - gets) / 30;
    assert.ok(perTick >= 3 && perTick <= 5, `standby GetItems per 2-s tick: ${perTick}`);
    sim.crash(ids[0]!);
    sim.crash(ids[1]!);
    const takeover = await sim.runUntil(() => sim.allHeld(), 120_000, 100);
    assert.ok(takeover !== undefined && takeover <= 2 * FAILOVER + 3000, `takeover after ${takeover} ms`);
    assert.ok((await sim.runUntil(() => sim.balanced(), 180_000, 250)) !== undefined, 'balanced again');
    await sim.shutdown();
  });

  it('a worker joining a balanced fleet gets its share within 30 s, moving only what it needs', async () => {
    const { sim } = await coldStart('fleet', 10, 200, 5);
    await sim.clock.runFor(90_000);
    const before = sim.acquisitions;
    const joiner = sim.startWorker();
    const balanced = await sim.runUntil(() => sim.balanced(), 120_000, 250);
    assert.ok(balanced !== undefined && balanced <= 30_000, `balanced after ${balanced} ms`);
    const moved = sim.acquisitions - before;
    assert.ok(moved <= Math.ceil(200 / 11) + 1, `moved ${moved}`);
    assert.ok((sim.counts().get(joiner) ?? 0) >= Math.floor(200 / 11));
    await sim.shutdown();
  });

  it('steady state: balanced non-watchers scan at the steady pace, so a 40-worker fleet reads less than the Java-like baseline', async () => {
    const steady = async (profile: FleetProfile) => {
      const sim = new FleetSimulator({ leases: 200, profile, seed: 6 });
      await sim.startWorkers(40, 1000);
      // Java's baseline never balances this start quickly (one steal per 20 s); its scan pace does not depend on it.
      await sim.clock.runFor(90_000);
      const start = sim.costSnapshot();
      await sim.clock.runFor(120_000);
      const cost = costDelta(sim.costSnapshot(), start);
      await sim.shutdown();
      return cost;
    };
    const fleet = await steady('fleet');
    const java = await steady('java2x');
    // Growth law: 2 watchers every 2 s + 38 workers every 60 s ≈ 98 scans a minute; Java: 40 every 20 s = 120.
    const scansPerMinute = fleet.requests.Scan / 2;
    assert.ok(scansPerMinute > 85 && scansPerMinute < 110, `fleet scans/min ${scansPerMinute}`);
    assert.ok(fleet.scanRcu < java.scanRcu, `fleet scan RCU ${fleet.scanRcu} vs java ${java.scanRcu}`);
    // Renewals are the same protocol on both: one 1-KB write per lease every failover/3 − 25 ms.
    const renewalsPerMinute = (200 * 60_000) / (FAILOVER / 3 - 25);
    assert.ok(Math.abs(fleet.requests.UpdateItem / 2 - renewalsPerMinute) / renewalsPerMinute < 0.05, `updates/min ${fleet.requests.UpdateItem / 2}`);
  });
});
