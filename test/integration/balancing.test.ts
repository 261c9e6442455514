import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Scheduler } from '../../src/index.js';
import { createDynamoDbClient } from '../../src/aws/clients.js';
import { DynamoDbApi } from '../../src/aws/dynamodb-api.js';
import { DynamoDbLeaseStore } from '../../src/leases/dynamodb-lease-store.js';
import { startDynalite, startKinesalite, stopAll, TEST_CREDENTIALS, TEST_REGION, uniqueName, type Emulator } from '../support/emulators.js';
import { clientsFor, createStream, DeliveryLog, kinesisAdmin, waitFor } from '../support/scenario.js';
import { SteadyProducer } from '../support/worker-fleet.js';

// 3 s, not the 1.5 s of other tests: four workers' renewals and per-batch checkpoints share one dynalite, which on a
// loaded 2-core machine answers some writes only after a second — past the pause time of a 1.5 s lease (1 s), so
// shards would pause or give leases up and the moves this file measures would be noise.
const FAILOVER = 3000;

describe('lease balancing (kinesalite + dynalite, in-process workers)', () => {
  let kinesis: Emulator;
  let dynamo: Emulator;
  before(async () => {
    [kinesis, dynamo] = await Promise.all([startKinesalite({ shardLimit: 200 }), startDynalite()]);
  });
  const running: Scheduler[] = [];
  // Also after a failed test: a worker left running would keep the file alive.
  after(async () => {
    await Promise.all(running.map((w) => w.shutdown()));
    await stopAll();
  });

  const storeFor = (app: string) =>
    new DynamoDbLeaseStore(new DynamoDbApi(createDynamoDbClient({ region: TEST_REGION, endpoint: dynamo.endpoint, credentials: TEST_CREDENTIALS })), app);
  const ownerCounts = async (app: string): Promise<Record<string, number>> => {
    const { leases } = await storeFor(app).listLeases();
    const counts: Record<string, number> = {};
    for (const l of leases) if (l.leaseOwner && !l.checkpointOwner) counts[l.leaseOwner] = (counts[l.leaseOwner] ?? 0) + 1;
    return counts;
  };
  const track = (w: Scheduler): Scheduler => {
    running.push(w);
    return w;
  };
  const options = (app: string, streamName: string, log: DeliveryLog, workerId: string, extra: Record<string, unknown> = {}) =>
    track(new Scheduler({
      applicationName: app,
      streamName,
      workerId,
      initialPosition: 'TRIM_HORIZON',
      ...clientsFor(kinesis.endpoint, dynamo.endpoint),
      leases: { failoverTimeMillis: FAILOVER, ...(extra.leases as object) },
      retrieval: { mode: 'polling', idleTimeBetweenReadsMillis: 200 },
      processorFactory: log.factory(workerId),
    }));

  it('1 worker with 16 shards, 3 join: 4 each (±1) within seconds, and no record delivered twice during the moves', async () => {
    const admin = kinesisAdmin(kinesis.endpoint);
    const streamName = await createStream(admin, 16, 'balance');
    const app = uniqueName('balance-app');
    const log = new DeliveryLog();
    const producer = new SteadyProducer(admin, streamName, { perTick: 64, intervalMillis: 250 }).start();
    const first = options(app, streamName, log, 'w0');
    await first.start();
    await waitFor(async () => (await ownerCounts(app)).w0 === 16, 10_000, 'w0 holds all 16');
    const handoffs: string[] = [];
    first.on('handoffCompleted', (e) => handoffs.push(e.leaseKey));
    const lostReasons: string[] = [];
    first.on('leaseLost', (e) => lostReasons.push(e.reason));
    const joiners = ['w1', 'w2', 'w3'].map((w) => options(app, streamName, log, w));
    const t0 = Date.now();
    await Promise.all(joiners.map((w) => w.start()));
    await waitFor(async () => {
      const c = await ownerCounts(app);
      const values = ['w0', 'w1', 'w2', 'w3'].map((w) => c[w] ?? 0);
      return Math.max(...values) - Math.min(...values) <= 1 && values.reduce((a, b) => a + b, 0) === 16;
    }, 20_000, '4 each within one');
    const seconds = (Date.now() - t0) / 1000;
    console.log(`rebalance 1 → 4 workers on 16 shards: ${seconds.toFixed(1)} s, ${handoffs.length} graceful handoffs`);
    await new Promise((r) => setTimeout(r, 1500));
    const produced = await producer.stop();
    await waitFor(() => produced.every((p) => log.uniqueKeys().has(p.key)), 60_000, 'every record delivered');
    assert.ok(handoffs.length >= 11, `handoffs moved the leases: ${handoffs.length} (w0 lost: ${lostReasons.join(', ')})`);
    assert.ok(lostReasons.every((r) => r === 'handed-off'), `w0 only handed leases over: ${lostReasons.join(', ')}`);
    assert.equal(log.deliveries.length, log.uniqueKeys().size, `no duplicates: ${log.deliveries.length - log.uniqueKeys().size} records delivered twice`);
    assert.deepEqual(log.orderViolations(), []);
    assert.ok(log.events.some((e) => e.startsWith('w0:') && e.endsWith(':shutdownRequested')), 'the old owner was asked to checkpoint');
    await Promise.all([first, ...joiners].map((w) => w.shutdown()));
  });

  it('a handoff whose old owner dies completes after the failover time', async () => {
    const admin = kinesisAdmin(kinesis.endpoint);
    const streamName = await createStream(admin, 4, 'handoff-dead');
    const app = uniqueName('handoff-dead-app');
    const log = new DeliveryLog();
    // The old owner's processor never returns from shutdownRequested: as good as dead for the handoff.
    const stuck = track(new Scheduler({
      applicationName: app,
      streamName,
      workerId: 'old',
      initialPosition: 'TRIM_HORIZON',
      ...clientsFor(kinesis.endpoint, dynamo.endpoint),
      leases: { failoverTimeMillis: FAILOVER, gracefulHandoffTimeoutMillis: 60_000 },
      retrieval: { mode: 'polling', idleTimeBetweenReadsMillis: 200 },
      processorFactory: () => ({ initialize() {}, processRecords() {}, leaseLost() {}, shardEnded() {}, shutdownRequested: () => new Promise<void>(() => undefined) }),
    }));
    await stuck.start();
    await waitFor(async () => (await ownerCounts(app)).old === 4, 10_000, 'old holds all 4');
    const thief = options(app, streamName, log, 'new');
    const started: string[] = [];
    thief.on('handoffStarted', (e) => started.push(e.leaseKey));
    await thief.start();
    await waitFor(() => started.length >= 1, 5000, 'a handoff started');
    // Kill the old owner the hard way: stop renewing without releasing anything.
    const t0 = Date.now();
    await (stuck as unknown as { coordinator: { stop(): Promise<void> } }).coordinator.stop();
    await waitFor(async () => (await ownerCounts(app)).new === 4, 20_000, 'the thief owns all 4');
    const seconds = (Date.now() - t0) / 1000;
    assert.ok(seconds >= FAILOVER / 1000 - 0.5, `not before the failover time (${seconds} s)`);
    await thief.shutdown();
  });

  it('2 workers on 3 shards stay put: no lease ping-pong', async () => {
    const admin = kinesisAdmin(kinesis.endpoint);
    const streamName = await createStream(admin, 3, 'stable');
    const app = uniqueName('stable-app');
    const log = new DeliveryLog();
    const workers = ['a', 'b'].map((w) => options(app, streamName, log, w));
    const moves: string[] = [];
    for (const w of workers) w.on('leaseAcquired', (e) => moves.push(`${w.workerId}:${e.leaseKey}`));
    await Promise.all(workers.map((w) => w.start()));
    await waitFor(async () => {
      const c = await ownerCounts(app);
      return (c.a ?? 0) + (c.b ?? 0) === 3 && (c.a ?? 0) >= 1 && (c.b ?? 0) >= 1;
    }, 10_000, 'both busy');
    await new Promise((r) => setTimeout(r, 1000));
    const settled = moves.length;
    await new Promise((r) => setTimeout(r, 15_000)); // ≈ 50 taker rounds at failover 1.5 s
    assert.equal(moves.length, settled, `no lease moved once settled: ${moves.slice(settled).join(', ')}`);
    await Promise.all(workers.map((w) => w.shutdown()));
  });

  it('maxLeasesForWorker is respected and the spillover reported', async () => {
    const admin = kinesisAdmin(kinesis.endpoint);
    const streamName = await createStream(admin, 5, 'capped');
    const app = uniqueName('capped-app');
    const log = new DeliveryLog();
    const warnings: Record<string, unknown>[] = [];
    const logger = {
      debug() {}, info() {}, error() {},
      warn(obj: object) { warnings.push(obj as Record<string, unknown>); },
      child() { return logger; },
    };
    const w = track(new Scheduler({
      applicationName: app, streamName, workerId: 'solo', initialPosition: 'TRIM_HORIZON', logger,
      ...clientsFor(kinesis.endpoint, dynamo.endpoint),
      leases: { failoverTimeMillis: FAILOVER, maxLeasesForWorker: 2 },
      processorFactory: log.factory('solo'),
    }));
    await w.start();
    await new Promise((r) => setTimeout(r, 1500));
    assert.deepEqual(await ownerCounts(app), { solo: 2 });
    assert.ok(warnings.some((x) => x.spillover === 3), `spillover reported: ${JSON.stringify(warnings)}`);
    await w.shutdown();
  });
});
