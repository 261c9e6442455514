import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Scheduler } from '../../src/index.js';
import { createDynamoDbClient } from '../../src/aws/clients.js';
import { DynamoDbApi } from '../../src/aws/dynamodb-api.js';
import { DynamoDbLeaseStore } from '../../src/leases/dynamodb-lease-store.js';
import { startDynalite, startKinesalite, stopAll, TEST_CREDENTIALS, TEST_REGION, uniqueName, type Emulator } from '../support/emulators.js';
import { clientsFor, createStream, DeliveryLog, kinesisAdmin, produce, waitFor } from '../support/scenario.js';

describe('Scheduler, one worker (kinesalite + dynalite)', () => {
  let kinesis: Emulator;
  let dynamo: Emulator;
  before(async () => {
    [kinesis, dynamo] = await Promise.all([startKinesalite(), startDynalite()]);
  });
  after(() => stopAll());

  it('delivers every record of 4 shards in order, checkpoints, and resumes after the checkpoint', async () => {
    const admin = kinesisAdmin(kinesis.endpoint);
    const streamName = await createStream(admin, 4);
    const first = await produce(admin, streamName, 2000);
    const app = uniqueName('app');
    const log = new DeliveryLog();
    const options = {
      applicationName: app,
      streamName,
      initialPosition: 'TRIM_HORIZON' as const,
      ...clientsFor(kinesis.endpoint, dynamo.endpoint),
      leases: { failoverTimeMillis: 1500 },
      retrieval: { mode: 'polling' as const, idleTimeBetweenReadsMillis: 100 },
    };
    const worker = new Scheduler({ ...options, workerId: 'w1', processorFactory: log.factory('w1') });
    await worker.start();
    await waitFor(() => log.uniqueKeys().size === 2000, 30_000, 'all 2000 records');
    assert.equal(log.deliveries.length, 2000, 'no duplicates in one run');
    assert.deepEqual(log.orderViolations(), []);
    const perShard = new Map<string, string[]>();
    for (const p of first) perShard.set(p.shardId, [...(perShard.get(p.shardId) ?? []), p.key]);
    for (const [shardId, keys] of perShard) {
      assert.deepEqual(log.deliveries.filter((d) => d.shardId === shardId).map((d) => d.key), keys, `order of ${shardId}`);
    }
    await worker.shutdown();

    const store = new DynamoDbLeaseStore(new DynamoDbApi(createDynamoDbClient({ region: TEST_REGION, endpoint: dynamo.endpoint, credentials: TEST_CREDENTIALS })), app);
    const { leases } = await store.listLeases();
    assert.equal(leases.length, 4);
    for (const lease of leases) {
      const lastOfShard = first.filter((p) => p.shardId === lease.leaseKey).at(-1)!;
      assert.equal(lease.checkpoint.sequenceNumber, lastOfShard.sequenceNumber, `checkpoint of ${lease.leaseKey}`);
      assert.equal(lease.leaseOwner, undefined, 'released on shutdown');
    }

    // Restart: only the new records arrive.
    const second = await produce(admin, streamName, 400, 2000);
    const log2 = new DeliveryLog();
    const again = new Scheduler({ ...options, ...clientsFor(kinesis.endpoint, dynamo.endpoint), workerId: 'w2', processorFactory: log2.factory('w2') });
    await again.start();
    await waitFor(() => log2.uniqueKeys().size === 400, 30_000, 'the 400 new records');
    await new Promise((r) => setTimeout(r, 500));
    assert.deepEqual([...log2.uniqueKeys()].sort(), second.map((p) => p.key).sort());
    assert.equal(log2.deliveries.length, 400, 'nothing before the checkpoint delivered again');
    await again.shutdown();
  });
});
