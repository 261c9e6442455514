import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Registry } from 'prom-client';
import { resolveOptions } from '../../src/config/resolve-options.js';
import type { SchedulerOptions } from '../../src/config/options.js';
import { ConfigError } from '../../src/errors.js';

const processorFactory = () => ({ initialize() {}, processRecords() {}, leaseLost() {}, shardEnded() {} });
const base: SchedulerOptions = { applicationName: 'orders-app', streamName: 'orders', processorFactory };

function failsOn(options: unknown, key: string): void {
  assert.throws(
    () => resolveOptions(options as SchedulerOptions),
    (e: unknown) => e instanceof ConfigError && e.key === key && e.code === 'KCL_CONFIG_INVALID' && e.message.includes(`"${key}"`),
    `expected ConfigError for ${key}`,
  );
}

describe('resolveOptions', () => {
  it('fills Java KCL defaults', () => {
    const r = resolveOptions(base);
    assert.equal(r.leases.tableName, 'orders-app');
    assert.equal(r.leases.failoverTimeMillis, 10_000);
    assert.equal(r.leases.epsilonMillis, 25);
    assert.equal(r.leases.renewIntervalMillis, 3308);
    assert.equal(r.leases.billingMode, 'PAY_PER_REQUEST');
    assert.equal(r.leases.maxLeasesForWorker, Infinity);
    assert.equal(r.leases.maxLeasesToStealAtOneTime, 8);
    assert.equal(r.leases.gracefulHandoff, true);
    assert.equal(r.leases.gracefulHandoffTimeoutMillis, 30_000);
    assert.equal(r.initialPosition, 'LATEST');
    assert.deepEqual(r.retrieval, {
      mode: 'polling',
      maxRecords: 10_000,
      idleTimeBetweenReadsMillis: 1500,
      maxPrefetchBatches: 3,
      maxPrefetchBytes: 8 * 1024 * 1024,
      filterOffRangeSubRecords: false,
      maxGetRecordsCallsPerSecond: 5,
    });
    assert.equal(r.shardSyncIntervalMillis, 60_000);
    assert.equal(r.onProcessingError, 'retry');
    assert.match(r.workerId, /.+:[0-9a-f]{8}$/);
    assert.ok(Object.isFrozen(r));
  });

  it('keeps given values', () => {
    const ts = new Date('2026-01-01T00:00:00Z');
    const r = resolveOptions({
      ...base,
      workerId: 'w1',
      initialPosition: { timestamp: ts },
      retrieval: { mode: 'fanout' },
      leases: { failoverTimeMillis: 1500, tableName: 'leases-x', maxLeasesForWorker: 4 },
      endpoints: { kinesis: 'http://127.0.0.1:4567' },
    });
    assert.equal(r.workerId, 'w1');
    assert.deepEqual(r.initialPosition, { timestamp: ts });
    assert.deepEqual(r.retrieval, {
      mode: 'fanout',
      consumerName: 'orders-app',
      consumerArn: undefined,
      deregisterConsumerOnShutdown: false,
      http2: undefined,
      requestHandler: undefined,
      maxQueuedEvents: 3,
      subscriptionIdleTimeoutMillis: 30_000,
      shardEndCheckIntervalMillis: 10_000,
      filterOffRangeSubRecords: false,
    });
    assert.equal(r.leases.renewIntervalMillis, 475);
    assert.equal(r.leases.takerIntervalMillis, 300);
    assert.equal(r.leases.startupDiscoveryMillis, 300, 'the discovery window follows a short taker interval');
    assert.equal(r.endpoints.kinesis, 'http://127.0.0.1:4567');
  });

  it('keeps given fan-out values', () => {
    const handler = { handle: async () => ({ response: {} }) };
    const r = resolveOptions({
      ...base,
      retrieval: {
        mode: 'fanout',
        consumerArn: 'arn:aws:kinesis:us-east-1:123456789012:stream/orders/consumer/c1:1',
        http2: false,
        requestHandler: handler as never,
        maxQueuedEvents: 1,
        subscriptionIdleTimeoutMillis: 5000,
        shardEndCheckIntervalMillis: 500,
        deregisterConsumerOnShutdown: true,
        filterOffRangeSubRecords: true,
      },
    });
    assert.equal(r.retrieval.mode, 'fanout');
    if (r.retrieval.mode !== 'fanout') return;
    assert.equal(r.retrieval.http2, false);
    assert.equal(r.retrieval.requestHandler, handler);
    assert.equal(r.retrieval.maxQueuedEvents, 1);
    assert.equal(r.retrieval.subscriptionIdleTimeoutMillis, 5000);
    assert.equal(r.retrieval.shardEndCheckIntervalMillis, 500);
    assert.equal(r.retrieval.deregisterConsumerOnShutdown, true);
    assert.equal(r.retrieval.filterOffRangeSubRecords, true);
  });

  it('fails fast naming the key', () => {
    failsOn({ ...base, applicationName: undefined }, 'applicationName');
    failsOn({ ...base, streamName: undefined }, 'streamName');
    failsOn({ ...base, streamName: 'bad name!' }, 'streamName');
    failsOn({ ...base, streamArn: 'arn:nope' }, 'streamArn');
    failsOn({ ...base, processorFactory: 'x' }, 'processorFactory');
    failsOn({ ...base, colour: 'blue' }, 'colour');
    failsOn({ ...base, leases: { failoverTime: 5 } }, 'leases.failoverTime');
    failsOn({ ...base, leases: { failoverTimeMillis: -1 } }, 'leases.failoverTimeMillis');
    failsOn({ ...base, leases: { failoverTimeMillis: '10000' } }, 'leases.failoverTimeMillis');
    failsOn({ ...base, leases: { failoverTimeMillis: 300, epsilonMillis: 90 } }, 'leases.epsilonMillis');
    failsOn({ ...base, leases: { billingMode: 'FREE' } }, 'leases.billingMode');
    failsOn({ ...base, leases: { gracefulHandoff: 'yes' } }, 'leases.gracefulHandoff');
    failsOn({ ...base, leases: { startupDiscoveryMillis: -1 } }, 'leases.startupDiscoveryMillis');
    failsOn({ ...base, leases: { gracefulHandoffTimeoutMillis: 5 } }, 'leases.gracefulHandoffTimeoutMillis');
    failsOn({ ...base, retrieval: { mode: 'push' } }, 'retrieval.mode');
    failsOn({ ...base, retrieval: { mode: 'polling', maxRecords: 10_001 } }, 'retrieval.maxRecords');
    // The fetchers take these as given: config/ is the only place that validates them.
    failsOn({ ...base, retrieval: { mode: 'polling', maxRecords: 0 } }, 'retrieval.maxRecords');
    failsOn({ ...base, retrieval: { mode: 'polling', maxPrefetchBatches: 0 } }, 'retrieval.maxPrefetchBatches');
    failsOn({ ...base, retrieval: { mode: 'polling', maxPrefetchBytes: 0 } }, 'retrieval.maxPrefetchBytes');
    failsOn({ ...base, retrieval: { mode: 'polling', idleTimeBetweenReadsMillis: -1 } }, 'retrieval.idleTimeBetweenReadsMillis');
    failsOn({ ...base, retrieval: { mode: 'polling', filterOffRangeSubRecords: 'yes' } }, 'retrieval.filterOffRangeSubRecords');
    failsOn({ ...base, retrieval: { mode: 'fanout', maxRecords: 5 } }, 'retrieval.maxRecords');
    failsOn({ ...base, retrieval: { mode: 'fanout', maxQueuedEvents: 0 } }, 'retrieval.maxQueuedEvents');
    failsOn({ ...base, retrieval: { mode: 'fanout', subscriptionIdleTimeoutMillis: 5 } }, 'retrieval.subscriptionIdleTimeoutMillis');
    failsOn({ ...base, retrieval: { mode: 'fanout', shardEndCheckIntervalMillis: 1.5 } }, 'retrieval.shardEndCheckIntervalMillis');
    failsOn({ ...base, retrieval: { mode: 'fanout', http2: 'yes' } }, 'retrieval.http2');
    failsOn({ ...base, retrieval: { mode: 'fanout', requestHandler: {} } }, 'retrieval.requestHandler');
    failsOn({ ...base, retrieval: { mode: 'fanout', deregisterConsumerOnShutdown: 1 } }, 'retrieval.deregisterConsumerOnShutdown');
    failsOn({ ...base, initialPosition: 'EARLIEST' }, 'initialPosition');
    failsOn({ ...base, initialPosition: { timestamp: 'yesterday' } }, 'initialPosition.timestamp');
    failsOn({ ...base, endpoints: { kinesis: 'not a url' } }, 'endpoints.kinesis');
    failsOn({ ...base, endpoints: { s3: 'http://x' } }, 'endpoints.s3');
    failsOn({ ...base, onProcessingError: 'ignore' }, 'onProcessingError');
    failsOn({ ...base, credentials: { accessKeyId: 'a' } }, 'credentials.secretAccessKey');
    failsOn({ ...base, kinesisClient: {} }, 'kinesisClient');
    failsOn({ ...base, logger: { info() {} } }, 'logger');
    failsOn(null, '');
  });

  it('streams (multi-stream): a list or a tracker function, excluding streamName/streamArn, validated per entry', () => {
    const { streamName: _single, ...noStream } = base;
    const r = resolveOptions({ ...noStream, initialPosition: 'TRIM_HORIZON', streams: [{ streamName: 'a' }, { streamArn: 'arn:aws:kinesis:us-east-1:123456789012:stream/b', initialPosition: 'LATEST' }] });
    assert.deepEqual(r.streams?.list, [
      { key: 'a', stream: { streamName: 'a' }, initialPosition: 'TRIM_HORIZON' },
      { key: 'arn:aws:kinesis:us-east-1:123456789012:stream/b', stream: { streamArn: 'arn:aws:kinesis:us-east-1:123456789012:stream/b' }, initialPosition: 'LATEST' },
    ]);
    assert.equal(r.streams?.trackerIntervalMillis, 60_000);
    assert.equal(r.streams?.formerStreamLeasesDeletionDelayMillis, undefined, 'leases of removed streams kept by default');
    const tracker = () => [{ streamName: 'a' }];
    const t = resolveOptions({ ...noStream, streams: tracker, streamTrackerIntervalMillis: 500, formerStreamLeasesDeletionDelayMillis: 0 });
    assert.equal(t.streams?.tracker, tracker);
    assert.equal(t.streams?.list, undefined);
    assert.equal(t.streams?.trackerIntervalMillis, 500);
    assert.equal(t.streams?.formerStreamLeasesDeletionDelayMillis, 0);
    assert.equal(resolveOptions(base).streams, undefined);
    failsOn({ ...base, streams: [{ streamName: 'a' }] }, 'streams');
    failsOn({ ...noStream, streams: 'a,b' }, 'streams');
    failsOn({ ...noStream, streams: [] }, 'streams');
    failsOn({ ...noStream, streams: [{ streamName: 'bad name!' }] }, 'streams[0].streamName');
    failsOn({ ...noStream, streams: [{ streamName: 'a' }, {}] }, 'streams[1].streamName');
    failsOn({ ...noStream, streams: [{ streamName: 'a' }, { streamName: 'a' }] }, 'streams[1]');
    failsOn({ ...noStream, streams: [{ streamName: 'a', shards: 2 }] }, 'streams[0].shards');
    failsOn({ ...noStream, streams: [{ streamName: 'a', initialPosition: 'EARLIEST' }] }, 'streams[0].initialPosition');
    failsOn({ ...noStream, streams: tracker, streamTrackerIntervalMillis: 5 }, 'streamTrackerIntervalMillis');
    failsOn({ ...noStream, streams: tracker, formerStreamLeasesDeletionDelayMillis: -1 }, 'formerStreamLeasesDeletionDelayMillis');
    failsOn({ ...base, streamTrackerIntervalMillis: 500 }, 'streamTrackerIntervalMillis');
    failsOn({ ...base, formerStreamLeasesDeletionDelayMillis: 500 }, 'formerStreamLeasesDeletionDelayMillis');
    failsOn({ ...noStream, streams: tracker, retrieval: { mode: 'fanout', consumerArn: 'arn:aws:kinesis:us-east-1:123456789012:stream/a/consumer/c:1' } }, 'retrieval.consumerArn');
    failsOn({ ...noStream }, 'streamName');
  });

  it('never puts a secret in an error message', () => {
    try {
      resolveOptions({ ...base, credentials: { accessKeyId: 'AKIDSECRET', secretAccessKey: '' } });
      assert.fail('expected error');
    } catch (e) {
      assert.ok(e instanceof ConfigError);
      assert.equal(e.key, 'credentials.secretAccessKey');
      assert.ok(!e.message.includes('AKIDSECRET'));
    }
  });
});

describe('resolveOptions: metrics, http, cloudWatchClient', () => {
  it('defaults: no metrics backend (level DETAILED, namespace = application, 10 s buffer), no HTTP endpoint', () => {
    const r = resolveOptions(base);
    assert.deepEqual(r.metrics, { backend: 'none', sink: undefined, level: 'DETAILED', namespace: 'orders-app', bufferMillis: 10_000, maxQueueSize: 10_000, registry: undefined });
    assert.equal(r.http, undefined);
    assert.equal(r.cloudWatchClient, undefined);
  });

  it('keeps given values; a custom sink; http defaults host 0.0.0.0 and the renewal interval as event-loop limit', () => {
    const registry = new Registry();
    const r = resolveOptions({ ...base, metrics: { backend: 'prometheus', level: 'SUMMARY', registry }, http: { port: 0 } });
    assert.equal(r.metrics.backend, 'prometheus');
    assert.equal(r.metrics.level, 'SUMMARY');
    assert.equal(r.metrics.registry, registry);
    assert.deepEqual(r.http, { port: 0, host: '0.0.0.0', maxEventLoopDelayMillis: 3308, dashboard: false });
    const sink = { record() {} };
    const c = resolveOptions({ ...base, metrics: { backend: sink, namespace: 'KCL/orders', bufferMillis: 500 }, http: { port: 9464, host: '127.0.0.1', maxEventLoopDelayMillis: 500 } });
    assert.equal(c.metrics.backend, 'custom');
    assert.equal(c.metrics.sink, sink);
    assert.equal(c.metrics.namespace, 'KCL/orders');
    assert.equal(c.metrics.bufferMillis, 500);
    assert.deepEqual(c.http, { port: 9464, host: '127.0.0.1', maxEventLoopDelayMillis: 500, dashboard: false });
    const client = { send() {} };
    assert.equal(resolveOptions({ ...base, cloudWatchClient: client as never }).cloudWatchClient, client);
  });

  it('fails fast naming the key', () => {
    failsOn({ ...base, metrics: { backend: 'statsd' } }, 'metrics.backend');
    failsOn({ ...base, metrics: { level: 'VERBOSE' } }, 'metrics.level');
    failsOn({ ...base, metrics: { namespace: 'AWS/Kinesis' } }, 'metrics.namespace');
    failsOn({ ...base, metrics: { namespace: ':x' } }, 'metrics.namespace');
    failsOn({ ...base, metrics: { bufferMillis: 1.5 } }, 'metrics.bufferMillis');
    failsOn({ ...base, metrics: { maxQueueSize: 0 } }, 'metrics.maxQueueSize');
    failsOn({ ...base, metrics: { backend: 'cloudwatch', registry: new Registry() } }, 'metrics.registry');
    failsOn({ ...base, metrics: { backend: 'prometheus', registry: {} } }, 'metrics.registry');
    failsOn({ ...base, metrics: { bufferTime: 1 } }, 'metrics.bufferTime');
    failsOn({ ...base, metrics: 'cloudwatch' }, 'metrics');
    failsOn({ ...base, http: {} }, 'http.port');
    failsOn({ ...base, http: { port: 70_000 } }, 'http.port');
    failsOn({ ...base, http: { port: 1, host: '' } }, 'http.host');
    failsOn({ ...base, http: { port: 1, tls: true } }, 'http.tls');
    failsOn({ ...base, cloudWatchClient: {} }, 'cloudWatchClient');
  });
});
