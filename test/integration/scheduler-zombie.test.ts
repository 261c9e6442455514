// A worker process frozen with SIGSTOP past the failover time and then resumed (a "zombie": GC pause, VM
// freeze...): its shards moved meanwhile, so its late checkpoint must be refused and must not touch the table.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createDynamoDbClient } from '../../src/aws/clients.js';
import { DynamoDbApi } from '../../src/aws/dynamodb-api.js';
import { DynamoDbLeaseStore } from '../../src/leases/dynamodb-lease-store.js';
import type { Lease } from '../../src/leases/lease.js';
import { startDynalite, startKinesalite, stopAll, TEST_CREDENTIALS, TEST_REGION, uniqueName, type Emulator } from '../support/emulators.js';
import { createStream, kinesisAdmin } from '../support/scenario.js';
import { runOrderViolations, SteadyProducer, WorkerFleet } from '../support/worker-fleet.js';

const FAILOVER = 1500;

describe('Scheduler, a zombie worker process (SIGSTOP past the failover time, then SIGCONT)', () => {
  let kinesis: Emulator;
  let dynamo: Emulator;
  let fleet: WorkerFleet | undefined;
  before(async () => {
    [kinesis, dynamo] = await Promise.all([startKinesalite({ shardLimit: 1000 }), startDynalite()]);
  });
  after(async () => {
    await fleet?.killAll();
    await stopAll();
  });

  it('gets ShutdownError (KCL_SHUTDOWN) for its late checkpoint and leaseLost; the new owner\'s checkpoint stays', async () => {
    const admin = kinesisAdmin(kinesis.endpoint);
    const streamName = await createStream(admin, 4, 'zombie');
    const app = uniqueName('zombie-app');
    const store = new DynamoDbLeaseStore(
      new DynamoDbApi(createDynamoDbClient({ region: TEST_REGION, endpoint: dynamo.endpoint, credentials: TEST_CREDENTIALS })),
      app,
    );
    const leases = async (): Promise<Map<string, Lease>> => new Map((await store.listLeases()).leases.map((l) => [l.leaseKey, l]));
    const owned = async (worker: string): Promise<number> => [...(await leases()).values()].filter((l) => l.leaseOwner === worker).length;
    fleet = new WorkerFleet({
      kinesisEndpoint: kinesis.endpoint,
      dynamoEndpoint: dynamo.endpoint,
      streamName,
      applicationName: app,
      failoverTimeMillis: FAILOVER,
      idleTimeBetweenReadsMillis: 100,
    });
    const f = fleet;

    // Z first (takes all 4), then B steals 2. Z never steals, so after its freeze it stays without leases.
    await f.start('Z', { processingDelayMillis: 300, maxLeasesToStealAtOneTime: 0 }).started;
    await f.waitFor(async () => (await owned('Z')) === 4, 10_000, 'Z holding all 4 leases');
    const producer = new SteadyProducer(admin, streamName, { perTick: 8, intervalMillis: 100 }).start();
    await f.start('B').started;
    await f.waitFor(async () => (await owned('B')) === 2 && (await owned('Z')) === 2, 15_000, 'leases 2/2');
    await new Promise((r) => setTimeout(r, FAILOVER)); // the old owner of the stolen leases has noticed by now

    // Freeze Z while it is inside processRecords (it sleeps 300 ms there before checkpointing).
    const mark = Date.now();
    let inFlight: { shardId: string; batch: number; last: string } | undefined;
    await f.waitFor(() => {
      const r = f.of('records', (x) => x.workerId === 'Z' && x.t > mark)[0];
      if (r) inFlight = { shardId: r.shardId, batch: r.batch, last: r.last };
      return r !== undefined;
    }, 10_000, 'a batch reaching Z');
    const stoppedAt = f.pause('Z');
    const { shardId, batch, last: zombieTarget } = inFlight!;
    assert.equal(f.of('checkpoint', (c) => c.workerId === 'Z' && c.batch === batch).length, 0, 'frozen before its checkpoint');

    // B takes Z's leases after the failover time and checkpoints S through them.
    await f.waitFor(async () => (await owned('B')) === 4, FAILOVER + 10_000, 'B taking over Z\'s leases');
    await f.waitFor(() => f.of('checkpoint', (c) => c.workerId === 'B' && c.shardId === shardId && c.ok && c.t > stoppedAt).length >= 2, 10_000, `B checkpointing ${shardId}`);
    const bInit = f.of('initialize', (r) => r.workerId === 'B' && r.shardId === shardId && r.t > stoppedAt)[0]!;
    assert.ok(bInit.t - stoppedAt >= FAILOVER / 2, `B took ${shardId} ${bInit.t - stoppedAt} ms after the freeze`);

    const resumedAt = f.resume('Z');
    assert.ok(resumedAt - stoppedAt > FAILOVER, 'frozen for longer than the failover time');
    await f.waitFor(() => f.of('checkpoint', (c) => c.workerId === 'Z' && c.batch === batch).length === 1, 10_000, 'Z\'s late checkpoint');
    await f.waitFor(() => f.of('leaseLost', (r) => r.workerId === 'Z' && r.shardId === shardId && r.t >= resumedAt).length === 1, 10_000, 'Z\'s leaseLost');
    const late = f.of('checkpoint', (c) => c.workerId === 'Z' && c.batch === batch)[0]!;
    assert.ok(late.batchEnd! >= resumedAt, 'the batch finished only after SIGCONT');
    assert.equal(late.ok, false, 'late checkpoint refused');
    assert.equal(late.code, 'KCL_SHUTDOWN');
    assert.equal(late.errorName, 'ShutdownError');
    assert.equal(late.target, zombieTarget);
    const lostEvent = f.of('event', (e) => e.workerId === 'Z' && e.name === 'leaseLost' && e.shardId === shardId && e.t >= resumedAt)[0];
    assert.ok(lostEvent, 'Scheduler leaseLost event');
    assert.ok(['expired-locally', 'checkpoint-conflict', 'renewal-conflict'].includes(String(lostEvent.detail.reason)), String(lostEvent.detail.reason));

    // The table still shows B's lease and one of B's checkpoints, past what the zombie tried to write.
    const lease = (await leases()).get(shardId)!;
    assert.equal(lease.leaseOwner, 'B');
    // (B reports a checkpoint once its write returned, so the report may trail the table by a moment.)
    const isB = (c: { workerId: string; shardId: string; ok: boolean; target: string | null }): boolean =>
      c.workerId === 'B' && c.shardId === shardId && c.ok && c.target === lease.checkpoint.sequenceNumber;
    await f.waitFor(() => f.of('checkpoint', isB).length >= 1, 3000, `B's report of checkpoint ${lease.checkpoint.sequenceNumber}`);
    assert.ok(BigInt(lease.checkpoint.sequenceNumber) > BigInt(zombieTarget), 'B is past the zombie\'s batch');

    // The zombie carries on without leases: no checkpoint it attempted after the freeze succeeded. (One sent
    // just before SIGSTOP may report success after SIGCONT: its write landed before the freeze.)
    await new Promise((r) => setTimeout(r, FAILOVER));
    assert.equal(await owned('Z'), 0);
    assert.deepEqual(f.of('checkpoint', (c) => c.workerId === 'Z' && c.ok && (c.batchEnd ?? c.t) >= stoppedAt), []);
    assert.ok(f.of('checkpoint', (c) => c.workerId === 'Z' && !c.ok).every((c) => c.code === 'KCL_SHUTDOWN'), 'refusals are ShutdownErrors');
    assert.ok(f.handle('Z').alive, 'the zombie process itself is fine');

    const produced = await producer.stop();
    await f.waitFor(() => f.uniqueKeys().size === produced.length, 20_000, `all ${produced.length} records`);
    assert.deepEqual([...f.uniqueKeys()].sort(), produced.map((p) => p.key).sort(), 'nothing lost');
    assert.deepEqual(runOrderViolations(f.reports), []);
    assert.deepEqual(await Promise.all(['Z', 'B'].map((w) => f.stop(w))), [{ code: 0, signal: null }, { code: 0, signal: null }]);
    const lastOfShard = produced.filter((p) => p.shardId === shardId).map((p) => BigInt(p.sequenceNumber)).reduce((a, b) => (a > b ? a : b));
    const final = (await leases()).get(shardId)!;
    assert.equal(final.checkpoint.sequenceNumber, lastOfShard.toString(), 'B checkpointed the shard to its end');
    assert.equal(final.leaseOwner, undefined);
  });
});
