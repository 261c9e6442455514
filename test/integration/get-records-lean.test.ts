// The lean GetRecords deserializer on the emulators' real answers: it takes them (no fallback to the SDK's
// deserializer) and gives the SDK's output, for plain records and KPL aggregates.
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { GetRecordsCommand, GetShardIteratorCommand } from '@aws-sdk/client-kinesis';
import { createKinesisClient } from '../../src/aws/clients.js';
import { sdkDeserializerOf, useLeanGetRecords } from '../../src/aws/get-records-deserializer.js';
import { KinesisAdmin } from '../../src/aws/kinesis-admin.js';
import { KinesisApi } from '../../src/aws/kinesis-api.js';
import { RecordAggregator } from '../../src/retrieval/kpl/aggregator.js';
import { deaggregateRecords } from '../../src/retrieval/kpl/deaggregate.js';
import { randomBytes, seededRandom } from '../support/kpl-fixtures.js';
import { startKinesis, stopAll, TEST_CREDENTIALS, TEST_REGION, uniqueName, type KinesisEmulatorKind } from '../support/emulators.js';

after(() => stopAll());

for (const kind of ['kinesalite', 'kinesis-local'] as KinesisEmulatorKind[]) {
  describe(`lean GetRecords on ${kind}`, () => {
    it('reads plain records and KPL aggregates without the SDK fallback, as the SDK would', async () => {
      const emulator = await startKinesis(kind);
      const client = createKinesisClient({ region: TEST_REGION, endpoint: emulator.endpoint, credentials: TEST_CREDENTIALS });
      try {
        const admin = new KinesisAdmin(client, { requestTimeoutMillis: 30_000 });
        const stream = { streamName: uniqueName('lean') };
        await admin.createStream(stream.streamName, 1);
        await admin.waitForStreamActive(stream, 30_000);
        const random = seededRandom(21);
        const users = Array.from({ length: 30 }, (_, i) => ({ partitionKey: `u-${i}`, data: randomBytes(random, 1 + (i * 37) % 700) }));
        const aggregates = RecordAggregator.aggregate(users, { maxUserRecords: 10 });
        const plain = Array.from({ length: 20 }, (_, i) => ({ partitionKey: `p-${i}`, data: randomBytes(random, i * 50) }));
        await admin.putRecords(stream, [...plain, ...aggregates.map((a) => ({ partitionKey: a.partitionKey, data: a.data }))]);

        const [shard] = await new KinesisApi(client).listShards(stream);
        const { ShardIterator } = await client.send(
          new GetShardIteratorCommand({ StreamName: stream.streamName, ShardId: shard!.shardId, ShardIteratorType: 'TRIM_HORIZON' }),
        );
        const sdk = await client.send(new GetRecordsCommand({ ShardIterator, Limit: 100 }));
        const fallback = sdkDeserializerOf(client)!;
        let fellBack = 0;
        const counting = ((next: never, context: never) => {
          fellBack++;
          return fallback(next, context);
        }) as unknown as typeof fallback;
        const command = new GetRecordsCommand({ ShardIterator, Limit: 100 });
        useLeanGetRecords(command, counting);
        const lean = await client.send(command);
        assert.equal(fellBack, 0, 'the lean path took the answer');
        const { $metadata: _a, NextShardIterator: nextSdk, ...sdkRest } = sdk;
        const { $metadata: _b, NextShardIterator: nextLean, ...leanRest } = lean;
        assert.deepEqual(leanRest, sdkRest);
        assert.equal(typeof nextLean, typeof nextSdk);
        assert.equal(lean.Records?.length, plain.length + aggregates.length);

        const records = (await new KinesisApi(client).getRecords(ShardIterator!, 100)).records;
        const out = deaggregateRecords(records);
        assert.deepEqual(
          out.map((r) => [r.partitionKey, Buffer.from(r.data).toString('hex'), r.subSequenceNumber]),
          [...plain.map((p) => [p.partitionKey, Buffer.from(p.data).toString('hex'), 0]), ...users.map((u, i) => [u.partitionKey, Buffer.from(u.data).toString('hex'), i % 10])],
        );
      } finally {
        client.destroy();
        await emulator.stop();
      }
    });
  });
}
