// One worker of the demo (scripts/demo.ts spawns several): a Scheduler that consumes the demo stream and
// reports every delivered batch to the parent over the IPC channel *before* checkpointing it, so the
// parent's view of "consumed" is never behind the lease table (at-least-once, as seen from outside).
//
//   node --import tsx scripts/demo-worker.ts --worker-id w1 --app A --stream S \
//        --kinesis-endpoint http://127.0.0.1:P --dynamodb-endpoint http://127.0.0.1:Q [--failover-ms 3000]
//
// SIGTERM → startGracefulShutdown (shutdownRequested checkpoints, leases handed back), then exit 0.
// SIGINT is ignored (the parent decides); a lost IPC channel (parent gone) → exit at once.
import { parseArgs } from 'node:util';
import { Scheduler, ShutdownError, type KinesisClientRecord, type Logger, type ShardRecordProcessor } from '../src/index.js';

/** Messages from a demo worker to the demo (the parent). */
export type WorkerMessage =
  | { t: 'ready' }
  | { t: 'acquired'; shardId: string; stolen: boolean }
  | { t: 'lost'; shardId: string; reason: string }
  | { t: 'stopped'; shardId: string; reason: string }
  | {
      t: 'batch';
      shardId: string;
      /** Ids carried by the records (their data is the decimal id). */
      ids: number[];
      millisBehindLatest?: number;
      /** Milliseconds between the last record's arrival in Kinesis and its delivery here. */
      ageMillis: number;
      /** Records out of order in this consumer run so far (sequence number not above the previous one). */
      orderViolations: number;
    }
  | { t: 'log'; level: 'warn' | 'error'; text: string }
  | { t: 'shutdown'; graceful: boolean };

// Dummy credentials: the local emulators accept any signature.
const CREDENTIALS = { accessKeyId: 'AKIDLOCALDEMO', secretAccessKey: 'local-demo-secret' };

const { values } = parseArgs({
  options: {
    'worker-id': { type: 'string' },
    app: { type: 'string' },
    stream: { type: 'string' },
    'kinesis-endpoint': { type: 'string' },
    'dynamodb-endpoint': { type: 'string' },
    'failover-ms': { type: 'string', default: '3000' },
    region: { type: 'string', default: 'us-east-1' },
  },
  strict: true,
});

function required(name: keyof typeof values): string {
  const value = values[name];
  if (typeof value !== 'string' || value === '') {
    process.stderr.write(`demo-worker: --${name} is required\n`);
    process.exit(2);
  }
  return value;
}

const workerId = required('worker-id');
const failoverTimeMillis = Number(values['failover-ms']);
if (!Number.isInteger(failoverTimeMillis) || failoverTimeMillis < 500) {
  process.stderr.write('demo-worker: --failover-ms must be an integer ≥ 500\n');
  process.exit(2);
}

/** Sends to the parent and resolves once the message is written to the channel. */
function send(message: WorkerMessage): Promise<void> {
  return new Promise((resolve, reject) => {
    if (!process.send || !process.connected) {
      reject(new Error('IPC channel to the demo is closed'));
      return;
    }
    process.send(message, undefined, {}, (error) => (error ? reject(error) : resolve()));
  });
}

/** Fire-and-forget variant for events (their order on the channel is still preserved). */
function notify(message: WorkerMessage): void {
  send(message).catch(() => undefined);
}

function describe(obj: object, msg?: string): string {
  const fields = Object.entries(obj)
    .map(([k, v]) => `${k}=${v instanceof Error ? v.message : typeof v === 'object' ? JSON.stringify(v) : String(v)}`)
    .join(' ');
  return [msg, fields].filter(Boolean).join(' ');
}

/** warn/error go to the parent (shown with --verbose) and to stderr; debug/info are dropped. */
function makeLogger(bindings: Record<string, unknown> = {}): Logger {
  const emit = (level: 'warn' | 'error') => (obj: object, msg?: string) => {
    const text = describe({ ...bindings, ...obj }, msg);
    process.stderr.write(`[${workerId}] ${level}: ${text}\n`);
    notify({ t: 'log', level, text });
  };
  return {
    debug: () => undefined,
    info: () => undefined,
    warn: emit('warn'),
    error: emit('error'),
    child: (more) => makeLogger({ ...bindings, ...more }),
  };
}

const decoder = new TextDecoder();

/** Reports each batch, then checkpoints it. One instance per shard and lease acquisition. */
function processorFor(shardId: string): ShardRecordProcessor {
  let lastSequence = -1n;
  let orderViolations = 0;
  return {
    initialize: () => undefined,
    processRecords: async ({ records, checkpointer, millisBehindLatest }) => {
      if (records.length === 0) return;
      const ids: number[] = new Array<number>(records.length);
      records.forEach((record: KinesisClientRecord, i) => {
        ids[i] = Number(decoder.decode(record.data));
        const sequence = BigInt(record.sequenceNumber);
        if (sequence <= lastSequence) orderViolations++;
        lastSequence = sequence;
      });
      const last = records[records.length - 1]!;
      await send({
        t: 'batch',
        shardId,
        ids,
        ...(millisBehindLatest !== undefined ? { millisBehindLatest } : {}),
        ageMillis: Math.max(0, Date.now() - last.approximateArrivalTimestamp.getTime()),
        orderViolations,
      });
      try {
        await checkpointer.checkpoint();
      } catch (error) {
        // The lease moved on (failover or steal): the new owner continues from the previous checkpoint.
        if (!(error instanceof ShutdownError)) throw error;
      }
    },
    leaseLost: () => undefined,
    shardEnded: async ({ checkpointer }) => {
      await checkpointer.checkpoint();
    },
    shutdownRequested: async ({ checkpointer }) => {
      try {
        await checkpointer.checkpoint();
      } catch (error) {
        if (!(error instanceof ShutdownError)) throw error;
      }
    },
  };
}

const scheduler = new Scheduler({
  applicationName: required('app'),
  streamName: required('stream'),
  workerId,
  region: values.region,
  credentials: CREDENTIALS,
  endpoints: { kinesis: required('kinesis-endpoint'), dynamodb: required('dynamodb-endpoint') },
  initialPosition: 'TRIM_HORIZON',
  leases: { failoverTimeMillis },
  // Small batches: kinesalite answers GetRecords in ~0.3 ms per record, so a catching-up shard shows progress sooner.
  retrieval: { mode: 'polling', idleTimeBetweenReadsMillis: 200, maxRecords: 250 },
  processorFactory: ({ shardId }) => processorFor(shardId),
  logger: makeLogger({ workerId }),
});

scheduler.on('leaseAcquired', ({ shardId, stolen }) => notify({ t: 'acquired', shardId, stolen }));
scheduler.on('leaseLost', ({ shardId, reason }) => notify({ t: 'lost', shardId, reason }));
scheduler.on('shardConsumerStopped', ({ shardId, reason }) => notify({ t: 'stopped', shardId, reason }));
scheduler.on('taskError', ({ task, error }) =>
  notify({ t: 'log', level: 'warn', text: `${task}: ${error instanceof Error ? error.message : String(error)}` }),
);
scheduler.on('processingError', ({ shardId, error }) =>
  notify({ t: 'log', level: 'warn', text: `processRecords(${shardId}) threw: ${error instanceof Error ? error.message : String(error)}` }),
);

let stopping = false;

async function stopGracefully(): Promise<void> {
  if (stopping) return;
  stopping = true;
  let graceful = false;
  try {
    graceful = await scheduler.startGracefulShutdown(10_000);
  } catch (error) {
    process.stderr.write(`[${workerId}] graceful shutdown failed: ${String(error)}\n`);
  }
  await send({ t: 'shutdown', graceful }).catch(() => undefined);
  process.exit(graceful ? 0 : 1);
}

process.on('SIGTERM', () => void stopGracefully());
process.on('SIGINT', () => undefined); // Ctrl-C reaches the whole process group; the demo decides what happens.
process.on('disconnect', () => {
  // The demo is gone (killed or crashed): nobody to report to, stop at once.
  if (!stopping) process.exit(1);
});

try {
  await scheduler.start();
  await send({ t: 'ready' });
} catch (error) {
  process.stderr.write(`[${workerId}] start failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
}
