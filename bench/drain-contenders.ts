/**
 * The drain contenders of bench/drain-throughput.ts and bench/replay.ts: each drains every shard of a stream from
 * TRIM_HORIZON (all shards concurrently) and resolves with the records it received.
 */
import { setMaxListeners } from 'node:events';
import { GetRecordsCommand, GetShardIteratorCommand, SubscribeToShardCommand } from '@aws-sdk/client-kinesis';
import { FanOutApi } from '../src/aws/fanout-api.js';
import { FanOutSubscriber } from '../src/retrieval/fanout-subscriber.js';
import { createKinesisClient, type KinesisClient } from '../src/aws/clients.js';
import { KinesisApi } from '../src/aws/kinesis-api.js';
import type { StreamRef } from '../src/aws/kinesis-types.js';
import { ExtendedSequenceNumber } from '../src/checkpoint/extended-sequence-number.js';
import { PollingFetcher } from '../src/retrieval/polling-fetcher.js';
import { Scheduler, type SchedulerOptions } from '../src/index.js';
import { systemClock } from '../src/util/clock.js';
import { silentLogger } from '../src/util/logger.js';
import { aggDeaggregate } from '../test/support/aws-kinesis-agg.js';
import { TEST_CREDENTIALS, TEST_REGION, uniqueName } from '../test/support/emulators.js';

/** What every contender gets: where the stream is and how many records each shard holds. */
export interface DrainContext {
  endpoint: string;
  stream: StreamRef;
  shards: { shardId: string; records: number }[];
  /** GetRecords `Limit`, the same for every contender. */
  maxRecords: number;
  /** DynamoDB endpoint for the Scheduler's lease table. */
  dynamoEndpoint?: string;
  /** Records per shard count user records of KPL aggregates (the bare loop then deaggregates with aws-kinesis-agg). */
  kpl?: boolean;
}

export interface Contender {
  name: string;
  /** Drains every shard of `ctx` once from TRIM_HORIZON; resolves with the records received. */
  drain(ctx: DrainContext): Promise<number>;
}

/** Every contender builds its client this way: HTTP/1.1 keep-alive, as the library does against an endpoint. */
export function newClient(ctx: DrainContext): KinesisClient {
  return createKinesisClient({ region: TEST_REGION, endpoint: ctx.endpoint, credentials: TEST_CREDENTIALS });
}

/** (a) The floor: GetShardIterator(TRIM_HORIZON), then GetRecords until the shard's records are in, per shard. */
export async function drainBareSdk(ctx: DrainContext): Promise<number> {
  const client = newClient(ctx);
  try {
    const counts = await Promise.all(
      ctx.shards.map(async ({ shardId, records: expected }) => {
        const it = await client.send(
          new GetShardIteratorCommand({ StreamName: ctx.stream.streamName, ShardId: shardId, ShardIteratorType: 'TRIM_HORIZON' }),
        );
        let iterator = it.ShardIterator;
        let received = 0;
        let bytes = 0;
        while (iterator !== undefined && received < expected) {
          const out = await client.send(new GetRecordsCommand({ ShardIterator: iterator, Limit: ctx.maxRecords }));
          const records = out.Records ?? [];
          if (ctx.kpl) {
            for (const r of records) {
              const users = aggDeaggregate({ data: r.Data!, partitionKey: r.PartitionKey!, sequenceNumber: r.SequenceNumber! });
              for (const u of users) bytes += u.Data.length; // aws-kinesis-agg hands out base64
              received += users.length;
            }
          } else {
            for (const r of records) bytes += r.Data?.byteLength ?? 0; // touch the payloads, as a consumer would
            received += records.length;
          }
          iterator = out.NextShardIterator;
          if (records.length === 0) break; // caught up
        }
        if (bytes === 0 && received > 0) throw new Error('no payload bytes');
        return received;
      }),
    );
    return counts.reduce((a, b) => a + b, 0);
  } finally {
    client.destroy();
  }
}

/** (b) One PollingFetcher per shard; the consumer takes each batch as soon as it is there. */
export async function drainPollingFetchers(ctx: DrainContext, leanGetRecords = true): Promise<number> {
  const client = newClient(ctx);
  const api = new KinesisApi(client, { requestTimeoutMillis: 30_000, leanGetRecords });
  const controller = new AbortController();
  setMaxListeners(0, controller.signal); // every fetcher and every next() of every shard listens to it
  try {
    const counts = await Promise.all(
      ctx.shards.map(async ({ shardId, records: expected }) => {
        const fetcher = new PollingFetcher({
          kinesis: api,
          stream: ctx.stream,
          shardId,
          checkpoint: ExtendedSequenceNumber.TRIM_HORIZON,
          maxRecords: ctx.maxRecords,
          idleTimeBetweenReadsMillis: 1000,
          maxPrefetchBatches: 3,
          maxPrefetchBytes: 8 * 1024 * 1024,
          clock: systemClock,
          logger: silentLogger,
        });
        return drainSource(fetcher, expected, controller.signal);
      }),
    );
    return counts.reduce((a, b) => a + b, 0);
  } finally {
    controller.abort();
    client.destroy();
  }
}

/** Where a Scheduler drain spent its wall time, from just before `start()` (ms). */
export interface SchedulerPhases {
  /** `start()` resolved (table, shard sync, first taker round). */
  startMillis: number;
  /** The first `processRecords` call. */
  firstRecordsMillis: number;
  /** The last record arrived (checkpointed). */
  allRecordsMillis: number;
  /** `shutdown()` itself. */
  shutdownMillis: number;
  /** CPU ms (this process) spent up to the same points (from just before the Scheduler is built), and in shutdown. */
  cpu: { start: number; firstRecords: number; allRecords: number; shutdown: number };
}

/**
 * (c) The whole library: a `Scheduler` (fresh application and lease table per drain, so it starts from
 * TRIM_HORIZON) with a processor that touches every payload and checkpoints after each batch — a realistic
 * consumer, so its DynamoDB writes (lease table, takes, renewals, one checkpoint per batch) are in the figure.
 */
export async function drainScheduler(ctx: DrainContext, phases?: SchedulerPhases[], leases?: SchedulerOptions['leases']): Promise<number> {
  const total = ctx.shards.reduce((n, s) => n + s.records, 0);
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  const cpuMillis = (): number => {
    const c = process.cpuUsage(cpu0);
    return (c.user + c.system) / 1000;
  };
  let firstRecords = 0;
  let firstRecordsCpu = 0;
  let received = 0;
  let bytes = 0;
  let resolveDone!: () => void;
  const done = new Promise<void>((r) => (resolveDone = r));
  const scheduler = new Scheduler({
    applicationName: uniqueName('drain-app'),
    streamName: ctx.stream.streamName!,
    workerId: 'bench',
    region: TEST_REGION,
    credentials: TEST_CREDENTIALS,
    endpoints: { kinesis: ctx.endpoint, dynamodb: ctx.dynamoEndpoint ?? '' },
    initialPosition: 'TRIM_HORIZON',
    retrieval: { mode: 'polling', maxRecords: ctx.maxRecords, idleTimeBetweenReadsMillis: 1000 },
    ...(leases === undefined ? {} : { leases }),
    processorFactory: () => ({
      initialize() {},
      async processRecords({ records, checkpointer }) {
        if (firstRecords === 0) {
          firstRecords = performance.now();
          firstRecordsCpu = cpuMillis();
        }
        for (const r of records) bytes += r.data.byteLength;
        received += records.length;
        await checkpointer.checkpoint();
        if (received >= total) resolveDone();
      },
      leaseLost() {},
      async shardEnded({ checkpointer }) {
        await checkpointer.checkpoint();
      },
    }),
  });
  await scheduler.start();
  const started = performance.now();
  const startedCpu = cpuMillis();
  await done;
  const drained = performance.now();
  const drainedCpu = cpuMillis();
  await scheduler.shutdown();
  phases?.push({
    startMillis: started - t0,
    firstRecordsMillis: firstRecords - t0,
    allRecordsMillis: drained - t0,
    shutdownMillis: performance.now() - drained,
    cpu: { start: startedCpu, firstRecords: firstRecordsCpu, allRecords: drainedCpu, shutdown: cpuMillis() - drainedCpu },
  });
  if (bytes === 0 && received > 0) throw new Error('no payload bytes');
  return received;
}

/** The consumer ARN the fan-out contenders subscribe with (the replay endpoint takes any). */
const REPLAY_CONSUMER_ARN = 'arn:aws:kinesis:us-east-1:000000000000:stream/replay/consumer/bench:1';

/**
 * (d) Fan-out, the bare SDK way: one `SubscribeToShardCommand` per shard from TRIM_HORIZON, iterating the SDK's event
 * stream (its own event-stream decoding), until the shard's records are in; resubscribes after the last sequence
 * number when a subscription ends early.
 */
export async function drainBareSubscribe(ctx: DrainContext): Promise<number> {
  const client = newClient(ctx);
  try {
    const counts = await Promise.all(
      ctx.shards.map(async ({ shardId, records: expected }) => {
        let received = 0;
        let bytes = 0;
        let after: string | undefined;
        while (received < expected) {
          const controller = new AbortController();
          const out = await client.send(
            new SubscribeToShardCommand({
              ConsumerARN: REPLAY_CONSUMER_ARN,
              ShardId: shardId,
              StartingPosition: after === undefined ? { Type: 'TRIM_HORIZON' } : { Type: 'AFTER_SEQUENCE_NUMBER', SequenceNumber: after },
            }),
            { abortSignal: controller.signal },
          );
          for await (const event of out.EventStream ?? []) {
            const records = event.SubscribeToShardEvent?.Records ?? [];
            if (ctx.kpl) {
              for (const r of records) {
                const users = aggDeaggregate({ data: r.Data!, partitionKey: r.PartitionKey!, sequenceNumber: r.SequenceNumber! });
                for (const u of users) bytes += u.Data.length;
                received += users.length;
              }
            } else {
              for (const r of records) bytes += r.Data?.byteLength ?? 0;
              received += records.length;
            }
            after = records.at(-1)?.SequenceNumber ?? after;
            if (received >= expected) break;
          }
          controller.abort();
        }
        if (bytes === 0 && received > 0) throw new Error('no payload bytes');
        return received;
      }),
    );
    return counts.reduce((a, b) => a + b, 0);
  } finally {
    client.destroy();
  }
}

/**
 * (e) ts-kcl's fan-out path: one `FanOutSubscriber` per shard (subscription, event queue, KPL deaggregation), with
 * the lean event-stream decoding or the SDK's (`leanSubscribeToShard: false`).
 */
export async function drainFanOutSubscribers(ctx: DrainContext, leanSubscribeToShard = true): Promise<number> {
  const client = newClient(ctx);
  const api = new FanOutApi(client, { leanSubscribeToShard });
  const controller = new AbortController();
  setMaxListeners(0, controller.signal);
  try {
    const counts = await Promise.all(
      ctx.shards.map(async ({ shardId, records: expected }) => {
        const subscriber = new FanOutSubscriber({
          subscribe: (position, signal) => api.subscribeToShard(REPLAY_CONSUMER_ARN, shardId, position, signal),
          shardId,
          checkpoint: ExtendedSequenceNumber.TRIM_HORIZON,
          maxQueuedEvents: 10,
          idleTimeoutMillis: 30_000,
          clock: systemClock,
          logger: silentLogger,
        });
        return drainSource(subscriber, expected, controller.signal);
      }),
    );
    return counts.reduce((a, b) => a + b, 0);
  } finally {
    controller.abort();
    client.destroy();
  }
}

/** Reads one shard's source until `expected` records (or its end); returns how many arrived. */
async function drainSource(
  source: { start(signal: AbortSignal): void; next(signal: AbortSignal): Promise<{ records: readonly { data: Uint8Array }[]; isAtShardEnd: boolean }>; stop(): Promise<void> },
  expected: number,
  signal: AbortSignal,
): Promise<number> {
  source.start(signal);
  let received = 0;
  let bytes = 0;
  try {
    while (received < expected) {
      const batch = await source.next(signal);
      for (const r of batch.records) bytes += r.data.byteLength;
      received += batch.records.length;
      if (batch.isAtShardEnd) break;
    }
  } finally {
    await source.stop();
  }
  if (bytes === 0 && received > 0) throw new Error('no payload bytes');
  return received;
}
