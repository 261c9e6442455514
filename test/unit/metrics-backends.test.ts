import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Registry } from 'prom-client';
import type { CloudWatchDatum } from '../../src/aws/cloudwatch-api.js';
import { CloudWatchMetrics, batches } from '../../src/metrics/cloudwatch-metrics.js';
import { Metrics } from '../../src/metrics/metrics.js';
import type { MetricDatum, MetricsSink } from '../../src/metrics/metrics-sink.js';
import { NoopMetrics } from '../../src/metrics/noop-metrics.js';
import { PrometheusMetrics } from '../../src/metrics/prometheus-metrics.js';
import { prometheusName, snakeCase } from '../../src/metrics/prometheus-names.js';
import type { Logger } from '../../src/util/logger.js';

class CaptureSink implements MetricsSink {
  readonly data: MetricDatum[] = [];
  record(d: MetricDatum): void {
    this.data.push(d);
  }
}

function captureLogger(lines: { level: string; obj: object; msg?: string }[]): Logger {
  const at = (level: string) => (obj: object, msg?: string) => void lines.push({ level, obj, msg });
  const logger: Logger = { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error'), child: () => logger };
  return logger;
}

describe('Metrics (levels and scopes)', () => {
  it('filters by level: NONE nothing, SUMMARY only summary metrics, DETAILED everything', () => {
    for (const [level, expected] of [['NONE', []], ['SUMMARY', ['RecordsProcessed']], ['DETAILED', ['RecordsProcessed', 'KinesisDataFetcher.getRecords.Success', 'KinesisDataFetcher.getRecords.Time']]] as const) {
      const sink = new CaptureSink();
      const scope = new Metrics(sink, level).scope({ Operation: 'ProcessTask', ShardId: 'shardId-000000000001' });
      scope.count('RecordsProcessed', 5);
      scope.success('KinesisDataFetcher.getRecords', true, 12, 'DETAILED');
      assert.deepEqual(sink.data.map((d) => d.name), expected, level);
    }
  });

  it('builds Java KCL datums: dimensions, units, Success 1/0 and Time; bare Success/Time without a prefix', () => {
    const sink = new CaptureSink();
    const scope = new Metrics(sink, 'DETAILED', () => 1_700_000_000_000).scope({ Operation: 'RenewAllLeases', WorkerIdentifier: 'w1' });
    scope.success('', false, 7);
    scope.count('DataBytesProcessed', 100, 'SUMMARY', 'Bytes');
    assert.deepEqual(sink.data, [
      { name: 'Success', kind: 'success', value: 0, unit: 'Count', dimensions: { Operation: 'RenewAllLeases', WorkerIdentifier: 'w1' }, timestamp: 1_700_000_000_000 },
      { name: 'Time', kind: 'timing', value: 7, unit: 'Milliseconds', dimensions: { Operation: 'RenewAllLeases', WorkerIdentifier: 'w1' }, timestamp: 1_700_000_000_000 },
      { name: 'DataBytesProcessed', kind: 'count', value: 100, unit: 'Bytes', dimensions: { Operation: 'RenewAllLeases', WorkerIdentifier: 'w1' }, timestamp: 1_700_000_000_000 },
    ]);
  });

  it('drops non-finite values, survives a throwing sink, and is disabled with the none backend', async () => {
    const sink = new CaptureSink();
    new Metrics(sink, 'DETAILED').scope({ Operation: 'X' }).gauge('MillisBehindLatest', Number.NaN);
    assert.equal(sink.data.length, 0);
    const throwing: MetricsSink = {
      record: () => {
        throw new Error('broken backend');
      },
      flush: () => Promise.reject(new Error('broken flush')),
    };
    const m = new Metrics(throwing, 'DETAILED');
    m.scope({ Operation: 'X' }).count('Y', 1);
    await m.flush();
    assert.equal(new Metrics(new NoopMetrics(), 'DETAILED').enabled, false);
    assert.equal(Metrics.disabled.emits('SUMMARY'), false);
  });
});

describe('CloudWatchMetrics', () => {
  const datum = (name: string, value: number, shardId = 'shardId-0'): MetricDatum => ({
    name,
    kind: 'count',
    value,
    unit: 'Count',
    dimensions: { Operation: 'ProcessTask', ShardId: shardId },
    timestamp: Date.parse('2026-03-01T10:00:00Z'),
  });

  it('accumulates each series into one statistic set per buffer period and publishes on flush', async () => {
    const calls: { namespace: string; data: readonly CloudWatchDatum[] }[] = [];
    const cw = new CloudWatchMetrics({ api: { putMetricData: async (namespace, data) => void calls.push({ namespace, data }) }, namespace: 'app', bufferMillis: 60_000 });
    cw.record(datum('RecordsProcessed', 10));
    cw.record(datum('RecordsProcessed', 2));
    cw.record(datum('RecordsProcessed', 30));
    cw.record(datum('RecordsProcessed', 1, 'shardId-1'));
    await cw.flush();
    assert.equal(calls.length, 1);
    assert.equal(calls[0]!.namespace, 'app');
    assert.deepEqual(calls[0]!.data, [
      { metricName: 'RecordsProcessed', dimensions: { Operation: 'ProcessTask', ShardId: 'shardId-0' }, timestamp: new Date('2026-03-01T10:00:00Z'), unit: 'Count', sampleCount: 3, sum: 42, minimum: 2, maximum: 30 },
      { metricName: 'RecordsProcessed', dimensions: { Operation: 'ProcessTask', ShardId: 'shardId-1' }, timestamp: new Date('2026-03-01T10:00:00Z'), unit: 'Count', sampleCount: 1, sum: 1, minimum: 1, maximum: 1 },
    ]);
    await cw.flush();
    assert.equal(calls.length, 1, 'nothing buffered: no call');
    assert.equal(cw.publishedDatums, 2);
  });

  it('publishes by itself after bufferMillis, and at once when maxQueueSize series are buffered', async () => {
    const calls: number[] = [];
    const cw = new CloudWatchMetrics({ api: { putMetricData: async (_ns, data) => void calls.push(data.length) }, namespace: 'app', bufferMillis: 50, maxQueueSize: 3 });
    cw.record(datum('A', 1));
    await new Promise((r) => setTimeout(r, 150));
    assert.deepEqual(calls, [1]);
    for (let i = 0; i < 3; i++) cw.record(datum('B', 1, `shardId-${i}`));
    await new Promise((r) => setTimeout(r, 10));
    assert.deepEqual(calls, [1, 3]);
    await cw.close();
  });

  it('splits into PutMetricData calls of at most 1000 datums', async () => {
    const sizes: number[] = [];
    const cw = new CloudWatchMetrics({ api: { putMetricData: async (_ns, data) => void sizes.push(data.length) }, namespace: 'app', bufferMillis: 60_000 });
    for (let i = 0; i < 2500; i++) cw.record(datum('RecordsProcessed', i, `shardId-${i}`));
    await cw.close();
    assert.deepEqual(sizes, [1000, 1000, 500]);
    const big: CloudWatchDatum = { metricName: 'x'.repeat(200), dimensions: { Operation: 'y'.repeat(1000) }, timestamp: new Date(), unit: 'Count', sampleCount: 1, sum: 1, minimum: 1, maximum: 1 };
    const split = batches(Array.from({ length: 1000 }, () => big), 1000);
    assert.ok(split.length > 1, 'a byte budget below 1 MB splits large datums further');
    for (const b of split) assert.ok(JSON.stringify(b).length < 1_000_000);
  });

  it('a failing PutMetricData is logged and dropped: never thrown, later flushes go on', async () => {
    const lines: { level: string; obj: object; msg?: string }[] = [];
    let fail = true;
    const sent: number[] = [];
    const cw = new CloudWatchMetrics({
      api: {
        putMetricData: async (_ns, data) => {
          if (fail) throw new Error('AccessDenied');
          sent.push(data.length);
        },
      },
      namespace: 'app',
      bufferMillis: 60_000,
      logger: captureLogger(lines),
    });
    cw.record(datum('A', 1));
    await cw.flush();
    assert.equal(cw.failedCalls, 1);
    assert.equal(lines[0]?.level, 'warn');
    assert.match(lines[0]?.msg ?? '', /could not publish metrics to CloudWatch/);
    fail = false;
    cw.record(datum('A', 2));
    await cw.flush();
    assert.deepEqual(sent, [1]);
  });

  it('close() publishes the rest once, calls onClose, then ignores new datums', async () => {
    let published = 0;
    let closed = 0;
    const cw = new CloudWatchMetrics({ api: { putMetricData: async (_ns, d) => void (published += d.length) }, namespace: 'app', onClose: () => closed++ });
    cw.record(datum('A', 1));
    await cw.close();
    await cw.close();
    cw.record(datum('A', 1));
    await cw.flush();
    assert.equal(published, 1);
    assert.equal(closed, 1);
  });
});

describe('PrometheusMetrics', () => {
  it('maps Java KCL names to Prometheus conventions', () => {
    assert.equal(snakeCase('KinesisDataFetcher.getRecords'), 'kinesis_data_fetcher_get_records');
    assert.equal(snakeCase('MillisBehindLatest'), 'millis_behind_latest');
    const dims = { Operation: 'RenewAllLeases' };
    assert.equal(prometheusName({ name: 'RecordsProcessed', kind: 'count', dimensions: dims }, 'kcl_').name, 'kcl_records_processed_total');
    assert.equal(prometheusName({ name: 'CurrentLeases', kind: 'gauge', dimensions: dims }, 'kcl_').name, 'kcl_current_leases');
    assert.equal(prometheusName({ name: 'RecordProcessor.processRecords.Time', kind: 'timing', dimensions: dims }, 'kcl_').name, 'kcl_record_processor_process_records_duration_seconds');
    assert.equal(prometheusName({ name: 'Time', kind: 'timing', dimensions: dims }, 'kcl_').name, 'kcl_renew_all_leases_duration_seconds');
    assert.equal(prometheusName({ name: 'RenewLease.Success', kind: 'success', dimensions: dims }, 'kcl_').name, 'kcl_renew_lease_calls_total');
  });

  it('records counters, gauges, histograms (seconds) and outcomes with operation/shard_id/worker_id labels', async () => {
    const p = new PrometheusMetrics();
    const m = new Metrics(p, 'DETAILED');
    const shard = m.scope({ Operation: 'ProcessTask', ShardId: 'shardId-000000000003' });
    shard.count('RecordsProcessed', 7);
    shard.count('RecordsProcessed', 3);
    shard.gauge('MillisBehindLatest', 1500, 'SUMMARY', 'Milliseconds');
    shard.success('RecordProcessor.processRecords', true, 250);
    shard.success('RecordProcessor.processRecords', false, 20);
    m.scope({ Operation: 'RenewAllLeases', WorkerIdentifier: 'w-1' }).gauge('CurrentLeases', 2);
    const text = await p.text();
    assert.match(text, /^kcl_records_processed_total\{operation="ProcessTask",shard_id="shardId-000000000003"\} 10$/m);
    assert.match(text, /^kcl_millis_behind_latest\{operation="ProcessTask",shard_id="shardId-000000000003"\} 1500$/m);
    assert.match(text, /^kcl_current_leases\{operation="RenewAllLeases",worker_id="w-1"\} 2$/m);
    assert.match(text, /^kcl_record_processor_process_records_calls_total\{operation="ProcessTask",shard_id="shardId-000000000003",outcome="success"\} 1$/m);
    assert.match(text, /^kcl_record_processor_process_records_calls_total\{.*outcome="failure"\} 1$/m);
    assert.match(text, /^kcl_record_processor_process_records_duration_seconds_sum\{operation="ProcessTask",shard_id="shardId-000000000003"\} 0\.27$/m);
    assert.match(text, /^kcl_record_processor_process_records_duration_seconds_bucket\{le="0\.25",operation="ProcessTask",shard_id="shardId-000000000003"\} 2$/m);
    assert.match(text, /^# TYPE kcl_record_processor_process_records_duration_seconds histogram$/m);
  });

  it('each instance has its own registry (never the global one); a shared registry is reused, not re-registered', async () => {
    const a = new PrometheusMetrics();
    const b = new PrometheusMetrics();
    new Metrics(a, 'SUMMARY').scope({ Operation: 'ProcessTask', ShardId: 's' }).count('RecordsProcessed', 1);
    new Metrics(b, 'SUMMARY').scope({ Operation: 'ProcessTask', ShardId: 's' }).count('RecordsProcessed', 5);
    assert.notEqual(a.registry, b.registry);
    assert.match(await a.text(), /kcl_records_processed_total\{.*\} 1$/m);
    assert.match(await b.text(), /kcl_records_processed_total\{.*\} 5$/m);
    const shared = new Registry();
    const c = new PrometheusMetrics({ registry: shared });
    const d = new PrometheusMetrics({ registry: shared });
    new Metrics(c, 'SUMMARY').scope({ Operation: 'RenewAllLeases', WorkerIdentifier: 'c' }).gauge('CurrentLeases', 1);
    new Metrics(d, 'SUMMARY').scope({ Operation: 'RenewAllLeases', WorkerIdentifier: 'd' }).gauge('CurrentLeases', 2);
    const text = await shared.metrics();
    assert.match(text, /worker_id="c"\} 1/);
    assert.match(text, /worker_id="d"\} 2/);
  });

  it('forgetShard drops the shard gauge series and keeps counters', async () => {
    const p = new PrometheusMetrics();
    const scope = new Metrics(p, 'SUMMARY').scope({ Operation: 'ProcessTask', ShardId: 'shardId-9' });
    scope.gauge('MillisBehindLatest', 5);
    scope.count('RecordsProcessed', 2);
    p.forgetShard('shardId-9');
    await new Promise((r) => setImmediate(r));
    const text = await p.text();
    assert.doesNotMatch(text, /^kcl_millis_behind_latest\{/m);
    assert.match(text, /^kcl_records_processed_total\{.*\} 2$/m);
  });
});
