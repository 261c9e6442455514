import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Scheduler } from '../../src/index.js';
import { createDynamoDbClient, createKinesisClient, http1Handler } from '../../src/aws/clients.js';
import type { StreamConfig } from '../../src/config/options.js';
import { startDynalite, startKinesisLocal, stopAll, TEST_CREDENTIALS, TEST_REGION, uniqueName, type Emulator, type KinesisLocalEmulator } from '../support/emulators.js';
import { createStream, kinesisAdmin, produce, waitFor } from '../support/scenario.js';

describe('multi-stream with enhanced fan-out (kinesis-local + dynalite)', () => {
  let kinesis: KinesisLocalEmulator;
  let dynamo: Emulator;
  before(async () => {
    [kinesis, dynamo] = await Promise.all([startKinesisLocal(), startDynalite()]);
  });
  after(() => stopAll());

  it('2 streams over fan-out, one consumer each, with a shared request handler; after one stream is removed the other keeps delivering', async () => {
    const admin = kinesisAdmin(kinesis.endpoint);
    const [a, b] = await Promise.all([createStream(admin, 2, 'msfa'), createStream(admin, 2, 'msfb')]);
    await Promise.all([produce(admin, a, 40, 0, 'a'), produce(admin, b, 40, 0, 'b')]);
    const delivered = new Map<string, Set<string>>([[a, new Set()], [b, new Set()]]);
    let list: StreamConfig[] = [{ streamName: a }, { streamName: b }];
    const worker = new Scheduler({
      applicationName: uniqueName('msf-app'),
      workerId: 'w1',
      streams: () => list,
      streamTrackerIntervalMillis: 300,
      initialPosition: 'TRIM_HORIZON',
      kinesisClient: createKinesisClient({ region: TEST_REGION, endpoint: kinesis.endpoint, credentials: TEST_CREDENTIALS }),
      dynamoDbClient: createDynamoDbClient({ region: TEST_REGION, endpoint: dynamo.endpoint, credentials: TEST_CREDENTIALS }),
      leases: { failoverTimeMillis: 3000 },
      retrieval: { mode: 'fanout', requestHandler: http1Handler(), subscriptionIdleTimeoutMillis: 10_000 },
      processorFactory: () => ({
        initialize: () => undefined,
        processRecords: async (input) => {
          for (const r of input.records) delivered.get(input.streamName)!.add(new TextDecoder().decode(r.data));
          await input.checkpointer.checkpoint();
        },
        leaseLost: () => undefined,
        shardEnded: async ({ checkpointer }) => checkpointer.checkpoint(),
        shutdownRequested: async ({ checkpointer }) => checkpointer.checkpoint(),
      }),
    });
    try {
      await worker.start();
      await waitFor(() => delivered.get(a)!.size === 40 && delivered.get(b)!.size === 40, 40_000, 'records of both streams over fan-out');
      assert.ok([...delivered.get(a)!].every((k) => k.startsWith('a')));
      assert.ok([...delivered.get(b)!].every((k) => k.startsWith('b')));
      list = [{ streamName: a }];
      await waitFor(() => worker.streamNames.length === 1 && worker.heldLeaseKeys.every((k) => k.includes(`:${a}:`)), 15_000, 'stream b removed');
      await produce(admin, a, 20, 40, 'a');
      await waitFor(() => delivered.get(a)!.size === 60, 40_000, 'a keeps being delivered after b was removed');
    } finally {
      await worker.shutdown();
    }
  });
});
