import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Scheduler } from '../../src/index.js';
import type { Logger } from '../../src/util/logger.js';
import { startCloudWatchEndpoint, type CloudWatchEndpoint } from '../support/cloudwatch-endpoint.js';
import { startDynalite, startKinesalite, stopAll, TEST_CREDENTIALS, TEST_REGION, uniqueName, type Emulator } from '../support/emulators.js';
import { clientsFor, createStream, DeliveryLog, kinesisAdmin, produce, waitFor } from '../support/scenario.js';

function warnings(): { logger: Logger; lines: string[] } {
  const lines: string[] = [];
  const make = (): Logger => ({
    debug: () => undefined,
    info: () => undefined,
    warn: (_obj, msg) => void lines.push(msg ?? ''),
    error: (_obj, msg) => void lines.push(msg ?? ''),
    child: () => make(),
  });
  return { logger: make(), lines };
}

describe('CloudWatch metrics against a local PutMetricData endpoint (kinesalite + dynalite)', () => {
  let kinesis: Emulator;
  let dynamo: Emulator;
  let cloudwatch: CloudWatchEndpoint;
  before(async () => {
    [kinesis, dynamo, cloudwatch] = await Promise.all([startKinesalite(), startDynalite(), startCloudWatchEndpoint()]);
  });
  after(async () => {
    await cloudwatch.close();
    await stopAll();
  });

  const worker = (streamName: string, log: DeliveryLog, extra: Record<string, unknown>) =>
    new Scheduler({
      applicationName: uniqueName('cwapp'),
      streamName,
      workerId: 'cw-worker',
      initialPosition: 'TRIM_HORIZON',
      ...clientsFor(kinesis.endpoint, dynamo.endpoint),
      region: TEST_REGION,
      credentials: TEST_CREDENTIALS,
      leases: { failoverTimeMillis: 1500 },
      retrieval: { mode: 'polling', idleTimeBetweenReadsMillis: 100 },
      processorFactory: log.factory('cw-worker'),
      ...extra,
    });

  it('buffers, then publishes Java KCL metric names and dimensions as statistic sets; the rest is flushed on shutdown', async () => {
    const admin = kinesisAdmin(kinesis.endpoint);
    const streamName = await createStream(admin, 2);
    const produced = await produce(admin, streamName, 300);
    const log = new DeliveryLog();
    const scheduler = worker(streamName, log, {
      endpoints: { cloudwatch: cloudwatch.url },
      metrics: { backend: 'cloudwatch', namespace: 'TsKcl/Test', bufferMillis: 60_000 },
    });
    const before = cloudwatch.calls.length;
    await scheduler.start();
    await waitFor(() => log.uniqueKeys().size === 300, 20_000, 'all records');
    await new Promise((r) => setTimeout(r, 1200)); // a few renewal rounds (every 475 ms with failover 1500)
    assert.equal(cloudwatch.calls.length, before, 'nothing published before the buffer time');
    await scheduler.shutdown();
    const calls = cloudwatch.calls.slice(before);
    assert.ok(calls.length >= 1);
    for (const c of calls) {
      assert.equal(c.target, 'GraniteServiceVersion20100801.PutMetricData');
      assert.equal(c.namespace, 'TsKcl/Test');
      assert.ok(c.data.length <= 1000);
      assert.match(c.authorization ?? '', /^AWS4-HMAC-SHA256 Credential=AKIDLOCALTEST\/\d{8}\/us-east-1\/monitoring\/aws4_request/);
    }
    const datums = calls.flatMap((c) => c.data.map((d) => ({ ...d, dims: Object.fromEntries((d.Dimensions ?? []).map((x) => [x.Name, x.Value])) })));
    const find = (name: string, operation: string) => datums.filter((d) => d.MetricName === name && d.dims.Operation === operation);

    const shards = [...new Set(produced.map((p) => p.shardId))];
    for (const shardId of shards) {
      const processed = find('RecordsProcessed', 'ProcessTask').filter((d) => d.dims.ShardId === shardId);
      assert.equal(processed.length, 1, 'one statistic set per series and buffer period');
      assert.deepEqual(Object.keys(processed[0]!.dims).sort(), ['Operation', 'ShardId']);
      assert.equal(processed[0]!.Unit, 'Count');
      assert.equal(processed[0]!.StatisticValues!.Sum, produced.filter((p) => p.shardId === shardId).length, `records of ${shardId}`);
      const bytes = find('DataBytesProcessed', 'ProcessTask').find((d) => d.dims.ShardId === shardId)!;
      const expectedBytes = produced.filter((p) => p.shardId === shardId).reduce((n, p) => n + Buffer.byteLength(p.key), 0);
      assert.equal(bytes.StatisticValues!.Sum, expectedBytes);
      assert.equal(bytes.Unit, 'Bytes');
      const lag = find('MillisBehindLatest', 'ProcessTask').find((d) => d.dims.ShardId === shardId)!;
      assert.equal(lag.Unit, 'Milliseconds');
      for (const name of ['KinesisDataFetcher.getRecords.Time', 'KinesisDataFetcher.getRecords.Success', 'RecordProcessor.processRecords.Time', 'UpdateLease.Time']) {
        assert.ok(find(name, 'ProcessTask').some((d) => d.dims.ShardId === shardId), `${name} for ${shardId}`);
      }
      assert.ok(find('RecordProcessor.initialize.Time', 'InitializeTask').some((d) => d.dims.ShardId === shardId));
    }
    const fetchTime = find('KinesisDataFetcher.getRecords.Time', 'ProcessTask')[0]!;
    assert.equal(fetchTime.Unit, 'Milliseconds');
    assert.ok(fetchTime.StatisticValues!.SampleCount >= 1 && fetchTime.StatisticValues!.Maximum >= fetchTime.StatisticValues!.Minimum);

    const current = find('CurrentLeases', 'RenewAllLeases');
    assert.ok(current.length >= 1);
    assert.deepEqual(current[0]!.dims, { Operation: 'RenewAllLeases', WorkerIdentifier: 'cw-worker' });
    assert.equal(current[0]!.StatisticValues!.Maximum, 2);
    assert.equal(find('LostLeases', 'RenewAllLeases')[0]!.StatisticValues!.Sum, 0, 'released at shutdown: not lost');
    assert.equal(find('RenewLease.Success', 'RenewAllLeases')[0]!.StatisticValues!.Minimum, 1);
    assert.equal(find('TakenLeases', 'TakeLeases')[0]!.StatisticValues!.Sum, 2);
    assert.deepEqual(find('TakenLeases', 'TakeLeases')[0]!.dims, { Operation: 'TakeLeases', WorkerIdentifier: 'cw-worker' });
    assert.equal(find('Success', 'TakeLeases')[0]!.StatisticValues!.Minimum, 1);
  });

  it('SUMMARY level: publishes periodically during the run, and only summary metrics', async () => {
    const admin = kinesisAdmin(kinesis.endpoint);
    const streamName = await createStream(admin, 1);
    await produce(admin, streamName, 50);
    const log = new DeliveryLog();
    const scheduler = worker(streamName, log, {
      endpoints: { cloudwatch: cloudwatch.url },
      metrics: { backend: 'cloudwatch', namespace: 'TsKcl/Summary', level: 'SUMMARY', bufferMillis: 200 },
    });
    await scheduler.start();
    try {
      await waitFor(() => cloudwatch.calls.some((c) => c.namespace === 'TsKcl/Summary' && c.data.some((d) => d.MetricName === 'RecordsProcessed')), 10_000, 'a periodic publish');
    } finally {
      await scheduler.shutdown();
    }
    const names = new Set(cloudwatch.calls.filter((c) => c.namespace === 'TsKcl/Summary').flatMap((c) => c.data.map((d) => d.MetricName)));
    for (const n of ['RecordsProcessed', 'DataBytesProcessed', 'MillisBehindLatest', 'RecordProcessor.processRecords.Time', 'CurrentLeases', 'TakenLeases']) assert.ok(names.has(n), n);
    for (const n of ['KinesisDataFetcher.getRecords.Time', 'UpdateLease.Time', 'ListLeases.Time', 'NumWorkers']) assert.ok(!names.has(n), `${n} is DETAILED`);
  });

  it('a failing or hanging CloudWatch never stops processing nor blocks shutdown for long; failures are logged', async () => {
    for (const mode of ['fail', 'hang'] as const) {
      const broken = await startCloudWatchEndpoint(mode);
      const admin = kinesisAdmin(kinesis.endpoint);
      const streamName = await createStream(admin, 2);
      await produce(admin, streamName, 200);
      const log = new DeliveryLog();
      const { logger, lines } = warnings();
      const scheduler = worker(streamName, log, {
        endpoints: { cloudwatch: broken.url },
        metrics: { backend: 'cloudwatch', bufferMillis: 100 },
        logger,
      });
      try {
        await scheduler.start();
        await waitFor(() => log.uniqueKeys().size === 200, 20_000, `all records with CloudWatch ${mode}`);
        const started = Date.now();
        await scheduler.shutdown();
        assert.ok(Date.now() - started < 12_000, `shutdown took ${Date.now() - started} ms`);
        assert.ok(lines.some((l) => /could not publish metrics to CloudWatch/.test(l)), `warned (${mode})`);
        assert.equal(broken.calls.length, 0);
      } finally {
        await broken.close();
      }
    }
  });
});
