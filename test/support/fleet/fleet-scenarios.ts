import { costDelta, FleetSimulator, type FleetProfile } from './fleet-simulator.js';
import { ON_DEMAND_PRICE, type CostCounters } from './simulated-lease-table.js';
import type { LeaseCoordinatorOptions } from '../../../src/leases/lease-coordinator.js';

export interface ScenarioConfig {
  workers: number;
  leases: number;
  profile: FleetProfile;
  seed?: number;
  failoverTimeMillis?: number;
  /** Length of the steady-state cost window. */
  steadyMinutes: number;
  /** Give up waiting for balance after this long (reported as not reached). */
  maxWaitMillis: number;
  overrides?: Partial<LeaseCoordinatorOptions>;
  /** Scenarios to run, in this order on one fleet. @defaultValue all */
  scenarios?: readonly ScenarioName[];
}

export type ScenarioName = 'cold' | 'steady' | 'crash' | 'crashWatcher' | 'join' | 'rolling';

export interface SteadyCost {
  minutes: number;
  cost: CostCounters;
  rcuPerMinute: number;
  wcuPerMinute: number;
  rcuPerLeaseHour: number;
  wcuPerLeaseHour: number;
  /** On-demand dollars per lease-hour (reads + writes). */
  dollarsPerLeaseHour: number;
  scansPerMinute: number;
}

export interface ScenarioResult {
  config: ScenarioConfig;
  /** Cold start of all workers within 1 s: ms from the first start to balance (±1, all held). */
  coldBalanceMillis?: number | undefined;
  /** Acquisitions beyond one per lease during the cold start. */
  coldExtraMoves?: number;
  steady?: SteadyCost;
  /** Crash of a worker holding leases (not a watcher): ms until all its leases are processed again. */
  crashTakeoverMillis?: number | undefined;
  crashBalanceMillis?: number | undefined;
  crashMoves?: number;
  crashLeases?: number;
  /** Same for the lowest worker id (a failure watcher in the fleet profile). */
  crashWatcherTakeoverMillis?: number | undefined;
  joinBalanceMillis?: number | undefined;
  joinMoves?: number;
  /** Rolling restart in 10 batches (each batch leaves, its replacements start 1 s later, then wait for balance). */
  rollingMillis?: number | undefined;
  rollingMoves?: number;
  wallMillis: number;
}

function steadyCost(cost: CostCounters, minutes: number, leases: number): SteadyCost {
  const hours = minutes / 60;
  const rcuPerLeaseHour = cost.rcu / hours / leases;
  const wcuPerLeaseHour = cost.wcu / hours / leases;
  return {
    minutes,
    cost,
    rcuPerMinute: cost.rcu / minutes,
    wcuPerMinute: cost.wcu / minutes,
    rcuPerLeaseHour,
    wcuPerLeaseHour,
    dollarsPerLeaseHour: (rcuPerLeaseHour * ON_DEMAND_PRICE.perMillionReads + wcuPerLeaseHour * ON_DEMAND_PRICE.perMillionWrites) / 1e6,
    scansPerMinute: cost.requests.Scan / minutes,
  };
}

/** Runs the scenarios on one simulated fleet, one after the other (each starts from the previous end state). */
export async function runScenarios(config: ScenarioConfig): Promise<ScenarioResult> {
  const wallStart = performance.now();
  const sim = new FleetSimulator({
    leases: config.leases,
    profile: config.profile,
    seed: config.seed ?? 1,
    ...(config.failoverTimeMillis === undefined ? {} : { failoverTimeMillis: config.failoverTimeMillis }),
    ...(config.overrides === undefined ? {} : { overrides: config.overrides }),
  });
  const result: ScenarioResult = { config, wallMillis: 0 };
  const wanted = new Set(config.scenarios ?? ['cold', 'steady', 'crash', 'crashWatcher', 'join', 'rolling']);
  const balance = (): Promise<number | undefined> => sim.runUntil(() => sim.balanced(), config.maxWaitMillis, 250);

  const t0 = sim.clock.now();
  await sim.startWorkers(config.workers, 1000);
  const cold = await sim.runUntil(() => sim.balanced(), config.maxWaitMillis, 250);
  result.coldBalanceMillis = cold === undefined ? undefined : sim.clock.now() - t0;
  result.coldExtraMoves = sim.acquisitions - config.leases;
  if (cold === undefined) await balance();

  if (wanted.has('steady')) {
    await sim.clock.runFor(60_000); // past the start-up rounds
    const before = sim.costSnapshot();
    await sim.clock.runFor(config.steadyMinutes * 60_000);
    result.steady = steadyCost(costDelta(sim.costSnapshot(), before), config.steadyMinutes, config.leases);
  }

  const crash = async (victim: string): Promise<{ takeover?: number | undefined; balance?: number | undefined; moves: number; leases: number }> => {
    const leases = sim.counts().get(victim) ?? 0;
    const a0 = sim.acquisitions;
    sim.crash(victim);
    const takeover = await sim.runUntil(() => sim.allHeld(), config.maxWaitMillis, 100);
    const balanced = takeover === undefined ? undefined : await balance();
    return { takeover, balance: takeover === undefined || balanced === undefined ? undefined : takeover + balanced, moves: sim.acquisitions - a0, leases };
  };
  if (wanted.has('crash')) {
    const ids = sim.workerIds.sort();
    const r = await crash(ids[Math.floor(ids.length / 2)]!);
    result.crashTakeoverMillis = r.takeover;
    result.crashBalanceMillis = r.balance;
    result.crashMoves = r.moves;
    result.crashLeases = r.leases;
    if (r.balance === undefined) await balance();
    sim.startWorker(); // back to the fleet size
    await balance();
  }
  if (wanted.has('crashWatcher')) {
    const r = await crash(sim.workerIds.sort()[0]!);
    result.crashWatcherTakeoverMillis = r.takeover;
    sim.startWorker();
    await balance();
  }
  if (wanted.has('join')) {
    await sim.clock.runFor(30_000);
    const a0 = sim.acquisitions;
    sim.startWorker();
    result.joinBalanceMillis = await balance();
    result.joinMoves = sim.acquisitions - a0;
    if (result.joinBalanceMillis === undefined) await balance();
  }
  if (wanted.has('rolling')) {
    await sim.clock.runFor(30_000);
    const a0 = sim.acquisitions;
    const start = sim.clock.now();
    const ids = sim.workerIds.sort();
    const batch = Math.max(1, Math.ceil(ids.length / 10));
    let ok = true;
    for (let i = 0; i < ids.length && ok; i += batch) {
      const leaving = ids.slice(i, i + batch);
      for (const id of leaving) sim.leave(id);
      await sim.clock.runFor(1000);
      for (let j = 0; j < leaving.length; j++) sim.startWorker();
      ok = (await balance()) !== undefined;
    }
    result.rollingMillis = ok ? sim.clock.now() - start : undefined;
    result.rollingMoves = sim.acquisitions - a0;
  }
  await sim.shutdown();
  result.wallMillis = performance.now() - wallStart;
  return result;
}
