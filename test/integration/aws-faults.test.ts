// Issue 15 (I/O faults) on the emulators (kinesalite + dynalite, through the fault proxy): every AWS call ends with
// a typed, retriable AwsCallTimeoutError within its deadline — also through clients the application built, and the
// aborted call's connection is closed; a hung GetRecords on one shard resumes after the deadline without a lease
// move; an answer of an open shard stripped of NextShardIterator/ChildShards does not end the shard; checkpoints
// with nothing delivered (empty batches, an idle shard's shutdownRequested) succeed.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createDecipheriv } from 'node:crypto';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { KinesisClient } from '@aws-sdk/client-kinesis';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { createDynamoDbClient, createKinesisClient } from '../../src/aws/clients.js';
import { DynamoDbApi } from '../../src/aws/dynamodb-api.js';
import { KinesisApi } from '../../src/aws/kinesis-api.js';
import { AwsCallTimeoutError, Scheduler, type ShardRecordProcessor } from '../../src/index.js';
import { DynamoDbLeaseStore } from '../../src/leases/dynamodb-lease-store.js';
import type { Logger } from '../../src/util/logger.js';
import { startDynalite, startKinesalite, stopAll, TEST_CREDENTIALS, TEST_REGION, uniqueName, type Emulator } from '../support/emulators.js';
import { startFaultProxy, type FaultProxy } from '../support/fault-proxy.js';
import { createStream, DeliveryLog, kinesisAdmin, produce, waitFor } from '../support/scenario.js';

/** The shard an emulator iterator reads (kinesalite and kinesis-local: 8-byte header + AES-256-CBC with a fixed key). */
function iteratorShardId(iterator: unknown): string | undefined {
  if (typeof iterator !== 'string') return undefined;
  try {
    const raw = Buffer.from(iterator, 'base64');
    const key = Buffer.from('1133a5a833666b49abf28c8ba302930f0b2fb240dccd43cf4dfbc0ca91f17751', 'hex');
    const iv = Buffer.from('7bf139dbabbea2d9995d6fcae1dff7da', 'hex');
    const decipher = createDecipheriv('aes-256-cbc', key, iv);
    return Buffer.concat([decipher.update(raw.subarray(8)), decipher.final()]).toString('utf8').split('/')[2];
  } catch {
    return undefined;
  }
}

interface Line {
  level: string;
  obj: Record<string, unknown>;
  msg: string | undefined;
}

function recordingLogger(lines: Line[]): Logger {
  const at = (level: string) => (obj: object, msg?: string) => void lines.push({ level, obj: obj as Record<string, unknown>, msg });
  const logger: Logger = { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error'), child: () => logger };
  return logger;
}

async function timed<T>(promise: Promise<T>): Promise<{ error: unknown; millis: number }> {
  const started = performance.now();
  try {
    await promise;
    return { error: undefined, millis: performance.now() - started };
  } catch (error) {
    return { error, millis: performance.now() - started };
  }
}

function assertTimeout(outcome: { error: unknown; millis: number }, operation: RegExp, bound: number): void {
  const { error, millis } = outcome;
  assert.ok(error instanceof AwsCallTimeoutError, `expected AwsCallTimeoutError, got ${String(error)}`);
  assert.equal(error.code, 'KCL_TIMEOUT');
  assert.equal(error.retriable, true);
  assert.equal(error.timeoutMillis, bound);
  assert.match(error.operation, operation);
  // Not long before the deadline, and well within it plus scheduling slack on a loaded machine. (Timers count from
  // the event loop's cached clock, which lags after synchronous work, so they can fire tens of ms early against
  // performance.now().)
  assert.ok(millis >= bound * 0.75 && millis < bound + 2000, `${error.operation} ended after ${Math.round(millis)} ms (deadline ${bound})`);
}

describe('AWS faults (kinesalite + dynalite behind the fault proxy)', () => {
  let kinesis: Emulator;
  let dynamo: Emulator;
  const proxies: FaultProxy[] = [];
  before(async () => {
    [kinesis, dynamo] = await Promise.all([startKinesalite(), startDynalite()]);
  });
  after(async () => {
    for (const p of proxies) await p.close();
    await stopAll();
  });

  it('a black-holed DynamoDB call ends with AwsCallTimeoutError within its deadline through an application-built client, and frees its connection', async () => {
    const proxy = await startFaultProxy(dynamo.endpoint, { service: 'dynamodb' });
    proxies.push(proxy);
    // The application's own client: the SDK's handler, no timeouts of its own.
    const client = new DynamoDBClient({ region: TEST_REGION, endpoint: proxy.url, credentials: TEST_CREDENTIALS, requestHandler: new NodeHttpHandler() });
    const lines: Line[] = [];
    const api = new DynamoDbApi(client, { timeouts: { itemMillis: 400, scanMillis: 600, adminMillis: 800 }, logger: recordingLogger(lines) });
    const table = uniqueName('deadline');
    const store = new DynamoDbLeaseStore(api, table);
    await store.createTableIfNotExists({ billingMode: 'PAY_PER_REQUEST', readCapacity: 1, writeCapacity: 1, activeTimeoutMillis: 10_000 });
    try {
      proxy.blackHole();
      const [get, update, scan, describeTable] = await Promise.all([
        timed(api.getItem(table, { leaseKey: { S: 'k' } })),
        timed(api.updateItem({ tableName: table, key: { leaseKey: { S: 'k' } }, updateExpression: 'SET a = :a', expressionAttributeValues: { ':a': { S: '1' } } })),
        timed(api.scanPage({ tableName: table })),
        timed(api.describeTable(table)),
      ]);
      assertTimeout(get, /^DynamoDB\.GetItem\(/, 400);
      assertTimeout(update, /^DynamoDB\.UpdateItem\(/, 400);
      assertTimeout(scan, /^DynamoDB\.Scan\(/, 600);
      assertTimeout(describeTable, /^DynamoDB\.DescribeTable\(/, 800);
      await waitFor(() => proxy.abandoned >= 4, 15_000, 'the four aborted requests to close their connections');
      const warned = lines.filter((l) => l.level === 'warn' && typeof l.obj.operation === 'string');
      assert.equal(warned.length, 4, 'one warn line per timed-out call');
      // Through the lease store too, and only the one operation hung: a lease read is a lease call.
      proxy.release();
      proxy.hang({ operations: ['GetItem'], body: (b) => JSON.stringify(b.Key ?? {}).includes('shardId-000000000007') });
      assertTimeout(await timed(store.getLease('shardId-000000000007')), /^DynamoDB\.GetItem\(/, 400);
      assert.equal(await store.getLease('shardId-000000000001'), undefined, 'another key is not held up');
      proxy.release();
      assert.ok((await api.describeTable(table))?.status, 'answers again once healed');
    } finally {
      proxy.release();
      client.destroy();
    }
  });

  it('a black-holed Kinesis call ends with AwsCallTimeoutError within its deadline through an application-built client', async () => {
    const admin = kinesisAdmin(kinesis.endpoint);
    const streamName = await createStream(admin, 1, 'deadline');
    const proxy = await startFaultProxy(kinesis.endpoint);
    proxies.push(proxy);
    const client = new KinesisClient({ region: TEST_REGION, endpoint: proxy.url, credentials: TEST_CREDENTIALS, requestHandler: new NodeHttpHandler() });
    const lines: Line[] = [];
    const api = new KinesisApi(client, { readTimeoutMillis: 400, listTimeoutMillis: 600, logger: recordingLogger(lines) });
    try {
      const [shard] = await api.listShards({ streamName });
      const iterator = await api.getShardIterator({ streamName }, shard!.shardId, { type: 'TRIM_HORIZON' });
      proxy.blackHole(['GetRecords', 'GetShardIterator', 'ListShards', 'DescribeStreamSummary']);
      const [records, iter, list, summary] = await Promise.all([
        timed(api.getRecords(iterator, 10, { streamName }, { shardId: shard!.shardId })),
        timed(api.getShardIterator({ streamName }, shard!.shardId, { type: 'TRIM_HORIZON' })),
        timed(api.listShards({ streamName })),
        timed(api.describeStreamSummary({ streamName })),
      ]);
      assertTimeout(records, /^Kinesis\.GetRecords\(/, 400);
      assertTimeout(iter, /^Kinesis\.GetShardIterator\(/, 400);
      assertTimeout(list, /^Kinesis\.ListShards\(/, 600);
      assertTimeout(summary, /^Kinesis\.DescribeStreamSummary\(/, 600);
      await waitFor(() => proxy.abandoned >= 4, 15_000, 'the four aborted requests to close their connections');
      assert.equal(lines.filter((l) => l.level === 'warn').length, 4);
      proxy.release();
      assert.equal((await api.getRecords(iterator, 10)).records.length, 0, 'answers again once healed');
    } finally {
      proxy.release();
      client.destroy();
    }
  });

  it('(c) a hung GetRecords on one shard: the shard resumes after the deadline, its lease never moves, the other shard is not held up', async () => {
    const admin = kinesisAdmin(kinesis.endpoint);
    const streamName = await createStream(admin, 2, 'hung-read');
    const proxy = await startFaultProxy(kinesis.endpoint);
    proxies.push(proxy);
    const app = uniqueName('app');
    const log = new DeliveryLog();
    const kinesisClient = createKinesisClient({ region: TEST_REGION, endpoint: proxy.url, credentials: TEST_CREDENTIALS });
    const dynamoDbClient = createDynamoDbClient({ region: TEST_REGION, endpoint: dynamo.endpoint, credentials: TEST_CREDENTIALS });
    const worker = new Scheduler({
      applicationName: app,
      streamName,
      workerId: 'w1',
      initialPosition: 'TRIM_HORIZON',
      kinesisClient,
      dynamoDbClient,
      processorFactory: log.factory('w1'),
      leases: { failoverTimeMillis: 10_000 }, // lease timing is not the subject: no expiry on a loaded machine
      retrieval: { mode: 'polling', idleTimeBetweenReadsMillis: 100 },
      timeouts: { kinesisReadMillis: 1500 },
    });
    try {
      await worker.start();
      await waitFor(() => worker.heldLeaseKeys.length === 2, 10_000, 'both leases held');
      const shards = (await new KinesisApi(kinesisClient).listShards({ streamName })).map((s) => s.shardId).sort();
      const hungShard = shards[0]!;
      proxy.hang({ operations: ['GetRecords'], body: (b) => iteratorShardId(b.ShardIterator) === hungShard, times: 1 });
      await waitFor(() => proxy.held === 1, 5000, 'a GetRecords of the hung shard to be held');
      const heldAt = performance.now();
      const produced = await produce(admin, streamName, 200);
      const other = produced.filter((p) => p.shardId !== hungShard);
      const hung = produced.filter((p) => p.shardId === hungShard);
      assert.ok(other.length > 0 && hung.length > 0, 'records on both shards');
      await waitFor(() => other.every((p) => log.uniqueKeys().has(p.key)), 15_000, 'the other shard to deliver while one is hung');
      assert.ok(hung.every((p) => !log.uniqueKeys().has(p.key)), 'the hung shard delivered nothing yet');
      await waitFor(() => hung.every((p) => log.uniqueKeys().has(p.key)), 20_000, 'the hung shard to resume after its deadline');
      const resumedAfter = performance.now() - heldAt;
      // heldAt is when the poll above saw the call held (up to a poll interval late), so allow that much.
      assert.ok(resumedAfter >= 1000, `resumed after ${Math.round(resumedAfter)} ms, not before the 1500 ms deadline`);
      assert.equal(proxy.abandoned, 1, 'the hung call was aborted (its connection closed)');
      assert.equal(log.deliveries.length, log.uniqueKeys().size, 'no duplicates');
      assert.deepEqual(log.orderViolations(), []);
      const initializations = log.events.filter((e) => e.startsWith(`w1:${hungShard}:`));
      assert.deepEqual(initializations.map((e) => e.split(':')[2]), ['initialize'], 'one consumer for the shard: no lease loss, no restart');
      assert.deepEqual(worker.heldLeaseKeys.sort(), shards, 'still holds both leases');
    } finally {
      proxy.release();
      await worker.shutdown();
      kinesisClient.destroy();
      dynamoDbClient.destroy();
    }
  });

  it('(d) an answer of an open shard without NextShardIterator and ChildShards does not end the shard; later records arrive once', async () => {
    const admin = kinesisAdmin(kinesis.endpoint);
    const streamName = await createStream(admin, 1, 'rewritten');
    const proxy = await startFaultProxy(kinesis.endpoint);
    proxies.push(proxy);
    const app = uniqueName('app');
    const log = new DeliveryLog();
    const lines: Line[] = [];
    const kinesisClient = createKinesisClient({ region: TEST_REGION, endpoint: proxy.url, credentials: TEST_CREDENTIALS });
    const dynamoDbClient = createDynamoDbClient({ region: TEST_REGION, endpoint: dynamo.endpoint, credentials: TEST_CREDENTIALS });
    const worker = new Scheduler({
      applicationName: app,
      streamName,
      workerId: 'w1',
      initialPosition: 'TRIM_HORIZON',
      kinesisClient,
      dynamoDbClient,
      processorFactory: log.factory('w1'),
      leases: { failoverTimeMillis: 10_000 }, // lease timing is not the subject: no expiry on a loaded machine
      retrieval: { mode: 'polling', idleTimeBetweenReadsMillis: 100, maxRecords: 50 },
      logger: recordingLogger(lines),
    });
    try {
      const first = await produce(admin, streamName, 120);
      // The first three answers (records in them included) lose their next iterator and children.
      proxy.rewrite({
        operations: ['GetRecords'],
        times: 3,
        answer: (body) => {
          delete body.NextShardIterator;
          delete body.ChildShards;
        },
      });
      await worker.start();
      await waitFor(() => first.every((p) => log.uniqueKeys().has(p.key)), 15_000, 'the first records despite the stripped answers');
      assert.equal(proxy.rewritten, 3);
      const later = await produce(admin, streamName, 50, 120);
      await waitFor(() => later.every((p) => log.uniqueKeys().has(p.key)), 10_000, 'records produced after the stripped answers');
      assert.ok(!log.events.some((e) => e.endsWith(':shardEnded')), 'the open shard was never ended');
      assert.equal(log.deliveries.length, 170, 'every record exactly once');
      assert.deepEqual(log.orderViolations(), []);
      assert.ok(lines.some((l) => l.level === 'warn' && /invalid GetRecords answer/.test(l.msg ?? '')), 'a warning says so');
      const store = new DynamoDbLeaseStore(new DynamoDbApi(dynamoDbClient), app);
      const { leases } = await store.listLeases();
      assert.notEqual(leases[0]?.checkpoint.sequenceNumber, 'SHARD_END');
    } finally {
      proxy.release();
      await worker.shutdown();
      kinesisClient.destroy();
      dynamoDbClient.destroy();
    }
  });

  it('(e) checkpoints with nothing delivered: every empty batch and an idle shard\'s shutdownRequested checkpoint succeed', async () => {
    const admin = kinesisAdmin(kinesis.endpoint);
    const streamName = await createStream(admin, 1, 'idle');
    const app = uniqueName('app');
    const outcomes: string[] = [];
    let emptyBatches = 0;
    const delivered: string[] = [];
    const record = async (what: string, fn: () => Promise<unknown>): Promise<void> => {
      try {
        await fn();
        outcomes.push(`${what}:ok`);
      } catch (error) {
        outcomes.push(`${what}:${(error as { code?: string }).code ?? String(error)}`);
        throw error;
      }
    };
    const processor: ShardRecordProcessor = {
      initialize: () => undefined,
      processRecords: async ({ records, checkpointer }) => {
        if (records.length === 0) emptyBatches++;
        for (const r of records) delivered.push(new TextDecoder().decode(r.data));
        await record(records.length === 0 ? 'empty' : 'records', () => checkpointer.checkpoint());
        await record('prepare', () => checkpointer.prepareCheckpoint());
      },
      leaseLost: () => undefined,
      shardEnded: async ({ checkpointer }) => checkpointer.checkpoint(),
      shutdownRequested: async ({ checkpointer }) => record('shutdownRequested', () => checkpointer.checkpoint()),
    };
    const worker = new Scheduler({
      applicationName: app,
      streamName,
      workerId: 'w1',
      initialPosition: 'LATEST',
      endpoints: { kinesis: kinesis.endpoint, dynamodb: dynamo.endpoint },
      credentials: TEST_CREDENTIALS,
      region: TEST_REGION,
      processorFactory: () => processor,
      callProcessRecordsEvenForEmptyRecordList: true,
      leases: { failoverTimeMillis: 1500 },
      retrieval: { mode: 'polling', idleTimeBetweenReadsMillis: 100 },
    });
    await worker.start();
    try {
      await waitFor(() => emptyBatches >= 3, 10_000, 'three empty batches');
      assert.ok(outcomes.length > 0 && outcomes.every((o) => o.endsWith(':ok')), `every checkpoint succeeded: ${outcomes.join(', ')}`);
      const produced = await produce(admin, streamName, 5);
      await waitFor(() => delivered.length === 5, 10_000, 'records after the empty batches (no batch retried forever)');
      assert.deepEqual(delivered, produced.map((p) => p.key));
    } finally {
      await worker.startGracefulShutdown(10_000);
      await worker.shutdown();
    }
    assert.ok(outcomes.includes('shutdownRequested:ok'), `shutdownRequested checkpoint: ${outcomes.join(', ')}`);
    assert.ok(outcomes.every((o) => o.endsWith(':ok')), outcomes.join(', '));
  });

  it('(e) an idle shard that never delivered a record: the shutdownRequested checkpoint is a no-op, not an error', async () => {
    const admin = kinesisAdmin(kinesis.endpoint);
    const streamName = await createStream(admin, 1, 'idle2');
    const outcomes: string[] = [];
    let initialized = false;
    const worker = new Scheduler({
      applicationName: uniqueName('app'),
      streamName,
      workerId: 'w1',
      initialPosition: 'TRIM_HORIZON',
      endpoints: { kinesis: kinesis.endpoint, dynamodb: dynamo.endpoint },
      credentials: TEST_CREDENTIALS,
      region: TEST_REGION,
      processorFactory: () => ({
        initialize: () => void (initialized = true),
        processRecords: () => undefined,
        leaseLost: () => undefined,
        shardEnded: async ({ checkpointer }) => checkpointer.checkpoint(),
        shutdownRequested: async ({ checkpointer }) => {
          try {
            await checkpointer.checkpoint();
            outcomes.push('ok');
          } catch (error) {
            outcomes.push(String((error as { code?: string }).code));
          }
        },
      }),
      leases: { failoverTimeMillis: 1500 },
      retrieval: { mode: 'polling', idleTimeBetweenReadsMillis: 100 },
    });
    await worker.start();
    await waitFor(() => initialized, 10_000, 'the shard consumer');
    await worker.startGracefulShutdown(10_000);
    await worker.shutdown();
    assert.deepEqual(outcomes, ['ok']);
  });
});
