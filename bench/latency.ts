/**
 * Put→process latency: from just before a record's PutRecord call to the moment `processRecords` hands it to the
 * processor, for polling (default idle time 1500 ms, and 200 ms) and enhanced fan-out (HTTP/1.1, and HTTP/2 over
 * TLS), in the same run on the same kinesis-local (SPEC §5, second benchmark).
 *
 *   npx tsx bench/latency.ts [--records 300] [--rate 20] [--shards 2]
 *
 * - kinesis-local runs in its own process (as always); dynalite (the lease tables) in this one.
 * - Every contender is a separate application (own lease table, own fan-out consumer) with one Scheduler reading the
 *   same stream from LATEST, all at the same time: the same records, put at the same moments, reach all of them.
 * - Baselines in the same run: a bare SDK SubscribeToShard loop per shard (no ts-kcl: `client.send` and
 *   `for await` over the event stream), over HTTP/1.1 and over HTTP/2 + TLS (through `FanOutHttp2Handler`, since
 *   the SDK's stock HTTP/2 handler cannot hold a subscription open on kinesis-local). The time is taken when the
 *   SDK yields the event. kinesis-local emits subscription events on a fixed 1 s tick (fs2 `fixedRate(1.second)`),
 *   so the floor there is the wait for the next tick; the baselines show that floor.
 * - For the ts-kcl fan-out contenders the subscription handler is wrapped so that each response chunk's arrival time
 *   is noted (a pass-through Transform, piped, so flow control is unchanged): "event → processRecords" is ts-kcl's
 *   own share of the latency (SDK decoding + subscriber queue + shard consumer), free of the emulator's tick.
 * - Warm-up: records are put until every contender has received one (leases taken, subscriptions open); then
 *   `--records` records are put one by one with PutRecord at `--rate` per second (partition keys spread them over the
 *   shards). Each carries its send time; the processor takes `Date.now()` on arrival. Same process, same clock.
 */
import { cpus, loadavg } from 'node:os';
import { pipeline, Transform, type Readable } from 'node:stream';
import { SubscribeToShardCommand, type KinesisClient } from '@aws-sdk/client-kinesis';
import { parseArgs } from 'node:util';
import { createDynamoDbClient, createKinesisClient, http1Handler, type KinesisRequestHandler } from '../src/aws/clients.js';
import { ensureStreamConsumer, FanOutApi } from '../src/aws/fanout-api.js';
import { createFanOutHttp2Handler } from '../src/aws/fanout-http2.js';
import { KinesisApi } from '../src/aws/kinesis-api.js';
import { systemClock } from '../src/util/clock.js';
import { silentLogger } from '../src/util/logger.js';
import { Scheduler, type SchedulerOptions } from '../src/index.js';
import { startDynalite, startKinesisLocal, stopAll, TEST_CREDENTIALS, TEST_REGION, uniqueName } from '../test/support/emulators.js';
import { kinesisLocalTls } from '../test/support/fanout.js';
import { createStream, kinesisAdmin } from '../test/support/scenario.js';

const { values: args } = parseArgs({
  options: {
    records: { type: 'string', default: '300' },
    rate: { type: 'string', default: '20' },
    shards: { type: 'string', default: '2' },
  },
});
const RECORDS = Number(args.records);
const RATE = Number(args.rate);
const SHARDS = Number(args.shards);

interface Contender {
  name: string;
  retrieval: SchedulerOptions['retrieval'];
  /** Control-plane (and, unless `retrieval` says otherwise, subscription) Kinesis client. */
  tls?: boolean;
}

const CONTENDERS: Contender[] = [
  { name: 'polling, idle 1500 ms (default)', retrieval: { mode: 'polling' } },
  { name: 'polling, idle 200 ms', retrieval: { mode: 'polling', idleTimeBetweenReadsMillis: 200 } },
  { name: 'fan-out, HTTP/1.1', retrieval: { mode: 'fanout' } },
  { name: 'fan-out, HTTP/2 + TLS', retrieval: { mode: 'fanout' }, tls: true },
];

interface Baseline {
  name: string;
  tls: boolean;
}

const BASELINES: Baseline[] = [
  { name: 'baseline: bare SDK SubscribeToShard, HTTP/1.1', tls: false },
  { name: 'baseline: bare SDK SubscribeToShard, HTTP/2 + TLS', tls: true },
];

type Handle = (request: { body?: unknown }, options?: { isEventStream?: boolean }) => Promise<{ response: { body?: unknown } }>;

/** Notes when the last chunk of each shard's subscription arrived (by the ShardId in the request body). */
class ArrivalTap {
  readonly lastChunkAt = new Map<string, number>();

  constructor(private readonly inner: KinesisRequestHandler) {}

  handler(): KinesisRequestHandler {
    const inner = this.inner as unknown as { handle: Handle; destroy?: () => void; metadata?: unknown };
    const tap = {
      metadata: inner.metadata,
      handle: async (request: { body?: unknown }, options: { isEventStream?: boolean } = {}) => {
        const result = await inner.handle(request, options);
        if (options.isEventStream !== true) return result;
        const body = typeof request.body === 'string' ? request.body : new TextDecoder().decode(request.body as Uint8Array);
        const shardId = (JSON.parse(body) as { ShardId: string }).ShardId;
        const source = result.response.body as Readable;
        const through = new Transform({
          transform: (chunk: Buffer, _encoding, done) => {
            this.lastChunkAt.set(shardId, Date.now());
            done(null, chunk);
          },
        });
        pipeline(source, through, () => undefined);
        result.response.body = through;
        return result;
      },
      updateHttpClientConfig: () => undefined,
      httpHandlerConfigs: () => ({}),
      destroy: () => inner.destroy?.(),
    };
    return tap;
  }
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[index]!;
}

async function main(): Promise<void> {
  const [kinesis, dynamo] = await Promise.all([startKinesisLocal(), startDynalite()]);
  const admin = kinesisAdmin(kinesis.endpoint);
  const streamName = await createStream(admin, SHARDS, 'latency');
  const latencies = CONTENDERS.map(() => [] as number[]);
  const overheads = CONTENDERS.map(() => [] as number[]);
  const taps = CONTENDERS.map((c) => (c.retrieval?.mode === 'fanout' ? new ArrivalTap(c.tls ? createFanOutHttp2Handler({ connectOptions: kinesisLocalTls() }) : http1Handler()) : undefined));
  const warm = CONTENDERS.map(() => false);
  let measuring = false;
  const workers = CONTENDERS.map((c, i) => {
    const kinesisClient = c.tls
      ? createKinesisClient({
          region: TEST_REGION,
          endpoint: kinesis.tlsEndpoint,
          credentials: TEST_CREDENTIALS,
          requestHandler: createFanOutHttp2Handler({ connectOptions: kinesisLocalTls() }),
        })
      : createKinesisClient({ region: TEST_REGION, endpoint: kinesis.endpoint, credentials: TEST_CREDENTIALS });
    return new Scheduler({
      applicationName: uniqueName(`latency-${i}`),
      streamName,
      workerId: `bench-${i}`,
      initialPosition: 'LATEST',
      kinesisClient,
      dynamoDbClient: createDynamoDbClient({ region: TEST_REGION, endpoint: dynamo.endpoint, credentials: TEST_CREDENTIALS }),
      retrieval: taps[i] ? { mode: 'fanout', requestHandler: taps[i].handler() } : c.retrieval,
      processorFactory: ({ shardId }) => ({
        initialize: () => undefined,
        processRecords: async ({ records, checkpointer }) => {
          const now = Date.now();
          const arrived = taps[i]?.lastChunkAt.get(shardId);
          for (const r of records) {
            const sent = JSON.parse(new TextDecoder().decode(r.data)) as { t: number; m: boolean };
            if (sent.m && measuring) latencies[i]!.push(now - sent.t);
            if (sent.m && measuring && arrived !== undefined) overheads[i]!.push(now - arrived);
            if (!sent.m) warm[i] = true;
          }
          if (records.length > 0) await checkpointer.checkpoint();
        },
        leaseLost: () => undefined,
        shardEnded: async ({ checkpointer }) => checkpointer.checkpoint(),
      }),
    });
  });
  // Baselines: one registered consumer each, one bare subscription loop per shard.
  const plain = createKinesisClient({ region: TEST_REGION, endpoint: kinesis.endpoint, credentials: TEST_CREDENTIALS, requestHandler: http1Handler() });
  const control = new KinesisApi(plain);
  const { streamArn } = await control.describeStreamSummary({ streamName });
  const shardIds = (await control.listShards({ streamName })).map((s) => s.shardId);
  const baseLatencies = BASELINES.map(() => [] as number[]);
  const baseWarm = BASELINES.map(() => new Set<string>());
  const stopBaselines = new AbortController();
  const baseClients: KinesisClient[] = [];
  const baseLoops: Promise<void>[] = [];
  for (const [b, base] of BASELINES.entries()) {
    const client = base.tls
      ? createKinesisClient({ region: TEST_REGION, endpoint: kinesis.tlsEndpoint, credentials: TEST_CREDENTIALS, requestHandler: createFanOutHttp2Handler({ connectOptions: kinesisLocalTls() }) })
      : createKinesisClient({ region: TEST_REGION, endpoint: kinesis.endpoint, credentials: TEST_CREDENTIALS, requestHandler: http1Handler() });
    baseClients.push(client);
    const consumerArn = await ensureStreamConsumer(new FanOutApi(plain), { streamArn, consumerName: `baseline-${b}`, clock: systemClock, logger: silentLogger, pollMillis: 100 });
    for (const shardId of shardIds) {
      baseLoops.push(
        (async () => {
          const out = await client.send(new SubscribeToShardCommand({ ConsumerARN: consumerArn, ShardId: shardId, StartingPosition: { Type: 'LATEST' } }), { abortSignal: stopBaselines.signal });
          for await (const event of out.EventStream!) {
            const now = Date.now();
            for (const r of event.SubscribeToShardEvent?.Records ?? []) {
              const sent = JSON.parse(new TextDecoder().decode(r.Data)) as { t: number; m: boolean };
              if (sent.m && measuring) baseLatencies[b]!.push(now - sent.t);
              if (!sent.m) baseWarm[b]!.add(shardId);
            }
          }
        })().catch((error: unknown) => {
          if (!stopBaselines.signal.aborted) console.error(`baseline ${base.name} ${shardId} failed:`, error);
        }),
      );
    }
  }
  const baselinesWarm = (): boolean => baseWarm.every((s) => s.size === shardIds.length);
  try {
    await Promise.all(workers.map((w) => w.start()));
    // Warm-up: until every contender has received a record on every shard (LATEST: only records put after its
    // iterators / subscriptions exist count).
    const warmStarted = Date.now();
    for (let n = 0; !warm.every(Boolean) || !baselinesWarm(); n++) {
      if (Date.now() - warmStarted > 60_000) throw new Error(`warm-up did not finish: ${JSON.stringify(warm)} ${baseWarm.map((s) => s.size).join()}`);
      await admin.putRecord({ streamName }, { partitionKey: `warm-${n}`, data: new TextEncoder().encode(JSON.stringify({ t: Date.now(), m: false })) });
      await new Promise((r) => setTimeout(r, 200));
    }
    await new Promise((r) => setTimeout(r, 2000));
    measuring = true;
    const putMillis: number[] = [];
    const interval = 1000 / RATE;
    const start = Date.now();
    for (let i = 0; i < RECORDS; i++) {
      const due = start + i * interval;
      const wait = due - Date.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      const t = Date.now();
      await admin.putRecord({ streamName }, { partitionKey: `pk-${i}`, data: new TextEncoder().encode(JSON.stringify({ t, m: true, i })) });
      putMillis.push(Date.now() - t);
    }
    const deadline = Date.now() + 20_000;
    while ([...latencies, ...baseLatencies].some((l) => l.length < RECORDS) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));

    const cpu = cpus()[0]?.model ?? '?';
    console.log(`machine: nproc ${cpus().length} (${cpu}), Node ${process.version}, ${process.platform} ${process.arch}, load ${loadavg().map((l) => l.toFixed(1)).join(' / ')}`);
    console.log(`stream: ${SHARDS} shards on kinesis-local; ${RECORDS} records at ${RATE}/s with PutRecord (p50 ${percentile([...putMillis].sort((a, b) => a - b), 50)} ms per put)`);
    console.log('| contender | received | p50 ms | p90 ms | p99 ms | max ms |');
    console.log('|---|---:|---:|---:|---:|---:|');
    const row = (name: string, values: number[]): void => {
      const sorted = [...values].sort((a, b) => a - b);
      console.log(`| ${name} | ${sorted.length}/${RECORDS} | ${percentile(sorted, 50)} | ${percentile(sorted, 90)} | ${percentile(sorted, 99)} | ${sorted[sorted.length - 1] ?? '-'} |`);
    };
    CONTENDERS.forEach((c, i) => row(c.name, latencies[i]!));
    BASELINES.forEach((b, i) => row(b.name, baseLatencies[i]!));
    console.log('\nts-kcl fan-out, event received → processRecords (same records):');
    console.log('| contender | records | p50 ms | p90 ms | p99 ms | max ms |');
    console.log('|---|---:|---:|---:|---:|---:|');
    CONTENDERS.forEach((c, i) => {
      if (taps[i]) row(c.name, overheads[i]!);
    });
  } finally {
    stopBaselines.abort();
    await Promise.all(baseLoops);
    for (const c of baseClients) c.destroy();
    plain.destroy();
    await Promise.all(workers.map((w) => w.shutdown()));
    await stopAll();
  }
}

await main();
