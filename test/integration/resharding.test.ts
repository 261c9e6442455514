import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Scheduler, type ShardRecordProcessor } from '../../src/index.js';
import { KinesisApi } from '../../src/aws/kinesis-api.js';
import { createKinesisClient } from '../../src/aws/clients.js';
import type { KinesisAdmin } from '../../src/aws/kinesis-admin.js';
import { midpointHashKey } from '../../src/shards/hash-key-range.js';
import type { Shard } from '../../src/shards/shard.js';
import { createDynamoDbClient } from '../../src/aws/clients.js';
import { DynamoDbApi } from '../../src/aws/dynamodb-api.js';
import { DynamoDbLeaseStore } from '../../src/leases/dynamodb-lease-store.js';
import { startDynalite, startKinesisLocal, stopAll, TEST_CREDENTIALS, TEST_REGION, uniqueName, type Emulator } from '../support/emulators.js';
import { clientsFor, createStream, kinesisAdmin, waitFor } from '../support/scenario.js';
import { validateResharding, type DeliveredRecord, type ProducedRecord } from '../support/resharding-validator.js';

const KEYS = 40;

/** Puts records `key#n` with per-key counters at a steady pace until stopped. */
class KeyedProducer {
  readonly produced: ProducedRecord[] = [];
  private readonly counters = new Array<number>(KEYS).fill(0);
  private stopped = false;
  private loop: Promise<void> | undefined;

  constructor(private readonly admin: KinesisAdmin, private readonly streamName: string) {}

  start(batch = 20, pauseMillis = 100): void {
    this.loop = (async () => {
      while (!this.stopped) {
        const records = Array.from({ length: batch }, (_, i) => {
          const k = (this.produced.length + i) % KEYS;
          return { key: `k${k}`, n: this.counters[k]!++ };
        });
        const results = await this.admin.putRecords({ streamName: this.streamName }, records.map((r) => ({ partitionKey: r.key, data: new TextEncoder().encode(`${r.key}#${r.n}`) })));
        results.forEach((res, i) => this.produced.push({ ...records[i]!, shardId: res.shardId }));
        await new Promise((r) => setTimeout(r, pauseMillis));
      }
    })();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.loop;
  }
}

/** `slowShards`: shards whose batches take 600 ms, so one merge parent finishes well after the other. */
function recordingFactory(log: DeliveredRecord[], events: string[], workerId: string, slowShards: ReadonlySet<string> = new Set()) {
  return ({ shardId }: { shardId: string }): ShardRecordProcessor => ({
    initialize: () => undefined,
    processRecords: async ({ records, checkpointer }) => {
      if (slowShards.has(shardId)) await new Promise((r) => setTimeout(r, 600));
      for (const r of records) {
        const [key, n] = new TextDecoder().decode(r.data).split('#');
        log.push({ key: key!, n: Number(n), shardId });
      }
      await checkpointer.checkpoint();
    },
    leaseLost: () => {
      events.push(`${workerId}:${shardId}:leaseLost`);
    },
    shardEnded: async ({ checkpointer }) => {
      events.push(`${workerId}:${shardId}:shardEnded`);
      await checkpointer.checkpoint();
    },
  });
}

describe('resharding under load (kinesis-local + dynalite)', () => {
  let kinesis: Emulator;
  let dynamo: Emulator;
  before(async () => {
    [kinesis, dynamo] = await Promise.all([startKinesisLocal(), startDynalite()]);
  });
  const running: Scheduler[] = [];
  // Also after a failed assertion: a worker left running would keep the file alive.
  after(async () => {
    await Promise.all(running.map((w) => w.shutdown()));
    await stopAll();
  });

  const workerOptions = (app: string, streamName: string) => ({
    applicationName: app,
    streamName,
    initialPosition: 'TRIM_HORIZON' as const,
    ...clientsFor(kinesis.endpoint, dynamo.endpoint),
    leases: { failoverTimeMillis: 1500, cleanupIntervalMillis: 300 },
    shardSyncIntervalMillis: 1000,
    parentShardPollIntervalMillis: 200,
    retrieval: { mode: 'polling' as const, idleTimeBetweenReadsMillis: 100 },
  });

  async function listShards(streamName: string): Promise<Shard[]> {
    const api = new KinesisApi(createKinesisClient({ region: TEST_REGION, endpoint: kinesis.endpoint, credentials: TEST_CREDENTIALS }));
    return api.listShards({ streamName });
  }

  async function reshard(admin: KinesisAdmin, streamName: string): Promise<void> {
    const before = await listShards(streamName);
    const [s0, , s2] = before;
    await admin.splitShard({ streamName }, s0!.shardId, midpointHashKey(s0!.hashKeyRange));
    await admin.waitForStreamActive({ streamName }, 30_000);
    await admin.splitShard({ streamName }, s2!.shardId, midpointHashKey(s2!.hashKeyRange));
    await admin.waitForStreamActive({ streamName }, 30_000);
    await new Promise((r) => setTimeout(r, 1500));
    // Merge the upper child of s0 with s1 (adjacent ranges).
    const open = (await listShards(streamName)).filter((s) => s.sequenceNumberRange.endingSequenceNumber === undefined);
    const byStart = [...open].sort((a, b) => (BigInt(a.hashKeyRange.startingHashKey) < BigInt(b.hashKeyRange.startingHashKey) ? -1 : 1));
    const s1 = byStart.find((s) => s.shardId === before[1]!.shardId)!;
    const lower = byStart.find((s) => BigInt(s.hashKeyRange.endingHashKey) + 1n === BigInt(s1.hashKeyRange.startingHashKey))!;
    await admin.mergeShards({ streamName }, lower.shardId, s1.shardId);
    await admin.waitForStreamActive({ streamName }, 30_000);
  }

  it('3 workers: split two shards then merge two, nothing lost, per-key order held, parents before children, parents cleaned up', async () => {
    const admin = kinesisAdmin(kinesis.endpoint);
    const streamName = await createStream(admin, 4, 'reshard');
    const app = uniqueName('reshard-app');
    const log: DeliveredRecord[] = [];
    const events: string[] = [];
    // The second shard is the slow parent of the merge: its child must still wait for it.
    const slow = new Set([(await listShards(streamName))[1]!.shardId]);
    const workers = ['w1', 'w2', 'w3'].map((w) => new Scheduler({ ...workerOptions(app, streamName), workerId: w, processorFactory: recordingFactory(log, events, w, slow) }));
    running.push(...workers);
    const producer = new KeyedProducer(admin, streamName);
    producer.start();
    await Promise.all(workers.map((w) => w.start()));
    await new Promise((r) => setTimeout(r, 2000));
    await reshard(admin, streamName);
    await new Promise((r) => setTimeout(r, 3000)); // children get records of their own
    await producer.stop();

    const shards = await listShards(streamName);
    await waitFor(() => validateResharding(producer.produced, log, shards).missing.length === 0, 45_000, 'every produced record delivered');
    const report = validateResharding(producer.produced, log, shards);
    assert.deepEqual(report.missing, []);
    assert.deepEqual(report.keyOrderViolations, []);
    assert.deepEqual(report.childBeforeParent, []);
    assert.ok(report.produced > 200, `produced ${report.produced}`);
    assert.ok(events.filter((e) => e.endsWith(':shardEnded')).length >= 4, `every closed parent ended: ${events.join(' ')}`);

    // Finished parents are deleted once their children have started.
    const store = new DynamoDbLeaseStore(new DynamoDbApi(createDynamoDbClient({ region: TEST_REGION, endpoint: dynamo.endpoint, credentials: TEST_CREDENTIALS })), app);
    const closed = shards.filter((s) => shards.some((c) => c.parentShardId === s.shardId || c.adjacentParentShardId === s.shardId)).map((s) => s.shardId);
    assert.equal(closed.length, 4, 'two splits and one merge close four shards');
    console.log(`resharding: ${JSON.stringify({ ...report, missing: report.missing.length })}, shards ${shards.length}`);
    await waitFor(async () => {
      const { leases } = await store.listLeases();
      return closed.every((id) => !leases.some((l) => l.leaseKey === id));
    }, 20_000, `leases of finished parents ${closed.join(', ')} deleted`);
    const { leases } = await store.listLeases();
    const open = shards.filter((s) => !closed.includes(s.shardId)).map((s) => s.shardId).sort();
    assert.deepEqual(leases.map((l) => l.leaseKey).sort(), open, 'exactly the open shards keep leases');
    const merged = leases.find((l) => l.parentShardIds.length === 2);
    assert.ok(merged, 'the merge child lease names both parents');
    await Promise.all(workers.map((w) => w.shutdown()));
  });

  it('the fleet stopped in the middle of resharding resumes correctly', async () => {
    const admin = kinesisAdmin(kinesis.endpoint);
    const streamName = await createStream(admin, 2, 'reshard-stop');
    const app = uniqueName('reshard-stop-app');
    const log: DeliveredRecord[] = [];
    const events: string[] = [];
    const producer = new KeyedProducer(admin, streamName);
    producer.start(10, 50);
    let workers = ['a1', 'a2'].map((w) => new Scheduler({ ...workerOptions(app, streamName), workerId: w, processorFactory: recordingFactory(log, events, w) }));
    running.push(...workers);
    await Promise.all(workers.map((w) => w.start()));
    await new Promise((r) => setTimeout(r, 1500));
    const [s0, s1] = await listShards(streamName);
    await admin.splitShard({ streamName }, s0!.shardId, midpointHashKey(s0!.hashKeyRange));
    await admin.waitForStreamActive({ streamName }, 30_000);
    await admin.mergeShards({ streamName }, (await listShards(streamName)).find((s) => s.parentShardId === s0!.shardId && BigInt(s.hashKeyRange.startingHashKey) > BigInt(s0!.hashKeyRange.startingHashKey))!.shardId, s1!.shardId);
    // Stop everyone right away: parents may be half-read, children may not exist yet.
    await Promise.all(workers.map((w) => w.shutdown()));
    await new Promise((r) => setTimeout(r, 1000));
    workers = ['b1', 'b2'].map((w) => new Scheduler({ ...workerOptions(app, streamName), workerId: w, processorFactory: recordingFactory(log, events, w) }));
    running.push(...workers);
    await Promise.all(workers.map((w) => w.start()));
    await new Promise((r) => setTimeout(r, 2000));
    await producer.stop();
    const shards = await listShards(streamName);
    await waitFor(() => validateResharding(producer.produced, log, shards).missing.length === 0, 45_000, 'every produced record delivered after restart');
    const report = validateResharding(producer.produced, log, shards);
    console.log(`stop mid-resharding: ${JSON.stringify({ ...report, missing: report.missing.length })}, shards ${shards.length}`);
    assert.equal(shards.length, 5, 'one split (+2) and one merge (+1) of two shards');
    assert.deepEqual(report.keyOrderViolations, []);
    assert.deepEqual(report.childBeforeParent, []);
    await Promise.all(workers.map((w) => w.shutdown()));
  });
});
