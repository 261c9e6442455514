// Scheduler behaviour on the emulators (in-process workers): slow processors keep their leases, the
// onProcessingError policies, option and stream errors, graceful shutdown.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  ConfigError,
  ResourceNotFoundError,
  Scheduler,
  type ProcessRecordsInput,
  type SchedulerEvents,
  type SchedulerOptions,
  type ShardRecordProcessor,
} from '../../src/index.js';
import { createDynamoDbClient } from '../../src/aws/clients.js';
import { DynamoDbApi } from '../../src/aws/dynamodb-api.js';
import { DynamoDbLeaseStore } from '../../src/leases/dynamodb-lease-store.js';
import type { Lease } from '../../src/leases/lease.js';
import { startDynalite, startKinesalite, stopAll, TEST_CREDENTIALS, TEST_REGION, uniqueName, type Emulator } from '../support/emulators.js';
import { createStream, kinesisAdmin, produce, waitFor, type Produced } from '../support/scenario.js';

const decoder = new TextDecoder();
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

interface Call {
  shardId: string;
  keys: string[];
  first: string;
  last: string;
  t: number;
}

/** A processor that records calls; `onBatch` may throw or be slow. Checkpoints after each batch unless told not to. */
class Recorder {
  readonly calls: Call[] = [];
  /** Keys of batches that returned normally. */
  readonly processed: string[] = [];
  readonly lifecycle: string[] = [];
  readonly checkpointErrors: unknown[] = [];

  factory(options: { onBatch?: (input: ProcessRecordsInput, callIndex: number) => Promise<void> | void; checkpoint?: boolean; shutdownRequested?: (shardId: string) => Promise<void> } = {}) {
    return ({ shardId }: { shardId: string }): ShardRecordProcessor => ({
      initialize: (input) => {
        this.lifecycle.push(`${shardId}:initialize:${input.extendedSequenceNumber.sequenceNumber}`);
      },
      processRecords: async (input) => {
        const keys = input.records.map((r) => decoder.decode(r.data));
        const index = this.calls.push({ shardId, keys, first: input.records[0]!.sequenceNumber, last: input.records.at(-1)!.sequenceNumber, t: Date.now() }) - 1;
        await options.onBatch?.(input, index);
        this.processed.push(...keys);
        if (options.checkpoint ?? true) {
          try {
            await input.checkpointer.checkpoint();
          } catch (error) {
            this.checkpointErrors.push(error);
          }
        }
      },
      leaseLost: () => {
        this.lifecycle.push(`${shardId}:leaseLost`);
      },
      shardEnded: async ({ checkpointer }) => {
        this.lifecycle.push(`${shardId}:shardEnded`);
        await checkpointer.checkpoint();
      },
      shutdownRequested: async ({ checkpointer }) => {
        this.lifecycle.push(`${shardId}:shutdownRequested`);
        await options.shutdownRequested?.(shardId);
        await checkpointer.checkpoint();
        this.lifecycle.push(`${shardId}:shutdownRequested:checkpointed:${checkpointer.lastCheckpoint.sequenceNumber}`);
      },
    });
  }
}

type EventOf<K extends keyof SchedulerEvents> = SchedulerEvents[K][0];

/** Collects a scheduler's events by name. */
function eventLog(scheduler: Scheduler) {
  const log = {
    leaseAcquired: [] as EventOf<'leaseAcquired'>[],
    leaseLost: [] as EventOf<'leaseLost'>[],
    shardConsumerStopped: [] as EventOf<'shardConsumerStopped'>[],
    processingError: [] as EventOf<'processingError'>[],
    taskError: [] as EventOf<'taskError'>[],
  };
  scheduler.on('leaseAcquired', (e) => log.leaseAcquired.push(e));
  scheduler.on('leaseLost', (e) => log.leaseLost.push(e));
  scheduler.on('shardConsumerStopped', (e) => log.shardConsumerStopped.push(e));
  scheduler.on('processingError', (e) => log.processingError.push(e));
  scheduler.on('taskError', (e) => log.taskError.push(e));
  return log;
}

describe('Scheduler behaviour (kinesalite + dynalite, in-process workers)', () => {
  let kinesis: Emulator;
  let dynamo: Emulator;
  const running: Scheduler[] = [];
  before(async () => {
    [kinesis, dynamo] = await Promise.all([startKinesalite({ shardLimit: 1000 }), startDynalite()]);
  });
  after(async () => {
    await Promise.all(running.map((s) => s.shutdown().catch(() => undefined)));
    await stopAll();
  });

  function store(app: string): DynamoDbLeaseStore {
    return new DynamoDbLeaseStore(
      new DynamoDbApi(createDynamoDbClient({ region: TEST_REGION, endpoint: dynamo.endpoint, credentials: TEST_CREDENTIALS })),
      app,
    );
  }

  async function leases(app: string): Promise<Map<string, Lease>> {
    return new Map((await store(app).listLeases()).leases.map((l) => [l.leaseKey, l]));
  }

  async function setup(shards: number, records: number): Promise<{ streamName: string; app: string; produced: Produced[]; base: Omit<SchedulerOptions, 'processorFactory'> }> {
    const admin = kinesisAdmin(kinesis.endpoint);
    const streamName = await createStream(admin, shards, 'behaviour');
    const produced = records > 0 ? await produce(admin, streamName, records) : [];
    const app = uniqueName('behaviour-app');
    const base = {
      applicationName: app,
      streamName,
      initialPosition: 'TRIM_HORIZON' as const,
      region: TEST_REGION,
      credentials: TEST_CREDENTIALS,
      endpoints: { kinesis: kinesis.endpoint, dynamodb: dynamo.endpoint },
      retrieval: { mode: 'polling' as const, idleTimeBetweenReadsMillis: 100, maxRecords: 10 },
      leases: { failoverTimeMillis: 1000 },
    };
    return { streamName, app, produced, base };
  }

  function track(scheduler: Scheduler): Scheduler {
    running.push(scheduler);
    return scheduler;
  }

  it('a processor slower than 3 × failoverTimeMillis per batch keeps its lease while another worker runs', async () => {
    const failover = 1500;
    const { app, produced, base } = await setup(1, 10);
    const slow = new Recorder();
    const a = track(new Scheduler({
      ...base,
      workerId: 'slow-a',
      retrieval: { mode: 'polling', idleTimeBetweenReadsMillis: 100, maxRecords: 5 },
      leases: { failoverTimeMillis: failover },
      processorFactory: slow.factory({ onBatch: () => sleep(3 * failover + 300) }),
    }));
    const aEvents = eventLog(a);
    await a.start();
    assert.deepEqual(a.heldLeaseKeys, ['shardId-000000000000']);
    const other = new Recorder();
    const b = track(new Scheduler({ ...base, workerId: 'idle-b', leases: { failoverTimeMillis: failover }, processorFactory: other.factory() }));
    const bEvents = eventLog(b);
    await b.start();

    // While batches take 4.8 s each, the counter keeps rising (renewals) and the owner stays.
    const samples: { counter: number; owner: string | undefined }[] = [];
    const t0 = Date.now();
    while (slow.processed.length < produced.length) {
      const lease = (await leases(app)).get('shardId-000000000000')!;
      samples.push({ counter: lease.leaseCounter, owner: lease.leaseOwner });
      assert.ok(Date.now() - t0 < 20_000, 'slow batches finished');
      await sleep(1000);
    }
    assert.ok(samples.length >= 8, `${samples.length} samples`);
    for (let i = 1; i < samples.length; i++) {
      assert.ok(samples[i]!.counter > samples[i - 1]!.counter, `counter rose between samples ${i - 1} and ${i}: ${JSON.stringify(samples)}`);
    }
    assert.ok(samples.every((s) => s.owner === 'slow-a'), JSON.stringify(samples));
    assert.equal(slow.calls.length, 2, 'two batches of 5');
    assert.ok(slow.calls.every((c, i) => i === 0 || c.t - slow.calls[i - 1]!.t >= 3 * failover), 'each batch took more than 3 × failover');
    assert.deepEqual(slow.processed, produced.map((p) => p.key));
    assert.deepEqual(slow.checkpointErrors, []);
    assert.deepEqual(aEvents.leaseLost, []);
    assert.ok(!slow.lifecycle.some((l) => l.endsWith(':leaseLost')));
    assert.deepEqual(bEvents.leaseAcquired, [], 'the other worker never took it');
    assert.deepEqual(other.calls, []);
    const lease = (await leases(app)).get('shardId-000000000000')!;
    assert.equal(lease.checkpoint.sequenceNumber, produced.at(-1)!.sequenceNumber);
    await Promise.all([a.shutdown(), b.shutdown()]);
  });

  it("onProcessingError 'retry' (default) redelivers the same batch until it succeeds; nothing is skipped", async () => {
    const { produced, base } = await setup(1, 30);
    const rec = new Recorder();
    const s = track(new Scheduler({
      ...base,
      workerId: 'retry',
      processorFactory: rec.factory({
        onBatch: (_input, index) => {
          if (index === 1 || index === 2) throw new Error(`boom ${index}`);
        },
      }),
    }));
    const events = eventLog(s);
    await s.start();
    await waitFor(() => rec.processed.length >= produced.length, 15_000, 'all records processed');
    await sleep(300);
    assert.deepEqual(rec.processed, produced.map((p) => p.key), 'every record processed once, in order');
    assert.ok(rec.calls.length >= 4);
    const [first, failed, again, third] = rec.calls;
    assert.notEqual(failed!.first, first!.first);
    assert.equal(again!.first, failed!.first, 'same batch (same first sequence number) redelivered');
    assert.deepEqual(again!.keys, failed!.keys);
    assert.equal(third!.first, failed!.first, 'redelivered again after the second failure');
    assert.deepEqual(third!.keys, failed!.keys);
    assert.deepEqual(
      events.processingError.map((e) => [e.shardId, e.phase, e.attempt, (e.error as Error).message]),
      [['shardId-000000000000', 'processRecords', 0, 'boom 1'], ['shardId-000000000000', 'processRecords', 1, 'boom 2']],
    );
    assert.deepEqual(events.leaseLost, []);
    await s.shutdown();
  });

  it("onProcessingError 'skip' moves on: the failed batch is not redelivered, later records are", async () => {
    const { streamName, produced, base } = await setup(1, 30);
    const rec = new Recorder();
    const s = track(new Scheduler({
      ...base,
      workerId: 'skip',
      onProcessingError: 'skip',
      processorFactory: rec.factory({
        onBatch: (_input, index) => {
          if (index === 1) throw new Error('boom');
        },
      }),
    }));
    const events = eventLog(s);
    await s.start();
    await waitFor(() => rec.calls.length >= 3, 15_000, 'three batches');
    const later = await produce(kinesisAdmin(kinesis.endpoint), streamName, 10, 30);
    await waitFor(() => later.every((p) => rec.processed.includes(p.key)), 15_000, 'records produced after the failure');
    await sleep(300);
    const failed = rec.calls[1]!;
    const failedKeys = new Set(failed.keys);
    assert.equal(failed.keys.length, 10);
    assert.equal(rec.calls.filter((c) => c.first === failed.first).length, 1, 'failed batch delivered once');
    assert.ok(rec.calls.slice(2).every((c) => BigInt(c.first) > BigInt(failed.last)), 'later batches start after it');
    assert.deepEqual(rec.processed, [...produced, ...later].map((p) => p.key).filter((k) => !failedKeys.has(k)), 'everything else processed once, in order');
    assert.deepEqual(events.processingError.map((e) => [e.phase, e.attempt]), [['processRecords', 0]]);
    assert.deepEqual(events.leaseLost, []);
    await s.shutdown();
  });

  it("onProcessingError 'release' stops the shard, calls leaseLost and releases its lease; other shards go on", async () => {
    const { app, streamName, produced, base } = await setup(2, 40);
    const bad = 'shardId-000000000000';
    const good = 'shardId-000000000001';
    const rec = new Recorder();
    const s = track(new Scheduler({
      ...base,
      workerId: 'release',
      onProcessingError: 'release',
      // No second taker round during the test: the released lease stays unowned for us to see.
      leases: { failoverTimeMillis: 1000, takerIntervalMillis: 60_000 },
      processorFactory: rec.factory({
        onBatch: (input) => {
          if (input.shardId === bad) throw new Error('poison');
        },
      }),
    }));
    const events = eventLog(s);
    await s.start();
    await waitFor(() => events.leaseLost.length === 1, 15_000, 'the bad shard released');
    await waitFor(() => events.shardConsumerStopped.length === 1, 5000, 'its consumer stopped');
    assert.deepEqual(events.leaseLost.map((e) => [e.shardId, e.reason]), [[bad, 'released']]);
    assert.deepEqual(events.shardConsumerStopped.map((e) => [e.shardId, e.reason]), [[bad, 'LEASE_LOST']]);
    assert.deepEqual(events.processingError.map((e) => [e.shardId, e.phase]), [[bad, 'processRecords']]);
    assert.ok(rec.lifecycle.includes(`${bad}:leaseLost`), 'processor.leaseLost called');
    assert.equal(rec.calls.filter((c) => c.shardId === bad).length, 1, 'not retried');
    assert.deepEqual(s.heldLeaseKeys, [good]);
    const table = await leases(app);
    assert.equal(table.get(bad)!.leaseOwner, undefined, 'owner removed in the table');
    assert.equal(table.get(bad)!.checkpoint.sequenceNumber, 'TRIM_HORIZON', 'nothing checkpointed for the bad shard');
    assert.equal(table.get(good)!.leaseOwner, 'release');

    const goodKeys = produced.filter((p) => p.shardId === good).map((p) => p.key);
    const more = (await produce(kinesisAdmin(kinesis.endpoint), streamName, 20, 40)).filter((p) => p.shardId === good).map((p) => p.key);
    await waitFor(() => [...goodKeys, ...more].every((k) => rec.processed.includes(k)), 15_000, 'the good shard keeps going');
    assert.equal(rec.calls.filter((c) => c.shardId === bad).length, 1);
    await s.shutdown();
  });

  it('bad options → ConfigError naming the key, from new Scheduler()', () => {
    const ok: SchedulerOptions = { applicationName: 'orders-app', streamName: 'orders', processorFactory: new Recorder().factory() };
    const cases: [Record<string, unknown>, string][] = [
      [{ leases: { failoverTimeMillis: 50 } }, 'leases.failoverTimeMillis'],
      [{ leases: { failoverTime: 1000 } }, 'leases.failoverTime'],
      [{ onProcessingError: 'ignore' }, 'onProcessingError'],
      [{ retrieval: { mode: 'polling', maxRecords: 20_000 } }, 'retrieval.maxRecords'],
      [{ processorFactory: undefined }, 'processorFactory'],
      [{ applicationName: 'x' }, 'applicationName'],
      [{ streamName: undefined }, 'streamName'],
      [{ endpoints: { kinesis: 'localhost:4567' } }, 'endpoints.kinesis'],
      [{ initialPosition: 'EARLIEST' }, 'initialPosition'],
    ];
    for (const [override, key] of cases) {
      assert.throws(
        () => new Scheduler({ ...ok, ...override }),
        (error: unknown) => error instanceof ConfigError && error.key === key && error.code === 'KCL_CONFIG_INVALID' && error.message.includes(`"${key}"`),
        `${JSON.stringify(override)} → ConfigError(${key})`,
      );
    }
    assert.doesNotThrow(() => new Scheduler(ok));
    // A credentials object the AWS SDK has already used carries its `$source` annotation: still fine.
    const used = { accessKeyId: 'AKIDLOCALTEST', secretAccessKey: 'local-test-secret', $source: { CREDENTIALS_CODE: 'e' } };
    assert.doesNotThrow(() => new Scheduler({ ...ok, credentials: used }));
    assert.throws(() => new Scheduler({ ...ok, credentials: { ...used, secret: 'x' } as never }), (e: unknown) => e instanceof ConfigError && e.key === 'credentials.secret');
  });

  it('a stream that does not exist → start() rejects with ResourceNotFoundError naming the stream', async () => {
    const missing = uniqueName('no-such-stream');
    const s = new Scheduler({
      applicationName: uniqueName('missing-app'),
      streamName: missing,
      region: TEST_REGION,
      credentials: TEST_CREDENTIALS,
      endpoints: { kinesis: kinesis.endpoint, dynamodb: dynamo.endpoint },
      processorFactory: new Recorder().factory(),
    });
    const started = Date.now();
    await assert.rejects(s.start(), (error: unknown) => {
      assert.ok(error instanceof ResourceNotFoundError, String(error));
      assert.equal(error.code, 'KCL_RESOURCE_NOT_FOUND');
      assert.ok(error.message.includes(missing), error.message);
      return true;
    });
    assert.ok(Date.now() - started < 10_000, 'fails fast (not retried)');
    await s.shutdown();
  });

  it('startGracefulShutdown() calls shutdownRequested on every shard while the lease is held, releases the leases, resolves true', async () => {
    const { app, produced, base } = await setup(3, 60);
    const rec = new Recorder();
    const ownerDuringShutdown = new Map<string, string | undefined>();
    const s = track(new Scheduler({
      ...base,
      workerId: 'graceful',
      processorFactory: rec.factory({
        checkpoint: false, // only shutdownRequested checkpoints: its write must reach the table
        shutdownRequested: async (shardId) => {
          ownerDuringShutdown.set(shardId, (await leases(app)).get(shardId)?.leaseOwner);
        },
      }),
    }));
    const events = eventLog(s);
    await s.start();
    await waitFor(() => rec.processed.length >= produced.length, 15_000, 'all records processed');
    const shards = [...new Set(produced.map((p) => p.shardId))].sort();
    assert.equal(shards.length, 3);
    for (const lease of (await leases(app)).values()) assert.equal(lease.checkpoint.sequenceNumber, 'TRIM_HORIZON', 'no checkpoint yet');

    assert.equal(await s.startGracefulShutdown(10_000), true);
    assert.deepEqual([...ownerDuringShutdown.keys()].sort(), shards, 'shutdownRequested on every shard');
    assert.ok([...ownerDuringShutdown.values()].every((o) => o === 'graceful'), 'lease still held during shutdownRequested');
    const table = await leases(app);
    for (const shardId of shards) {
      const last = produced.filter((p) => p.shardId === shardId).at(-1)!.sequenceNumber;
      assert.ok(rec.lifecycle.includes(`${shardId}:shutdownRequested:checkpointed:${last}`), `${shardId} checkpoint succeeded`);
      assert.equal(table.get(shardId)!.checkpoint.sequenceNumber, last, `${shardId} checkpoint in the table`);
      assert.equal(table.get(shardId)!.leaseOwner, undefined, `${shardId} released`);
    }
    assert.ok(!rec.lifecycle.some((l) => l.endsWith(':leaseLost')), 'no leaseLost on a graceful shutdown');
    assert.deepEqual(events.shardConsumerStopped.map((e) => e.reason), ['REQUESTED', 'REQUESTED', 'REQUESTED']);
    assert.deepEqual(events.processingError, []);
    assert.equal(s.heldLeaseKeys.length, 0);
  });
});
