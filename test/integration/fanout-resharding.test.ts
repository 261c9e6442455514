import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Scheduler, type ShardRecordProcessor } from '../../src/index.js';
import { createDynamoDbClient, createKinesisClient } from '../../src/aws/clients.js';
import type { KinesisAdmin } from '../../src/aws/kinesis-admin.js';
import { KinesisApi } from '../../src/aws/kinesis-api.js';
import { midpointHashKey } from '../../src/shards/hash-key-range.js';
import type { Shard } from '../../src/shards/shard.js';
import { startDynalite, startKinesisLocal, stopAll, TEST_CREDENTIALS, TEST_REGION, uniqueName, type Emulator, type KinesisLocalEmulator } from '../support/emulators.js';
import { createStream, kinesisAdmin, waitFor } from '../support/scenario.js';

const KEYS = 20;

interface Rec {
  key: string;
  n: number;
  shardId: string;
}

/** Puts `k#n` records (per-key counters) at a steady pace until stopped. */
class KeyedProducer {
  readonly produced: Rec[] = [];
  private readonly counters = new Array<number>(KEYS).fill(0);
  private stopped = false;
  private loop: Promise<void> = Promise.resolve();

  constructor(private readonly admin: KinesisAdmin, private readonly streamName: string) {}

  start(): void {
    this.loop = (async () => {
      while (!this.stopped) {
        const batch = Array.from({ length: 10 }, (_, i) => {
          const k = (this.produced.length + i) % KEYS;
          return { key: `k${k}`, n: this.counters[k]!++ };
        });
        const results = await this.admin.putRecords({ streamName: this.streamName }, batch.map((r) => ({ partitionKey: r.key, data: new TextEncoder().encode(`${r.key}#${r.n}`) })));
        results.forEach((res, i) => this.produced.push({ ...batch[i]!, shardId: res.shardId }));
        await new Promise((r) => setTimeout(r, 100));
      }
    })();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.loop;
  }
}

describe('enhanced fan-out across resharding (kinesis-local + dynalite)', () => {
  let kinesis: KinesisLocalEmulator;
  let dynamo: Emulator;
  before(async () => {
    [kinesis, dynamo] = await Promise.all([startKinesisLocal(), startDynalite()]);
  });
  after(() => stopAll());

  it('split and merge under load: parents end without a ChildShards event, children start after them, nothing lost', async () => {
    const admin = kinesisAdmin(kinesis.endpoint);
    const control = new KinesisApi(createKinesisClient({ region: TEST_REGION, endpoint: kinesis.endpoint, credentials: TEST_CREDENTIALS }));
    const streamName = await createStream(admin, 2, 'fanout-reshard');
    const app = uniqueName('fanout-reshard');
    const delivered: Rec[] = [];
    const ended: string[] = [];
    const factory = ({ shardId }: { shardId: string }): ShardRecordProcessor => ({
      initialize: () => undefined,
      processRecords: async ({ records, checkpointer }) => {
        for (const r of records) {
          const [key, n] = new TextDecoder().decode(r.data).split('#');
          delivered.push({ key: key!, n: Number(n), shardId });
        }
        await checkpointer.checkpoint();
      },
      leaseLost: () => undefined,
      shardEnded: async ({ checkpointer }) => {
        ended.push(shardId);
        await checkpointer.checkpoint();
      },
    });
    const workers = ['w1', 'w2'].map(
      (workerId) =>
        new Scheduler({
          applicationName: app,
          streamName,
          workerId,
          initialPosition: 'TRIM_HORIZON',
          kinesisClient: createKinesisClient({ region: TEST_REGION, endpoint: kinesis.endpoint, credentials: TEST_CREDENTIALS }),
          dynamoDbClient: createDynamoDbClient({ region: TEST_REGION, endpoint: dynamo.endpoint, credentials: TEST_CREDENTIALS }),
          leases: { failoverTimeMillis: 3000, cleanupIntervalMillis: 500 },
          shardSyncIntervalMillis: 1000,
          parentShardPollIntervalMillis: 200,
          retrieval: { mode: 'fanout', shardEndCheckIntervalMillis: 1000 },
          processorFactory: factory,
        }),
    );
    const timeline: string[] = [];
    for (const w of workers) {
      const at = () => `${delivered.length}`;
      w.on('leaseAcquired', (e) => timeline.push(`${at()} ${w.workerId} acquired ${e.shardId}${e.stolen ? ' (stolen)' : ''}`));
      w.on('leaseLost', (e) => timeline.push(`${at()} ${w.workerId} lost ${e.shardId} ${e.reason}`));
      w.on('shardEnded', (e) => timeline.push(`${at()} ${w.workerId} ended ${e.shardId} → ${e.childShardIds.join(',')}`));
      w.on('shardConsumerStopped', (e) => timeline.push(`${at()} ${w.workerId} stopped ${e.shardId} ${e.reason}`));
    }
    const producer = new KeyedProducer(admin, streamName);
    try {
      producer.start();
      await Promise.all(workers.map((w) => w.start()));
      await new Promise((r) => setTimeout(r, 2000));
      const [s0, s1] = await control.listShards({ streamName });
      await admin.splitShard({ streamName }, s0!.shardId, midpointHashKey(s0!.hashKeyRange));
      await admin.waitForStreamActive({ streamName }, 30_000);
      await new Promise((r) => setTimeout(r, 1500));
      const upper = (await control.listShards({ streamName })).find(
        (s) => s.parentShardId === s0!.shardId && BigInt(s.hashKeyRange.endingHashKey) + 1n === BigInt(s1!.hashKeyRange.startingHashKey),
      )!;
      await admin.mergeShards({ streamName }, upper.shardId, s1!.shardId);
      await admin.waitForStreamActive({ streamName }, 30_000);
      await new Promise((r) => setTimeout(r, 2500));
      await producer.stop();

      const shards = await control.listShards({ streamName });
      const closed = shards.filter((s) => s.sequenceNumberRange.endingSequenceNumber !== undefined).map((s) => s.shardId).sort();
      assert.deepEqual(closed, [s0!.shardId, upper.shardId, s1!.shardId].sort(), 'one split and one merge close three shards');
      const ids = (rs: readonly Rec[]) => new Set(rs.map((r) => `${r.key}#${r.n}`));
      await waitFor(() => ids(delivered).size === producer.produced.length, 45_000, `all ${producer.produced.length} records`);
      assert.deepEqual([...ids(producer.produced)].filter((id) => !ids(delivered).has(id)), [], 'nothing lost');
      await waitFor(() => closed.every((id) => ended.includes(id)), 15_000, 'shardEnded on every closed parent');

      // Per key, first deliveries in production order; no child record before the last record of its parents.
      const first = new Map<string, number>();
      delivered.forEach((d, i) => first.has(`${d.key}#${d.n}`) || first.set(`${d.key}#${d.n}`, i));
      const violations: string[] = [];
      const lastN = new Map<string, number>();
      for (const [id, i] of [...first].sort((a, b) => a[1] - b[1])) {
        const d = delivered[i]!;
        if ((lastN.get(d.key) ?? -1) > d.n) violations.push(`${id} after #${lastN.get(d.key)}`);
        lastN.set(d.key, Math.max(lastN.get(d.key) ?? -1, d.n));
      }
      if (violations.length > 0) {
        const key = violations[0]!.split('#')[0]!;
        const trail = delivered.map((d, i) => `${i}:${d.key}#${d.n}@${d.shardId.slice(-2)}`).filter((t) => t.includes(`:${key}#`));
        console.log(`order trail of ${key}: ${trail.join(' ')}\nshards: ${JSON.stringify(shards.map((s) => [s.shardId, s.parentShardId, s.adjacentParentShardId]))}\nproduced: ${producer.produced.filter((p) => p.key === key).map((p) => `${p.n}@${p.shardId.slice(-2)}`).join(' ')}\ntimeline: ${timeline.join(' | ')}`);
      }
      assert.deepEqual(violations, [], 'per-key order');
      const span = (shardId: string) => {
        const is = [...first.values()].filter((i) => delivered[i]!.shardId === shardId);
        return is.length === 0 ? undefined : { first: Math.min(...is), last: Math.max(...is) };
      };
      const parentsOf = (s: Shard) => [s.parentShardId, s.adjacentParentShardId].filter((p): p is string => p !== undefined);
      for (const child of shards) {
        for (const parent of parentsOf(child)) {
          const c = span(child.shardId);
          const p = span(parent);
          if (c && p) assert.ok(p.last < c.first, `${child.shardId} started (#${c.first}) after parent ${parent} finished (#${p.last})`);
        }
      }
      const duplicates = delivered.length - first.size;
      console.log(`fan-out resharding: produced ${producer.produced.length}, delivered ${delivered.length}, duplicates ${duplicates}, shards ${shards.length}, ended ${ended.join(' ')}`);
    } finally {
      await producer.stop();
      await Promise.all(workers.map((w) => w.shutdown()));
    }
  });
});
