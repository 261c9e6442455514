// KPL end to end on the emulators: RecordAggregator → PutRecords (kinesalite) → Scheduler → processor, with a
// checkpoint inside an aggregate, a stop, and a restart that delivers only the later sub-records.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { RecordAggregator, Scheduler, type KinesisClientRecord, type ShardRecordProcessor } from '../../src/index.js';
import { createDynamoDbClient } from '../../src/aws/clients.js';
import { DynamoDbApi } from '../../src/aws/dynamodb-api.js';
import { DynamoDbLeaseStore } from '../../src/leases/dynamodb-lease-store.js';
import { startDynalite, startKinesalite, stopAll, TEST_CREDENTIALS, TEST_REGION, uniqueName, type Emulator } from '../support/emulators.js';
import { clientsFor, createStream, kinesisAdmin, waitFor } from '../support/scenario.js';

interface Delivery {
  key: string;
  sequenceNumber: string;
  subSequenceNumber: number;
  aggregated: boolean;
}

const dec = new TextDecoder();

function toDelivery(r: KinesisClientRecord): Delivery {
  return { key: dec.decode(r.data), sequenceNumber: r.sequenceNumber, subSequenceNumber: r.subSequenceNumber, aggregated: r.aggregated };
}

describe('KPL aggregates through the Scheduler (kinesalite + dynalite)', () => {
  let kinesis: Emulator;
  let dynamo: Emulator;
  before(async () => {
    [kinesis, dynamo] = await Promise.all([startKinesalite(), startDynalite()]);
  });
  after(() => stopAll());

  it('checkpoints inside an aggregate; after a restart only the later sub-records arrive; every user record once', async () => {
    const admin = kinesisAdmin(kinesis.endpoint);
    const streamName = await createStream(admin, 1, 'kpl');
    // 41 user records → four aggregates of 10 and a lone record (sent unaggregated, as the KPL does).
    const users = Array.from({ length: 41 }, (_, i) => ({ partitionKey: `device-${i % 7}`, data: new TextEncoder().encode(`user-${i}`) }));
    const entries = RecordAggregator.aggregate(users, { maxUserRecords: 10 });
    assert.deepEqual(entries.map((e) => e.userRecords), [10, 10, 10, 10, 1]);
    const put = await admin.putRecords({ streamName }, entries);
    const target = { sequenceNumber: put[1]!.sequenceNumber, subSequenceNumber: 3 }; // user-13

    const app = uniqueName('kpl-app');
    const options = {
      applicationName: app,
      streamName,
      initialPosition: 'TRIM_HORIZON' as const,
      leases: { failoverTimeMillis: 1500 },
      retrieval: { mode: 'polling' as const, idleTimeBetweenReadsMillis: 100 },
    };

    // Run 1: process up to sub-record 3 of the second aggregate, checkpoint it, and "crash" (ignore the rest).
    const first: Delivery[] = [];
    let checkpointed = false;
    const processor1 = (): ShardRecordProcessor => ({
      initialize: () => undefined,
      processRecords: async ({ records, checkpointer }) => {
        for (const r of records) {
          if (checkpointed) return;
          first.push(toDelivery(r));
          if (r.sequenceNumber === target.sequenceNumber && r.subSequenceNumber === target.subSequenceNumber) {
            await checkpointer.checkpoint(r);
            checkpointed = true;
          }
        }
      },
      leaseLost: () => undefined,
      shardEnded: async ({ checkpointer }) => checkpointer.checkpoint(),
    });
    const worker1 = new Scheduler({ ...options, ...clientsFor(kinesis.endpoint, dynamo.endpoint), workerId: 'w1', processorFactory: processor1 });
    await worker1.start();
    await waitFor(() => checkpointed, 30_000, 'the checkpoint inside the second aggregate');
    await worker1.shutdown();
    assert.deepEqual(first.map((d) => d.key), users.slice(0, 14).map((u) => dec.decode(u.data)));
    assert.ok(first.every((d) => d.aggregated));
    assert.deepEqual(first.slice(10).map((d) => [d.sequenceNumber, d.subSequenceNumber]), [0, 1, 2, 3].map((s) => [target.sequenceNumber, s]));

    const store = new DynamoDbLeaseStore(new DynamoDbApi(createDynamoDbClient({ region: TEST_REGION, endpoint: dynamo.endpoint, credentials: TEST_CREDENTIALS })), app);
    const { leases } = await store.listLeases();
    assert.equal(leases.length, 1);
    assert.equal(leases[0]!.checkpoint.sequenceNumber, target.sequenceNumber);
    assert.equal(leases[0]!.checkpoint.subSequenceNumber, 3, 'the sub-sequence number is stored');

    // Run 2: a fresh worker resumes from (sequence, 3) and gets user-14 … user-40 exactly once.
    const second: Delivery[] = [];
    const initializedAt: { sequenceNumber: string; subSequenceNumber: number }[] = [];
    const processor2 = (): ShardRecordProcessor => ({
      initialize: ({ extendedSequenceNumber }) => {
        initializedAt.push(extendedSequenceNumber);
      },
      processRecords: async ({ records, checkpointer }) => {
        second.push(...records.map(toDelivery));
        await checkpointer.checkpoint();
      },
      leaseLost: () => undefined,
      shardEnded: async ({ checkpointer }) => checkpointer.checkpoint(),
    });
    const worker2 = new Scheduler({ ...options, ...clientsFor(kinesis.endpoint, dynamo.endpoint), workerId: 'w2', processorFactory: processor2 });
    await worker2.start();
    try {
      await waitFor(() => second.length >= 27, 30_000, 'the 27 later user records');
      await new Promise((r) => setTimeout(r, 500)); // nothing more may arrive
    } finally {
      await worker2.shutdown();
    }
    assert.deepEqual(initializedAt, [target]);
    assert.deepEqual(second.map((d) => d.key), users.slice(14).map((u) => dec.decode(u.data)), 'only the later sub-records, in order');
    assert.deepEqual(second.slice(0, 6).map((d) => [d.sequenceNumber, d.subSequenceNumber]), [4, 5, 6, 7, 8, 9].map((s) => [target.sequenceNumber, s]));
    const lone = second.at(-1)!;
    assert.deepEqual([lone.sequenceNumber, lone.subSequenceNumber, lone.aggregated], [put[4]!.sequenceNumber, 0, false]);

    const all = [...first, ...second].map((d) => d.key);
    assert.equal(new Set(all).size, all.length, 'no user record twice');
    assert.deepEqual(all, users.map((u) => dec.decode(u.data)), 'every user record, in order, across both runs');
  });

  it('delivers off-range sub-records by default and drops them with filterOffRangeSubRecords (lease hash range)', async () => {
    const admin = kinesisAdmin(kinesis.endpoint);
    const streamName = await createStream(admin, 2, 'kpl-range');
    const upperStart = 1n << 127n; // CreateStream splits the hash space evenly: shard 1 starts at 2^127
    // One aggregate routed to shard 0 (its first record's explicit hash key), half of its records hashing to shard 1.
    const users = Array.from({ length: 10 }, (_, i) => ({
      partitionKey: `k${i}`,
      data: new TextEncoder().encode(`r${i}`),
      explicitHashKey: (i % 2 === 0 ? BigInt(i) : upperStart + BigInt(i)).toString(),
    }));
    const entries = RecordAggregator.aggregate(users);
    assert.equal(entries.length, 1);
    const [put] = await admin.putRecords({ streamName }, entries);

    async function consume(filterOffRangeSubRecords: boolean): Promise<Map<string, string[]>> {
      const byShard = new Map<string, string[]>();
      const worker = new Scheduler({
        applicationName: uniqueName('kpl-range-app'),
        streamName,
        initialPosition: 'TRIM_HORIZON',
        ...clientsFor(kinesis.endpoint, dynamo.endpoint),
        leases: { failoverTimeMillis: 1500 },
        retrieval: { mode: 'polling', idleTimeBetweenReadsMillis: 100, filterOffRangeSubRecords },
        workerId: 'w',
        processorFactory: ({ shardId }) => ({
          initialize: () => undefined,
          processRecords: ({ records }) => {
            byShard.set(shardId, [...(byShard.get(shardId) ?? []), ...records.map((r) => dec.decode(r.data))]);
          },
          leaseLost: () => undefined,
          shardEnded: async ({ checkpointer }) => checkpointer.checkpoint(),
        }),
      });
      await worker.start();
      try {
        await waitFor(() => (byShard.get(put!.shardId)?.length ?? 0) >= (filterOffRangeSubRecords ? 5 : 10), 30_000, 'the sub-records');
        await new Promise((r) => setTimeout(r, 500));
      } finally {
        await worker.shutdown();
      }
      return byShard;
    }

    const all = await consume(false);
    assert.deepEqual(all.get(put!.shardId), users.map((u) => dec.decode(u.data)));
    const filtered = await consume(true);
    assert.deepEqual(filtered.get(put!.shardId), ['r0', 'r2', 'r4', 'r6', 'r8']);
    assert.deepEqual([...filtered.values()].flat().length, 5, 'nothing anywhere else');
  });
});
