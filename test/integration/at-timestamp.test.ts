import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Scheduler } from '../../src/index.js';
import { createDynamoDbClient } from '../../src/aws/clients.js';
import { DynamoDbApi } from '../../src/aws/dynamodb-api.js';
import { midpointHashKey } from '../../src/shards/hash-key-range.js';
import { KinesisApi } from '../../src/aws/kinesis-api.js';
import { createKinesisClient } from '../../src/aws/clients.js';
import { DynamoDbLeaseStore } from '../../src/leases/dynamodb-lease-store.js';
import { startDynalite, startKinesisLocal, stopAll, TEST_CREDENTIALS, TEST_REGION, uniqueName, type Emulator } from '../support/emulators.js';
import { clientsFor, createStream, DeliveryLog, kinesisAdmin, produce, waitFor } from '../support/scenario.js';

describe('initialPosition AT_TIMESTAMP end to end (kinesis-local + dynalite)', () => {
  let kinesis: Emulator;
  let dynamo: Emulator;
  before(async () => {
    [kinesis, dynamo] = await Promise.all([startKinesisLocal(), startDynalite()]);
  });
  after(() => stopAll());

  it('delivers exactly the records at or after the timestamp, across a split that happened before it', async () => {
    const admin = kinesisAdmin(kinesis.endpoint);
    const streamName = await createStream(admin, 2, 'at-ts');
    const old = await produce(admin, streamName, 150, 0, 'old');
    // Split before the timestamp: the table starts from the shards open at that time (or their parents).
    const api = new KinesisApi(createKinesisClient({ region: TEST_REGION, endpoint: kinesis.endpoint, credentials: TEST_CREDENTIALS }));
    const [s0] = await api.listShards({ streamName });
    await admin.splitShard({ streamName }, s0!.shardId, midpointHashKey(s0!.hashKeyRange));
    await admin.waitForStreamActive({ streamName }, 30_000);
    await new Promise((r) => setTimeout(r, 1500)); // arrival timestamps have second precision on some emulators
    const timestamp = new Date();
    await new Promise((r) => setTimeout(r, 1500));
    const fresh = await produce(admin, streamName, 150, 0, 'new');

    const app = uniqueName('at-ts-app');
    const log = new DeliveryLog();
    const worker = new Scheduler({
      applicationName: app,
      streamName,
      workerId: 'w1',
      initialPosition: { timestamp },
      ...clientsFor(kinesis.endpoint, dynamo.endpoint),
      leases: { failoverTimeMillis: 1500 },
      parentShardPollIntervalMillis: 200,
      retrieval: { mode: 'polling', idleTimeBetweenReadsMillis: 100 },
      processorFactory: log.factory('w1'),
    });
    await worker.start();
    await waitFor(() => fresh.every((p) => log.uniqueKeys().has(p.key)), 30_000, 'every record after the timestamp');
    await new Promise((r) => setTimeout(r, 1000));
    const delivered = log.uniqueKeys();
    assert.equal(old.filter((p) => delivered.has(p.key)).length, 0, 'nothing from before the timestamp');
    assert.deepEqual(log.orderViolations(), []);

    const store = new DynamoDbLeaseStore(new DynamoDbApi(createDynamoDbClient({ region: TEST_REGION, endpoint: dynamo.endpoint, credentials: TEST_CREDENTIALS })), app);
    const { leases } = await store.listLeases();
    const checkpoints = leases.map((l) => l.checkpoint.sequenceNumber);
    assert.ok(!checkpoints.includes('LATEST') && !checkpoints.includes('TRIM_HORIZON'), `leases start AT_TIMESTAMP or moved on: ${checkpoints.join(', ')}`);
    await worker.shutdown();
  });
});
