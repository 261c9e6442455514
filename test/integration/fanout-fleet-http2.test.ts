import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createKinesisClient } from '../../src/aws/clients.js';
import type { FanOutHttp2Handler } from '../../src/aws/fanout-http2.js';
import { createFanOutHttp2Handler } from '../../src/aws/fanout-http2.js';
import { startDynalite, startKinesisLocal, stopAll, TEST_CREDENTIALS, TEST_REGION, type Emulator, type KinesisLocalEmulator } from '../support/emulators.js';
import { CuttableHandler, fleetScenario, kinesisLocalTls } from '../support/fanout.js';

describe('enhanced fan-out over HTTP/2 + TLS (kinesis-local + dynalite)', () => {
  let kinesis: KinesisLocalEmulator;
  let dynamo: Emulator;
  before(async () => {
    [kinesis, dynamo] = await Promise.all([startKinesisLocal(), startDynalite()]);
  });
  after(() => stopAll());

  it('3 workers, 4 shards: all delivered in order; cut subscriptions resume after their continuation; hand-over', async () => {
    const inner: FanOutHttp2Handler[] = [];
    const result = await fleetScenario({
      label: 'http2',
      adminEndpoint: kinesis.endpoint,
      dynamoEndpoint: dynamo.endpoint,
      transport: () => {
        const handler = createFanOutHttp2Handler({ connectOptions: kinesisLocalTls(), maxStreamsPerSession: 2 });
        inner.push(handler);
        return {
          // Control plane over HTTP/2 + TLS too; the subscriptions get a client of their own with this handler.
          kinesisClient: createKinesisClient({
            region: TEST_REGION,
            endpoint: kinesis.tlsEndpoint,
            credentials: TEST_CREDENTIALS,
            requestHandler: createFanOutHttp2Handler({ connectOptions: kinesisLocalTls() }),
          }),
          subscriptions: new CuttableHandler(handler),
        };
      },
    });
    console.log(`fan-out http2: ${JSON.stringify(result)}`);
    assert.ok(inner.every((h) => h.watchedSessions === 0), 'no session left open after shutdown');
  });
});
