/**
 * Record-level concurrency (`recordHandler` + `processing.maxInFlight`) against the batch processor doing the same
 * work sequentially, in the same run (issue 18).
 *
 *   npx tsx bench/parallel-processing.ts [--records 20000] [--keys 64] [--delay 10] [--in-flight 1,4,16,64] [--rounds 1]
 *     [--checkpoint-interval ms] [--isolate] [--diag]
 *
 * - One shard on kinesalite (child process) and dynalite (child process), filled once with `--records` records over
 *   `--keys` partition keys (100-byte payloads). Every contender drains the same shard from TRIM_HORIZON with a fresh
 *   application (its own lease table); the clock and `process.cpuUsage()` run from the first record handed to the
 *   application until the last one finished (worker start-up excluded).
 * - The work per record is `await setTimeout(delay)` (an I/O-bound call). The baseline is a `processorFactory`
 *   whose `processRecords` awaits it for each record in turn and checkpoints per batch; the contenders are a
 *   `recordHandler` at each `maxInFlight` (order per partition key, the library's checkpoint interval).
 * - `--checkpoint-interval` sets the contenders' `processing.checkpointIntervalMillis` (default: the library's, 5 s):
 *   the baseline checkpoints once per batch (up to 10 000 records), a record handler every interval.
 * - `--isolate` runs each contender in a fresh Node process (same emulators and stream): nothing shared with
 *   whatever ran before it in the bench process.
 * - `--diag` prints, per contender and round, where its CPU went (`bench/process-diagnostics.ts`: CPU per thread,
 *   user/system time, context switches, page faults and GC pauses over the timed span).
 * - `--rounds N` runs every contender once per round, interleaved (baseline first in odd rounds, last in even
 *   ones), and prints the medians: seconds, records/s and CPU per record as measured, speed-up and CPU ratio per round against that round's
 *   baseline. Each row is also printed (stderr) as it finishes.
 * - Prints records/s, the speed-up over the baseline, the mean number of records inside the work (idle slots show as
 *   a mean below the bound), the work's real mean duration (timer lateness), and CPU microseconds per record.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { dirname, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { createKinesisClient } from '../src/aws/clients.js';
import { KinesisAdmin } from '../src/aws/kinesis-admin.js';
import { PROCESSING_DEFAULTS } from '../src/config/option-defaults.js';
import { Scheduler, type SchedulerOptions } from '../src/index.js';
import { startDiagnostics, type Diagnostics } from './process-diagnostics.js';
import { TEST_CREDENTIALS, TEST_REGION, uniqueName } from '../test/support/emulators.js';

const { values: args } = parseArgs({
  options: {
    records: { type: 'string', default: '20000' },
    keys: { type: 'string', default: '64' },
    delay: { type: 'string', default: '10' },
    'in-flight': { type: 'string', default: '1,4,16,64' },
    rounds: { type: 'string', default: '1' },
    'checkpoint-interval': { type: 'string' },
    isolate: { type: 'boolean', default: false },
    diag: { type: 'boolean', default: false },
    // Internal (--isolate): run one contender against the given emulators and stream, print its result as JSON.
    one: { type: 'string' },
    'one-base': { type: 'string' },
  },
});
const RECORDS = Number(args.records);
const KEYS = Number(args.keys);
const DELAY = Number(args.delay);
const IN_FLIGHT = args['in-flight'].split(',').map(Number);
const ROUNDS = Number(args.rounds);
const CHECKPOINT_INTERVAL = args['checkpoint-interval'] === undefined ? undefined : Number(args['checkpoint-interval']);
const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

function child(script: string): Promise<{ endpoint: string; proc: ChildProcess }> {
  const proc = spawn(process.execPath, ['-e', script], { cwd: ROOT, stdio: ['pipe', 'pipe', 'inherit'] });
  process.on('exit', () => proc.kill('SIGKILL'));
  return new Promise((resolvePort, reject) => {
    let out = '';
    proc.once('exit', (code) => reject(new Error(`emulator child exited (${code})`)));
    proc.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString('utf8');
      if (out.includes('\n')) resolvePort({ endpoint: `http://127.0.0.1:${(JSON.parse(out.split('\n')[0]!) as { port: number }).port}`, proc });
    });
  });
}
const serve = (lib: string, opts: string): string => `
const server = require('${lib}')(${opts});
server.listen(0, '127.0.0.1', () => console.log(JSON.stringify({ port: server.address().port })));
process.stdin.on('end', () => process.exit(0));
process.stdin.resume();`;

interface Result {
  name: string;
  seconds: number;
  cpuMicrosPerRecord: number;
  /** Time-weighted mean of records inside the work (between its start and its end), over the timed span. */
  meanInFlight: number;
  /** Mean real duration of one `await setTimeout(delay)` (timer lateness included). */
  meanWorkMillis: number;
}

/**
 * Where the time goes: how many records are inside the work on average (idle slots show as a mean below the bound)
 * and how long the work really takes (timers fire late on a loaded machine). Speed-up ≈ (mean in flight ÷ the
 * baseline's) × (the baseline's work time ÷ this one's).
 */
class Occupancy {
  private active = 0;
  private since = 0;
  private area = 0;
  private workMillis = 0;
  private works = 0;

  async work(): Promise<void> {
    const start = performance.now();
    this.shift(start, 1);
    await sleep(DELAY);
    const end = performance.now();
    this.shift(end, -1);
    this.workMillis += end - start;
    this.works++;
  }

  meanInFlight(from: number, to: number): number {
    this.shift(to, 0);
    return this.area / (to - from);
  }

  meanWork(): number {
    return this.workMillis / this.works;
  }

  private shift(now: number, delta: number): void {
    if (this.since > 0) this.area += this.active * (now - this.since);
    this.since = now;
    this.active += delta;
  }
}

async function run(name: string, base: Omit<SchedulerOptions, 'applicationName' | 'processorFactory'>, kind: 'batch' | number): Promise<Result> {
  let finished = 0;
  let resolveDone!: () => void;
  const done = new Promise<void>((r) => (resolveDone = r));
  // Timed from the first record handed to the application (so table creation and shard sync do not count).
  let t0 = 0;
  let cpu0: NodeJS.CpuUsage | undefined;
  let diagnostics: Diagnostics | undefined;
  const first = (): void => {
    if (cpu0 !== undefined) return;
    if (args.diag) diagnostics = startDiagnostics();
    cpu0 = process.cpuUsage();
    t0 = performance.now();
  };
  const occupancy = new Occupancy();
  const count = (n: number): void => {
    finished += n;
    if (finished >= RECORDS) resolveDone();
  };
  const options: SchedulerOptions =
    kind === 'batch'
      ? {
          ...base,
          applicationName: uniqueName('bench-batch'),
          processorFactory: () => ({
            initialize() {},
            async processRecords({ records, checkpointer }) {
              if (records.length > 0) first();
              for (let i = 0; i < records.length; i++) await occupancy.work();
              await checkpointer.checkpoint();
              count(records.length);
            },
            leaseLost() {},
            async shardEnded({ checkpointer }) {
              await checkpointer.checkpoint();
            },
          }),
        }
      : {
          ...base,
          applicationName: uniqueName('bench-par'),
          recordHandler: async () => {
            first();
            await occupancy.work();
            count(1);
          },
          processing: {
            maxInFlight: kind,
            maxBufferedRecords: Math.max(1000, kind),
            ...(CHECKPOINT_INTERVAL === undefined ? {} : { checkpointIntervalMillis: CHECKPOINT_INTERVAL }),
          },
        };
  const scheduler = new Scheduler(options);
  await scheduler.start();
  await done;
  const t1 = performance.now();
  const cpu = process.cpuUsage(cpu0);
  for (const line of diagnostics?.stop(RECORDS) ?? []) console.error(`  ${name}: ${line}`);
  await scheduler.shutdown();
  return {
    name,
    seconds: (t1 - t0) / 1000,
    cpuMicrosPerRecord: (cpu.user + cpu.system) / RECORDS,
    meanInFlight: occupancy.meanInFlight(t0, t1),
    meanWorkMillis: occupancy.meanWork(),
  };
}

async function main(): Promise<void> {
  const [kinesis, dynamo] = await Promise.all([
    child(serve('kinesalite', '{ createStreamMs: 5, deleteStreamMs: 5, updateStreamMs: 5 }')),
    child(serve('dynalite', '{ createTableMs: 5, deleteTableMs: 5, updateTableMs: 5 }')),
  ]);
  const admin = new KinesisAdmin(createKinesisClient({ region: TEST_REGION, endpoint: kinesis.endpoint, credentials: TEST_CREDENTIALS }), { requestTimeoutMillis: 60_000 });
  const streamName = uniqueName('bench-par');
  await admin.createStream(streamName, 1);
  await admin.waitForStreamActive({ streamName }, 30_000);
  const payload = new Uint8Array(100);
  for (let i = 0; i < RECORDS; i += 500) {
    const n = Math.min(500, RECORDS - i);
    await admin.putRecords({ streamName }, Array.from({ length: n }, (_, j) => ({ partitionKey: `key-${(i + j) % KEYS}`, data: payload })));
  }
  const base = {
    streamName,
    workerId: 'bench',
    region: TEST_REGION,
    credentials: TEST_CREDENTIALS,
    endpoints: { kinesis: kinesis.endpoint, dynamodb: dynamo.endpoint },
    initialPosition: 'TRIM_HORIZON' as const,
    retrieval: { mode: 'polling' as const, idleTimeBetweenReadsMillis: 200 },
  };
  console.log(`one shard, ${RECORDS} records over ${KEYS} keys, handler awaits ${DELAY} ms, checkpoint interval ${CHECKPOINT_INTERVAL ?? PROCESSING_DEFAULTS.checkpointIntervalMillis} ms; node ${process.version}`);
  const contenders: Array<{ name: string; kind: 'batch' | number }> = [
    { name: 'batch processor, sequential (baseline)', kind: 'batch' },
    ...IN_FLIGHT.map((n) => ({ name: `recordHandler, maxInFlight ${n}`, kind: n })),
  ];
  if (args.isolate) console.log('each contender in a process of its own (--isolate)');
  const rounds: Result[][] = [];
  for (let round = 1; round <= ROUNDS; round++) {
    // Alternating order (baseline first in odd rounds, last in even ones): whoever runs second shares the process
    // with what the first one left behind (heap, sockets, JIT state), so a fixed order would bias the CPU ratio.
    const order = round % 2 === 1 ? contenders.map((_, i) => i) : contenders.map((_, i) => contenders.length - 1 - i);
    const results: Result[] = new Array<Result>(contenders.length);
    for (const i of order) {
      const c = contenders[i]!;
      const r = args.isolate ? await runIsolated(c, base) : await run(c.name, base, c.kind);
      results[i] = r;
      console.error(`round ${round}: ${c.name}: ${r.seconds.toFixed(1)} s, in flight ${r.meanInFlight.toFixed(2)}, work ${r.meanWorkMillis.toFixed(1)} ms, CPU ${r.cpuMicrosPerRecord.toFixed(0)} µs/record`);
    }
    rounds.push(results);
  }
  const median = (xs: number[]): number => {
    const sorted = [...xs].sort((a, b) => a - b);
    const mid = Math.floor(sorted.length / 2);
    return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
  };
  console.log(ROUNDS > 1 ? `medians of ${ROUNDS} interleaved rounds (ratios per round against that round's baseline)` : 'one round');
  console.log('| contender | seconds | records/s | speed-up vs baseline | mean in flight | work ms (mean) | CPU µs/record | CPU vs baseline |');
  console.log('|---|---:|---:|---:|---:|---:|---:|---:|');
  contenders.forEach((c, i) => {
    const of = (f: (r: Result, baseline: Result) => number): number => median(rounds.map((rs) => f(rs[i]!, rs[0]!)));
    const seconds = of((r) => r.seconds);
    console.log(
      `| ${c.name} | ${seconds.toFixed(1)} | ${of((r) => RECORDS / r.seconds).toFixed(0)} | ${of((r, b) => b.seconds / r.seconds).toFixed(2)}× | ${of((r) => r.meanInFlight).toFixed(2)} | ${of((r) => r.meanWorkMillis).toFixed(1)} | ${of((r) => r.cpuMicrosPerRecord).toFixed(0)} | ${of((r, b) => r.cpuMicrosPerRecord / b.cpuMicrosPerRecord).toFixed(2)}× |`,
    );
  });
  kinesis.proc.stdin!.end();
  dynamo.proc.stdin!.end();
}

/**
 * `--isolate`: one contender in a fresh Node process (same emulators, same stream), so neither shares a heap, JIT
 * state or sockets with what ran before it; the child times itself exactly as in-process.
 */
function runIsolated(c: { name: string; kind: 'batch' | number }, base: object): Promise<Result> {
  const argv = ['--import', 'tsx', fileURLToPath(import.meta.url), '--records', String(RECORDS), '--keys', String(KEYS), '--delay', String(DELAY)];
  if (CHECKPOINT_INTERVAL !== undefined) argv.push('--checkpoint-interval', String(CHECKPOINT_INTERVAL));
  if (args.diag) argv.push('--diag');
  argv.push('--one', JSON.stringify({ name: c.name, kind: c.kind }), '--one-base', JSON.stringify(base));
  const proc = spawn(process.execPath, argv, { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  proc.stdout.on('data', (d: Buffer) => (out += d.toString()));
  return new Promise((resolveResult, reject) => {
    proc.once('exit', (code) => {
      const line = out.split('\n').find((l) => l.startsWith('RESULT '));
      if (code !== 0 || line === undefined) reject(new Error(`contender ${c.name} exited ${code}`));
      else resolveResult(JSON.parse(line.slice('RESULT '.length)) as Result);
    });
  });
}

if (args.one !== undefined) {
  const c = JSON.parse(args.one) as { name: string; kind: 'batch' | number };
  const base = JSON.parse(args['one-base']!) as Omit<SchedulerOptions, 'applicationName' | 'processorFactory'>;
  console.log(`RESULT ${JSON.stringify(await run(c.name, base, c.kind))}`);
} else {
  await main();
}
process.exit(0);
