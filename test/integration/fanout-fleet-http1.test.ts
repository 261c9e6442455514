import { after, before, describe, it } from 'node:test';
import { createKinesisClient, http1Handler } from '../../src/aws/clients.js';
import { startDynalite, startKinesisLocal, stopAll, TEST_CREDENTIALS, TEST_REGION, type Emulator, type KinesisLocalEmulator } from '../support/emulators.js';
import { CuttableHandler, fleetScenario } from '../support/fanout.js';

describe('enhanced fan-out over HTTP/1.1 (kinesis-local + dynalite)', () => {
  let kinesis: KinesisLocalEmulator;
  let dynamo: Emulator;
  before(async () => {
    [kinesis, dynamo] = await Promise.all([startKinesisLocal(), startDynalite()]);
  });
  after(() => stopAll());

  it('3 workers, 4 shards: all delivered in order; cut subscriptions resume after their continuation; hand-over', async () => {
    const result = await fleetScenario({
      label: 'http1',
      adminEndpoint: kinesis.endpoint,
      dynamoEndpoint: dynamo.endpoint,
      transport: () => ({
        kinesisClient: createKinesisClient({ region: TEST_REGION, endpoint: kinesis.endpoint, credentials: TEST_CREDENTIALS }),
        subscriptions: new CuttableHandler(http1Handler()),
      }),
    });
    console.log(`fan-out http1: ${JSON.stringify(result)}`);
  });
});
