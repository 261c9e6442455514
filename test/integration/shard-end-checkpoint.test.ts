import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Scheduler, InvalidStateError } from '../../src/index.js';
import { createKinesisClient } from '../../src/aws/clients.js';
import { KinesisApi } from '../../src/aws/kinesis-api.js';
import { midpointHashKey } from '../../src/shards/hash-key-range.js';
import { startDynalite, startKinesalite, stopAll, TEST_CREDENTIALS, TEST_REGION, uniqueName, type Emulator } from '../support/emulators.js';
import { clientsFor, createStream, kinesisAdmin, produce, waitFor } from '../support/scenario.js';

describe('shard end without a checkpoint (kinesalite + dynalite)', () => {
  let kinesis: Emulator;
  let dynamo: Emulator;
  before(async () => {
    [kinesis, dynamo] = await Promise.all([startKinesalite(), startDynalite()]);
  });
  after(() => stopAll());

  it('is a clear, reported error; shardEnded is asked again until it checkpoints, and only then do the children start', async () => {
    const admin = kinesisAdmin(kinesis.endpoint);
    const streamName = await createStream(admin, 1, 'end-cp');
    await produce(admin, streamName, 50, 0, 'parent');
    const api = new KinesisApi(createKinesisClient({ region: TEST_REGION, endpoint: kinesis.endpoint, credentials: TEST_CREDENTIALS }));
    const [parent] = await api.listShards({ streamName });
    await admin.splitShard({ streamName }, parent!.shardId, midpointHashKey(parent!.hashKeyRange));
    await admin.waitForStreamActive({ streamName }, 30_000);
    await produce(admin, streamName, 50, 0, 'child');

    const calls: string[] = [];
    const errors: { phase: string; error: unknown }[] = [];
    let shardEndedCalls = 0;
    const worker = new Scheduler({
      applicationName: uniqueName('end-cp-app'),
      streamName,
      workerId: 'w1',
      initialPosition: 'TRIM_HORIZON',
      ...clientsFor(kinesis.endpoint, dynamo.endpoint),
      leases: { failoverTimeMillis: 1500 },
      parentShardPollIntervalMillis: 100,
      retrieval: { mode: 'polling', idleTimeBetweenReadsMillis: 100 },
      processorFactory: ({ shardId }) => ({
        initialize: () => undefined,
        processRecords: ({ records }) => {
          for (const r of records) calls.push(`${shardId}:${new TextDecoder().decode(r.data).split('-')[0]}`);
        },
        leaseLost: () => undefined,
        shardEnded: async ({ checkpointer }) => {
          shardEndedCalls++;
          if (shardEndedCalls >= 3) await checkpointer.checkpoint(); // forgets twice, then does it right
        },
      }),
    });
    worker.on('processingError', (e) => errors.push(e));
    await worker.start();
    await waitFor(() => calls.filter((c) => c.endsWith(':child')).length === 50, 30_000, 'the children’s records');
    assert.equal(shardEndedCalls, 3);
    assert.equal(errors.length, 2);
    for (const e of errors) {
      assert.equal(e.phase, 'shardEnded');
      assert.ok(e.error instanceof InvalidStateError && /did not checkpoint in shardEnded/.test(e.error.message));
    }
    const firstChild = calls.findIndex((c) => c.endsWith(':child'));
    const lastParent = calls.map((c) => c.startsWith(`${parent!.shardId}:`)).lastIndexOf(true);
    assert.ok(lastParent < firstChild, 'children only after the parent checkpointed SHARD_END');
    assert.equal(calls.filter((c) => c.startsWith(`${parent!.shardId}:`)).length, 50, 'parent records delivered once, not replayed');
    await worker.shutdown();
  });
});
