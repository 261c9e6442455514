/**
 * ts-kcl against its peers (SPEC §5, issue 11): a bare SDK GetRecords loop (the floor, no leases, no checkpoints)
 * vs ts-kcl's Scheduler vs lifion-kinesis (the Node peer), each draining the same pre-filled stream from
 * TRIM_HORIZON with 1 and with 4 worker processes; then ts-kcl's RSS holding 100 shards with a slow processor.
 *
 *   npx tsx bench/peers.ts [--records 80000] [--shards 8] [--rounds 3] [--max-records 10000] [--skip-rss]
 *
 * - kinesalite and dynalite run in child processes; every worker of every contender runs in its own process
 *   (bench/peers-contender.ts), loads its modules, and starts on a `go` from here, so its CPU-seconds (from `go`)
 *   and its peak RSS are its own. The parent's clock runs from `go` until, for every shard, the highest sequence
 *   number some worker reported is the shard's last one (startup, lease taking and balancing are included: that
 *   is what a fresh fleet costs).
 * - Interleaved: each round runs every (contender, workers) pair, in alternating order round to round; medians
 *   are reported. A fresh application name (lease/state table) per run, the same stream and data.
 * - 4 workers of `bare` split the shards statically (what a fleet without coordination would do).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { cpus, totalmem } from 'node:os';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { createKinesisClient } from '../src/aws/clients.js';
import { KinesisAdmin, type PutRecordInput } from '../src/aws/kinesis-admin.js';
import { evenHashKeyRanges } from '../src/shards/hash-key-range.js';
import { TEST_CREDENTIALS, TEST_REGION, uniqueName } from '../test/support/emulators.js';
import type { ContenderConfig, ContenderMessage } from './peers-contender.js';

const { values: args } = parseArgs({
  options: {
    records: { type: 'string', default: '80000' },
    shards: { type: 'string', default: '8' },
    'max-records': { type: 'string', default: '10000' },
    'record-bytes': { type: 'string', default: '1024' },
    rounds: { type: 'string', default: '3' },
    'rss-shards': { type: 'string', default: '100' },
    'skip-rss': { type: 'boolean', default: false },
    'skip-drain': { type: 'boolean', default: false },
  },
});
const RECORDS = Number(args.records);
const SHARDS = Number(args.shards);
const MAX_RECORDS = Number(args['max-records']);
const RECORD_BYTES = Number(args['record-bytes']);
const ROUNDS = Number(args.rounds);
const RSS_SHARDS = Number(args['rss-shards']);
const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const ENTRY = fileURLToPath(new URL('./peers-contender.ts', import.meta.url));
const RUN_TIMEOUT_MILLIS = 180_000;

const EMULATOR_CHILD = (pkg: 'kinesalite' | 'dynalite'): string => `
const create = require('${pkg}');
const server = create({ createStreamMs: 5, deleteStreamMs: 5, updateStreamMs: 5, createTableMs: 5, deleteTableMs: 5, updateTableMs: 5, shardLimit: 1000 });
server.listen(0, '127.0.0.1', () => console.log(JSON.stringify({ port: server.address().port })));
process.stdin.on('end', () => process.exit(0));
process.stdin.resume();
`;

const children = new Set<ChildProcess>();
process.on('exit', () => {
  for (const c of children) c.kill('SIGKILL');
});

async function startEmulator(pkg: 'kinesalite' | 'dynalite'): Promise<{ endpoint: string; child: ChildProcess }> {
  const child = spawn(process.execPath, ['-e', EMULATOR_CHILD(pkg)], { cwd: ROOT, stdio: ['pipe', 'pipe', 'inherit'] });
  children.add(child);
  const port = await new Promise<number>((resolvePort, reject) => {
    let out = '';
    child.once('exit', (code) => reject(new Error(`${pkg} child exited (${code})`)));
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString('utf8');
      if (out.includes('\n')) resolvePort((JSON.parse(out.split('\n')[0]!) as { port: number }).port);
    });
  });
  return { endpoint: `http://127.0.0.1:${port}`, child };
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const gone = new Promise<void>((done) => child.once('exit', () => done()));
  child.stdin?.end();
  const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
  await gone;
  clearTimeout(timer);
  children.delete(child);
}

interface Stream {
  streamName: string;
  /** shardId → last sequence number put. */
  last: Map<string, string>;
}

async function fill(endpoint: string, shards: number, records: number): Promise<Stream> {
  const client = createKinesisClient({ region: TEST_REGION, endpoint, credentials: TEST_CREDENTIALS });
  const admin = new KinesisAdmin(client, { requestTimeoutMillis: 60_000 });
  const streamName = uniqueName('peers');
  await admin.createStream(streamName, shards);
  await admin.waitForStreamActive({ streamName }, 30_000);
  const ranges = evenHashKeyRanges(shards);
  const pool = randomBytes(RECORD_BYTES * 64);
  const last = new Map<string, string>();
  const chunks: PutRecordInput[][] = [];
  for (let i = 0; i < records; i += 500) {
    chunks.push(
      Array.from({ length: Math.min(500, records - i) }, (_, j) => ({
        partitionKey: `pk-${i + j}`,
        explicitHashKey: ranges[(i + j) % shards]!.startingHashKey,
        data: pool.subarray(((i + j) % 64) * RECORD_BYTES, (((i + j) % 64) + 1) * RECORD_BYTES),
      })),
    );
  }
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: 4 }, async () => {
      while (next < chunks.length) {
        for (const r of await admin.putRecords({ streamName }, chunks[next++]!)) {
          const prev = last.get(r.shardId);
          if (prev === undefined || BigInt(r.sequenceNumber) > BigInt(prev)) last.set(r.shardId, r.sequenceNumber);
        }
      }
    }),
  );
  console.log(`filled ${records} × ${RECORD_BYTES} B into ${shards} shards in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  client.destroy();
  if (last.size !== shards) throw new Error(`records reached ${last.size} of ${shards} shards`);
  return { streamName, last };
}

interface RunResult {
  seconds: number;
  records: number;
  cpuSeconds: number;
  /** Peak RSS of the largest worker process, MiB. */
  peakRssMiB: number;
}

type Contender = ContenderConfig['contender'];

function spawnWorker(config: ContenderConfig): { child: ChildProcess; messages: ContenderMessage[]; loaded: Promise<void> } {
  const env = { ...process.env };
  for (const k of Object.keys(env)) if (/^AWS_/.test(k) || k === 'NODE_OPTIONS') delete env[k];
  env.AWS_SDK_JS_SUPPRESS_MAINTENANCE_MODE_MESSAGE = '1'; // lifion-kinesis's aws-sdk v2 notice
  const child = spawn(process.execPath, ['--import', 'tsx', ENTRY, JSON.stringify(config)], { cwd: ROOT, env, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  children.add(child);
  child.once('exit', () => children.delete(child));
  const messages: ContenderMessage[] = [];
  const loaded = new Promise<void>((ok, fail) => {
    child.on('message', (m: ContenderMessage) => {
      messages.push(m);
      if (m.type === 'loaded') ok();
    });
    child.once('exit', (code) => fail(new Error(`${config.contender} ${config.workerId} exited (${code}) before loading`)));
  });
  loaded.catch(() => undefined);
  return { child, messages, loaded };
}

/** Runs `workers` processes of `contender` until every shard is drained (or `until` says so); returns the figures. */
async function run(
  contender: Contender,
  workers: number,
  ctx: { kinesis: string; dynamo: string; stream: Stream },
  options: { slowMillis?: number; until?: (received: number, seconds: number) => boolean } = {},
): Promise<RunResult & { rssKb: number[] }> {
  const applicationName = uniqueName(`peers-${contender}`);
  const shardIds = [...ctx.stream.last.keys()];
  const procs = Array.from({ length: workers }, (_, w) =>
    spawnWorker({
      contender,
      workerId: `w${w}`,
      kinesisEndpoint: ctx.kinesis,
      dynamoEndpoint: ctx.dynamo,
      streamName: ctx.stream.streamName,
      applicationName,
      shards: shardIds.filter((_, i) => i % workers === w),
      maxRecords: MAX_RECORDS,
      ...(options.slowMillis !== undefined ? { slowMillis: options.slowMillis } : {}),
    }),
  );
  try {
    await Promise.all(procs.map((p) => p.loaded));
    const t0 = performance.now();
    for (const p of procs) p.child.send({ type: 'go' });
    const latest = (p: (typeof procs)[number]): Extract<ContenderMessage, { type: 'progress' }> | undefined =>
      p.messages.findLast((m): m is Extract<ContenderMessage, { type: 'progress' }> => m.type === 'progress');
    const drained = (): boolean => {
      if (options.until) {
        const received = procs.reduce((n, p) => n + (latest(p)?.received ?? 0), 0);
        return options.until(received, (performance.now() - t0) / 1000);
      }
      const highest = new Map<string, bigint>();
      for (const p of procs) {
        for (const [shard, seq] of Object.entries(latest(p)?.highest ?? {})) {
          if (BigInt(seq) > (highest.get(shard) ?? -1n)) highest.set(shard, BigInt(seq));
        }
      }
      return [...ctx.stream.last].every(([shard, seq]) => highest.get(shard) === BigInt(seq));
    };
    while (!drained()) {
      if (performance.now() - t0 > RUN_TIMEOUT_MILLIS) throw new Error(`${contender} × ${workers}: not drained within ${RUN_TIMEOUT_MILLIS} ms`);
      const dead = procs.find((p) => p.child.exitCode !== null);
      if (dead) throw new Error(`${contender}: a worker exited (${dead.child.exitCode})`);
      await new Promise((r) => setTimeout(r, 20));
    }
    const seconds = (performance.now() - t0) / 1000;
    const done = procs.map(
      (p) =>
        new Promise<Extract<ContenderMessage, { type: 'done' }>>((ok) => {
          p.child.on('message', (m: ContenderMessage) => {
            if (m.type === 'done') ok(m);
          });
        }),
    );
    for (const p of procs) p.child.send({ type: 'stop' });
    const results = await Promise.all(done);
    const records = options.until ? results.reduce((n, r) => n + r.received, 0) : RECORDS;
    return {
      seconds,
      records,
      cpuSeconds: results.reduce((n, r) => n + r.cpuSeconds, 0),
      peakRssMiB: Math.max(...results.map((r) => r.maxRssKb)) / 1024,
      rssKb: results.map((r) => r.rssKb),
    };
  } finally {
    await Promise.all(
      procs.map(async (p) => {
        if (p.child.exitCode !== null || p.child.signalCode !== null) return;
        const gone = new Promise<void>((ok) => p.child.once('exit', () => ok()));
        const timer = setTimeout(() => p.child.kill('SIGKILL'), 5000);
        await gone;
        clearTimeout(timer);
      }),
    );
  }
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

async function main(): Promise<void> {
  console.log(`node ${process.version}, ${cpus().length} × ${cpus()[0]?.model ?? '?'}, ${(totalmem() / 2 ** 30).toFixed(1)} GiB`);
  const kinesis = await startEmulator('kinesalite');
  const dynamo = await startEmulator('dynalite');
  try {
    if (!args['skip-drain']) {
      console.log(`drain: ${RECORDS} records × ${RECORD_BYTES} B, ${SHARDS} shards, GetRecords Limit ${MAX_RECORDS}; kinesalite and dynalite in child processes`);
      const stream = await fill(kinesis.endpoint, SHARDS, RECORDS);
      const ctx = { kinesis: kinesis.endpoint, dynamo: dynamo.endpoint, stream };
      const pairs: [Contender, number][] = [
        ['bare', 1],
        ['ts-kcl', 1],
        ['lifion', 1],
        ['bare', 4],
        ['ts-kcl', 4],
        ['lifion', 4],
      ];
      const results = new Map<string, RunResult[]>(pairs.map(([c, w]) => [`${c} × ${w}`, []]));
      for (let round = 0; round < ROUNDS; round++) {
        const order = round % 2 === 0 ? pairs : [...pairs].reverse();
        for (const [contender, workers] of order) {
          const r = await run(contender, workers, ctx);
          results.get(`${contender} × ${workers}`)!.push(r);
          console.log(
            `  round ${round + 1} ${contender} × ${workers}: ${(r.records / r.seconds).toFixed(0)} records/s (${r.seconds.toFixed(2)} s), ` +
              `${((r.cpuSeconds / r.records) * 1e6).toFixed(1)} CPU-s/M, peak RSS ${r.peakRssMiB.toFixed(0)} MiB`,
          );
        }
      }
      const names: Record<Contender, string> = { bare: 'bare SDK GetRecords loop', 'ts-kcl': 'ts-kcl Scheduler', lifion: 'lifion-kinesis 1.3.3', 'slow-ts-kcl': '' };
      console.log('');
      console.log(`| contender | workers | records/s (median of ${ROUNDS}) | CPU-s per 1M records (all workers) | peak RSS per worker (MiB) |`);
      console.log('|---|---:|---:|---:|---:|');
      for (const [contender, workers] of pairs) {
        const rs = results.get(`${contender} × ${workers}`)!;
        console.log(
          `| ${names[contender]} | ${workers} | ${median(rs.map((r) => r.records / r.seconds)).toFixed(0)} | ` +
            `${median(rs.map((r) => (r.cpuSeconds / r.records) * 1e6)).toFixed(1)} | ${median(rs.map((r) => r.peakRssMiB)).toFixed(0)} |`,
        );
      }
    }

    if (!args['skip-rss']) {
      // RSS with many shards held and a slow processor: one worker, RSS_SHARDS shards with a backlog each,
      // 500 ms per batch; the fetchers' prefetch is bounded, so memory stays flat while the backlog waits.
      const perShard = 200;
      console.log('');
      console.log(`rss: 1 ts-kcl worker, ${RSS_SHARDS} shards × ${perShard} records × ${RECORD_BYTES} B backlog, processor 500 ms per batch, 45 s`);
      const stream = await fill(kinesis.endpoint, RSS_SHARDS, RSS_SHARDS * perShard);
      const r = await run('slow-ts-kcl', 1, { kinesis: kinesis.endpoint, dynamo: dynamo.endpoint, stream }, { slowMillis: 500, until: (_n, s) => s >= 45 });
      console.log(
        `  processed ${r.records} of ${RSS_SHARDS * perShard} records in ${r.seconds.toFixed(0)} s; peak RSS ${r.peakRssMiB.toFixed(0)} MiB, ` +
          `RSS at the end ${(r.rssKb[0]! / 1024).toFixed(0)} MiB; ${r.cpuSeconds.toFixed(1)} CPU-s`,
      );
    }
  } finally {
    await stopChild(kinesis.child);
    await stopChild(dynamo.child);
  }
}

await main();
