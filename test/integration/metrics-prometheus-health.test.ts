import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Scheduler, type HealthReport, type ReadinessReport, type SchedulerOptions } from '../../src/index.js';
import { startDynalite, startKinesalite, stopAll, uniqueName, type Emulator } from '../support/emulators.js';
import { clientsFor, createStream, DeliveryLog, kinesisAdmin, produce, waitFor } from '../support/scenario.js';

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** Parses the Prometheus text exposition format (what a scraper reads). */
function parsePrometheus(text: string): { samples: Sample[]; types: Map<string, string> } {
  const samples: Sample[] = [];
  const types = new Map<string, string>();
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const type = /^# TYPE (\S+) (\S+)$/.exec(line);
    if (type) types.set(type[1]!, type[2]!);
    if (line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    assert.ok(m, `unparsable line: ${line}`);
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]!] = l[2]!;
    samples.push({ name: m[1]!, labels, value: Number(m[3]) });
  }
  return { samples, types };
}

function sum(samples: Sample[], name: string, where: Record<string, string> = {}): number {
  return samples.filter((s) => s.name === name && Object.entries(where).every(([k, v]) => s.labels[k] === v)).reduce((n, s) => n + s.value, 0);
}

function baseUrl(s: Scheduler): string {
  const address = s.observability.httpAddress;
  assert.ok(address, 'the HTTP endpoint listens');
  return `http://127.0.0.1:${address.port}`;
}

async function getJson<T>(url: string): Promise<{ status: number; body: T }> {
  const res = await fetch(url);
  return { status: res.status, body: (await res.json()) as T };
}

describe('Prometheus metrics and health endpoints (kinesalite + dynalite)', () => {
  let kinesis: Emulator;
  let dynamo: Emulator;
  before(async () => {
    [kinesis, dynamo] = await Promise.all([startKinesalite(), startDynalite()]);
  });
  after(() => stopAll());

  const options = (streamName: string, app: string, workerId: string, log: DeliveryLog, extra: Partial<SchedulerOptions> = {}): SchedulerOptions => ({
    applicationName: app,
    streamName,
    workerId,
    initialPosition: 'TRIM_HORIZON',
    ...clientsFor(kinesis.endpoint, dynamo.endpoint),
    leases: { failoverTimeMillis: 1500 },
    retrieval: { mode: 'polling', idleTimeBetweenReadsMillis: 100 },
    processorFactory: log.factory(workerId),
    metrics: { backend: 'prometheus' },
    http: { port: 0, host: '127.0.0.1' },
    ...extra,
  });

  it('two schedulers in one process: each serves its own registry on /metrics, counts match deliveries', async () => {
    const admin = kinesisAdmin(kinesis.endpoint);
    const streamName = await createStream(admin, 4);
    const app = uniqueName('promapp');
    const log = new DeliveryLog();
    const a = new Scheduler(options(streamName, app, 'worker-a', log));
    const b = new Scheduler(options(streamName, app, 'worker-b', log));
    const stolen: string[] = [];
    const order: string[] = [];
    b.on('leaseAcquired', ({ shardId, stolen: s }) => void order.push(`acquired ${shardId} ${s}`));
    b.on('leaseStolen', ({ shardId, from }) => {
      stolen.push(`${shardId} from ${from}`);
      order.push(`stolen ${shardId}`);
    });
    await a.start();
    // A worker starting alone takes one lease in its first (discovery) round and the rest one taker interval later.
    await waitFor(() => a.heldLeaseKeys.length === 4, 20_000, 'a holds all four');
    await b.start();
    try {
      await waitFor(() => a.heldLeaseKeys.length === 2 && b.heldLeaseKeys.length === 2, 20_000, 'two leases each');
      // b joined after a had taken all four: it stole two, each reported after its leaseAcquired.
      assert.deepEqual(stolen.map((x) => x.replace(/^\S+ /, '')), ['from worker-a', 'from worker-a']);
      for (const x of stolen) {
        const shardId = x.split(' ')[0]!;
        const acquiredAt = order.indexOf(`acquired ${shardId} true`);
        assert.ok(acquiredAt >= 0 && acquiredAt < order.indexOf(`stolen ${shardId}`), order.join('; '));
      }
      await produce(admin, streamName, 400);
      await waitFor(() => log.uniqueKeys().size === 400, 20_000, 'all records');
      await new Promise((r) => setTimeout(r, 600)); // a renewal round and a sampler tick
      assert.notEqual(a.observability.prometheusRegistry, b.observability.prometheusRegistry);

      for (const [s, me, other] of [[a, 'worker-a', 'worker-b'], [b, 'worker-b', 'worker-a']] as const) {
        const res = await fetch(`${baseUrl(s)}/metrics`);
        assert.equal(res.status, 200);
        assert.match(res.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
        const text = await res.text();
        const { samples, types } = parsePrometheus(text);
        assert.equal(types.get('kcl_records_processed_total'), 'counter');
        assert.equal(types.get('kcl_millis_behind_latest'), 'gauge');
        assert.equal(types.get('kcl_record_processor_process_records_duration_seconds'), 'histogram');
        assert.equal(types.get('kcl_kinesis_data_fetcher_get_records_duration_seconds'), 'histogram');
        const mine = log.deliveries.filter((d) => d.workerId === me);
        assert.equal(sum(samples, 'kcl_records_processed_total'), mine.length, `${me}: RecordsProcessed = its deliveries`);
        const held = new Set(s.heldLeaseKeys);
        const shardLabels = new Set(samples.filter((x) => x.name === 'kcl_records_processed_total').map((x) => x.labels.shard_id));
        assert.deepEqual([...shardLabels].sort(), [...held].sort(), `${me}: per-shard series of its own shards only`);
        for (const shardId of held) {
          const delivered = mine.filter((d) => d.shardId === shardId);
          assert.equal(sum(samples, 'kcl_records_processed_total', { shard_id: shardId, operation: 'ProcessTask' }), delivered.length);
          assert.equal(sum(samples, 'kcl_data_bytes_processed_total', { shard_id: shardId }), delivered.reduce((n, d) => n + Buffer.byteLength(d.key), 0));
          assert.ok(samples.some((x) => x.name === 'kcl_millis_behind_latest' && x.labels.shard_id === shardId));
        }
        assert.equal(sum(samples, 'kcl_current_leases', { worker_id: me, operation: 'RenewAllLeases' }), 2);
        assert.ok(sum(samples, 'kcl_renew_lease_calls_total', { worker_id: me, outcome: 'success' }) >= 1);
        assert.ok(sum(samples, 'kcl_taken_leases_total', { worker_id: me }) >= 2);
        assert.ok(sum(samples, 'kcl_take_leases_calls_total', { outcome: 'success' }) >= 1);
        assert.ok(!text.includes(`worker_id="${other}"`), `${me}: nothing of ${other} in its registry`);
        const processCount = sum(samples, 'kcl_record_processor_process_records_duration_seconds_count');
        assert.ok(processCount >= 1 && processCount === sum(samples, 'kcl_record_processor_process_records_calls_total', { outcome: 'success' }));

        const health = await getJson<HealthReport>(`${baseUrl(s)}/healthz`);
        assert.equal(health.status, 200, JSON.stringify(health.body));
        assert.equal(health.body.checks.leaseRenewal.heldLeases, 2);
        assert.ok(health.body.checks.leaseRenewal.lastSuccessAgoMillis! <= 1500);
        const ready = await getJson<ReadinessReport>(`${baseUrl(s)}/readyz`);
        assert.deepEqual(ready, { status: 200, body: { ready: true, initialized: true, shuttingDown: false, heldLeases: 2 } });
      }
    } finally {
      await Promise.all([a.shutdown(), b.shutdown()]);
    }
  });

  it('/readyz: 503 while start() waits and during a graceful shutdown; the endpoint closes with the worker', async () => {
    const admin = kinesisAdmin(kinesis.endpoint);
    const streamName = await createStream(admin, 1);
    const log = new DeliveryLog();
    // start() is held at its first Kinesis call until the test has looked at the endpoint.
    let openGate: () => void = () => undefined;
    const gate = new Promise<void>((r) => (openGate = r));
    const clients = clientsFor(kinesis.endpoint, dynamo.endpoint);
    clients.kinesisClient.middlewareStack.add((next) => async (args) => {
      await gate;
      return next(args);
    }, { step: 'initialize' });
    let releaseShutdown: () => void = () => undefined;
    const slowShutdown = new Promise<void>((r) => (releaseShutdown = r));
    const base = options(streamName, uniqueName('readyapp'), 'worker-r', log, { metrics: { backend: 'none' }, ...clients });
    const s = new Scheduler({
      ...base,
      processorFactory: (ctx) => {
        const p = log.factory('worker-r')(ctx);
        return { ...p, shutdownRequested: async (input) => {
          await slowShutdown;
          await p.shutdownRequested!(input);
        } };
      },
    });
    const starting = s.start();
    await waitFor(() => s.observability.httpAddress !== undefined, 5000, 'endpoint up');
    const url = baseUrl(s);
    const early = await getJson<ReadinessReport>(`${url}/readyz`);
    assert.deepEqual(early, { status: 503, body: { ready: false, initialized: false, shuttingDown: false, heldLeases: 0 } });
    assert.equal((await fetch(`${url}/healthz`)).status, 200, 'alive while starting');
    assert.equal((await fetch(`${url}/metrics`)).status, 404, 'no Prometheus backend');
    openGate();
    await starting;
    await waitFor(() => s.heldLeaseKeys.length === 1, 10_000, 'lease taken');
    assert.equal((await fetch(`${url}/readyz`)).status, 200);

    const stopping = s.startGracefulShutdown(10_000);
    await waitFor(async () => (await fetch(`${url}/readyz`)).status === 503, 5000, 'not ready while shutting down');
    assert.equal((await getJson<ReadinessReport>(`${url}/readyz`)).body.shuttingDown, true);
    releaseShutdown();
    assert.equal(await stopping, true);
    await assert.rejects(fetch(`${url}/readyz`), 'endpoint closed after shutdown');
  });
});

describe('/healthz fails when leases stop renewing (DynamoDB emulator stopped)', () => {
  let kinesis: Emulator;
  let dynamo: Emulator;
  before(async () => {
    [kinesis, dynamo] = await Promise.all([startKinesalite(), startDynalite()]);
  });
  after(() => stopAll());

  it('healthy while renewing; a blocked event loop and then a dead lease table turn it 503', async () => {
    const admin = kinesisAdmin(kinesis.endpoint);
    const streamName = await createStream(admin, 2);
    await produce(admin, streamName, 20);
    const log = new DeliveryLog();
    const s = new Scheduler({
      applicationName: uniqueName('healthapp'),
      streamName,
      workerId: 'worker-h',
      initialPosition: 'TRIM_HORIZON',
      ...clientsFor(kinesis.endpoint, dynamo.endpoint),
      leases: { failoverTimeMillis: 1500 },
      retrieval: { mode: 'polling', idleTimeBetweenReadsMillis: 100 },
      processorFactory: log.factory('worker-h'),
      http: { port: 0, host: '127.0.0.1', maxEventLoopDelayMillis: 400 },
    });
    await s.start();
    try {
      await waitFor(() => log.uniqueKeys().size === 20, 10_000, 'records');
      const url = `${baseUrl(s)}/healthz`;
      await new Promise((r) => setTimeout(r, 1000));
      const ok = await getJson<HealthReport>(url);
      assert.equal(ok.status, 200, JSON.stringify(ok.body));
      assert.equal(ok.body.checks.leaseRenewal.heldLeases, 2);

      const until = performance.now() + 600;
      while (performance.now() < until) {
        // a CPU-bound stretch: timers (and lease renewals) run late
      }
      const blocked = await getJson<HealthReport>(url);
      assert.equal(blocked.status, 503);
      assert.equal(blocked.body.checks.eventLoop.ok, false);
      assert.ok(blocked.body.checks.eventLoop.maxDelayMillis >= 400);

      await dynamo.stop();
      const stoppedAt = Date.now();
      let report: HealthReport | undefined;
      await waitFor(async () => {
        const r = await getJson<HealthReport>(url);
        report = r.body;
        return r.status === 503 && !r.body.checks.leaseTable.ok;
      }, 10_000, '/healthz 503 once the lease table is gone');
      const elapsed = Date.now() - stoppedAt;
      assert.ok(elapsed >= 1000 && elapsed <= 5000, `detected after ${elapsed} ms (failover 1500 + taker 300)`);
      assert.ok(report!.checks.leaseTable.lastSuccessAgoMillis! > 1800);
      assert.equal((await fetch(`${baseUrl(s)}/readyz`)).status, 200, 'still ready: liveness is what fails');
    } finally {
      await s.shutdown();
    }
  });
});
