// Fan-out with worker processes: kill -9 of one; its shards are subscribed again elsewhere (after the service lets
// go of the dead worker's subscriptions), from its last checkpoint, nothing lost.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createDynamoDbClient } from '../../src/aws/clients.js';
import { DynamoDbApi } from '../../src/aws/dynamodb-api.js';
import { DynamoDbLeaseStore } from '../../src/leases/dynamodb-lease-store.js';
import { startDynalite, startKinesisLocal, stopAll, TEST_CREDENTIALS, TEST_REGION, uniqueName, type Emulator, type KinesisLocalEmulator } from '../support/emulators.js';
import { createStream, kinesisAdmin, produce } from '../support/scenario.js';
import { runOrderViolations, SteadyProducer, WorkerFleet } from '../support/worker-fleet.js';

const FAILOVER = 3000;
const WORKERS = ['f1', 'f2', 'f3'];

describe('enhanced fan-out, 3 worker processes (kinesis-local + dynalite)', () => {
  let kinesis: KinesisLocalEmulator;
  let dynamo: Emulator;
  const fleets: WorkerFleet[] = [];
  before(async () => {
    [kinesis, dynamo] = await Promise.all([startKinesisLocal(), startDynalite()]);
  });
  after(async () => {
    await Promise.all(fleets.map((f) => f.killAll()));
    await stopAll();
  });

  it('kill -9 of one worker: its shards are subscribed again elsewhere from its checkpoints, nothing lost', async () => {
    const admin = kinesisAdmin(kinesis.endpoint);
    const streamName = await createStream(admin, 4, 'fanout-kill');
    const app = uniqueName('fanout-kill');
    const store = new DynamoDbLeaseStore(new DynamoDbApi(createDynamoDbClient({ region: TEST_REGION, endpoint: dynamo.endpoint, credentials: TEST_CREDENTIALS })), app);
    const before = await produce(admin, streamName, 100, 0, 'a');
    const fleet = new WorkerFleet({
      kinesisEndpoint: kinesis.endpoint,
      dynamoEndpoint: dynamo.endpoint,
      streamName,
      applicationName: app,
      failoverTimeMillis: FAILOVER,
      retrievalMode: 'fanout',
    });
    fleets.push(fleet);
    await fleet.startAll(WORKERS);
    const owners = async (): Promise<Map<string, string | undefined>> => new Map((await store.listLeases()).leases.map((l) => [l.leaseKey, l.leaseOwner]));
    await fleet.waitFor(async () => new Set((await owners()).values()).size === 3, 30_000, 'leases spread over the 3 workers');
    await fleet.waitFor(() => before.every((p) => fleet.uniqueKeys().has(p.key)), 30_000, 'the first 100 records');

    const producer = new SteadyProducer(admin, streamName, { perTick: 10, intervalMillis: 100 }).start();
    await new Promise((r) => setTimeout(r, 2000));
    const byOwner = await owners();
    const victim = WORKERS.find((w) => [...byOwner.values()].filter((o) => o === w).length >= 1)!;
    const victimShards = [...byOwner].filter(([, o]) => o === victim).map(([k]) => k);
    const killedAt = await fleet.kill(victim);

    const resumedAt = new Map<string, number>();
    await fleet.waitFor(() => {
      for (const shardId of victimShards) {
        const batch = fleet.of('records', (r) => r.shardId === shardId && r.workerId !== victim && r.t > killedAt && r.count > 0)[0];
        if (batch) resumedAt.set(shardId, batch.t);
      }
      return resumedAt.size === victimShards.length;
    }, FAILOVER + 20_000, `${victim}'s shards processed elsewhere`);
    await new Promise((r) => setTimeout(r, 1000));
    const produced = [...before, ...(await producer.stop())];
    await fleet.waitFor(() => fleet.uniqueKeys().size === produced.length, 30_000, `all ${produced.length} records`);

    assert.deepEqual([...fleet.uniqueKeys()].sort(), produced.map((p) => p.key).sort(), 'every record delivered');
    assert.deepEqual(runOrderViolations(fleet.reports), [], 'each run resumes after its checkpoint, in order');
    const failoverMillis = Math.max(...resumedAt.values()) - killedAt;
    const inUse = fleet.of('event', (e) => e.name === 'taskError').length;
    console.log(`fan-out kill -9: ${victim} held ${victimShards.join(', ')}; processing elsewhere ${failoverMillis} ms after the kill (failover ${FAILOVER} ms); records ${produced.length}; task errors ${inUse}`);
    assert.ok(failoverMillis <= FAILOVER + 8000, `${victim}'s shards processing again ${failoverMillis} ms after the kill`);
    await Promise.all(WORKERS.filter((w) => w !== victim).map((w) => fleet.stop(w)));
  });
});
