// Chaos run: N ts-kcl worker processes consume one stream while records are produced at a steady rate, a random
// worker is `kill -9`ed and restarted (as a new incarnation) every few seconds, shards are split and merged, and
// every worker talks to Kinesis and DynamoDB through a fault proxy (test/support/fault-proxy.ts) that throttles,
// slows and resets a few percent of the calls. At the end a validator checks every delivery the workers reported.
//
//   npx tsx test/chaos/chaos-run.ts       # the long run: 4 workers, 16 shards, 50k records in 150 s, kinesalite
//   npx tsx test/chaos/chaos-run.ts --emulator kinesis-local --records 20000 --seconds 200   # the faithful emulator
//   options: --workers --shards --records --seconds --kill-every (s) --splits --merges --throttle --slow --reset
//            --seed --drain-seconds --json
//
// Emulator choice: kinesis-local is the faithful one (ChildShards at a parent's end, as AWS), but it takes only
// ~100-600 puts/s on a 2-core machine and slows down as the stream fills, so 50k records would take 5-10 minutes
// of production alone; the long run's default is kinesalite (the library finds children through ListShards
// there, the fallback it also uses on AWS when a parent ends without ChildShards). The short CI run
// (test/integration/chaos-short.test.ts) uses kinesis-local.
//
// Bounded: production stops after `seconds`, the drain after `drainSeconds`, kills are counted. Loopback only.
// Exit code 0 when the run passes (0 lost, 0 order violations, 0 parent/child violations, 0 duplicates at or
// before a checkpoint), 1 otherwise. `runChaos()` is what test/integration/chaos-short.test.ts calls.
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import type { KinesisAdmin } from '../../src/aws/kinesis-admin.js';
import { createDynamoDbClient, createKinesisClient } from '../../src/aws/clients.js';
import { DynamoDbApi } from '../../src/aws/dynamodb-api.js';
import { DynamoDbLeaseStore } from '../../src/leases/dynamodb-lease-store.js';
import { KinesisApi } from '../../src/aws/kinesis-api.js';
import { midpointHashKey } from '../../src/shards/hash-key-range.js';
import type { Shard } from '../../src/shards/shard.js';
import { startDynalite, startKinesalite, startKinesisLocal, stopAll, TEST_CREDENTIALS, TEST_REGION, uniqueName } from '../support/emulators.js';
import { startFaultProxy, type FaultCounts, type FaultProxy, type RandomFaults } from '../support/fault-proxy.js';
import { createStream, kinesisAdmin } from '../support/scenario.js';
import { WorkerFleet } from '../support/worker-fleet.js';
import { validateChaos, type ChaosProduced as Produced } from '../support/chaos-validator.js';
import { seededRandom } from '../support/seeded-random.js';

export interface ChaosOptions {
  /** `kinesis-local` is the faithful emulator (ChildShards at shard end), `kinesalite` the fast one. */
  emulator: 'kinesis-local' | 'kinesalite';
  workers: number;
  shards: number;
  /** Records produced, spread evenly over `seconds`. */
  records: number;
  seconds: number;
  /** A random live worker is killed (-9) and restarted this often; 0 = never. */
  killEveryMillis: number;
  /** Splits (of the widest open shards) and merges (of two adjacent open shards), spread over the production. */
  splits: number;
  merges: number;
  /** Fault rates applied to every call of the workers (both services). */
  faults: Pick<RandomFaults, 'throttle' | 'slow' | 'reset' | 'slowMillis'>;
  failoverTimeMillis: number;
  /** How long to wait, after production stopped, for every record to be delivered. */
  drainSeconds: number;
  keys: number;
  seed: number;
  /**
   * Issue 15: once, at 1/3 of the production, worker slot 1's lease table (its own fault proxy) is black-holed for
   * 2 × failover (a DynamoDB partition while Kinesis works); at 2/3 a random live worker is frozen (SIGSTOP) for
   * 1.5 × failover and resumed (a zombie). @defaultValue false (true in LONG_RUN)
   */
  partitionAndZombie?: boolean;
  log: (line: string) => void;
}

export const LONG_RUN: ChaosOptions = {
  emulator: 'kinesalite',
  workers: 4,
  shards: 16,
  records: 50_000,
  seconds: 150,
  killEveryMillis: 10_000,
  partitionAndZombie: true,
  splits: 2,
  merges: 1,
  faults: { throttle: 0.02, slow: 0.02, reset: 0.01, slowMillis: 800 },
  failoverTimeMillis: 3000,
  drainSeconds: 180,
  keys: 200,
  seed: 7,
  log: (line) => console.log(line),
};

export interface ChaosReport {
  options: Omit<ChaosOptions, 'log'>;
  produced: number;
  delivered: number;
  uniqueDelivered: number;
  lost: number;
  lostSample: string[];
  /** Within a worker's run on a shard: sequence numbers not strictly rising, or at/before the run's start checkpoint. */
  shardOrderViolations: string[];
  /** Per partition key: first deliveries not in production order. */
  keyOrderViolations: string[];
  childBeforeParent: string[];
  duplicates: number;
  /** Duplicates of a record that an earlier run had already checkpointed (must be 0). */
  duplicatesBeforeCheckpoint: string[];
  kills: number;
  /** Partition / zombie events that happened (issue 15). */
  leaseFaults: string[];
  /** Checkpoints seen in the lease table (polled) that were lower than an earlier one of the same lease. */
  checkpointRegressions: string[];
  restarts: number;
  /** Worker processes that exited by themselves (e.g. `start()` failed under faults) and were started again. */
  selfExits: number;
  reshards: string[];
  shardsAtEnd: number;
  faults: { kinesis: FaultCounts; dynamodb: FaultCounts };
  productionSeconds: number;
  drainSeconds: number;
  passed: boolean;
}


const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Records `key#n` (n counting per key) at a steady rate, `total` in `seconds`, directly to the emulator. */
class KeyedProducer {
  readonly produced: Produced[] = [];
  private readonly counters: number[];
  private stopped = false;
  private loop: Promise<void> | undefined;

  constructor(
    private readonly admin: KinesisAdmin,
    private readonly streamName: string,
    private readonly keys: number,
  ) {
    this.counters = new Array<number>(keys).fill(0);
  }

  start(total: number, seconds: number): this {
    const tickMillis = 200;
    const ticks = Math.max(1, Math.round((seconds * 1000) / tickMillis));
    const perTick = Math.ceil(total / ticks);
    const begin = Date.now();
    this.loop = (async () => {
      for (let tick = 0; tick < ticks * 4 && this.produced.length < total && !this.stopped; tick++) {
        const n = Math.min(perTick, total - this.produced.length);
        const records = Array.from({ length: n }, (_, i) => {
          const k = (this.produced.length + i) % this.keys;
          return { key: `k${k}`, n: this.counters[k]!++ };
        });
        for (let off = 0; off < records.length; off += 500) {
          const chunk = records.slice(off, off + 500);
          const results = await this.admin.putRecords(
            { streamName: this.streamName },
            chunk.map((r) => ({ partitionKey: r.key, data: new TextEncoder().encode(`${r.key}#${r.n}`) })),
          );
          results.forEach((res, i) => this.produced.push({ ...chunk[i]!, shardId: res.shardId, sequenceNumber: res.sequenceNumber }));
        }
        const due = begin + (tick + 1) * tickMillis;
        if (due > Date.now()) await sleep(due - Date.now());
      }
    })();
    this.loop.catch(() => undefined);
    return this;
  }

  async done(): Promise<void> {
    await this.loop;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.loop;
  }
}

async function listShards(endpoint: string, streamName: string): Promise<Shard[]> {
  const api = new KinesisApi(createKinesisClient({ region: TEST_REGION, endpoint, credentials: TEST_CREDENTIALS }));
  return api.listShards({ streamName });
}

const isOpen = (s: Shard): boolean => s.sequenceNumberRange.endingSequenceNumber === undefined;
const width = (s: Shard): bigint => BigInt(s.hashKeyRange.endingHashKey) - BigInt(s.hashKeyRange.startingHashKey);

async function split(admin: KinesisAdmin, endpoint: string, streamName: string): Promise<string> {
  const open = (await listShards(endpoint, streamName)).filter(isOpen).sort((a, b) => (width(b) > width(a) ? 1 : width(b) < width(a) ? -1 : 0));
  const s = open[0]!;
  await admin.splitShard({ streamName }, s.shardId, midpointHashKey(s.hashKeyRange));
  await admin.waitForStreamActive({ streamName }, 60_000);
  return `split ${s.shardId}`;
}

async function merge(admin: KinesisAdmin, endpoint: string, streamName: string, rand: () => number): Promise<string> {
  const open = (await listShards(endpoint, streamName)).filter(isOpen).sort((a, b) => (BigInt(a.hashKeyRange.startingHashKey) < BigInt(b.hashKeyRange.startingHashKey) ? -1 : 1));
  const pairs = open.slice(1).map((s, i) => [open[i]!, s] as const).filter(([a, b]) => BigInt(a.hashKeyRange.endingHashKey) + 1n === BigInt(b.hashKeyRange.startingHashKey));
  const [a, b] = pairs[Math.floor(rand() * pairs.length)]!;
  await admin.mergeShards({ streamName }, a.shardId, b.shardId);
  await admin.waitForStreamActive({ streamName }, 60_000);
  return `merge ${a.shardId}+${b.shardId}`;
}

export async function runChaos(options: ChaosOptions): Promise<ChaosReport> {
  const { log } = options;
  const rand = seededRandom(options.seed);
  const [kinesis, dynamo] = await Promise.all([options.emulator === 'kinesis-local' ? startKinesisLocal() : startKinesalite({ shardLimit: 1000 }), startDynalite()]);
  const proxies: FaultProxy[] = [];
  let fleet: WorkerFleet | undefined;
  try {
    const random = { ...options.faults };
    const kinesisProxy = await startFaultProxy(kinesis.endpoint, { service: 'kinesis', random: { ...random, seed: options.seed } });
    const dynamoProxy = await startFaultProxy(dynamo.endpoint, { service: 'dynamodb', random: { ...random, seed: options.seed + 1 } });
    // Slot 1's own way to the lease table (same random faults), so it alone can be partitioned.
    const partitionProxy = await startFaultProxy(dynamo.endpoint, { service: 'dynamodb', random: { ...random, seed: options.seed + 2 } });
    proxies.push(kinesisProxy, dynamoProxy, partitionProxy);
    const admin = kinesisAdmin(kinesis.endpoint);
    const streamName = await createStream(admin, options.shards, 'chaos');
    const applicationName = uniqueName('chaos-app');
    const base = {
      kinesisEndpoint: kinesisProxy.url,
      dynamoEndpoint: dynamoProxy.url,
      streamName,
      applicationName,
      failoverTimeMillis: options.failoverTimeMillis,
      idleTimeBetweenReadsMillis: options.emulator === 'kinesis-local' ? 250 : 100,
      // A little work per batch, so some kills land between a batch and its checkpoint (duplicates to check).
      processingDelayMillis: 30,
      shardSyncIntervalMillis: 5000,
      parentShardPollIntervalMillis: 500,
      cleanupIntervalMillis: 5000,
      gracefulTimeoutMillis: 15_000,
    };
    const workers = new WorkerFleet(base);
    fleet = workers;

    const generation = new Map<number, number>();
    const current = new Map<number, string>(); // slot → live workerId
    const startSlot = (slot: number): void => {
      const gen = (generation.get(slot) ?? 0) + 1;
      generation.set(slot, gen);
      const workerId = `w${slot}.${gen}`;
      current.set(slot, workerId);
      workers.start(workerId, slot === 1 ? { dynamoEndpoint: partitionProxy.url } : {});
    };
    for (let slot = 1; slot <= options.workers; slot++) startSlot(slot);
    log(`chaos: ${options.emulator}, stream ${streamName} (${options.shards} shards), ${options.workers} workers, ${options.records} records in ${options.seconds} s, faults ${JSON.stringify(options.faults)}`);

    const producer = new KeyedProducer(admin, streamName, options.keys).start(options.records, options.seconds);
    const begin = Date.now();
    const productionEnd = begin + options.seconds * 1000;
    let kills = 0;
    let restarts = 0;
    let selfExits = 0;
    const reshards: string[] = [];
    const reshardPlan = [
      ...Array.from({ length: options.splits }, (_, i) => ({ at: begin + ((i + 1) * options.seconds * 1000) / (options.splits + options.merges + 1), kind: 'split' as const })),
      ...Array.from({ length: options.merges }, (_, i) => ({ at: begin + ((options.splits + i + 1) * options.seconds * 1000) / (options.splits + options.merges + 1), kind: 'merge' as const })),
    ];
    const leaseFaults: string[] = [];
    // Checkpoints in the table must never move backwards (a stood-down or zombie owner must not overwrite).
    const table = new DynamoDbLeaseStore(new DynamoDbApi(createDynamoDbClient({ region: TEST_REGION, endpoint: dynamo.endpoint, credentials: TEST_CREDENTIALS })), applicationName);
    const highest = new Map<string, bigint>();
    const checkpointRegressions: string[] = [];
    let lastPoll = 0;
    const pollCheckpoints = async (): Promise<void> => {
      for (const lease of (await table.listLeases()).leases) {
        const seq = lease.checkpoint.sequenceNumber;
        const value = seq === 'SHARD_END' ? 2n ** 256n : /^\d+$/.test(seq) ? BigInt(seq) : -1n;
        const before = highest.get(lease.leaseKey) ?? -1n;
        if (value < before) checkpointRegressions.push(`${lease.leaseKey}: ${seq} after ${before}`);
        else highest.set(lease.leaseKey, value);
      }
    };
    const withLeaseFaults = options.partitionAndZombie ?? false;
    let partitionAt = withLeaseFaults ? begin + (options.seconds * 1000) / 3 : Infinity;
    let healAt = Infinity;
    let zombieAt = withLeaseFaults ? begin + (options.seconds * 2000) / 3 : Infinity;
    let zombie: { workerId: string; resumeAt: number } | undefined;
    let nextKill = options.killEveryMillis > 0 ? begin + options.killEveryMillis : Infinity;
    let resharding: Promise<void> = Promise.resolve();
    let reshardError: unknown;

    // The chaos loop: bounded by the production time (plus the emulator's pace: never more than 3× as long).
    const hardStop = begin + options.seconds * 3000;
    let producing = true;
    void producer.done().then(() => (producing = false), () => (producing = false));
    while ((Date.now() < productionEnd || producing) && Date.now() < hardStop) {
      // Workers that exited by themselves (a start that failed under faults) come back as new incarnations.
      for (const [slot, workerId] of current) {
        const h = workers.handle(workerId);
        if (!h.alive && h.exitInfo?.signal !== 'SIGKILL') {
          selfExits++;
          log(`  ${((Date.now() - begin) / 1000).toFixed(1)} s: ${workerId} exited by itself (code ${String(h.exitInfo?.code)}); restarting\n${h.stderr.slice(-600)}`);
          startSlot(slot);
        }
      }
      if (Date.now() >= nextKill) {
        const slots = [...current.keys()];
        const slot = slots[Math.floor(rand() * slots.length)]!;
        const victim = current.get(slot)!;
        await workers.kill(victim);
        kills++;
        startSlot(slot);
        restarts++;
        log(`  ${((Date.now() - begin) / 1000).toFixed(1)} s: kill -9 ${victim}, started ${current.get(slot)!} (produced ${producer.produced.length})`);
        nextKill += options.killEveryMillis;
      }
      const now = Date.now();
      if (now - lastPoll >= 500) {
        lastPoll = now;
        await pollCheckpoints().catch(() => undefined); // the emulator may be busy; the next poll checks again
      }
      const at = (): string => `${((now - begin) / 1000).toFixed(1)} s`;
      if (now >= partitionAt) {
        partitionAt = Infinity;
        partitionProxy.blackHole();
        healAt = now + 2 * options.failoverTimeMillis;
        leaseFaults.push(`${at()}: ${current.get(1)!} cut off from DynamoDB for ${2 * options.failoverTimeMillis} ms`);
        log(`  ${leaseFaults.at(-1)!}`);
      }
      if (now >= healAt) {
        healAt = Infinity;
        partitionProxy.release();
        log(`  ${at()}: partition healed`);
      }
      if (now >= zombieAt) {
        zombieAt = Infinity;
        const slots = [...current.keys()];
        const workerId = current.get(slots[Math.floor(rand() * slots.length)]!)!;
        if (workers.handle(workerId).alive) {
          workers.pause(workerId);
          zombie = { workerId, resumeAt: now + 1.5 * options.failoverTimeMillis };
          leaseFaults.push(`${at()}: ${workerId} frozen (SIGSTOP) for ${1.5 * options.failoverTimeMillis} ms`);
          log(`  ${leaseFaults.at(-1)!}`);
        }
      }
      if (zombie && now >= zombie.resumeAt) {
        if (workers.handle(zombie.workerId).alive) workers.resume(zombie.workerId);
        log(`  ${at()}: ${zombie.workerId} resumed (SIGCONT)`);
        zombie = undefined;
      }
      const due = reshardPlan[0];
      if (due && Date.now() >= due.at) {
        reshardPlan.shift();
        resharding = resharding.then(async () => {
          try {
            const what = due.kind === 'split' ? await split(admin, kinesis.endpoint, streamName) : await merge(admin, kinesis.endpoint, streamName, rand);
            reshards.push(what);
            log(`  ${((Date.now() - begin) / 1000).toFixed(1)} s: ${what}`);
          } catch (error) {
            reshardError = error;
          }
        });
      }
      await sleep(100);
    }
    await producer.stop();
    await resharding;
    if (reshardError) throw reshardError;
    const productionSeconds = (Date.now() - begin) / 1000;
    log(`chaos: produced ${producer.produced.length} in ${productionSeconds.toFixed(1)} s; ${kills} kills; ${reshards.join(', ')}; draining`);

    // Drain: wait (bounded) until every produced record was delivered; faults stay on, dead workers come back.
    const drainBegin = Date.now();
    const wanted = new Set(producer.produced.map((p) => `${p.key}#${p.n}`));
    const got = new Set<string>();
    let scanned = 0;
    while (Date.now() - drainBegin < options.drainSeconds * 1000) {
      for (; scanned < workers.reports.length; scanned++) {
        const r = workers.reports[scanned]!;
        if (r.type === 'records') for (const rec of r.records ?? []) got.add(rec.data);
      }
      if ([...wanted].every((k) => got.has(k))) break;
      for (const [slot, workerId] of current) {
        const h = workers.handle(workerId);
        if (!h.alive && h.exitInfo?.signal !== 'SIGKILL') {
          selfExits++;
          startSlot(slot);
        }
      }
      await sleep(250);
    }
    const drainSeconds = (Date.now() - drainBegin) / 1000;
    // Let the last checkpoints land, then stop everyone gracefully (faults off so shutdown is not the test).
    kinesisProxy.setRandom(undefined);
    dynamoProxy.setRandom(undefined);
    await sleep(1000);
    await Promise.allSettled([...current.values()].map((w) => workers.stop(w, 30_000)));

    const shards = await listShards(kinesis.endpoint, streamName);
    // For diagnosis: CHAOS_DUMP=<file> writes every worker report (records, checkpoints, lifecycle) as JSON lines.
    if (process.env.CHAOS_DUMP) writeFileSync(process.env.CHAOS_DUMP, workers.reports.map((r) => JSON.stringify(r)).join('\n'));
    const v = validateChaos(producer.produced, workers.reports, shards);
    const report: ChaosReport = {
      options: { ...options, log: undefined } as unknown as Omit<ChaosOptions, 'log'>,
      produced: producer.produced.length,
      delivered: v.delivered,
      uniqueDelivered: v.uniqueDelivered,
      lost: v.lost.length,
      lostSample: v.lost.slice(0, 10),
      shardOrderViolations: v.shardOrderViolations,
      keyOrderViolations: v.keyOrderViolations,
      childBeforeParent: v.childBeforeParent,
      duplicates: v.duplicates,
      duplicatesBeforeCheckpoint: v.duplicatesBeforeCheckpoint,
      kills,
      leaseFaults,
      checkpointRegressions,
      restarts,
      selfExits,
      reshards,
      shardsAtEnd: shards.length,
      faults: { kinesis: kinesisProxy.counts, dynamodb: dynamoProxy.counts },
      productionSeconds,
      drainSeconds,
      passed:
        v.lost.length === 0 &&
        v.shardOrderViolations.length === 0 &&
        v.keyOrderViolations.length === 0 &&
        v.childBeforeParent.length === 0 &&
        v.duplicatesBeforeCheckpoint.length === 0 &&
        checkpointRegressions.length === 0 &&
        reshards.length === options.splits + options.merges,
    };
    delete (report.options as { log?: unknown }).log;
    if (!report.passed) log(workers.diagnostics().slice(-6000));
    return report;
  } finally {
    await fleet?.killAll();
    await Promise.allSettled(proxies.map((p) => p.close()));
    await stopAll();
  }
}

/** One-screen summary of a report. */
export function formatReport(r: ChaosReport): string {
  const f = (c: FaultCounts): string => `${c.requests} calls, ${c.throttled} throttled, ${c.slowed} slowed, ${c.reset} reset`;
  return [
    `chaos ${r.passed ? 'PASSED' : 'FAILED'}: ${r.options.emulator}, ${r.options.workers} workers, ${r.options.shards} shards → ${r.shardsAtEnd} (${r.reshards.join(', ')})`,
    `  produced ${r.produced}${r.produced < r.options.records ? ` (of ${r.options.records}: the emulator could not take more in the time)` : ''} in ${r.productionSeconds.toFixed(1)} s, drained in ${r.drainSeconds.toFixed(1)} s; ${r.kills} kill -9 + restart, ${r.selfExits} self-exits; lease faults: ${r.leaseFaults.join('; ') || 'none'}; checkpoint regressions in the table: ${r.checkpointRegressions.length}`,
    `  delivered ${r.delivered} (${r.uniqueDelivered} unique), lost ${r.lost}${r.lost ? ` e.g. ${r.lostSample.join(' ')}` : ''}`,
    `  shard order violations ${r.shardOrderViolations.length}, key order violations ${r.keyOrderViolations.length}, children before parents ${r.childBeforeParent.length}`,
    `  duplicates ${r.duplicates} (all after the previous owner's last checkpoint: ${r.duplicatesBeforeCheckpoint.length === 0 ? 'yes' : `no, ${r.duplicatesBeforeCheckpoint.length} not`})`,
    `  faults: kinesis ${f(r.faults.kinesis)}; dynamodb ${f(r.faults.dynamodb)}`,
    ...[...r.shardOrderViolations, ...r.keyOrderViolations, ...r.childBeforeParent, ...r.duplicatesBeforeCheckpoint].slice(0, 10).map((x) => `    ${x}`),
  ].join('\n');
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const { values } = parseArgs({
    options: {
      emulator: { type: 'string' },
      workers: { type: 'string' },
      shards: { type: 'string' },
      records: { type: 'string' },
      seconds: { type: 'string' },
      'kill-every': { type: 'string' },
      splits: { type: 'string' },
      merges: { type: 'string' },
      throttle: { type: 'string' },
      slow: { type: 'string' },
      reset: { type: 'string' },
      seed: { type: 'string' },
      'drain-seconds': { type: 'string' },
      json: { type: 'boolean' },
    },
  });
  const num = (v: string | undefined, d: number): number => (v === undefined ? d : Number(v));
  const options: ChaosOptions = {
    ...LONG_RUN,
    emulator: (values.emulator as ChaosOptions['emulator'] | undefined) ?? LONG_RUN.emulator,
    workers: num(values.workers, LONG_RUN.workers),
    shards: num(values.shards, LONG_RUN.shards),
    records: num(values.records, LONG_RUN.records),
    seconds: num(values.seconds, LONG_RUN.seconds),
    killEveryMillis: num(values['kill-every'], LONG_RUN.killEveryMillis / 1000) * 1000,
    splits: num(values.splits, LONG_RUN.splits),
    merges: num(values.merges, LONG_RUN.merges),
    faults: { ...LONG_RUN.faults, throttle: num(values.throttle, LONG_RUN.faults.throttle!), slow: num(values.slow, LONG_RUN.faults.slow!), reset: num(values.reset, LONG_RUN.faults.reset!) },
    seed: num(values.seed, LONG_RUN.seed),
    drainSeconds: num(values['drain-seconds'], LONG_RUN.drainSeconds),
  };
  const report = await runChaos(options);
  console.log(formatReport(report));
  if (values.json) console.log(JSON.stringify(report));
  process.exit(report.passed ? 0 : 1);
}
