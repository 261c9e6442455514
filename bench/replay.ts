/**
 * The read path's ceiling (issue 21): GetRecords answers recorded once from kinesalite, replayed at memory speed by
 * a local endpoint in its own process (bench/replay-server.ts), so the emulator is out of the measurement. Compares,
 * in records per second per core (records ÷ the consumer's CPU-seconds) and CPU-seconds per million records:
 *
 * - the platform floor: `JSON.parse` + base64 decode of the same recorded bytes (no HTTP, no SDK);
 * - the bare SDK loop: GetShardIterator + GetRecords per shard with the SDK's own deserializer (for the KPL corpus,
 *   deaggregated with aws-kinesis-agg, MD5 checked — what a user without ts-kcl would write);
 * - ts-kcl's PollingFetcher alone, with the lean GetRecords deserializer and with the SDK's (`leanGetRecords: false`);
 * - the whole Scheduler (lease table in dynalite, in a child process; checkpoint after every batch).
 *
 *   npx tsx bench/replay.ts [--corpus plain|kpl] [--shards 4] [--page 1000] [--rounds 5] [--skip-scheduler] [--only NAME]
 *   npx tsx bench/replay.ts --subscribe [--corpus plain|kpl] ...   SubscribeToShard: bare SDK loop vs FanOutSubscriber
 *
 * With `--subscribe` the same recorded pages are served as SubscribeToShard event streams (one event per page, in
 * the wire format; see bench/replay-server.ts) and the contenders are the bare SDK subscription loop and ts-kcl's
 * `FanOutSubscriber`, with the lean event-stream decoding and with the SDK's (`leanSubscribeToShard: false`); the
 * floor row is the same.
 *
 * Corpora: `plain` — 10 000 records of 1 KiB; `kpl` — 1 000 KPL aggregates of 10 user records of 100 B (10 000 user
 * records). "Records" are user records throughout. One untimed warm-up per contender, then `--rounds` rounds in
 * alternating order; medians.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { rmSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { cpus, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { Readable } from 'node:stream';
import { GetRecordsCommand, GetShardIteratorCommand } from '@aws-sdk/client-kinesis';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { createKinesisClient } from '../src/aws/clients.js';
import { KinesisAdmin, type PutRecordInput } from '../src/aws/kinesis-admin.js';
import { KinesisApi } from '../src/aws/kinesis-api.js';
import { evenHashKeyRanges } from '../src/shards/hash-key-range.js';
import { RecordAggregator } from '../src/retrieval/kpl/aggregator.js';
import { startKinesalite, TEST_CREDENTIALS, TEST_REGION, uniqueName } from '../test/support/emulators.js';
import { drainBareSdk, drainBareSubscribe, drainFanOutSubscribers, drainPollingFetchers, drainScheduler, type Contender, type DrainContext } from './drain-contenders.js';
import type { Recording } from './replay-server.js';

const { values: args } = parseArgs({
  options: {
    corpus: { type: 'string', default: 'plain' },
    shards: { type: 'string', default: '4' },
    page: { type: 'string', default: '1000' },
    rounds: { type: 'string', default: '5' },
    'skip-scheduler': { type: 'boolean', default: false },
    /** SubscribeToShard instead of GetRecords: the bare SDK subscription loop against ts-kcl's FanOutSubscriber. */
    subscribe: { type: 'boolean', default: false },
    /** Write a CPU profile (node:inspector) of each measured drain: PREFIX-<contender>-<round>.cpuprofile. */
    'cpu-prof': { type: 'string' },
    /** Only the contenders whose name contains this (plus the floor and the bare loop, the baselines). */
    only: { type: 'string' },
  },
});
const KPL = args.corpus === 'kpl';
if (!KPL && args.corpus !== 'plain') throw new Error(`--corpus plain|kpl, got ${args.corpus}`);
const SHARDS = Number(args.shards);
const PAGE = Number(args.page);
const ROUNDS = Number(args.rounds);
/** Kinesis records put: 10 000 plain ones, or 1 000 aggregates. */
const KINESIS_RECORDS = KPL ? 1_000 : 10_000;
const USER_PER_AGGREGATE = 10;
const RECORD_BYTES = KPL ? 100 : 1024;
const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const SERVER = fileURLToPath(new URL('./replay-server.ts', import.meta.url));
/** Must match bench/replay-server.ts. */
const NEXT_ITERATOR_PLACEHOLDER = '@@NEXT_ITERATOR@@';

type Handle = NodeHttpHandler['handle'];

/** The SDK's HTTP handler, keeping a copy of every answer body (read whole, then handed on as bytes). */
class RecordingHandler extends NodeHttpHandler {
  readonly answers: { op: string; contentType: string; body: Buffer }[] = [];

  override async handle(...[request, options]: Parameters<Handle>): ReturnType<Handle> {
    const out = await super.handle(request, options);
    const chunks: Buffer[] = [];
    for await (const chunk of out.response.body as Readable) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks);
    out.response.body = body;
    const op = String(request.headers['x-amz-target'] ?? '').split('.').pop() ?? '';
    // A copy: the SDK's deserializer re-types the bytes it is given (Uint8ArrayBlobAdapter).
    this.answers.push({ op, contentType: String(out.response.headers['content-type']), body: Buffer.from(body) });
    return out;
  }
}

/** Fills kinesalite with the corpus and records every answer a drain needs. */
async function record(): Promise<{ recording: Recording; streamName: string; perShard: Map<string, number> }> {
  const kinesalite = await startKinesalite({ shardLimit: 1000 });
  const handler = new RecordingHandler();
  const client = createKinesisClient({ region: TEST_REGION, endpoint: kinesalite.endpoint, credentials: TEST_CREDENTIALS, requestHandler: handler });
  try {
    const admin = new KinesisAdmin(client, { requestTimeoutMillis: 60_000 });
    const api = new KinesisApi(client);
    const streamName = uniqueName('replay');
    await admin.createStream(streamName, SHARDS);
    await admin.waitForStreamActive({ streamName }, 30_000);
    const ranges = evenHashKeyRanges(SHARDS);
    const pool = randomBytes(RECORD_BYTES * 64);
    const payload = (i: number): Uint8Array => pool.subarray((i % 64) * RECORD_BYTES, ((i % 64) + 1) * RECORD_BYTES);
    const inputs: PutRecordInput[] = Array.from({ length: KINESIS_RECORDS }, (_, i) => {
      const explicitHashKey = ranges[i % SHARDS]!.startingHashKey;
      if (!KPL) return { partitionKey: `pk-${i}`, explicitHashKey, data: payload(i) };
      const users = Array.from({ length: USER_PER_AGGREGATE }, (_, j) => ({ partitionKey: `pk-${i}-${j}`, data: payload(i * USER_PER_AGGREGATE + j) }));
      const [aggregate] = RecordAggregator.aggregate(users);
      return { partitionKey: aggregate!.partitionKey, explicitHashKey, data: aggregate!.data };
    });
    const perShard = new Map<string, number>();
    for (let i = 0; i < inputs.length; i += 500) {
      for (const r of await admin.putRecords({ streamName }, inputs.slice(i, i + 500))) {
        perShard.set(r.shardId, (perShard.get(r.shardId) ?? 0) + (KPL ? USER_PER_AGGREGATE : 1));
      }
    }
    const shards = await api.listShards({ streamName });
    await api.describeStreamSummary({ streamName });
    const recording: Recording = { contentType: '', answers: {}, shards: [] };
    for (const a of handler.answers) {
      if (a.op === 'ListShards' || a.op === 'DescribeStreamSummary') recording.answers[a.op] = a.body.toString('base64');
    }
    for (const shard of shards) {
      const it = await client.send(new GetShardIteratorCommand({ StreamName: streamName, ShardId: shard.shardId, ShardIteratorType: 'TRIM_HORIZON' }));
      let iterator = it.ShardIterator;
      const pages: string[] = [];
      for (;;) {
        const out = await client.send(new GetRecordsCommand({ ShardIterator: iterator, Limit: PAGE }));
        const answer = handler.answers.at(-1)!;
        recording.contentType = answer.contentType;
        const text = answer.body.toString('utf8');
        const replaced = text.replace(/"NextShardIterator":"[^"]*"/, `"NextShardIterator":"${NEXT_ITERATOR_PLACEHOLDER}"`);
        if (replaced === text) throw new Error(`recorded ${answer.op} answer without NextShardIterator: ${text.slice(0, 80)}...${text.slice(-200)}`);
        pages.push(replaced);
        iterator = out.NextShardIterator;
        if ((out.Records ?? []).length === 0) break;
      }
      recording.shards.push({ shardId: shard.shardId, pages });
    }
    return { recording, streamName, perShard };
  } finally {
    client.destroy();
    await kinesalite.stop();
  }
}

const children = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of children) child.kill('SIGKILL');
});

async function startChild(argv: string[]): Promise<{ endpoint: string; child: ChildProcess }> {
  const child = spawn(process.execPath, argv, { cwd: ROOT, stdio: ['pipe', 'pipe', 'inherit'] });
  children.add(child);
  const port = await new Promise<number>((resolvePort, reject) => {
    let out = '';
    child.once('exit', (code) => reject(new Error(`child ${argv.join(' ').slice(0, 60)} exited (${code})`)));
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString('utf8');
      const line = out.split('\n')[0];
      if (out.includes('\n') && line) resolvePort((JSON.parse(line) as { port: number }).port);
    });
  });
  return { endpoint: `http://127.0.0.1:${port}`, child };
}

const DYNALITE_CHILD = `
const dynalite = require('dynalite');
const server = dynalite({ createTableMs: 5, deleteTableMs: 5, updateTableMs: 5 });
server.listen(0, '127.0.0.1', () => console.log(JSON.stringify({ port: server.address().port })));
process.stdin.on('end', () => process.exit(0));
process.stdin.resume();
`;

/** The floor: the same recorded bytes, `JSON.parse` then every `Data` base64-decoded; nothing else. */
function floorContender(recording: Recording, userRecords: number): Contender {
  const pages = recording.shards.flatMap((s) => s.pages.map((p) => Buffer.from(p, 'utf8')));
  return {
    name: 'platform floor: JSON.parse + base64',
    drain: async () => {
      let bytes = 0;
      for (const page of pages) {
        const out = JSON.parse(page.toString('utf8')) as { Records: { Data: string }[] };
        for (const r of out.Records) bytes += Buffer.from(r.Data, 'base64').byteLength;
      }
      if (bytes === 0) throw new Error('no payload bytes');
      return userRecords;
    },
  };
}

interface Measurement {
  records: number;
  seconds: number;
  cpuSeconds: number;
}

async function measure(contender: Contender, ctx: DrainContext, expected: number): Promise<Measurement> {
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const records = await contender.drain(ctx);
  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  if (records !== expected) throw new Error(`${contender.name} received ${records} records, expected ${expected}`);
  return { records, seconds, cpuSeconds: (cpu.user + cpu.system) / 1e6 };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

async function main(): Promise<void> {
  console.log(`node ${process.version}, ${cpus().length} × ${cpus()[0]?.model ?? '?'}`);
  const corpus = KPL ? `${KINESIS_RECORDS} KPL aggregates of ${USER_PER_AGGREGATE} × ${RECORD_BYTES} B` : `${KINESIS_RECORDS} × ${RECORD_BYTES} B records`;
  console.log(`replay: ${corpus}, ${SHARDS} shards, GetRecords Limit ${PAGE}, recorded from kinesalite`);
  const { recording, streamName, perShard } = await record();
  const file = join(tmpdir(), `ts-kcl-replay-${process.pid}.json`);
  writeFileSync(file, JSON.stringify(recording));
  const pageCount = recording.shards.reduce((n, s) => n + s.pages.length, 0);
  const answerBytes = recording.shards.reduce((n, s) => n + s.pages.reduce((m, p) => m + Buffer.byteLength(p), 0), 0);
  console.log(`recorded ${pageCount} GetRecords answers, ${(answerBytes / 1024 / 1024).toFixed(1)} MiB, content-type ${recording.contentType}`);
  const replay = await startChild(['--import', 'tsx', SERVER, file]);
  const dynamo = args['skip-scheduler'] || args.subscribe ? undefined : await startChild(['-e', DYNALITE_CHILD]);
  const ctx: DrainContext = {
    endpoint: replay.endpoint,
    stream: { streamName },
    shards: recording.shards.map((s) => ({ shardId: s.shardId, records: perShard.get(s.shardId) ?? 0 })),
    maxRecords: PAGE,
    kpl: KPL,
    ...(dynamo ? { dynamoEndpoint: dynamo.endpoint } : {}),
  };
  const total = ctx.shards.reduce((n, s) => n + s.records, 0);
  const all: Contender[] = args.subscribe ? [
    floorContender(recording, total),
    { name: KPL ? 'bare SDK SubscribeToShard loop + aws-kinesis-agg' : 'bare SDK SubscribeToShard loop', drain: drainBareSubscribe },
    { name: 'ts-kcl FanOutSubscriber, lean event stream', drain: (c) => drainFanOutSubscribers(c, true) },
    { name: 'ts-kcl FanOutSubscriber, SDK event stream', drain: (c) => drainFanOutSubscribers(c, false) },
  ] : [
    floorContender(recording, total),
    { name: KPL ? 'bare SDK GetRecords loop + aws-kinesis-agg' : 'bare SDK GetRecords loop', drain: drainBareSdk },
    { name: 'ts-kcl PollingFetcher, lean GetRecords', drain: (c) => drainPollingFetchers(c, true) },
    { name: 'ts-kcl PollingFetcher, SDK deserializer', drain: (c) => drainPollingFetchers(c, false) },
    ...(dynamo ? [{ name: 'ts-kcl Scheduler (checkpoint per batch)', drain: drainScheduler }] : []),
  ];
  const contenders = all.filter((c, i) => i < 2 || args.only === undefined || c.name.includes(args.only));
  try {
    for (const c of contenders) await measure(c, ctx, total); // warm-up: JIT, sockets
    const results = new Map<string, Measurement[]>(contenders.map((c) => [c.name, []]));
    const profiler = args['cpu-prof'] === undefined ? undefined : new Session();
    if (profiler) {
      profiler.connect();
      await profiler.post('Profiler.enable');
      await profiler.post('Profiler.setSamplingInterval', { interval: 200 });
    }
    for (let round = 0; round < ROUNDS; round++) {
      const order = round % 2 === 0 ? contenders : [...contenders].reverse();
      const line: string[] = [];
      for (const c of order) {
        if (profiler) await profiler.post('Profiler.start');
        const m = await measure(c, ctx, total);
        if (profiler) {
          const { profile } = await profiler.post('Profiler.stop');
          writeFileSync(`${args['cpu-prof']}-${contenders.indexOf(c)}-${round + 1}.cpuprofile`, JSON.stringify(profile));
        }
        results.get(c.name)!.push(m);
        line.push(`${c.name.split(' ').slice(0, 3).join(' ')} ${(m.records / m.cpuSeconds).toFixed(0)}/CPU-s`);
      }
      console.log(`  round ${round + 1}: ${line.join('; ')}`);
    }
    const summary = contenders.map((c) => {
      const ms = results.get(c.name)!;
      return {
        name: c.name,
        wallRate: median(ms.map((m) => m.records / m.seconds)),
        perCore: median(ms.map((m) => m.records / m.cpuSeconds)),
        cpuPerMillion: median(ms.map((m) => (m.cpuSeconds / m.records) * 1e6)),
      };
    });
    const floor = summary[0]!;
    const bare = summary[1]!;
    console.log('');
    console.log(`| contender | records/s per core (median of ${ROUNDS}) | CPU-s per 1M records | records/s wall | per core vs bare loop | CPU vs floor |`);
    console.log('|---|---:|---:|---:|---:|---:|');
    for (const s of summary) {
      console.log(
        `| ${s.name} | ${s.perCore.toFixed(0)} | ${s.cpuPerMillion.toFixed(2)} | ${s.wallRate.toFixed(0)} | ${(s.perCore / bare.perCore).toFixed(2)}× | ${(s.cpuPerMillion / floor.cpuPerMillion).toFixed(2)}× |`,
      );
    }
  } finally {
    for (const child of children) child.stdin?.end();
    rmSync(file, { force: true });
  }
}

await main();
