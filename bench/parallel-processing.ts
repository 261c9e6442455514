/**
 * Record-level concurrency (`recordHandler` + `processing.maxInFlight`) against the batch processor doing the same
 * work sequentially, in the same run (issue 18).
 *
 *   npx tsx bench/parallel-processing.ts [--records 20000] [--keys 64] [--delay 10] [--in-flight 1,4,16,64]
 *
 * - One shard on kinesalite (child process) and dynalite (child process), filled once with `--records` records over
 *   `--keys` partition keys (100-byte payloads). Every contender drains the same shard from TRIM_HORIZON with a fresh
 *   application (its own lease table); the clock and `process.cpuUsage()` run from the first record handed to the
 *   application until the last one finished (worker start-up excluded).
 * - The work per record is `await setTimeout(delay)` (an I/O-bound call). The baseline is a `processorFactory`
 *   whose `processRecords` awaits it for each record in turn and checkpoints per batch; the contenders are a
 *   `recordHandler` at each `maxInFlight` (order per partition key, checkpoint every 1 s).
 * - Prints records/s, the speed-up over the baseline, and CPU microseconds per record.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { dirname, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { createKinesisClient } from '../src/aws/clients.js';
import { KinesisAdmin } from '../src/aws/kinesis-admin.js';
import { Scheduler, type SchedulerOptions } from '../src/index.js';
import { TEST_CREDENTIALS, TEST_REGION, uniqueName } from '../test/support/emulators.js';

const { values: args } = parseArgs({
  options: {
    records: { type: 'string', default: '20000' },
    keys: { type: 'string', default: '64' },
    delay: { type: 'string', default: '10' },
    'in-flight': { type: 'string', default: '1,4,16,64' },
  },
});
const RECORDS = Number(args.records);
const KEYS = Number(args.keys);
const DELAY = Number(args.delay);
const IN_FLIGHT = args['in-flight'].split(',').map(Number);
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
}

async function run(name: string, base: Omit<SchedulerOptions, 'applicationName' | 'processorFactory'>, kind: 'batch' | number): Promise<Result> {
  let finished = 0;
  let resolveDone!: () => void;
  const done = new Promise<void>((r) => (resolveDone = r));
  // Timed from the first record handed to the application (so table creation and shard sync do not count).
  let t0 = 0;
  let cpu0: NodeJS.CpuUsage | undefined;
  const first = (): void => {
    if (cpu0 !== undefined) return;
    cpu0 = process.cpuUsage();
    t0 = performance.now();
  };
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
              for (let i = 0; i < records.length; i++) await sleep(DELAY);
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
            await sleep(DELAY);
            count(1);
          },
          processing: { maxInFlight: kind, maxBufferedRecords: Math.max(1000, kind) },
        };
  const scheduler = new Scheduler(options);
  await scheduler.start();
  await done;
  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  await scheduler.shutdown();
  return { name, seconds, cpuMicrosPerRecord: (cpu.user + cpu.system) / RECORDS };
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
  console.log(`one shard, ${RECORDS} records over ${KEYS} keys, handler awaits ${DELAY} ms; node ${process.version}`);
  const results: Result[] = [await run('batch processor, sequential (baseline)', base, 'batch')];
  for (const n of IN_FLIGHT) results.push(await run(`recordHandler, maxInFlight ${n}`, base, n));
  const baseline = results[0]!;
  console.log('| contender | seconds | records/s | speed-up vs baseline | CPU µs/record | CPU vs baseline |');
  console.log('|---|---:|---:|---:|---:|---:|');
  for (const r of results) {
    console.log(
      `| ${r.name} | ${r.seconds.toFixed(1)} | ${(RECORDS / r.seconds).toFixed(0)} | ${(baseline.seconds / r.seconds).toFixed(2)}× | ${r.cpuMicrosPerRecord.toFixed(0)} | ${(r.cpuMicrosPerRecord / baseline.cpuMicrosPerRecord).toFixed(2)}× |`,
    );
  }
  kinesis.proc.stdin!.end();
  dynamo.proc.stdin!.end();
}

await main();
process.exit(0);
