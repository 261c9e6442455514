// A ts-kcl worker as a separate OS process, for multi-worker scenarios and the failover benchmark.
//
//   spawn(process.execPath, ['--import', 'tsx', 'test/support/worker-process.ts', JSON.stringify(config)],
//         { stdio: ['ignore', 'pipe', 'pipe', 'ipc'] })
//
// Configured by a `WorkerConfig` (argv[2] JSON, or the KCL_WORKER_CONFIG environment variable). It runs one
// `Scheduler` whose processor reports every delivered batch (and, by default, every record), every checkpoint
// result (with the error `code` when refused) and every lifecycle call to the parent over the IPC channel. A
// batch is reported *before* it is checkpointed, and the checkpoint waits until the report is handed to the
// channel, so a SIGKILL can lose reports only of batches that were not checkpointed.
//
// SIGTERM → `startGracefulShutdown()` → report `stopped` → exit 0. Losing the parent (IPC disconnect) → exit 1.
import { Scheduler, KclError, type ShardRecordProcessor } from '../../src/index.js';
import type { Logger } from '../../src/util/logger.js';
import type { ReportedRecord, WorkerConfig, WorkerReport } from './worker-protocol.js';

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;
type Payload = DistributiveOmit<WorkerReport, 'workerId' | 't'>;

const raw = process.argv[2] ?? process.env.KCL_WORKER_CONFIG;
if (!raw) {
  console.error('worker-process: pass a WorkerConfig as JSON in argv[2] or KCL_WORKER_CONFIG');
  process.exit(2);
}
const config = JSON.parse(raw) as WorkerConfig;
const workerId = config.workerId;
let stopping = false;

if (!process.send) {
  console.error('worker-process: no IPC channel; spawn with stdio [..., "ipc"]');
  process.exit(2);
}

/** Sends one report; resolves once it is handed to the IPC channel. */
function report(payload: Payload): Promise<void> {
  const message: WorkerReport = { ...payload, workerId, t: Date.now() };
  return new Promise((resolve) => {
    if (!process.connected || !process.send) {
      resolve();
      return;
    }
    process.send(message, undefined, {}, () => resolve());
  });
}

function errorInfo(error: unknown): { code?: string; errorName?: string; message: string } {
  if (error instanceof KclError) return { code: error.code, errorName: error.name, message: error.message };
  if (error instanceof Error) return { errorName: error.name, message: error.message };
  return { message: String(error) };
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
const decoder = new TextDecoder();

function stderrLogger(bindings: Record<string, unknown>): Logger {
  const write = (level: string) => (obj: object, msg?: string): void => {
    const o = obj as Record<string, unknown>;
    const err = o.err instanceof Error ? { err: { name: o.err.name, message: o.err.message, code: (o.err as KclError).code } } : {};
    process.stderr.write(`${JSON.stringify({ level, t: Date.now(), workerId, ...bindings, ...o, ...err, msg })}\n`);
  };
  return {
    debug: () => undefined,
    info: config.logToStderr ? write('info') : () => undefined,
    warn: write('warn'),
    error: write('error'),
    child: (more) => stderrLogger({ ...bindings, ...more }),
  };
}

let batchCounter = 0;

function processorFor(shardId: string): ShardRecordProcessor {
  return {
    initialize: async (input) => {
      await report({
        type: 'initialize',
        shardId,
        sequenceNumber: input.extendedSequenceNumber.sequenceNumber,
        subSequenceNumber: input.extendedSequenceNumber.subSequenceNumber,
      });
    },
    processRecords: async (input) => {
      const batch = ++batchCounter;
      const records = input.records;
      const last = records[records.length - 1];
      const full = (config.reportRecords ?? 'full') === 'full';
      await report({
        type: 'records',
        shardId,
        batch,
        count: records.length,
        first: records[0]?.sequenceNumber ?? '',
        last: last?.sequenceNumber ?? '',
        ...(full
          ? {
              records: records.map(
                (r): ReportedRecord => ({ sequenceNumber: r.sequenceNumber, subSequenceNumber: r.subSequenceNumber, data: decoder.decode(r.data) }),
              ),
            }
          : {}),
      });
      // Deliberately not interrupted by input.signal: a stopped-and-resumed process carries on like a zombie.
      if (config.processingDelayMillis) await sleep(config.processingDelayMillis);
      const batchEnd = Date.now();
      if (config.checkpointEveryBatch ?? true) {
        try {
          await input.checkpointer.checkpoint();
          await report({ type: 'checkpoint', shardId, phase: 'processRecords', batch, target: last?.sequenceNumber ?? null, ok: true, batchEnd });
        } catch (error) {
          await report({ type: 'checkpoint', shardId, phase: 'processRecords', batch, target: last?.sequenceNumber ?? null, ok: false, batchEnd, ...errorInfo(error) });
        }
      }
    },
    leaseLost: async () => {
      await report({ type: 'leaseLost', shardId });
    },
    shardEnded: async ({ checkpointer }) => {
      await report({ type: 'shardEnded', shardId });
      try {
        await checkpointer.checkpoint();
        await report({ type: 'checkpoint', shardId, phase: 'shardEnded', target: 'SHARD_END', ok: true });
      } catch (error) {
        await report({ type: 'checkpoint', shardId, phase: 'shardEnded', target: 'SHARD_END', ok: false, ...errorInfo(error) });
        throw error;
      }
    },
    shutdownRequested: async ({ checkpointer }) => {
      await report({ type: 'shutdownRequested', shardId });
      try {
        await checkpointer.checkpoint();
        await report({ type: 'checkpoint', shardId, phase: 'shutdownRequested', target: checkpointer.lastCheckpoint.sequenceNumber, ok: true });
      } catch (error) {
        await report({ type: 'checkpoint', shardId, phase: 'shutdownRequested', target: null, ok: false, ...errorInfo(error) });
      }
    },
  };
}

const scheduler = new Scheduler({
  applicationName: config.applicationName,
  streamName: config.streamName,
  workerId,
  region: 'us-east-1',
  credentials: { accessKeyId: 'AKIDLOCALTEST', secretAccessKey: 'local-test-secret' },
  endpoints: { kinesis: config.kinesisEndpoint, dynamodb: config.dynamoEndpoint },
  initialPosition: config.initialPosition ?? 'TRIM_HORIZON',
  processorFactory: ({ shardId }) => processorFor(shardId),
  leases: {
    failoverTimeMillis: config.failoverTimeMillis,
    ...(config.takerIntervalMillis !== undefined ? { takerIntervalMillis: config.takerIntervalMillis } : {}),
    ...(config.maxLeasesToStealAtOneTime !== undefined ? { maxLeasesToStealAtOneTime: config.maxLeasesToStealAtOneTime } : {}),
    ...(config.cleanupIntervalMillis !== undefined ? { cleanupIntervalMillis: config.cleanupIntervalMillis } : {}),
  },
  ...(config.shardSyncIntervalMillis !== undefined ? { shardSyncIntervalMillis: config.shardSyncIntervalMillis } : {}),
  ...(config.parentShardPollIntervalMillis !== undefined ? { parentShardPollIntervalMillis: config.parentShardPollIntervalMillis } : {}),
  retrieval:
    config.retrievalMode === 'fanout'
      ? { mode: 'fanout' }
      : {
          mode: 'polling',
          idleTimeBetweenReadsMillis: config.idleTimeBetweenReadsMillis ?? 100,
          ...(config.maxRecords !== undefined ? { maxRecords: config.maxRecords } : {}),
        },
  ...(config.onProcessingError ? { onProcessingError: config.onProcessingError } : {}),
  logger: stderrLogger({}),
});

const forward = (name: string, shardId: string | undefined, detail: Record<string, unknown>): void => {
  void report({ type: 'event', name, ...(shardId !== undefined ? { shardId } : {}), detail });
};
scheduler.on('leaseAcquired', (e) => forward('leaseAcquired', e.shardId, { leaseKey: e.leaseKey, stolen: e.stolen }));
scheduler.on('leaseLost', (e) => forward('leaseLost', e.shardId, { leaseKey: e.leaseKey, reason: e.reason }));
scheduler.on('shardConsumerStopped', (e) => forward('shardConsumerStopped', e.shardId, { reason: e.reason, recordsDelivered: e.recordsDelivered }));
scheduler.on('processingError', (e) => forward('processingError', e.shardId, { phase: e.phase, attempt: e.attempt, ...errorInfo(e.error) }));
scheduler.on('taskError', (e) => forward('taskError', undefined, { task: e.task, ...errorInfo(e.error) }));

process.on('disconnect', () => {
  // The parent is gone: never outlive it.
  if (!stopping) process.exit(1);
});

process.once('SIGTERM', () => {
  stopping = true;
  void (async () => {
    let finishedInTime = false;
    try {
      finishedInTime = await scheduler.startGracefulShutdown(config.gracefulTimeoutMillis ?? 10_000);
    } catch (error) {
      await report({ type: 'fatal', ...errorInfo(error) });
    }
    await report({ type: 'stopped', graceful: true, finishedInTime });
    if (process.connected) process.disconnect();
    process.exit(0);
  })();
});

try {
  await scheduler.start();
  await report({ type: 'started', pid: process.pid });
} catch (error) {
  await report({ type: 'fatal', ...errorInfo(error) });
  console.error('worker-process: start failed', error);
  process.exit(1);
}
