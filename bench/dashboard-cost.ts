/**
 * The lease dashboard's own cost: requests per minute it sends to DynamoDB and Kinesis with pages open, at 8 and
 * 1 000 leases, and how long one read takes.
 *
 *   npx tsx bench/dashboard-cost.ts [--sizes 8,1000] [--pages 2] [--interval 5] [--lag-interval 15]
 *
 * kinesalite + dynalite: a stream of N shards, a lease table of N leases (one per shard, 4 owners, checkpoints at
 * TRIM_HORIZON with records waiting), read by the same `DashboardSource` + `LeaseTableInspector` that
 * `ts-kcl dashboard` uses, on clients with a counting middleware. One minute of polling is driven on a virtual
 * clock (every page polls every --interval seconds, as the page does), so the counts are exactly what the
 * defaults cost per minute; the reads themselves are real requests to the emulators.
 */
import { parseArgs } from 'node:util';
import { createDynamoDbClient, createKinesisClient } from '../src/aws/clients.js';
import { DynamoDbApi } from '../src/aws/dynamodb-api.js';
import { KinesisApi } from '../src/aws/kinesis-api.js';
import { DashboardSource } from '../src/coordinator/dashboard/dashboard-source.js';
import { LeaseTableInspector } from '../src/coordinator/lease-table-status.js';
import { DynamoDbLeaseStore } from '../src/leases/dynamodb-lease-store.js';
import { startDynalite, startKinesalite, stopAll, TEST_CREDENTIALS, TEST_REGION, uniqueName } from '../test/support/emulators.js';
import { createStream, kinesisAdmin, produce } from '../test/support/scenario.js';

const { values: args } = parseArgs({
  options: {
    sizes: { type: 'string', default: '8,1000' },
    pages: { type: 'string', default: '2' },
    interval: { type: 'string', default: '5' },
    'lag-interval': { type: 'string', default: '15' },
  },
});
const sizes = args.sizes.split(',').map(Number);
const pages = Number(args.pages);
const refreshMillis = Number(args.interval) * 1000;
const lagRefreshMillis = Number(args['lag-interval']) * 1000;

function counted<T>(client: T, into: Map<string, number>): T {
  (client as unknown as { middlewareStack: { add(m: unknown, o: unknown): void } }).middlewareStack.add(
    (next: (i: unknown) => Promise<unknown>, context: { commandName?: string }) => async (input: unknown) => {
      into.set(context.commandName ?? '?', (into.get(context.commandName ?? '?') ?? 0) + 1);
      return next(input);
    },
    { step: 'initialize', name: 'countRequests' },
  );
  return client;
}

const total = (m: Map<string, number>): number => [...m.values()].reduce((a, b) => a + b, 0);
const detail = (m: Map<string, number>): string => [...m].sort().map(([k, v]) => `${k.replace(/Command$/, '')} ${v}`).join(', ');

const [kinesis, dynamo] = await Promise.all([startKinesalite({ shardLimit: Math.max(...sizes) + 10 }), startDynalite()]);
const settings = { region: TEST_REGION, credentials: TEST_CREDENTIALS };
console.log(`dashboard cost: ${pages} page(s) polling every ${refreshMillis / 1000} s, lag every ${lagRefreshMillis / 1000} s, one virtual minute`);
console.log('leases | DynamoDB req/min | Kinesis req/min | table read (ms) | read with lag (ms)');
try {
  for (const n of sizes) {
    const admin = kinesisAdmin(kinesis.endpoint);
    const streamName = await createStream(admin, n, 'dashcost');
    await produce(admin, streamName, Math.min(2 * n, 2000));
    const kapi = new KinesisApi(createKinesisClient({ ...settings, endpoint: kinesis.endpoint }));
    const shards = await kapi.listShards({ streamName });
    const table = uniqueName('dashcost');
    const store = new DynamoDbLeaseStore(new DynamoDbApi(createDynamoDbClient({ ...settings, endpoint: dynamo.endpoint })), table);
    await store.createTableIfNotExists({ billingMode: 'PAY_PER_REQUEST', readCapacity: 1, writeCapacity: 1, activeTimeoutMillis: 10_000 });
    for (let i = 0; i < shards.length; i += 25) {
      await Promise.all(shards.slice(i, i + 25).map((s, j) => store.createLeaseIfNotExists({
        leaseKey: s.shardId, leaseOwner: `worker-${(i + j) % 4}`, leaseCounter: 1, checkpoint: { sequenceNumber: 'TRIM_HORIZON', subSequenceNumber: 0 },
        ownerSwitchesSinceCheckpoint: 0, parentShardIds: [], childShardIds: [], hashKeyRange: s.hashKeyRange,
      })));
    }
    const ddb = new Map<string, number>();
    const kin = new Map<string, number>();
    const inspector = new LeaseTableInspector({
      tableName: table,
      stream: { streamName },
      dynamoDbClient: counted(createDynamoDbClient({ ...settings, endpoint: dynamo.endpoint }), ddb),
      kinesisClient: counted(createKinesisClient({ ...settings, endpoint: kinesis.endpoint }), kin),
    });
    // Wall time of one read of each kind (outside the counted minute).
    let t = performance.now();
    await inspector.read({ lag: false });
    const tableMs = performance.now() - t;
    t = performance.now();
    await inspector.read();
    const lagMs = performance.now() - t;
    ddb.clear();
    kin.clear();
    let now = 0;
    const source = new DashboardSource({ reader: inspector, measuresLag: true, refreshMillis, lagRefreshMillis, staleAfterMillis: 10_000, now: () => now });
    for (now = 0; now < 60_000; now += refreshMillis) {
      // Every open page polls once per interval; they share the read.
      await Promise.all(Array.from({ length: pages }, () => source.view()));
      // The virtual clock stands still while a lag measurement runs (on the real one, table reads go on meanwhile).
      await source.settled();
    }
    console.log(`${String(n).padStart(6)} | ${String(total(ddb)).padStart(16)} | ${String(total(kin)).padStart(15)} | ${tableMs.toFixed(0).padStart(15)} | ${lagMs.toFixed(0).padStart(18)}`);
    console.log(`         DynamoDB: ${detail(ddb)}; Kinesis: ${detail(kin)}; reads ${source.reads}, with lag ${source.lagReads}`);
    inspector.close();
  }
} finally {
  await stopAll();
}
