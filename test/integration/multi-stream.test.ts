import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { Scheduler, type ShardRecordProcessor } from '../../src/index.js';
import { createDynamoDbClient } from '../../src/aws/clients.js';
import { DynamoDbApi, type AttributeMap } from '../../src/aws/dynamodb-api.js';
import type { KinesisAdmin } from '../../src/aws/kinesis-admin.js';
import type { StreamConfig } from '../../src/config/options.js';
import { DynamoDbLeaseStore } from '../../src/leases/dynamodb-lease-store.js';
import type { Lease } from '../../src/leases/lease.js';
import { serializeStreamIdentifier, streamIdentifierOf } from '../../src/leases/multi-stream.js';
import { startDynalite, startKinesalite, stopAll, TEST_CREDENTIALS, TEST_REGION, uniqueName, type Emulator } from '../support/emulators.js';
import { clientsFor, createStream, kinesisAdmin, produce, waitFor } from '../support/scenario.js';

interface StreamDelivery {
  workerId: string;
  streamName: string;
  shardId: string;
  key: string;
}

/** Records every delivery with the stream the processor was told it belongs to. */
class StreamDeliveryLog {
  readonly deliveries: StreamDelivery[] = [];
  readonly factoryCalls: string[] = [];
  readonly events: string[] = [];

  factory(workerId: string, options: { hangInShutdownRequested?: boolean } = {}) {
    return ({ shardId, streamName }: { shardId: string; streamName: string }): ShardRecordProcessor => {
      this.factoryCalls.push(`${streamName}/${shardId}`);
      return {
        initialize: () => undefined,
        processRecords: async (input) => {
          for (const r of input.records) {
            this.deliveries.push({ workerId, streamName: input.streamName, shardId: input.shardId, key: new TextDecoder().decode(r.data) });
          }
          await input.checkpointer.checkpoint();
        },
        leaseLost: ({ streamName: s, shardId: id }) => void this.events.push(`${workerId}:${s}/${id}:leaseLost`),
        shardEnded: async ({ checkpointer }) => checkpointer.checkpoint(),
        shutdownRequested: async ({ streamName: s, shardId: id, checkpointer }) => {
          this.events.push(`${workerId}:${s}/${id}:shutdownRequested`);
          if (options.hangInShutdownRequested) await new Promise(() => undefined);
          await checkpointer.checkpoint();
        },
      };
    };
  }

  keysOf(streamName: string): Set<string> {
    return new Set(this.deliveries.filter((d) => d.streamName === streamName).map((d) => d.key));
  }
}

describe('multi-stream (kinesalite + dynalite)', () => {
  let kinesis: Emulator;
  let dynamo: Emulator;
  let admin: KinesisAdmin;
  let dynamoApi: DynamoDbApi;
  const schedulers: Scheduler[] = [];
  before(async () => {
    [kinesis, dynamo] = await Promise.all([startKinesalite({ shardLimit: 100 }), startDynalite()]);
    admin = kinesisAdmin(kinesis.endpoint);
    dynamoApi = new DynamoDbApi(createDynamoDbClient({ region: TEST_REGION, endpoint: dynamo.endpoint, credentials: TEST_CREDENTIALS }));
  });
  after(async () => {
    await Promise.all(schedulers.map((s) => s.shutdown()));
    await stopAll();
  });

  const leasesOf = async (table: string): Promise<Lease[]> => (await new DynamoDbLeaseStore(dynamoApi, table).listLeases()).leases;
  const idOf = async (streamName: string): Promise<string> => serializeStreamIdentifier(streamIdentifierOf(await admin.waitForStreamActive({ streamName }, 10_000)));

  function worker(app: string, workerId: string, log: StreamDeliveryLog, streams: readonly StreamConfig[] | (() => StreamConfig[]), extra: object = {}): Scheduler {
    const s = new Scheduler({
      applicationName: app,
      workerId,
      streams,
      initialPosition: 'TRIM_HORIZON',
      ...clientsFor(kinesis.endpoint, dynamo.endpoint),
      leases: { failoverTimeMillis: 1500 },
      retrieval: { mode: 'polling', idleTimeBetweenReadsMillis: 100 },
      streamTrackerIntervalMillis: typeof streams === 'function' ? 300 : undefined,
      processorFactory: log.factory(workerId, { hangInShutdownRequested: 'hang' in extra }),
      ...Object.fromEntries(Object.entries(extra).filter(([k]) => k !== 'hang')),
    });
    schedulers.push(s);
    return s;
  }

  it('2 streams x 3 shards, 2 workers: every record delivered, attributed to its stream; Java lease keys; leases balanced 3/3', async () => {
    const [a, b] = await Promise.all([createStream(admin, 3, 'msa'), createStream(admin, 3, 'msb')]);
    const [pa, pb] = await Promise.all([produce(admin, a, 300, 0, 'a'), produce(admin, b, 300, 0, 'b')]);
    const app = uniqueName('ms-app');
    const log = new StreamDeliveryLog();
    const streams = [{ streamName: a }, { streamName: b }];
    const w1 = worker(app, 'w1', log, streams);
    const w2 = worker(app, 'w2', log, streams);
    await Promise.all([w1.start(), w2.start()]);
    await waitFor(() => log.keysOf(a).size === 300 && log.keysOf(b).size === 300, 30_000, 'all records of both streams');
    assert.deepEqual([...log.keysOf(a)].sort(), pa.map((p) => p.key).sort());
    assert.deepEqual([...log.keysOf(b)].sort(), pb.map((p) => p.key).sort());
    for (const d of log.deliveries) assert.equal(d.key[0], d.streamName === a ? 'a' : 'b', `${d.key} delivered as a record of ${d.streamName}`);
    for (const p of [...pa, ...pb]) {
      const d = log.deliveries.find((x) => x.key === p.key)!;
      assert.equal(d.shardId, p.shardId, `${p.key} on its shard`);
    }
    assert.ok(log.factoryCalls.every((c) => c.startsWith(`${a}/shardId-`) || c.startsWith(`${b}/shardId-`)), log.factoryCalls.join());
    assert.deepEqual(w1.streamNames.sort(), [a, b].sort());

    await waitFor(() => w1.heldLeaseKeys.length === 3 && w2.heldLeaseKeys.length === 3, 15_000, 'leases balanced 3/3 over both streams');
    const leases = await leasesOf(app);
    assert.equal(leases.length, 6);
    const [ida, idb] = await Promise.all([idOf(a), idOf(b)]);
    assert.match(ida, new RegExp(`^\\d{12}:${a}:\\d+$`));
    for (const lease of leases) {
      const id = lease.leaseKey.startsWith(`${ida}:`) ? ida : idb;
      assert.equal(lease.leaseKey, `${id}:${lease.shardId}`, 'account:stream:creationEpoch:shardId');
      assert.equal(lease.streamName, id, 'streamName attribute holds the serialized stream identifier');
      assert.match(lease.shardId!, /^shardId-\d{12}$/);
    }
    await Promise.all([w1.shutdown(), w2.shutdown()]);
  });

  it('tracker function: a stream added at run time is consumed; a removed stream stops and its leases are kept', async () => {
    const [a, b, c] = await Promise.all([createStream(admin, 2, 'msa'), createStream(admin, 2, 'msb'), createStream(admin, 2, 'msc')]);
    await Promise.all([produce(admin, a, 100, 0, 'a'), produce(admin, b, 100, 0, 'b')]);
    const app = uniqueName('ms-app');
    const log = new StreamDeliveryLog();
    let list: StreamConfig[] = [{ streamName: a }, { streamName: b }];
    const w1 = worker(app, 'w1', log, () => list);
    const w2 = worker(app, 'w2', log, () => list);
    await Promise.all([w1.start(), w2.start()]);
    await waitFor(() => log.keysOf(a).size === 100 && log.keysOf(b).size === 100, 30_000, 'records of a and b');

    const pc = await produce(admin, c, 100, 0, 'c');
    list = [...list, { streamName: c, initialPosition: 'TRIM_HORIZON' }];
    await waitFor(() => log.keysOf(c).size === 100, 30_000, 'records of the added stream c');
    assert.deepEqual([...log.keysOf(c)].sort(), pc.map((p) => p.key).sort());
    const idc = await idOf(c);
    assert.equal((await leasesOf(app)).filter((l) => l.streamName === idc).length, 2);

    list = list.filter((s) => s.streamName !== a);
    const ida = await idOf(a);
    const held = () => [...w1.heldLeaseKeys, ...w2.heldLeaseKeys];
    await waitFor(() => !held().some((k) => k.startsWith(`${ida}:`)) && !w1.streamNames.includes(a) && !w2.streamNames.includes(a), 15_000, 'stream a stopped on both workers');
    assert.ok(log.events.some((e) => e.includes(`:${a}/`) && e.endsWith('shutdownRequested')), 'a\'s processors were asked to shut down (and checkpointed)');
    const before = log.keysOf(a).size;
    await produce(admin, a, 20, 100, 'a');
    await new Promise((r) => setTimeout(r, 1500));
    assert.equal(log.keysOf(a).size, before, 'a removed stream is not consumed');
    const kept = (await leasesOf(app)).filter((l) => l.streamName === ida);
    assert.equal(kept.length, 2, 'leases of the removed stream kept by default');
    for (const l of kept) {
      assert.equal(l.leaseOwner, undefined, 'released');
      assert.match(l.checkpoint.sequenceNumber, /^\d+$/, 'with its checkpoint');
    }
    // Adding it back continues from the checkpoints.
    list = [...list, { streamName: a }];
    await waitFor(() => log.keysOf(a).size === 120, 30_000, 'the 20 new records of a after re-adding it');
    assert.equal(log.deliveries.filter((d) => d.streamName === a).length, 120, 'nothing before the checkpoints again');
    await Promise.all([w1.shutdown(), w2.shutdown()]);
  });

  it('formerStreamLeasesDeletionDelayMillis: a removed stream\'s leases are deleted after the delay (also when its processors hang in shutdownRequested)', async () => {
    const [a, b] = await Promise.all([createStream(admin, 2, 'msa'), createStream(admin, 1, 'msb')]);
    const app = uniqueName('ms-app');
    const log = new StreamDeliveryLog();
    let list: StreamConfig[] = [{ streamName: a }, { streamName: b }];
    const w1 = worker(app, 'w1', log, () => list, {
      formerStreamLeasesDeletionDelayMillis: 1500,
      hang: true,
      leases: { failoverTimeMillis: 1500, gracefulHandoffTimeoutMillis: 500 },
    });
    await w1.start();
    const ida = await idOf(a);
    assert.equal((await leasesOf(app)).length, 3);
    // All three held (a lone worker's first round takes one lease, the next round the rest) before a is removed.
    await waitFor(() => w1.heldLeaseKeys.length === 3, 15_000, 'w1 holds all three leases');
    list = [{ streamName: b }];
    const removedAt = Date.now();
    await waitFor(async () => (await leasesOf(app)).every((l) => l.streamName !== ida), 15_000, 'a\'s leases deleted');
    assert.ok(Date.now() - removedAt >= 1500, 'not before the delay');
    assert.equal((await leasesOf(app)).length, 1, 'b\'s lease stays');
    assert.ok(log.events.some((e) => e.includes(`:${a}/`) && e.endsWith(':shutdownRequested')), 'a\'s shards were asked to shut down (and hang)');
    assert.deepEqual(w1.heldLeaseKeys.filter((k) => k.startsWith(`${ida}:`)), [], 'hanging shards of a let go after the timeout');
    await w1.shutdown();
  });

  it('continues multi-stream lease items as Java KCL writes them (fixture format), from their checkpoints', async () => {
    const fixture = JSON.parse(readFileSync(new URL('../fixtures/java-kcl-lease-items.json', import.meta.url), 'utf8')) as {
      items: { case: string; item: AttributeMap }[];
    };
    const javaItem = fixture.items.find((i) => i.case.startsWith('multi-stream'))!.item;
    const s = await createStream(admin, 1, 'msj');
    const produced = await produce(admin, s, 50, 0, 'j');
    const id = await idOf(s);
    const app = uniqueName('ms-app');
    const shardId = produced[0]!.shardId;
    await new DynamoDbLeaseStore(dynamoApi, app).createTableIfNotExists({ billingMode: 'PAY_PER_REQUEST', readCapacity: 1, writeCapacity: 1, activeTimeoutMillis: 10_000 });
    await dynamoApi.putItem({
      tableName: app,
      item: {
        ...javaItem,
        leaseKey: { S: `${id}:${shardId}` },
        streamName: { S: id },
        shardId: { S: shardId },
        leaseOwner: { S: 'dead-java-worker' },
        checkpoint: { S: produced[19]!.sequenceNumber },
      },
    });
    const log = new StreamDeliveryLog();
    const w = worker(app, 'ts', log, [{ streamName: s }]);
    await w.start();
    await waitFor(() => log.keysOf(s).size === 30, 20_000, 'the 30 records after the Java checkpoint');
    await new Promise((r) => setTimeout(r, 300));
    assert.deepEqual([...log.keysOf(s)].sort(), produced.slice(20).map((p) => p.key).sort());
    const leases = await leasesOf(app);
    assert.equal(leases.length, 1, 'no second lease created for the shard');
    assert.equal(leases[0]!.leaseOwner, 'ts');
    assert.equal(leases[0]!.checkpoint.sequenceNumber, produced[49]!.sequenceNumber);
    await w.shutdown();
  });

  it('mixed tables: each mode ignores the other mode\'s leases and leaves them untouched', async () => {
    const [single, multi] = await Promise.all([createStream(admin, 1, 'mss'), createStream(admin, 1, 'msm')]);
    await Promise.all([produce(admin, single, 10, 0, 's'), produce(admin, multi, 10, 0, 'm')]);
    const app = uniqueName('ms-app');
    const multiLog = new StreamDeliveryLog();
    const mw = worker(app, 'multi', multiLog, [{ streamName: multi }]);
    await mw.start();
    await waitFor(() => multiLog.keysOf(multi).size === 10, 20_000, 'multi-stream records');
    await mw.shutdown();

    const singleLog = new StreamDeliveryLog();
    const sw = new Scheduler({
      applicationName: app,
      workerId: 'single',
      streamName: single,
      initialPosition: 'TRIM_HORIZON',
      ...clientsFor(kinesis.endpoint, dynamo.endpoint),
      leases: { failoverTimeMillis: 1500 },
      retrieval: { mode: 'polling', idleTimeBetweenReadsMillis: 100 },
      processorFactory: singleLog.factory('single'),
    });
    schedulers.push(sw);
    const multiBefore = (await leasesOf(app)).filter((l) => l.streamName !== undefined);
    await sw.start();
    await waitFor(() => singleLog.keysOf(single).size === 10, 20_000, 'single-stream records');
    await new Promise((r) => setTimeout(r, 2000)); // more than the failover time: the unowned multi-stream lease stays untaken
    assert.deepEqual(sw.heldLeaseKeys, [singleLog.deliveries[0]!.shardId]);
    assert.ok(singleLog.deliveries.every((d) => d.key.startsWith('s')));
    assert.deepEqual((await leasesOf(app)).filter((l) => l.streamName !== undefined), multiBefore, 'multi-stream items untouched');
    await sw.shutdown();

    // And the reverse: the multi-stream worker ignores the single-stream lease and the single-stream app's data.
    const singleBefore = (await leasesOf(app)).filter((l) => l.streamName === undefined);
    assert.equal(singleBefore.length, 1);
    const multiLog2 = new StreamDeliveryLog();
    const mw2 = worker(app, 'multi2', multiLog2, [{ streamName: multi }]);
    await produce(admin, multi, 5, 10, 'm');
    await mw2.start();
    await waitFor(() => multiLog2.keysOf(multi).size === 5, 20_000, 'the new multi-stream records');
    await new Promise((r) => setTimeout(r, 2000));
    assert.equal(mw2.heldLeaseKeys.length, 1);
    assert.ok(mw2.heldLeaseKeys[0]!.includes(':'));
    assert.deepEqual((await leasesOf(app)).filter((l) => l.streamName === undefined), singleBefore, 'single-stream item untouched');
    await mw2.shutdown();
  });
});
