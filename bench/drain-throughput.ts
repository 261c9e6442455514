/**
 * Drain throughput: how fast, and at what CPU cost, a consumer reads a pre-filled stream, against the floor of a
 * bare GetRecords loop with the same SDK and client settings (SPEC §5, first benchmark).
 *
 *   npx tsx bench/drain-throughput.ts [--records 40000] [--shards 4] [--max-records 10000] [--rounds 3]
 *
 * - kinesalite runs in a child Node process (`node -e`), so `process.cpuUsage()` here measures the consumer only.
 * - The stream is filled once (1 KB random payloads, explicit hash keys spreading them evenly over the shards,
 *   PutRecords batches of 500 with 4 in flight); every contender then drains the same shards from TRIM_HORIZON.
 * - A contender is a function `(ctx) => Promise<number>` that drains every shard (all shards concurrently) and
 *   resolves with the number of records it received; it owns its Kinesis client (same settings for all). The clock
 *   and CPU meter run around that call. A drain is complete when every shard's known record count has arrived.
 * - One untimed warm-up per contender, then `--rounds` rounds in alternating order (A B, B A, A B...).
 * - dynalite (the Scheduler's lease table) runs in a second child process.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { cpus } from 'node:os';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { KinesisAdmin, type PutRecordInput } from '../src/aws/kinesis-admin.js';
import { KinesisApi } from '../src/aws/kinesis-api.js';
import type { GetRecordsResult, KinesisRecord, StreamRef } from '../src/aws/kinesis-types.js';
import { evenHashKeyRanges } from '../src/shards/hash-key-range.js';
import { ExtendedSequenceNumber } from '../src/checkpoint/extended-sequence-number.js';
import { PollingFetcher } from '../src/retrieval/polling-fetcher.js';
import { systemClock } from '../src/util/clock.js';
import { silentLogger } from '../src/util/logger.js';
import { uniqueName } from '../test/support/emulators.js';
import { drainBareSdk, drainPollingFetchers, drainScheduler, newClient, type Contender, type DrainContext, type SchedulerPhases } from './drain-contenders.js';
import { Session } from 'node:inspector/promises';
import { writeFileSync } from 'node:fs';

const { values: args } = parseArgs({
  options: {
    records: { type: 'string', default: '40000' },
    shards: { type: 'string', default: '4' },
    'max-records': { type: 'string', default: '10000' },
    'record-bytes': { type: 'string', default: '1024' },
    rounds: { type: 'string', default: '3' },
    /** Only the contenders whose name contains this (the bare loop always runs: it is the baseline). */
    only: { type: 'string' },
    /**
     * Write CPU profiles (node:inspector) of the measured rounds of the `--only` contender (every contender without
     * `--only`): FILE-1.cpuprofile, FILE-2.cpuprofile, ... one per round.
     */
    'cpu-prof': { type: 'string' },
  },
});
const RECORDS = Number(args.records);
const SHARDS = Number(args.shards);
const MAX_RECORDS = Number(args['max-records']);
const RECORD_BYTES = Number(args['record-bytes']);
const ROUNDS = Number(args.rounds);
const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

const ALL_CONTENDERS: Contender[] = [
  { name: 'bare SDK GetRecords loop', drain: drainBareSdk },
  { name: 'PollingFetcher ×shards', drain: (ctx) => drainPollingFetchers(ctx) },
  { name: 'Scheduler (1 worker, checkpoint per batch)', drain: (ctx) => drainScheduler(ctx, schedulerPhases) },
  // A worker configured as the only one: no start-up discovery window (its default holds three of four shards back
  // for one taker interval, so that workers started together spread).
  {
    name: 'Scheduler, lone worker (startupDiscoveryMillis 0)',
    drain: (ctx) => drainScheduler(ctx, loneWorkerPhases, { startupDiscoveryMillis: 0 }),
  },
];
const CONTENDERS = ALL_CONTENDERS.filter((c, i) => i === 0 || args.only === undefined || c.name.includes(args.only));

/** Where each Scheduler drain spent its wall time (ms), printed after the table. */
const schedulerPhases: SchedulerPhases[] = [];
const loneWorkerPhases: SchedulerPhases[] = [];

interface Measurement {
  records: number;
  seconds: number;
  cpuSeconds: number;
  /** Of which in the kernel (sockets, timers, page faults). */
  systemSeconds: number;
}

async function measure(contender: Contender, ctx: DrainContext): Promise<Measurement> {
  const total = ctx.shards.reduce((n, s) => n + s.records, 0);
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const records = await contender.drain(ctx);
  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  if (records !== total) throw new Error(`${contender.name} received ${records} records, expected ${total}`);
  return { records, seconds, cpuSeconds: (cpu.user + cpu.system) / 1e6, systemSeconds: cpu.system / 1e6 };
}

/**
 * The fetcher's own cost with the I/O taken away: a fake `getRecords` hands out the same 1,000 prepared records
 * (no SDK, no parsing) until 2M records went through one fetcher and its consumer. Context for the rows above,
 * whose CPU is almost all the SDK's.
 */
async function fetcherOverheadCpuPerMillion(): Promise<number> {
  const page: KinesisRecord[] = Array.from({ length: 1000 }, (_, i) => ({
    sequenceNumber: (49_000_000_000_000_000_000n + BigInt(i)).toString(),
    partitionKey: `pk-${i}`,
    data: new Uint8Array(RECORD_BYTES),
    approximateArrivalTimestamp: new Date(),
  }));
  const total = 2_000_000;
  const kinesis = {
    getShardIterator: async (): Promise<string> => 'iterator',
    getRecords: async (): Promise<GetRecordsResult> => ({ records: page, nextShardIterator: 'iterator', millisBehindLatest: 1000 }),
  };
  const samples: number[] = [];
  for (let run = 0; run < 3; run++) {
    const fetcher = new PollingFetcher({
      kinesis,
      stream: { streamName: 'fake' },
      shardId: 'shardId-000000000000',
      checkpoint: ExtendedSequenceNumber.TRIM_HORIZON,
      maxRecords: 1000,
      idleTimeBetweenReadsMillis: 1000,
      maxPrefetchBatches: 3,
      maxPrefetchBytes: 8 * 1024 * 1024,
      clock: systemClock,
      logger: silentLogger,
    });
    const controller = new AbortController();
    const cpu0 = process.cpuUsage();
    fetcher.start(controller.signal);
    let received = 0;
    while (received < total) received += (await fetcher.next(controller.signal)).records.length;
    const cpu = process.cpuUsage(cpu0);
    await fetcher.stop();
    samples.push(((cpu.user + cpu.system) / 1e6 / received) * 1e6);
  }
  return median(samples);
}

// ---------------------------------------------------------------------------------------------
// kinesalite in its own process

const KINESALITE_CHILD = `
const kinesalite = require('kinesalite');
const server = kinesalite({ createStreamMs: 5, deleteStreamMs: 5, updateStreamMs: 5, shardLimit: 100 });
server.listen(0, '127.0.0.1', () => console.log(JSON.stringify({ port: server.address().port })));
process.stdin.on('end', () => process.exit(0)); // dies with its parent
process.stdin.resume();
`;

// dynalite for the Scheduler's lease table, also out of process so its CPU is not the consumer's.
const DYNALITE_CHILD = `
const dynalite = require('dynalite');
const server = dynalite({ createTableMs: 5, deleteTableMs: 5, updateTableMs: 5 });
server.listen(0, '127.0.0.1', () => console.log(JSON.stringify({ port: server.address().port })));
process.stdin.on('end', () => process.exit(0));
process.stdin.resume();
`;

async function startKinesaliteChild(script = KINESALITE_CHILD): Promise<{ endpoint: string; child: ChildProcess }> {
  const child = spawn(process.execPath, ['-e', script], { cwd: ROOT, stdio: ['pipe', 'pipe', 'inherit'] });
  process.on('exit', () => child.kill('SIGKILL'));
  const port = await new Promise<number>((resolvePort, reject) => {
    let out = '';
    child.once('exit', (code) => reject(new Error(`kinesalite child exited (${code})`)));
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString('utf8');
      const line = out.split('\n')[0];
      if (out.includes('\n') && line) resolvePort((JSON.parse(line) as { port: number }).port);
    });
  });
  return { endpoint: `http://127.0.0.1:${port}`, child };
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const gone = new Promise<void>((done) => child.once('exit', () => done()));
  child.stdin?.end();
  const timer = setTimeout(() => child.kill('SIGKILL'), 2000);
  await gone;
  clearTimeout(timer);
}

async function fill(endpoint: string): Promise<DrainContext> {
  const client = newClient({ endpoint, stream: {}, shards: [], maxRecords: 0 });
  const admin = new KinesisAdmin(client, { requestTimeoutMillis: 60_000 });
  const api = new KinesisApi(client);
  const stream: StreamRef = { streamName: uniqueName('drain') };
  await admin.createStream(stream.streamName!, SHARDS);
  await admin.waitForStreamActive(stream, 30_000);
  const shards = await api.listShards(stream);
  const ranges = evenHashKeyRanges(SHARDS);
  const pool = randomBytes(RECORD_BYTES * 64);
  const inputs: PutRecordInput[] = Array.from({ length: RECORDS }, (_, i) => ({
    partitionKey: `pk-${i}`,
    explicitHashKey: ranges[i % SHARDS]!.startingHashKey,
    data: pool.subarray((i % 64) * RECORD_BYTES, (i % 64 + 1) * RECORD_BYTES),
  }));
  const perShard = new Map<string, number>();
  const chunks: PutRecordInput[][] = [];
  for (let i = 0; i < inputs.length; i += 500) chunks.push(inputs.slice(i, i + 500));
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: 4 }, async () => {
      while (next < chunks.length) {
        const results = await admin.putRecords(stream, chunks[next++]!);
        for (const r of results) perShard.set(r.shardId, (perShard.get(r.shardId) ?? 0) + 1);
      }
    }),
  );
  const fillSeconds = (performance.now() - t0) / 1000;
  client.destroy();
  console.log(`filled ${RECORDS} × ${RECORD_BYTES} B into ${SHARDS} shards in ${fillSeconds.toFixed(1)} s`);
  return {
    endpoint,
    stream,
    shards: shards.map((s) => ({ shardId: s.shardId, records: perShard.get(s.shardId) ?? 0 })),
    maxRecords: MAX_RECORDS,
  };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

async function main(): Promise<void> {
  const cpu = cpus()[0];
  console.log(`node ${process.version}, ${cpus().length} × ${cpu?.model ?? '?'}`);
  console.log(
    `drain: ${RECORDS} records × ${RECORD_BYTES} B, ${SHARDS} shards, GetRecords Limit ${MAX_RECORDS}, kinesalite in a child process`,
  );
  const { endpoint, child } = await startKinesaliteChild();
  const dynamo = await startKinesaliteChild(DYNALITE_CHILD);
  try {
    const ctx = { ...(await fill(endpoint)), dynamoEndpoint: dynamo.endpoint };
    console.log(`records per shard: ${ctx.shards.map((s) => s.records).join(', ')}`);
    for (const contender of CONTENDERS) await measure(contender, ctx); // warm-up (JIT, sockets), not reported

    schedulerPhases.length = 0;
    const results = new Map<string, Measurement[]>(CONTENDERS.map((c) => [c.name, []]));
    const profiler = args['cpu-prof'] === undefined ? undefined : new Session();
    if (profiler) {
      profiler.connect();
      await profiler.post('Profiler.enable');
      await profiler.post('Profiler.setSamplingInterval', { interval: 200 });
    }
    const profiled = (c: Contender): boolean => profiler !== undefined && (args.only === undefined || c.name.includes(args.only));
    for (let round = 0; round < ROUNDS; round++) {
      const order = round % 2 === 0 ? CONTENDERS : [...CONTENDERS].reverse();
      for (const contender of order) {
        if (profiled(contender)) await profiler!.post('Profiler.start');
        const m = await measure(contender, ctx);
        if (profiled(contender)) {
          const { profile } = await profiler!.post('Profiler.stop');
          const file = `${args['cpu-prof']!.replace(/\.cpuprofile$/, '')}-${contender.name.split(' ')[0]}-${round + 1}.cpuprofile`;
          writeFileSync(file, JSON.stringify(profile));
        }
        results.get(contender.name)!.push(m);
        console.log(
          `  round ${round + 1} ${contender.name}: ${(m.records / m.seconds).toFixed(0)} records/s, ` +
            `${m.seconds.toFixed(2)} s, ${((m.cpuSeconds / m.records) * 1e6).toFixed(2)} CPU-s/M records ` +
            `(system ${((m.systemSeconds / m.records) * 1e6).toFixed(2)})`,
        );
      }
    }

    if (profiler) {
      profiler.disconnect();
      console.log(`CPU profiles of the measured rounds: ${args['cpu-prof']}-*.cpuprofile`);
    }

    const summary = CONTENDERS.map((c) => {
      const ms = results.get(c.name)!;
      return {
        name: c.name,
        rate: median(ms.map((m) => m.records / m.seconds)),
        cpuPerMillion: median(ms.map((m) => (m.cpuSeconds / m.records) * 1e6)),
      };
    });
    const base = summary[0]!;
    console.log('');
    console.log(`| contender | records/s (median of ${ROUNDS}) | CPU-s per 1M records | vs bare: rate | vs bare: CPU |`);
    console.log('|---|---:|---:|---:|---:|');
    for (const s of summary) {
      console.log(
        `| ${s.name} | ${s.rate.toFixed(0)} | ${s.cpuPerMillion.toFixed(2)} | ${(s.rate / base.rate).toFixed(2)} | ${(s.cpuPerMillion / base.cpuPerMillion).toFixed(2)} |`,
      );
    }
    for (const [label, phases] of [['Scheduler', schedulerPhases], ['Scheduler, lone worker', loneWorkerPhases]] as const) {
      if (phases.length === 0) continue;
      const med = (pick: (p: SchedulerPhases) => number): string => median(phases.map(pick)).toFixed(0);
      console.log('');
      console.log(
        `${label} phases (median ms of ${phases.length}): start() ${med((p) => p.startMillis)}, ` +
          `start() → first records ${med((p) => p.firstRecordsMillis)}, ` +
          `start() → all records ${med((p) => p.allRecordsMillis)}, shutdown() ${med((p) => p.shutdownMillis)}`,
      );
      console.log(
        `${label} CPU (median ms of ${phases.length}): construction + start() ${med((p) => p.cpu.start)}, ` +
          `to first records ${med((p) => p.cpu.firstRecords)}, to all records ${med((p) => p.cpu.allRecords)}, shutdown() ${med((p) => p.cpu.shutdown)}`,
      );
    }
    const overhead = await fetcherOverheadCpuPerMillion();
    console.log('');
    console.log(`PollingFetcher alone (fake Kinesis, no SDK, no I/O): ${overhead.toFixed(3)} CPU-s per 1M records`);
  } finally {
    await stopChild(child);
    await stopChild(dynamo.child);
  }
}

await main();
