/**
 * The fleet simulator against a real lease table: W in-process LeaseCoordinators (ts-kcl's fleet defaults) on
 * DynamoDB Local or dynalite through the real DynamoDbLeaseStore, with real timers; DynamoDB requests counted per
 * operation. Then the simulator runs the same fleet (same workers, leases, start spread and windows) and predicts
 * the counts, with each phase's measured mean latency ± 50 % (`--sampled-latency`: drawn from the measured ones).
 * Passes when every request kind is within 20 % of the measured count in both phases. Also prints the lease-store
 * calls behind the counts (failed conditions each add a GetItem; steals and standby checks are GetItems too).
 *
 *   npx tsx bench/fleet-emulator.ts [--workers 8] [--leases 256] [--emulator dynalite|dynamodb-local]
 *                                   [--warmup-s 60] [--measure-s 120] [--seed 1] [--sampled-latency]
 *                                   [--latency-out latency.json]
 */
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { DynamoDbApi } from '../src/aws/dynamodb-api.js';
import { DynamoDbLeaseStore } from '../src/leases/dynamodb-lease-store.js';
import type { LeaseStore } from '../src/leases/lease-store.js';
import { LeaseCoordinator } from '../src/leases/lease-coordinator.js';
import { systemClock } from '../src/util/clock.js';
import { silentLogger } from '../src/util/logger.js';
import { startDynamo, stopAll, TEST_CREDENTIALS, TEST_REGION, uniqueName } from '../test/support/emulators.js';
import { FleetSimulator, newLease, profileSettings, workerName } from '../test/support/fleet/fleet-simulator.js';
import { seededRandom } from '../test/support/seeded-random.js';
import type { LatencyModel } from '../test/support/fleet/simulated-lease-table.js';

const { values: args } = parseArgs({
  options: {
    workers: { type: 'string', default: '8' },
    leases: { type: 'string', default: '256' },
    emulator: { type: 'string', default: 'dynalite' },
    'warmup-s': { type: 'string', default: '60' },
    'measure-s': { type: 'string', default: '120' },
    seed: { type: 'string', default: '1' },
    'sampled-latency': { type: 'boolean', default: false },
    'latency-out': { type: 'string' },
  },
});
const W = Number(args.workers);
const L = Number(args.leases);
const WARMUP = Number(args['warmup-s']) * 1000;
const MEASURE = Number(args['measure-s']) * 1000;
const KINDS = ['Scan', 'GetItem', 'UpdateItem'] as const;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
type Counts = Record<(typeof KINDS)[number], number>;
const pick = (c: Record<string, number>): Counts => ({ Scan: c.Scan ?? 0, GetItem: c.GetItem ?? 0, UpdateItem: c.UpdateItem ?? 0 });
const minus = (a: Counts, b: Counts): Counts => ({ Scan: a.Scan - b.Scan, GetItem: a.GetItem - b.GetItem, UpdateItem: a.UpdateItem - b.UpdateItem });

let errors = 0;
type Phase = 'warm' | 'window';
type CallStats = Map<string, { n: number; ms: number; conflicts: number; samples: number[] }>;
/** Lease-store calls per phase (latency fed to the simulator; conflicts explain GetItems), for each side. */
const calls = { real: { warm: new Map(), window: new Map() } as Record<Phase, CallStats>, sim: { warm: new Map(), window: new Map() } as Record<Phase, CallStats> };
let phase: Phase = 'warm';

/** Counts every lease-store call, its latency and its failed conditions (each costs a consistent GetItem). */
function timed<S extends LeaseStore>(store: S, side: keyof typeof calls, now: () => number = () => performance.now()): S {
  return new Proxy(store, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver) as unknown;
      if (typeof value !== 'function') return value;
      return async (...a: unknown[]) => {
        const start = now();
        let conflict = false;
        try {
          const result = await (value as (...x: unknown[]) => Promise<unknown>).apply(target, a);
          conflict = typeof result === 'object' && result !== null && 'ok' in result && result.ok === false;
          return result;
        } finally {
          const t = calls[side][phase].get(String(prop)) ?? { n: 0, ms: 0, conflicts: 0, samples: [] };
          t.n++;
          t.ms += now() - start;
          if (conflict) t.conflicts++;
          // A failed condition adds a GetItem to the call: keep only single-request calls as latency samples.
          else t.samples.push(now() - start);
          calls[side][phase].set(String(prop), t);
        }
      };
    },
  });
}
const timings = calls.real;

function measuredLatency(p: Phase): LatencyModel {
  const mean = (...ops: string[]): number => {
    let n = 0;
    let ms = 0;
    for (const op of ops) {
      n += timings[p].get(op)?.n ?? 0;
      ms += timings[p].get(op)?.ms ?? 0;
    }
    return n === 0 ? 5 : ms / n;
  };
  const update = mean('renewLease', 'takeLease', 'startHandoff', 'finishHandoff', 'evictLease');
  const samples = (...ops: string[]): number[] => ops.flatMap((op) => timings[p].get(op)?.samples ?? []);
  const model: LatencyModel = { GetItem: mean('getLease'), UpdateItem: update, PutItem: update, DeleteItem: update, Scan: mean('listLeases'), scanMillisPerMB: 0, jitter: 0.5 };
  // --sampled-latency: each request draws from the measured latencies (the tail decides who sees whom in a
  // start-up), but independently: a renewal round of 32 leases then waits for the slowest of 32 draws, where the
  // real slow periods hit every request at once. The default is the mean ± 50 %.
  if (args['sampled-latency']) {
    model.samples = { GetItem: samples('getLease'), UpdateItem: samples('renewLease', 'takeLease', 'startHandoff', 'finishHandoff', 'evictLease'), Scan: samples('listLeases') };
  }
  return model;
}

async function measured(): Promise<{ warm: Counts; window: Counts; spread: number[] }> {
  const emulator = await startDynamo(args.emulator as 'dynalite' | 'dynamodb-local');
  try {
    const settings = { region: TEST_REGION, endpoint: emulator.endpoint, credentials: TEST_CREDENTIALS };
    const table = uniqueName('fleet');
    const admin = new DynamoDbLeaseStore(DynamoDbApi.create(settings), table);
    await admin.createTableIfNotExists({ billingMode: 'PAY_PER_REQUEST', readCapacity: 1, writeCapacity: 1, activeTimeoutMillis: 60_000 });
    for (let i = 0; i < L; i += 32) await Promise.all(Array.from({ length: Math.min(32, L - i) }, (_, j) => admin.createLeaseIfNotExists(newLease(i + j))));
    const api = DynamoDbApi.create(settings);
    const store = timed(new DynamoDbLeaseStore(api, table), 'real');
    const random = seededRandom(Number(args.seed));
    const offsets = Array.from({ length: W }, () => Math.floor(random() * 1000)).sort((a, b) => a - b);
    const coordinators: LeaseCoordinator[] = [];
    const t0 = Date.now();
    for (const [i, at] of offsets.entries()) {
      await sleep(Math.max(0, at - (Date.now() - t0)));
      const id = workerName(i);
      const c = new LeaseCoordinator(store, {
        workerId: id,
        failoverTimeMillis: 10_000,
        renewIntervalMillis: 3308,
        takerIntervalMillis: 2000,
        maxLeasesForWorker: Infinity,
        maxLeasesToStealAtOneTime: 8,
        gracefulHandoff: true,
        gracefulHandoffTimeoutMillis: 30_000,
        ...profileSettings('fleet', 10_000), // exactly what the simulator runs
        clock: systemClock,
        logger: silentLogger,
      });
      c.on('error', () => errors++); // retried next round, as in the Scheduler; counted below
      c.on('handoffRequested', ({ leaseKey }) => void sleep(500).then(() => c.finishHandoff(leaseKey)));
      coordinators.push(c);
      void c.runTaker().catch(() => undefined).then(() => c.start());
    }
    await sleep(WARMUP - (Date.now() - t0));
    const warm = pick(api.requestCounts);
    phase = 'window';
    await sleep(WARMUP + MEASURE - (Date.now() - t0));
    const end = pick(api.requestCounts);
    const spread = coordinators.map((c) => c.heldKeys().length);
    await Promise.all(coordinators.map((c) => c.stop()));
    api.close();
    admin.api.close();
    return { warm, window: minus(end, warm), spread };
  } finally {
    await stopAll();
  }
}

async function predicted(): Promise<{ warm: Counts; window: Counts; spread: number[] }> {
  phase = 'warm';
  const sim: FleetSimulator = new FleetSimulator({
    leases: L,
    profile: 'fleet',
    seed: Number(args.seed),
    latency: measuredLatency('warm'),
    wrapStore: (table) => timed(table, 'sim', () => sim.clock.now()),
  });
  await sim.startWorkers(W, 1000);
  await sim.clock.runFor(WARMUP - 1000);
  const warm = pick(sim.costSnapshot().requests);
  sim.table.latency = measuredLatency('window');
  phase = 'window';
  await sim.clock.runFor(MEASURE);
  const end = pick(sim.costSnapshot().requests);
  const spread = [...sim.counts().values()];
  await sim.shutdown();
  return { warm, window: minus(end, warm), spread };
}

const real = await measured();
// The measured latency models, to replay a start-up in the simulator (e.g. while changing the taker).
if (args['latency-out'] !== undefined) writeFileSync(args['latency-out'], JSON.stringify({ warm: measuredLatency('warm'), window: measuredLatency('window') }));
const sim = await predicted();
console.log(`${W} workers, ${L} leases on ${args.emulator}; warm-up ${WARMUP / 1000} s, window ${MEASURE / 1000} s`);
for (const p of ['warm', 'window'] as const) {
  const { samples, ...means } = measuredLatency(p);
  const q = (xs: readonly number[] = [], f: number): number => Math.round([...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(f * xs.length))] ?? 0);
  const tails = Object.entries(samples ?? {}).map(([op, xs]) => `${op} p50 ${q(xs, 0.5)} / p90 ${q(xs, 0.9)} / p99 ${q(xs, 0.99)} / max ${q(xs, 1)}`);
  console.log(`latency measured in ${p} (ms): mean ${JSON.stringify(means, (_k, v: unknown) => (typeof v === 'number' ? Math.round(v * 10) / 10 : v))}; ${tails.join('; ')}`);
}
console.log(`lease task errors during the real run (retried next round): ${errors}`);
console.log(`leases per worker at the end: measured ${real.spread.join(',')}; simulated ${sim.spread.join(',')}`);
console.log('| phase | request | measured | predicted | predicted / measured |');
console.log('|---|---|---|---|---|');
let ok = true;
for (const phase of ['warm', 'window'] as const) {
  for (const kind of KINDS) {
    const m = real[phase][kind];
    const p = sim[phase][kind];
    const ratio = m === 0 ? (p === 0 ? 1 : Infinity) : p / m;
    // Requests that are rare in a phase (a handful of GetItems) are compared in absolute terms.
    const within = Math.abs(ratio - 1) <= 0.2 || Math.abs(p - m) <= 5;
    ok &&= within;
    console.log(`| ${phase === 'warm' ? `start + ${WARMUP / 1000} s` : `next ${MEASURE / 1000} s`} | ${kind} | ${m} | ${p} | ${ratio.toFixed(3)}${within ? '' : ' ✗'} |`);
  }
}
// Where the GetItems come from: steals and standby checks call getLease; every failed condition re-reads the item.
console.log('\n| phase | lease-store call | measured calls (failed conditions) | simulated calls (failed conditions) |');
console.log('|---|---|---|---|');
for (const p of ['warm', 'window'] as const) {
  const ops = [...new Set([...calls.real[p].keys(), ...calls.sim[p].keys()])].sort();
  for (const op of ops) {
    const r = calls.real[p].get(op);
    const m = calls.sim[p].get(op);
    console.log(`| ${p} | ${op} | ${r?.n ?? 0} (${r?.conflicts ?? 0}) | ${m?.n ?? 0} (${m?.conflicts ?? 0}) |`);
  }
}
console.log(ok ? 'PASS: every predicted count within 20 % of the measured one' : 'FAIL: some predictions off by more than 20 %');
process.exit(ok ? 0 : 1);
