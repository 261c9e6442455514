// Issue 15 proofs (a) and (b) on the emulators with the fault proxy in front of dynalite:
// (a) one worker process's DynamoDB black-holed for 2 × failover while Kinesis works: it stands down before the
//     other worker's first batch on its shards, the other takes them within failover + 3 s, nothing lost, rejoin;
// (b) one lease's renewals hang (UpdateItem for that lease key): every other lease keeps renewing and delivering.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Scheduler } from '../../src/index.js';
import { createDynamoDbClient } from '../../src/aws/clients.js';
import { DynamoDbApi } from '../../src/aws/dynamodb-api.js';
import { DynamoDbLeaseStore } from '../../src/leases/dynamodb-lease-store.js';
import { startDynalite, startKinesalite, stopAll, TEST_CREDENTIALS, TEST_REGION, uniqueName, type Emulator } from '../support/emulators.js';
import { startFaultProxy, type FaultProxy } from '../support/fault-proxy.js';
import { clientsFor, createStream, DeliveryLog, kinesisAdmin, produce, waitFor } from '../support/scenario.js';
import { WorkerFleet } from '../support/worker-fleet.js';

const FAILOVER = 1500;

describe('Scheduler under lease-table faults (kinesalite + dynalite behind the fault proxy)', () => {
  let kinesis: Emulator;
  let dynamo: Emulator;
  let proxy: FaultProxy;
  before(async () => {
    [kinesis, dynamo] = await Promise.all([startKinesalite(), startDynalite()]);
    proxy = await startFaultProxy(dynamo.endpoint, { service: 'dynamodb' });
  });
  after(async () => {
    proxy.release();
    await proxy.close();
    await stopAll();
  });

  it('(b) a hung renewal of one lease: every other lease keeps renewing and its shard keeps delivering', async () => {
    const admin = kinesisAdmin(kinesis.endpoint);
    const streamName = await createStream(admin, 4, 'hung-renewal');
    const app = uniqueName('hung-renewal');
    const log = new DeliveryLog();
    const worker = new Scheduler({
      applicationName: app,
      streamName,
      workerId: 'w',
      initialPosition: 'TRIM_HORIZON',
      ...clientsFor(kinesis.endpoint, proxy.url),
      processorFactory: log.factory('w'),
      leases: { failoverTimeMillis: FAILOVER },
      retrieval: { mode: 'polling', idleTimeBetweenReadsMillis: 100 },
    });
    const store = new DynamoDbLeaseStore(new DynamoDbApi(createDynamoDbClient({ region: TEST_REGION, endpoint: dynamo.endpoint, credentials: TEST_CREDENTIALS })), app);
    const counters = async (): Promise<Map<string, number>> => new Map((await store.listLeases()).leases.map((l) => [l.leaseKey, l.leaseCounter]));
    try {
      await worker.start();
      await waitFor(() => worker.heldLeaseKeys.length === 4, 10_000, 'w holds all 4 leases');
      const [hungKey, ...others] = worker.heldLeaseKeys.sort() as [string, ...string[]];
      proxy.hang({ operations: ['UpdateItem'], body: (b) => (b.Key as { leaseKey?: { S?: string } } | undefined)?.leaseKey?.S === hungKey });
      const before = await counters();
      const hungAt = Date.now();
      const produced = await produce(admin, streamName, 200, 0, 'after-hang');
      const expected = produced.filter((p) => p.shardId !== hungKey).map((p) => p.key);
      assert.ok(expected.length > 0);
      await waitFor(() => expected.every((k) => log.uniqueKeys().has(k)), 15_000, 'records of the other three shards delivered');
      // Let at least two failover times pass with the one lease hung, then compare counters.
      await new Promise((r) => setTimeout(r, Math.max(0, 2 * FAILOVER - (Date.now() - hungAt))));
      const afterHang = await counters();
      const renewInterval = FAILOVER / 3 - 25;
      for (const key of others) {
        const moved = afterHang.get(key)! - before.get(key)!;
        // Renewed every renewal interval (checkpoints bump the counter too); allow for a loaded machine.
        assert.ok(moved >= Math.floor((2 * FAILOVER) / renewInterval) - 2, `${key} counter moved ${moved} times in ${Date.now() - hungAt} ms`);
      }
      assert.ok(proxy.held > 0, 'the hung key’s calls were really held');
      assert.deepEqual(worker.heldLeaseKeys.filter((k) => k !== hungKey).sort(), others.sort(), 'the other leases stayed with their consumers');
    } finally {
      proxy.release();
      await worker.shutdown();
    }
  });

  it('(a) a worker process cut off from DynamoDB stands down before the other takes over, nothing is lost, it rejoins after healing', async () => {
    const admin = kinesisAdmin(kinesis.endpoint);
    const streamName = await createStream(admin, 4, 'partition');
    const app = uniqueName('partition');
    const zProxy = await startFaultProxy(dynamo.endpoint, { service: 'dynamodb' });
    const fleet = new WorkerFleet({ kinesisEndpoint: kinesis.endpoint, dynamoEndpoint: dynamo.endpoint, streamName, applicationName: app, failoverTimeMillis: FAILOVER, idleTimeBetweenReadsMillis: 100 });
    try {
      const produced = await produce(admin, streamName, 100, 0, 'before');
      // Z (its lease table behind the proxy) takes all 4; B never steals, so it only gets what Z gives up.
      await fleet.start('Z', { dynamoEndpoint: zProxy.url }).started;
      await fleet.waitFor(() => new Set(fleet.of('initialize', (r) => r.workerId === 'Z').map((r) => r.shardId)).size === 4, 15_000, 'Z consuming all 4 shards');
      await fleet.start('B', { maxLeasesToStealAtOneTime: 0 }).started;
      const cutAt = Date.now();
      zProxy.blackHole();
      produced.push(...(await produce(admin, streamName, 100, 100, 'during')));
      await fleet.waitFor(() => new Set(fleet.of('initialize', (r) => r.workerId === 'B').map((r) => r.shardId)).size === 4, FAILOVER + 10_000, 'B taking all 4 shards');
      const shards = new Set(produced.map((p) => p.shardId));
      await fleet.waitFor(() => [...shards].every((id) => fleet.of('records', (r) => r.workerId === 'B' && r.shardId === id).length > 0), 10_000, 'B delivering on every shard');
      for (const shardId of shards) {
        const zLost = fleet.of('leaseLost', (r) => r.workerId === 'Z' && r.shardId === shardId && r.t >= cutAt)[0];
        const bFirst = fleet.of('records', (r) => r.workerId === 'B' && r.shardId === shardId)[0];
        const bInit = fleet.of('initialize', (r) => r.workerId === 'B' && r.shardId === shardId)[0]!;
        assert.ok(zLost !== undefined, `Z got leaseLost for ${shardId}: ${JSON.stringify(fleet.of('event', (r) => r.workerId === 'Z' && r.shardId === shardId).map((r) => [r.name, r.t - cutAt, r.detail]))} ${JSON.stringify(fleet.of('leaseLost', (r) => r.workerId === 'Z').map((r) => [r.shardId, r.t - cutAt]))}`);
        assert.ok(zLost.t <= bFirst!.t, `Z stood down on ${shardId} (${zLost.t - cutAt} ms) before B's first batch (${bFirst!.t - cutAt} ms)`);
        assert.ok(bInit.t - cutAt <= FAILOVER + 3000, `B took ${shardId} ${bInit.t - cutAt} ms after the cut (≤ failover + 3 s)`);
      }
      const remaining = 2 * FAILOVER - (Date.now() - cutAt);
      if (remaining > 0) await new Promise((r) => setTimeout(r, remaining));
      zProxy.release(); // healed
      produced.push(...(await produce(admin, streamName, 100, 200, 'after')));
      const delivered = (): Set<string> => new Set(fleet.of('records').flatMap((r) => (r.records ?? []).map((x) => x.data)));
      await fleet.waitFor(() => produced.every((p) => delivered().has(p.key)), 20_000, 'every record delivered');
      const healedAt = Date.now();
      await fleet.waitFor(() => fleet.of('initialize', (r) => r.workerId === 'Z' && r.t >= healedAt - 100).length >= 1, 15_000, 'Z rejoins (steals a share back)');
      assert.equal(fleet.of('fatal').length, 0, 'no worker crashed');
    } finally {
      zProxy.release();
      await fleet.killAll();
      await zProxy.close();
    }
  });
});
