// Enhanced fan-out watchdog on kinesis-local: a subscription that stays open but goes silent (no event, not even the
// heartbeat) is torn down after `retrieval.subscriptionIdleTimeoutMillis` and subscribed again after its last
// event, so the shard goes on delivering, without loss or duplicates, and its lease never moves.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createDynamoDbClient, createKinesisClient, http1Handler } from '../../src/aws/clients.js';
import { Scheduler } from '../../src/index.js';
import type { Logger } from '../../src/util/logger.js';
import { startDynalite, startKinesisLocal, stopAll, TEST_CREDENTIALS, TEST_REGION, uniqueName, type Emulator, type KinesisLocalEmulator } from '../support/emulators.js';
import { CuttableHandler } from '../support/fanout.js';
import { createStream, DeliveryLog, kinesisAdmin, produce, waitFor } from '../support/scenario.js';

describe('enhanced fan-out watchdog (kinesis-local + dynalite)', () => {
  let kinesis: KinesisLocalEmulator;
  let dynamo: Emulator;
  before(async () => {
    [kinesis, dynamo] = await Promise.all([startKinesisLocal(), startDynalite()]);
  });
  after(() => stopAll());

  it('a silent subscription is closed after the idle timeout and resubscribed; the shard keeps delivering, once, on the same lease', async () => {
    const admin = kinesisAdmin(kinesis.endpoint);
    const streamName = await createStream(admin, 1, 'watchdog');
    const first = await produce(admin, streamName, 20);
    const log = new DeliveryLog();
    const warnings: string[] = [];
    const logger: Logger = {
      debug: () => undefined,
      info: () => undefined,
      warn: (_obj, msg) => void warnings.push(msg ?? ''),
      error: () => undefined,
      child: () => logger,
    };
    const subscriptions = new CuttableHandler(http1Handler(), { stallable: true });
    const kinesisClient = createKinesisClient({ region: TEST_REGION, endpoint: kinesis.endpoint, credentials: TEST_CREDENTIALS });
    const dynamoDbClient = createDynamoDbClient({ region: TEST_REGION, endpoint: dynamo.endpoint, credentials: TEST_CREDENTIALS });
    const worker = new Scheduler({
      applicationName: uniqueName('watchdog'),
      streamName,
      workerId: 'w1',
      initialPosition: 'TRIM_HORIZON',
      kinesisClient,
      dynamoDbClient,
      leases: { failoverTimeMillis: 10_000 },
      retrieval: { mode: 'fanout', requestHandler: subscriptions.asRequestHandler(), subscriptionIdleTimeoutMillis: 2000 },
      processorFactory: log.factory('w1'),
      logger,
    });
    try {
      await worker.start();
      await waitFor(() => log.uniqueKeys().size === first.length, 30_000, 'the first records');
      const openedBefore = subscriptions.opened;
      assert.equal(subscriptions.stallSubscriptions(), 1, 'one open subscription to silence');
      const stalledAt = Date.now();
      const later = await produce(admin, streamName, 20, 20);
      await waitFor(() => subscriptions.opened > openedBefore, 20_000, 'a new subscription after the silence');
      const reopenedAfter = Date.now() - stalledAt;
      assert.ok(reopenedAfter >= 1900, `resubscribed after ${reopenedAfter} ms, not before the 2000 ms idle timeout`);
      await waitFor(() => later.every((p) => log.uniqueKeys().has(p.key)), 20_000, 'the records produced while silent');
      assert.ok(warnings.some((w) => /subscription silent/.test(w)), 'a warning names the silent subscription');
      assert.equal(log.deliveries.length, 40, 'every record exactly once');
      assert.deepEqual(log.orderViolations(), []);
      assert.deepEqual(log.events.filter((e) => e.endsWith(':initialize:TRIM_HORIZON') || e.includes(':leaseLost')).length, 1, 'one consumer, no lease loss');
    } finally {
      await worker.shutdown();
      kinesisClient.destroy();
      dynamoDbClient.destroy();
    }
  });
});
