/**
 * One worker of one contender of bench/peers.ts, in its own process so that its CPU time and peak RSS are its
 * own. Protocol over IPC: the child loads everything, sends `{type:'loaded'}`; on `{type:'go'}` it starts
 * consuming and sends `{type:'progress', highest}` (per shard, the highest sequence number received) every
 * 100 ms; on `{type:'stop'}` it sends `{type:'done', cpuSeconds, maxRssKb, received}` (CPU counted from `go`),
 * stops its consumer and exits.
 *
 * Contenders: `bare` (GetShardIterator + GetRecords loop over its assigned shards, no leases, no checkpoints),
 * `ts-kcl` (a Scheduler, checkpoint after every batch), `lifion` (lifion-kinesis polling consumer with its
 * automatic per-batch checkpoints), `slow-ts-kcl` (a Scheduler whose processor takes `slowMillis` per batch: the
 * RSS-with-many-shards row; it reports `progress` only).
 */
import { GetRecordsCommand, GetShardIteratorCommand } from '@aws-sdk/client-kinesis';
import { createKinesisClient } from '../src/aws/clients.js';
import { Scheduler } from '../src/index.js';
import { silentLogger } from '../src/util/logger.js';
import { TEST_CREDENTIALS, TEST_REGION } from '../test/support/emulators.js';

export interface ContenderConfig {
  contender: 'bare' | 'ts-kcl' | 'lifion' | 'slow-ts-kcl';
  workerId: string;
  kinesisEndpoint: string;
  dynamoEndpoint: string;
  streamName: string;
  applicationName: string;
  /** `bare` only: the shards this worker reads. */
  shards: string[];
  maxRecords: number;
  /** `slow-ts-kcl` only. */
  slowMillis?: number;
}

export type ContenderMessage =
  | { type: 'loaded' }
  | { type: 'progress'; highest: Record<string, string>; received: number }
  | { type: 'done'; cpuSeconds: number; maxRssKb: number; received: number; rssKb: number };

const config = JSON.parse(process.argv[2]!) as ContenderConfig;
const send = (m: ContenderMessage): void => void process.send?.(m);
const highest: Record<string, string> = {};
let received = 0;
let bytes = 0;

function note(shardId: string, sequenceNumber: string, data: Uint8Array): void {
  received++;
  bytes += data.byteLength; // touch the payload, as a consumer would
  const prev = highest[shardId];
  if (prev === undefined || BigInt(sequenceNumber) > BigInt(prev)) highest[shardId] = sequenceNumber;
}

let stopConsumer: () => Promise<void> = async () => undefined;

async function startBare(): Promise<void> {
  const client = createKinesisClient({ region: TEST_REGION, endpoint: config.kinesisEndpoint, credentials: TEST_CREDENTIALS });
  let stopped = false;
  stopConsumer = async () => {
    stopped = true;
    client.destroy();
  };
  for (const shardId of config.shards) {
    void (async () => {
      const it = await client.send(new GetShardIteratorCommand({ StreamName: config.streamName, ShardId: shardId, ShardIteratorType: 'TRIM_HORIZON' }));
      let iterator = it.ShardIterator;
      while (iterator !== undefined && !stopped) {
        const out = await client.send(new GetRecordsCommand({ ShardIterator: iterator, Limit: config.maxRecords }));
        for (const r of out.Records ?? []) note(shardId, r.SequenceNumber!, r.Data!);
        iterator = out.NextShardIterator;
        if ((out.Records ?? []).length === 0) await new Promise((r) => setTimeout(r, 1000)); // caught up: idle like the others
      }
    })().catch(() => undefined);
  }
}

async function startTsKcl(slowMillis = 0): Promise<void> {
  const scheduler = new Scheduler({
    applicationName: config.applicationName,
    streamName: config.streamName,
    workerId: config.workerId,
    region: TEST_REGION,
    credentials: TEST_CREDENTIALS,
    endpoints: { kinesis: config.kinesisEndpoint, dynamodb: config.dynamoEndpoint },
    initialPosition: 'TRIM_HORIZON',
    retrieval: { mode: 'polling', maxRecords: config.maxRecords, idleTimeBetweenReadsMillis: 1000 },
    logger: silentLogger,
    processorFactory: ({ shardId }) => ({
      initialize() {},
      async processRecords({ records, checkpointer }) {
        for (const r of records) note(shardId, r.sequenceNumber, r.data);
        if (slowMillis > 0) await new Promise((r) => setTimeout(r, slowMillis));
        await checkpointer.checkpoint();
      },
      leaseLost() {},
      async shardEnded({ checkpointer }) {
        await checkpointer.checkpoint();
      },
    }),
  });
  stopConsumer = () => scheduler.shutdown();
  await scheduler.start();
}

async function startLifion(): Promise<void> {
  const consumer = new lifion!.default({
    streamName: config.streamName,
    consumerGroup: config.applicationName,
    createStreamIfNeeded: false,
    initialPositionInStream: 'TRIM_HORIZON',
    endpoint: config.kinesisEndpoint,
    region: TEST_REGION,
    accessKeyId: TEST_CREDENTIALS.accessKeyId,
    secretAccessKey: TEST_CREDENTIALS.secretAccessKey,
    // Its DynamoDB client takes only these options (not the top-level region and credentials).
    dynamoDb: {
      endpoint: config.dynamoEndpoint,
      tableName: `${config.applicationName}-state`,
      region: TEST_REGION,
      accessKeyId: TEST_CREDENTIALS.accessKeyId,
      secretAccessKey: TEST_CREDENTIALS.secretAccessKey,
    },
    limit: config.maxRecords,
    shouldParseJson: false,
    shouldDeaggregate: false,
    // Its defaults wait 250 ms between polls even with records pending and 20 s between lease acquisitions;
    // this is the fastest it allows (the ts-kcl rows run with the library's defaults apart from maxRecords).
    pollDelay: 0,
    noRecordsPollDelay: 1000,
    leaseAcquisitionInterval: 2000,
    leaseAcquisitionRecoveryInterval: 1000,
    statsInterval: 3_600_000,
  });
  consumer.on('data', (chunk) => {
    for (const r of chunk.records) note(chunk.shardId, r.sequenceNumber, r.data);
  });
  consumer.on('error', () => undefined);
  stopConsumer = async () => {
    consumer.stopConsumer();
  };
  await consumer.startConsumer();
}


// Loaded before `loaded` is sent, like the other contenders' modules, so loading is not in the measurement.
const lifion = config.contender === 'lifion' ? await import('lifion-kinesis') : undefined;

let cpu0 = process.cpuUsage();
let progressTimer: NodeJS.Timeout | undefined;

process.on('message', (m: { type: string }) => {
  if (m.type === 'go') {
    cpu0 = process.cpuUsage();
    progressTimer = setInterval(() => send({ type: 'progress', highest: { ...highest }, received }), 100);
    const start =
      config.contender === 'bare' ? startBare() : config.contender === 'lifion' ? startLifion() : startTsKcl(config.slowMillis ?? 0);
    start.catch((error: unknown) => {
      console.error(`${config.contender} ${config.workerId}: start failed`, error);
      process.exit(1);
    });
  } else if (m.type === 'stop') {
    const cpu = process.cpuUsage(cpu0);
    clearInterval(progressTimer);
    const usage = process.resourceUsage();
    send({ type: 'done', cpuSeconds: (cpu.user + cpu.system) / 1e6, maxRssKb: usage.maxRSS, received, rssKb: Math.round(process.memoryUsage().rss / 1024) });
    if (bytes === 0 && received > 0) console.error('no payload bytes');
    const timer = setTimeout(() => process.exit(0), 3000);
    void stopConsumer().finally(() => {
      clearTimeout(timer);
      process.exit(0);
    });
  }
});
process.on('disconnect', () => process.exit(1));
send({ type: 'loaded' });
