// A ts-kcl worker with a `recordHandler` (processing.maxInFlight > 1) as a separate OS process, for
// test/integration/parallel-processing.test.ts. Configured by a `ParallelWorkerConfig` JSON in argv[2]. It reports
// over IPC when each record starts (before the handler's work) and when it is done (the handler resolves only after
// that report is handed to the channel, so a record the library checkpointed past was always reported done), every
// checkpoint the library wrote, and lease events. SIGTERM → graceful shutdown → `stopped` → exit 0.
import { Scheduler } from '../../src/index.js';
import { TEST_CREDENTIALS, TEST_REGION } from './emulators.js';
import { seededRandom } from './seeded-random.js';

export interface ParallelWorkerConfig {
  kinesisEndpoint: string;
  dynamoEndpoint: string;
  streamName: string;
  applicationName: string;
  workerId: string;
  failoverTimeMillis: number;
  maxInFlight: number;
  minDelayMillis: number;
  maxDelayMillis: number;
  seed: number;
  /** Load, report `loaded`, and start the Scheduler only on a `go` message (hides the process start-up). */
  waitForGo?: boolean;
}

export type ParallelReport =
  | { type: 'loaded'; workerId: string }
  | { type: 'started'; workerId: string }
  | { type: 'start'; workerId: string; shardId: string; seq: string; key: string; attempt: number }
  | { type: 'done'; workerId: string; shardId: string; seq: string; key: string }
  | { type: 'checkpoint'; workerId: string; shardId: string; seq: string }
  | { type: 'event'; workerId: string; name: string; shardId: string; detail?: unknown }
  | { type: 'stopped'; workerId: string };

const config = JSON.parse(process.argv[2] ?? '{}') as ParallelWorkerConfig;
const { workerId } = config;
const random = seededRandom(config.seed);
let stopping = false;

function report(message: ParallelReport): Promise<void> {
  return new Promise((resolve) => {
    if (!process.connected || !process.send) {
      resolve();
      return;
    }
    process.send(message, undefined, {}, () => resolve());
  });
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

const scheduler = new Scheduler({
  applicationName: config.applicationName,
  streamName: config.streamName,
  workerId,
  region: TEST_REGION,
  credentials: TEST_CREDENTIALS,
  endpoints: { kinesis: config.kinesisEndpoint, dynamodb: config.dynamoEndpoint },
  initialPosition: 'TRIM_HORIZON',
  leases: { failoverTimeMillis: config.failoverTimeMillis, gracefulHandoffTimeoutMillis: 5000 },
  retrieval: { mode: 'polling', idleTimeBetweenReadsMillis: 100 },
  recordHandler: async (record, { shardId, attempt }) => {
    const seq = record.sequenceNumber;
    void report({ type: 'start', workerId, shardId, seq, key: record.partitionKey, attempt });
    await sleep(config.minDelayMillis + random() * (config.maxDelayMillis - config.minDelayMillis));
    await report({ type: 'done', workerId, shardId, seq, key: record.partitionKey });
  },
  processing: { maxInFlight: config.maxInFlight, checkpointIntervalMillis: 200 },
});

scheduler.on('processingCheckpointed', (e) => void report({ type: 'checkpoint', workerId, shardId: e.shardId, seq: e.sequenceNumber }));
for (const name of ['leaseAcquired', 'leaseLost', 'handoffRequested', 'handoffCompleted'] as const) {
  scheduler.on(name, (e: { shardId: string }) => void report({ type: 'event', workerId, name, shardId: e.shardId, detail: e }));
}

process.on('disconnect', () => {
  if (!stopping) process.exit(1);
});
process.once('SIGTERM', () => {
  stopping = true;
  void (async () => {
    await scheduler.startGracefulShutdown(10_000);
    await report({ type: 'stopped', workerId });
    if (process.connected) process.disconnect();
    process.exit(0);
  })();
});

await report({ type: 'loaded', workerId });
if (config.waitForGo) await new Promise((resolve) => process.once('message', resolve));
await scheduler.start();
await report({ type: 'started', workerId });
