/**
 * Rebalance: seconds until N new workers share M shards within ±1, and the records delivered twice because of the
 * moves; then DynamoDB requests per lease per minute spent by lease management in steady state (SPEC §5).
 *
 *   npx tsx bench/rebalance.ts [--shards 32] [--joiners 3] [--failover 10000] [--steady-seconds 30] [--handoff true]
 *                              [--steal N] [--taker-ms N]   (e.g. --handoff false --steal 1 for Java KCL 2.x's stealing)
 *
 * In-process workers on kinesalite + dynalite; a producer writes to every shard while the leases move; every
 * processor checkpoints after each batch and in shutdownRequested. DynamoDB requests are counted per operation by
 * a middleware on each worker's own client. The steady-state window runs without traffic, so the counts are the
 * lease coordination alone (renewals = UpdateItem, taker scans = Scan).
 */
import { parseArgs } from 'node:util';
import { Scheduler } from '../src/index.js';
import { createDynamoDbClient, createKinesisClient } from '../src/aws/clients.js';
import { DynamoDbApi } from '../src/aws/dynamodb-api.js';
import { DynamoDbLeaseStore } from '../src/leases/dynamodb-lease-store.js';
import { startDynalite, startKinesalite, stopAll, TEST_CREDENTIALS, TEST_REGION, uniqueName } from '../test/support/emulators.js';
import { createStream, DeliveryLog, kinesisAdmin, waitFor } from '../test/support/scenario.js';
import { SteadyProducer } from '../test/support/worker-fleet.js';

const { values: args } = parseArgs({
  options: {
    shards: { type: 'string', default: '32' },
    joiners: { type: 'string', default: '3' },
    failover: { type: 'string', default: '10000' },
    'steady-seconds': { type: 'string', default: '30' },
    handoff: { type: 'string', default: 'true' },
    steal: { type: 'string' },
    'taker-ms': { type: 'string' },
  },
});
const SHARDS = Number(args.shards);
const JOINERS = Number(args.joiners);
const FAILOVER = Number(args.failover);
const STEADY = Number(args['steady-seconds']);
const HANDOFF = args.handoff !== 'false';
const STEAL = args.steal === undefined ? undefined : Number(args.steal);
const TAKER = args['taker-ms'] === undefined ? undefined : Number(args['taker-ms']);

const [kinesis, dynamo] = await Promise.all([startKinesalite({ shardLimit: SHARDS + 10 }), startDynalite()]);
try {
  const admin = kinesisAdmin(kinesis.endpoint);
  const streamName = await createStream(admin, SHARDS, 'rebalance');
  const app = uniqueName('rebalance-app');
  const log = new DeliveryLog();
  const requests = new Map<string, number>();

  const worker = (id: string) => {
    const dynamoDbClient = createDynamoDbClient({ region: TEST_REGION, endpoint: dynamo.endpoint, credentials: TEST_CREDENTIALS });
    dynamoDbClient.middlewareStack.add(
      (next, context) => async (input) => {
        requests.set(context.commandName ?? '?', (requests.get(context.commandName ?? '?') ?? 0) + 1);
        return next(input);
      },
      { step: 'initialize', name: 'countRequests' },
    );
    return new Scheduler({
      applicationName: app,
      streamName,
      workerId: id,
      initialPosition: 'TRIM_HORIZON',
      kinesisClient: createKinesisClient({ region: TEST_REGION, endpoint: kinesis.endpoint, credentials: TEST_CREDENTIALS }),
      dynamoDbClient,
      leases: {
        failoverTimeMillis: FAILOVER,
        gracefulHandoff: HANDOFF,
        ...(STEAL === undefined ? {} : { maxLeasesToStealAtOneTime: STEAL }),
        ...(TAKER === undefined ? {} : { takerIntervalMillis: TAKER }),
      },
      retrieval: { mode: 'polling', idleTimeBetweenReadsMillis: 500 },
      processorFactory: log.factory(id),
    });
  };
  const store = new DynamoDbLeaseStore(new DynamoDbApi(createDynamoDbClient({ region: TEST_REGION, endpoint: dynamo.endpoint, credentials: TEST_CREDENTIALS })), app);
  const counts = async (): Promise<number[]> => {
    const { leases } = await store.listLeases();
    const c = new Map<string, number>();
    for (const l of leases) if (l.leaseOwner && !l.checkpointOwner) c.set(l.leaseOwner, (c.get(l.leaseOwner) ?? 0) + 1);
    return ['w0', ...Array.from({ length: JOINERS }, (_, i) => `w${i + 1}`)].map((w) => c.get(w) ?? 0);
  };

  const producer = new SteadyProducer(admin, streamName, { perTick: SHARDS * 4, intervalMillis: 500 }).start();
  const first = worker('w0');
  await first.start();
  await waitFor(async () => (await counts())[0] === SHARDS, 60_000, 'w0 holds every lease');
  const joiners = Array.from({ length: JOINERS }, (_, i) => worker(`w${i + 1}`));
  const t0 = Date.now();
  await Promise.all(joiners.map((w) => w.start()));
  let balancedAt = 0;
  await waitFor(async () => {
    const c = await counts();
    const ok = Math.max(...c) - Math.min(...c) <= 1 && c.reduce((a, b) => a + b, 0) === SHARDS;
    if (ok && balancedAt === 0) balancedAt = Date.now();
    return ok;
  }, 120_000, 'balanced within one', 100);
  const rebalanceSeconds = (balancedAt - t0) / 1000;
  await new Promise((r) => setTimeout(r, 2000));
  const produced = await producer.stop();
  await waitFor(() => produced.every((p) => log.uniqueKeys().has(p.key)), 60_000, 'every record delivered');
  const duplicates = log.deliveries.length - log.uniqueKeys().size;

  // Steady state, no traffic: what lease coordination alone costs.
  await new Promise((r) => setTimeout(r, 3000));
  requests.clear();
  await new Promise((r) => setTimeout(r, STEADY * 1000));
  const perLeaseMinute = (n: number) => (n / SHARDS) * (60 / STEADY);
  const workers = JOINERS + 1;

  console.log(`node ${process.version}; ${SHARDS} shards, 1 → ${workers} workers, failoverTimeMillis ${FAILOVER}, graceful handoff ${HANDOFF}, steal ${STEAL ?? 'default'}, taker ${TAKER ?? 'default'} ms`);
  console.log(`final counts: ${(await counts()).join('/')}`);
  console.log('');
  console.log('| metric | value |');
  console.log('|---|---:|');
  console.log(`| rebalance time (all within ±1) | ${rebalanceSeconds.toFixed(1)} s |`);
  console.log(`| records produced during the run | ${produced.length} |`);
  console.log(`| records delivered twice | ${duplicates} |`);
  for (const [op, n] of [...requests].sort()) {
    console.log(`| DynamoDB ${op} per lease per minute (steady, ${workers} workers) | ${perLeaseMinute(n).toFixed(2)} |`);
  }
  const total = [...requests.values()].reduce((a, b) => a + b, 0);
  console.log(`| DynamoDB requests per lease per minute, all | ${perLeaseMinute(total).toFixed(2)} |`);
  await Promise.all([first, ...joiners].map((w) => w.shutdown()));
} finally {
  await stopAll();
}
