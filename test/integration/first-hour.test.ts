// Issue 16 on the emulators (kinesalite + dynalite): what a user sees for a processor of the wrong shape, a
// processor that keeps failing, endpoints from the SDK's variables, and endpoints swapped.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError, DependencyError, Scheduler, type Logger, type MetricDatum, type SchedulerOptions } from '../../src/index.js';
import { startDynalite, startKinesalite, stopAll, TEST_CREDENTIALS, TEST_REGION, uniqueName, type Emulator } from '../support/emulators.js';
import { createStream, DeliveryLog, kinesisAdmin, produce, waitFor } from '../support/scenario.js';

interface Line {
  level: string;
  msg: string;
  fields: Record<string, unknown>;
}

function capturing(lines: Line[], bindings: Record<string, unknown> = {}): Logger {
  const at = (level: string) => (obj: object, msg?: string) => lines.push({ level, msg: msg ?? '', fields: { ...bindings, ...obj } });
  return { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error'), child: (b) => capturing(lines, { ...bindings, ...b }) };
}

describe('first hour on kinesalite + dynalite', () => {
  let kinesis: Emulator;
  let dynamo: Emulator;
  let streamName: string;
  const endpoints = (): SchedulerOptions['endpoints'] => ({ kinesis: kinesis.endpoint, dynamodb: dynamo.endpoint });
  const common = () => ({
    streamName,
    region: TEST_REGION,
    credentials: TEST_CREDENTIALS,
    initialPosition: 'TRIM_HORIZON' as const,
    leases: { failoverTimeMillis: 1500 },
    retrieval: { mode: 'polling' as const, idleTimeBetweenReadsMillis: 100 },
  });

  before(async () => {
    [kinesis, dynamo] = await Promise.all([startKinesalite(), startDynalite()]);
    const admin = kinesisAdmin(kinesis.endpoint);
    streamName = await createStream(admin, 2, 'firsthour');
    await produce(admin, streamName, 20);
  });
  after(() => stopAll());

  it('a processor without initialize(): start() rejects with a ConfigError naming it, once; the worker stops', async () => {
    const lines: Line[] = [];
    let factoryCalls = 0;
    const scheduler = new Scheduler({
      ...common(),
      applicationName: uniqueName('shape'),
      endpoints: endpoints(),
      logger: capturing(lines),
      // A JavaScript processor with a typo: `initialise`.
      processorFactory: () => {
        factoryCalls++;
        return { initialise() {}, processRecords() {}, leaseLost() {}, shardEnded() {} } as never;
      },
    });
    const taskErrors: { task: string; error: unknown }[] = [];
    const processingErrors: unknown[] = [];
    let shutdown: { graceful: boolean } | undefined;
    scheduler.on('taskError', (e) => taskErrors.push(e));
    scheduler.on('processingError', (e) => processingErrors.push(e));
    scheduler.on('shutdown', (e) => (shutdown = e));
    const error = await scheduler.start().then(() => undefined, (e: unknown) => e);
    assert.ok(error instanceof ConfigError, String(error));
    assert.equal(
      error.message,
      'Invalid option "processorFactory": returned a processor with no initialize() (a ShardRecordProcessor needs initialize(), processRecords(), leaseLost() and shardEnded(); shutdownRequested() is optional)',
    );
    assert.equal(error.key, 'processorFactory');
    assert.deepEqual(taskErrors.map((e) => e.task), ['processorFactory'], 'reported once');
    assert.equal(processingErrors.length, 0, 'not a retry loop');
    assert.deepEqual(shutdown, { graceful: false });
    const errors = lines.filter((l) => l.level === 'error');
    assert.equal(errors.length, 1);
    assert.match(errors[0]!.msg, /returned a processor with no initialize\(\).*; stopping the worker$/);
    assert.ok(lines.every((l) => !/this\.o\.|is not a function/.test(l.msg)), 'no internal field names');
    const callsAtStop = factoryCalls;
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(factoryCalls, callsAtStop, 'nothing retries after the stop');
    assert.deepEqual(scheduler.heldLeaseKeys, []);
  });

  it('a processor that keeps failing: a warning first, then errors with the attempt count and shard; event and metric agree', async () => {
    const lines: Line[] = [];
    const datums: MetricDatum[] = [];
    const events: { shardId: string; phase: string; attempts: number }[] = [];
    const scheduler = new Scheduler({
      ...common(),
      applicationName: uniqueName('failing'),
      endpoints: endpoints(),
      logger: capturing(lines),
      metrics: { backend: { record: (d) => datums.push(d) } },
      processorFactory: () => ({
        initialize() {},
        processRecords() {
          throw new Error('database unavailable');
        },
        leaseLost() {},
        shardEnded() {},
      }),
    });
    scheduler.on('processingError', ({ shardId, phase, attempts }) => events.push({ shardId, phase, attempts }));
    await scheduler.start();
    try {
      await waitFor(() => events.some((e) => e.attempts >= 3), 20_000, 'three failures on one shard');
    } finally {
      await scheduler.shutdown();
    }
    const shard = events.find((e) => e.attempts >= 3)!.shardId;
    const mine = lines.filter((l) => l.fields.shardId === shard && /^processor processRecords failed/.test(l.msg));
    assert.equal(mine[0]!.level, 'warn');
    assert.match(mine[0]!.msg, new RegExp(`^processor processRecords failed on ${shard}; retrying in \\d+ ms$`));
    assert.equal(mine[1]!.level, 'error');
    assert.match(mine[1]!.msg, new RegExp(`^processor processRecords failed 2 times in a row on ${shard}; retrying in \\d+ ms$`));
    assert.equal(mine[1]!.fields.attempts, 2);
    assert.equal((mine[1]!.fields.err as Error).message, 'database unavailable');
    assert.deepEqual(events.filter((e) => e.shardId === shard).slice(0, 3).map((e) => e.attempts), [1, 2, 3]);
    const gauges = datums.filter((d) => d.name === 'ConsecutiveProcessingFailures' && d.dimensions.ShardId === shard).map((d) => d.value);
    assert.deepEqual(gauges.slice(0, 3), [1, 2, 3]);
    assert.ok(datums.some((d) => d.name === 'ProcessingErrors' && d.dimensions.ShardId === shard && d.value === 1));
  });

  it('a processorFactory that throws costs only that shard, for a while: the lease is released and retaken', async () => {
    const lines: Line[] = [];
    const log = new DeliveryLog();
    const failedOnce = new Set<string>();
    const events: { shardId: string; phase: string }[] = [];
    const scheduler = new Scheduler({
      ...common(),
      applicationName: uniqueName('factorythrows'),
      endpoints: endpoints(),
      logger: capturing(lines),
      processorFactory: (ctx) => {
        if (!failedOnce.has(ctx.shardId)) {
          failedOnce.add(ctx.shardId);
          throw new Error('connection pool not ready');
        }
        return log.factory('w')(ctx);
      },
    });
    scheduler.on('processingError', ({ shardId, phase }) => events.push({ shardId, phase }));
    await scheduler.start();
    try {
      await waitFor(() => log.uniqueKeys().size === 20, 20_000, 'all 20 records after the retake');
    } finally {
      await scheduler.shutdown();
    }
    assert.deepEqual(events.map((e) => e.phase).sort(), ['processorFactory', 'processorFactory']);
    const errors = lines.filter((l) => l.level === 'error').map((l) => l.msg).sort();
    assert.deepEqual(errors, [...failedOnce].sort().map((s) => `processorFactory threw for ${s}; releasing the shard`));
  });

  it("AWS_ENDPOINT_URL_KINESIS / _DYNAMODB work like endpoints (HTTP/1.1: kinesalite rejects the SDK's HTTP/2)", async () => {
    const saved = { ...process.env };
    process.env.AWS_ENDPOINT_URL_KINESIS = kinesis.endpoint;
    process.env.AWS_ENDPOINT_URL_DYNAMODB = dynamo.endpoint;
    const log = new DeliveryLog();
    let scheduler: Scheduler | undefined;
    try {
      scheduler = new Scheduler({ ...common(), applicationName: uniqueName('envendpoints'), logger: false, processorFactory: log.factory('w') });
      await scheduler.start();
      await waitFor(() => log.uniqueKeys().size === 20, 20_000, 'all 20 records');
    } finally {
      await scheduler?.shutdown();
      for (const k of Object.keys(process.env)) if (!(k in saved)) delete process.env[k];
    }
  });

  it('endpoints swapped: start() rejects with a DependencyError saying the endpoint looks like another service', async () => {
    const scheduler = new Scheduler({
      ...common(),
      applicationName: uniqueName('swapped'),
      endpoints: { kinesis: dynamo.endpoint, dynamodb: kinesis.endpoint },
      logger: false,
      processorFactory: new DeliveryLog().factory('w'),
    });
    const error = await scheduler.start().then(() => undefined, (e: unknown) => e);
    assert.ok(error instanceof DependencyError, String(error));
    assert.match(error.message, /failed: the endpoint answered with no (Kinesis|DynamoDB) answer.*HTTP 404: it looks like another service, not (Kinesis|DynamoDB); check endpoints/);
  });
});
