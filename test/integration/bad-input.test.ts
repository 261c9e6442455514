// Bad input on the emulators (kinesalite + dynalite, in-process workers): each case gets a typed error or a
// logged skip, and nothing is lost. Cases already covered elsewhere are not repeated here:
//   - invalid options → ConfigError naming the key: test/unit/resolve-options.test.ts ("fails fast naming the key"),
//     test/integration/scheduler-behaviour.test.ts ("bad options → ConfigError naming the key");
//   - invalid checkpoint values, unit level (nothing written): test/unit/shard-checkpointer.test.ts;
//   - a malformed KPL aggregate in the fetcher (warning without payload, count): test/unit/kpl-fetcher.test.ts,
//     random garbage: test/unit/kpl-fuzz.test.ts;
//   - malformed lease items, attribute by attribute: test/unit/lease-serializer.test.ts; the Java fixture's
//     non-lease entity: test/conformance/lease-store-suite.ts;
//   - wrong key schema, scripted: test/unit/dynamodb-lease-store.test.ts;
//   - multilang properties with bad values → ConfigError naming the key: test/unit/multilang-config.test.ts
//     ("bad values fail naming the properties key"); through the CLI: test/integration/multilang-cli.test.ts;
//   - a multilang child printing garbage (skipped, logged, nothing lost): test/integration/multilang-faulty-children.test.ts.
// Here: the same cases end to end through a running Scheduler.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import {
  IllegalArgumentError,
  InvalidStateError,
  Scheduler,
  type ShardRecordProcessor,
} from '../../src/index.js';
import { createDynamoDbClient } from '../../src/aws/clients.js';
import { DynamoDbApi, type AttributeMap } from '../../src/aws/dynamodb-api.js';
import { DynamoDbLeaseStore } from '../../src/leases/dynamodb-lease-store.js';
import type { Logger } from '../../src/util/logger.js';
import { startDynalite, startKinesalite, stopAll, TEST_CREDENTIALS, TEST_REGION, uniqueName, type Emulator } from '../support/emulators.js';
import { clientsFor, createStream, kinesisAdmin, produce, waitFor } from '../support/scenario.js';

const decoder = new TextDecoder();

interface Line {
  level: string;
  obj: Record<string, unknown>;
  msg: string | undefined;
  bindings: Record<string, unknown>;
}

function capturingLogger(lines: Line[], bindings: Record<string, unknown> = {}): Logger {
  const write = (level: string) => (obj: object, msg?: string): void => void lines.push({ level, obj: obj as Record<string, unknown>, msg, bindings });
  return {
    debug: () => undefined,
    info: write('info'),
    warn: write('warn'),
    error: write('error'),
    child: (more) => capturingLogger(lines, { ...bindings, ...more }),
  };
}

/** Records every delivered record's data and checkpoints after each batch (shard end included). */
function collector(delivered: { shardId: string; data: Uint8Array; aggregated: boolean; sequenceNumber: string }[]) {
  return ({ shardId }: { shardId: string }): ShardRecordProcessor => ({
    initialize: () => undefined,
    processRecords: async ({ records, checkpointer }) => {
      for (const r of records) delivered.push({ shardId, data: r.data, aggregated: r.aggregated, sequenceNumber: r.sequenceNumber });
      await checkpointer.checkpoint();
    },
    leaseLost: () => undefined,
    shardEnded: async ({ checkpointer }) => {
      await checkpointer.checkpoint();
    },
    shutdownRequested: async ({ checkpointer }) => {
      await checkpointer.checkpoint();
    },
  });
}

describe('bad input end to end (kinesalite + dynalite)', () => {
  let kinesis: Emulator;
  let dynamo: Emulator;
  before(async () => {
    [kinesis, dynamo] = await Promise.all([startKinesalite(), startDynalite()]);
  });
  after(() => stopAll());

  const base = (applicationName: string, streamName: string, lines: Line[]) => ({
    applicationName,
    streamName,
    workerId: 'w1',
    initialPosition: 'TRIM_HORIZON' as const,
    ...clientsFor(kinesis.endpoint, dynamo.endpoint),
    leases: { failoverTimeMillis: 1500 },
    retrieval: { mode: 'polling' as const, idleTimeBetweenReadsMillis: 100 },
    logger: capturingLogger(lines),
  });

  const dynamoApi = (): DynamoDbApi =>
    new DynamoDbApi(createDynamoDbClient({ region: TEST_REGION, endpoint: dynamo.endpoint, credentials: TEST_CREDENTIALS }));

  it('a malformed KPL aggregate is delivered as one plain record with a warning; the records around it arrive', async () => {
    const admin = kinesisAdmin(kinesis.endpoint);
    const streamName = await createStream(admin, 1, 'bad-kpl');
    // KPL magic, then bytes that are no protobuf and an MD5 that does not match.
    const bad = Uint8Array.from([0xf3, 0x89, 0x9a, 0xc2, ...randomBytes(40)]);
    await produce(admin, streamName, 3, 0, 'before');
    await admin.putRecords({ streamName }, [{ partitionKey: 'pk-bad', data: bad }]);
    await produce(admin, streamName, 3, 0, 'after');
    const lines: Line[] = [];
    const delivered: { shardId: string; data: Uint8Array; aggregated: boolean; sequenceNumber: string }[] = [];
    const errors: unknown[] = [];
    const scheduler = new Scheduler({ ...base(uniqueName('bad-kpl-app'), streamName, lines), processorFactory: collector(delivered) });
    scheduler.on('processingError', (e) => errors.push(e));
    scheduler.on('taskError', (e) => errors.push(e));
    await scheduler.start();
    try {
      await waitFor(() => delivered.length >= 7, 20_000, 'seven records');
      assert.deepEqual(
        delivered.map((d) => (d.data === undefined ? '' : d.data[0] === 0xf3 ? '<bad>' : decoder.decode(d.data))),
        ['before-0', 'before-1', 'before-2', '<bad>', 'after-0', 'after-1', 'after-2'],
      );
      const badOne = delivered[3]!;
      assert.equal(badOne.aggregated, false);
      assert.deepEqual([...badOne.data], [...bad], 'the undecodable record keeps its bytes');
      const warning = lines.find((l) => l.level === 'warn' && /KPL aggregate/.test(l.msg ?? ''));
      assert.ok(warning, `a warning: ${JSON.stringify(lines.map((l) => l.msg))}`);
      assert.equal(warning.obj.sequenceNumber, badOne.sequenceNumber);
      assert.deepEqual(errors, []);
    } finally {
      await scheduler.shutdown();
    }
  });

  it('malformed, foreign and non-lease items in the lease table are skipped with a warning; the worker takes and processes the real leases', async () => {
    const admin = kinesisAdmin(kinesis.endpoint);
    const streamName = await createStream(admin, 2, 'bad-leases');
    const app = uniqueName('bad-leases-app');
    const produced = await produce(admin, streamName, 40);
    const api = dynamoApi();
    const store = new DynamoDbLeaseStore(api, app);
    await store.createTableIfNotExists({ billingMode: 'PAY_PER_REQUEST', readCapacity: 1, writeCapacity: 1, activeTimeoutMillis: 10_000 });
    const items: AttributeMap[] = [
      // leaseCounter of the wrong type, and a negative one
      { leaseKey: { S: 'shardId-000000000900' }, leaseCounter: { S: 'abc' }, checkpoint: { S: 'TRIM_HORIZON' } },
      { leaseKey: { S: 'shardId-000000000901' }, leaseCounter: { N: '-4' }, checkpoint: { S: 'TRIM_HORIZON' } },
      // no checkpoint at all
      { leaseKey: { S: 'shardId-000000000902' }, leaseCounter: { N: '3' } },
      // a multi-stream lease of another application's stream (foreign to a single-stream worker)
      {
        leaseKey: { S: '123456789012:other-stream:1700000000:shardId-000000000000' },
        leaseCounter: { N: '1' },
        checkpoint: { S: 'TRIM_HORIZON' },
        checkpointSubSequenceNumber: { N: '0' },
        ownerSwitchesSinceCheckpoint: { N: '0' },
        streamName: { S: '123456789012:other-stream:1700000000' },
        shardId: { S: 'shardId-000000000000' },
      },
      // a KCL 3.x non-lease entity
      { leaseKey: { S: 'Leader' }, entityType: { S: 'LEADER' }, leaseCounter: { N: '9' } },
    ];
    for (const item of items) await api.putItem({ tableName: app, item });

    const lines: Line[] = [];
    const delivered: { shardId: string; data: Uint8Array; aggregated: boolean; sequenceNumber: string }[] = [];
    const errors: unknown[] = [];
    const scheduler = new Scheduler({ ...base(app, streamName, lines), processorFactory: collector(delivered) });
    scheduler.on('processingError', (e) => errors.push(e));
    scheduler.on('taskError', (e) => errors.push(e));
    await scheduler.start();
    try {
      await waitFor(() => new Set(delivered.map((d) => decoder.decode(d.data))).size === produced.length, 20_000, 'every record delivered');
      const more = await produce(admin, streamName, 10, 100);
      await waitFor(() => new Set(delivered.map((d) => decoder.decode(d.data))).size === produced.length + more.length, 20_000, 'later records delivered too');
      const skipped = lines.filter((l) => l.level === 'warn' && /malformed lease/.test(l.msg ?? '')).map((l) => l.obj.leaseKey);
      for (const key of ['shardId-000000000900', 'shardId-000000000901', 'shardId-000000000902']) {
        assert.ok(skipped.includes(key), `${key} reported as skipped: ${JSON.stringify(skipped)}`);
      }
      assert.ok(lines.some((l) => l.level === 'warn' && /multi-stream leases/.test(l.msg ?? '')), 'the foreign multi-stream lease is reported');
      assert.deepEqual(errors, []);
      // The bad items are left alone: the worker neither took nor rewrote them.
      const { leases, malformed } = await store.listLeases();
      assert.deepEqual(malformed.map((e) => e.leaseKey).sort(), ['shardId-000000000900', 'shardId-000000000901', 'shardId-000000000902']);
      const foreign = leases.find((l) => l.leaseKey.startsWith('123456789012:'));
      assert.ok(foreign && foreign.leaseOwner === undefined, 'the foreign lease is not taken');
      const own = leases.filter((l) => l.leaseKey.startsWith('shardId-00000000000'));
      assert.deepEqual(own.map((l) => l.leaseOwner), ['w1', 'w1']);
    } finally {
      await scheduler.shutdown();
    }
  });

  it('invalid checkpoint values → IllegalArgumentError, and nothing is written to the lease', async () => {
    const admin = kinesisAdmin(kinesis.endpoint);
    const streamName = await createStream(admin, 1, 'bad-checkpoint');
    const app = uniqueName('bad-checkpoint-app');
    await produce(admin, streamName, 5);
    const lines: Line[] = [];
    const outcomes: string[] = [];
    let firstBatchLast = '';
    let done = false;
    const scheduler = new Scheduler({
      ...base(app, streamName, lines),
      processorFactory: (): ShardRecordProcessor => ({
        initialize: () => undefined,
        processRecords: async ({ records, checkpointer }) => {
          if (done) return;
          firstBatchLast = records.at(-1)!.sequenceNumber;
          const beyond = (BigInt(firstBatchLast) + 1000n).toString();
          const attempts: [string, () => Promise<void>][] = [
            ['not a number', () => checkpointer.checkpoint('not-a-number')],
            ['LATEST', () => checkpointer.checkpoint('LATEST')],
            ['SHARD_END before the end', () => checkpointer.checkpoint('SHARD_END')],
            ['beyond the largest delivered', () => checkpointer.checkpoint(beyond)],
            ['negative sub-sequence', () => checkpointer.checkpoint(firstBatchLast, -1)],
            ['sub-sequence past the record', () => checkpointer.checkpoint(firstBatchLast, 5)],
            ['prepare beyond', async () => void (await checkpointer.prepareCheckpoint(beyond))],
          ];
          for (const [what, attempt] of attempts) {
            try {
              await attempt();
              outcomes.push(`${what}: accepted`);
            } catch (error) {
              outcomes.push(`${what}: ${error instanceof IllegalArgumentError ? 'IllegalArgumentError' : String(error)}`);
            }
          }
          done = true;
        },
        leaseLost: () => undefined,
        shardEnded: async ({ checkpointer }) => {
          await checkpointer.checkpoint();
        },
      }),
    });
    await scheduler.start();
    try {
      await waitFor(() => done, 20_000, 'the processor tried its checkpoints');
      assert.deepEqual(outcomes, [
        'not a number: IllegalArgumentError',
        'LATEST: IllegalArgumentError',
        'SHARD_END before the end: IllegalArgumentError',
        'beyond the largest delivered: IllegalArgumentError',
        'negative sub-sequence: IllegalArgumentError',
        'sub-sequence past the record: IllegalArgumentError',
        'prepare beyond: IllegalArgumentError',
      ]);
      const store = new DynamoDbLeaseStore(dynamoApi(), app);
      const { leases } = await store.listLeases();
      assert.equal(leases.length, 1);
      assert.equal(leases[0]!.checkpoint.sequenceNumber, 'TRIM_HORIZON', 'the checkpoint is untouched');
      assert.equal(leases[0]!.pendingCheckpoint, undefined, 'no pending checkpoint was written');
    } finally {
      await scheduler.shutdown();
    }
  });

  it('a table with the application name but another key schema → start() rejects with InvalidStateError naming table and schema', async () => {
    const admin = kinesisAdmin(kinesis.endpoint);
    const streamName = await createStream(admin, 1, 'bad-table');
    const app = uniqueName('bad-table-app');
    const api = dynamoApi();
    await api.createTable({ tableName: app, keySchema: [{ attributeName: 'id', keyType: 'HASH', attributeType: 'N' }], billingMode: 'PAY_PER_REQUEST' });
    await api.waitForTableActive(app, 10_000);
    const lines: Line[] = [];
    const scheduler = new Scheduler({ ...base(app, streamName, lines), processorFactory: collector([]) });
    await assert.rejects(scheduler.start(), (e: unknown) => {
      assert.ok(e instanceof InvalidStateError, `InvalidStateError, got ${String(e)}`);
      assert.match(e.message, new RegExp(`"${app}"`));
      assert.match(e.message, /id \(HASH/);
      assert.match(e.message, /leaseKey \(HASH, S\)/);
      return true;
    });
    await scheduler.shutdown();
    const info = await api.describeTable(app);
    assert.deepEqual(
      info?.keySchema.map((k) => k.attributeName),
      ['id'],
      'the foreign table is left as it was',
    );
  });
});
