import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { createDynamoDbClient } from '../../src/aws/clients.js';
import { DynamoDbApi } from '../../src/aws/dynamodb-api.js';
import { DynamoDbLeaseStore } from '../../src/leases/dynamodb-lease-store.js';
import type { Lease } from '../../src/leases/lease.js';
import { Scheduler, type LeaseTableStatus } from '../../src/index.js';
import { startDynalite, startKinesalite, stopAll, TEST_CREDENTIALS, TEST_REGION, uniqueName, type Emulator } from '../support/emulators.js';
import { completeLines } from '../support/json-lines.js';
import { ROOT } from '../support/multilang-daemon.js';
import { clientsFor, createStream, DeliveryLog, kinesisAdmin, produce, waitFor, type Produced } from '../support/scenario.js';

const MAIN = join(ROOT, 'src', 'cli', 'main.ts');
const TABLE_OPTIONS = { billingMode: 'PAY_PER_REQUEST' as const, readCapacity: 1, writeCapacity: 1, activeTimeoutMillis: 10_000 };

interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `ts-kcl status ...args` from source; `untilStdout` stops it with SIGINT once it printed that much. */
function runStatus(args: string[], untilStdout?: (stdout: string) => boolean): Promise<CliRun> {
  return new Promise((resolve) => {
    const proc = spawn(process.execPath, ['--import', 'tsx', MAIN, 'status', ...args], {
      cwd: ROOT,
      env: { ...process.env, AWS_ACCESS_KEY_ID: TEST_CREDENTIALS.accessKeyId, AWS_SECRET_ACCESS_KEY: TEST_CREDENTIALS.secretAccessKey, AWS_REGION: TEST_REGION },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    let signalled = false;
    proc.stdout.on('data', (c: Buffer) => {
      stdout += c.toString('utf8');
      if (untilStdout && !signalled && untilStdout(stdout)) {
        signalled = true;
        proc.kill('SIGINT');
      }
    });
    proc.stderr.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
    const killer = setTimeout(() => proc.kill('SIGKILL'), 40_000);
    proc.on('exit', (code) => {
      clearTimeout(killer);
      resolve({ code, stdout, stderr });
    });
  });
}

function lease(key: string, fields: Partial<Lease>): Lease {
  return { leaseKey: key, leaseCounter: 0, checkpoint: { sequenceNumber: 'TRIM_HORIZON', subSequenceNumber: 0 }, ownerSwitchesSinceCheckpoint: 0, parentShardIds: [], childShardIds: [], ...fields };
}

describe('ts-kcl status (kinesalite + dynalite)', () => {
  let kinesis: Emulator;
  let dynamo: Emulator;
  let streamName: string;
  let produced: Produced[];
  let shards: string[];
  const app = uniqueName('statusapp');
  let store: DynamoDbLeaseStore;
  let endpointArgs: string[];

  before(async () => {
    [kinesis, dynamo] = await Promise.all([startKinesalite(), startDynalite()]);
    endpointArgs = ['--region', TEST_REGION, '--dynamodb-endpoint', dynamo.endpoint, '--kinesis-endpoint', kinesis.endpoint];
    const admin = kinesisAdmin(kinesis.endpoint);
    streamName = await createStream(admin, 3);
    produced = await produce(admin, streamName, 60);
    shards = [...new Set(produced.map((p) => p.shardId))].sort();
    assert.equal(shards.length, 3);
    store = new DynamoDbLeaseStore(new DynamoDbApi(createDynamoDbClient({ region: TEST_REGION, endpoint: dynamo.endpoint, credentials: TEST_CREDENTIALS })), app);
    await store.createTableIfNotExists(TABLE_OPTIONS);
    const [s0, s1, s2] = shards as [string, string, string];
    const of = (shardId: string) => produced.filter((p) => p.shardId === shardId);
    // A finished parent, a caught-up shard, one in a graceful handoff with a pending two-phase checkpoint, and an
    // unassigned child that has read nothing yet.
    await store.createLeaseIfNotExists(lease('shardId-000000000099', { checkpoint: { sequenceNumber: 'SHARD_END', subSequenceNumber: 0 }, childShardIds: [s2], leaseCounter: 40, leaseOwner: 'worker-a' }));
    await store.createLeaseIfNotExists(lease(s0, { leaseOwner: 'worker-a', leaseCounter: 7, checkpoint: { sequenceNumber: of(s0).at(-1)!.sequenceNumber, subSequenceNumber: 0 } }));
    await store.createLeaseIfNotExists(
      lease(s1, {
        leaseOwner: 'worker-b',
        checkpointOwner: 'worker-a',
        leaseCounter: 12,
        ownerSwitchesSinceCheckpoint: 1,
        checkpoint: { sequenceNumber: of(s1)[0]!.sequenceNumber, subSequenceNumber: 0 },
        pendingCheckpoint: { sequenceNumber: of(s1)[1]!.sequenceNumber, subSequenceNumber: 0 },
      }),
    );
    await store.createLeaseIfNotExists(lease(s2, { parentShardIds: ['shardId-000000000099'] }));
  });
  after(() => stopAll());

  it('--json: every lease with owner, counter, checkpoint, parents/children, handoff state and lag', async () => {
    const run = await runStatus([app, '--stream', streamName, '--json', ...endpointArgs]);
    assert.equal(run.code, 0, run.stderr);
    const status = JSON.parse(run.stdout) as LeaseTableStatus;
    const [s0, s1, s2] = shards as [string, string, string];
    assert.equal(status.tableName, app);
    assert.deepEqual(status.leases.map((l) => l.shardId), [s0, s1, s2, 'shardId-000000000099']);
    const byShard = new Map(status.leases.map((l) => [l.shardId, l]));
    const l0 = byShard.get(s0)!;
    assert.equal(l0.state, 'owned');
    assert.equal(l0.owner, 'worker-a');
    assert.equal(l0.counter, 7);
    assert.deepEqual(l0.lag, { millisBehindLatest: 0, pendingRecordAgeMillis: null, caughtUp: true });
    const l1 = byShard.get(s1)!;
    assert.equal(l1.state, 'handoff');
    assert.deepEqual(l1.handoff, { from: 'worker-a', to: 'worker-b' });
    assert.equal(l1.pendingCheckpoint, produced.filter((p) => p.shardId === s1)[1]!.sequenceNumber);
    assert.equal(l1.ownerSwitchesSinceCheckpoint, 1);
    assert.ok(l1.lag && 'caughtUp' in l1.lag && !l1.lag.caughtUp, 'records after the checkpoint wait');
    assert.ok(l1.lag.pendingRecordAgeMillis! >= 0 && l1.lag.pendingRecordAgeMillis! < 120_000);
    const l2 = byShard.get(s2)!;
    assert.equal(l2.state, 'unassigned');
    assert.equal(l2.owner, null);
    assert.equal(l2.checkpoint, 'TRIM_HORIZON');
    assert.deepEqual(l2.parents, ['shardId-000000000099']);
    assert.ok(l2.lag && 'caughtUp' in l2.lag && !l2.lag.caughtUp);
    const parent = byShard.get('shardId-000000000099')!;
    assert.equal(parent.state, 'finished');
    assert.deepEqual(parent.children, [s2]);
    assert.deepEqual(status.workers, [{ workerId: 'worker-a', leases: 2 }, { workerId: 'worker-b', leases: 1 }]);
  });

  it('text: a readable table with a summary line; without a stream no Kinesis call (no lag)', async () => {
    const run = await runStatus([app, '--stream', streamName, ...endpointArgs]);
    assert.equal(run.code, 0, run.stderr);
    const [summary, , header, ...rows] = run.stdout.trimEnd().split('\n');
    assert.match(summary!, new RegExp(`^Lease table ${app} at \\S+: 4 leases, 2 workers \\(worker-a: 2, worker-b: 1\\), 1 unassigned, 1 finished$`));
    assert.match(header!, /^SHARD +STATE +OWNER +COUNTER +CHECKPOINT +PARENTS +CHILDREN +HANDOFF +OLDEST PENDING +BEHIND TIP$/);
    const [s0, s1, s2] = shards as [string, string, string];
    assert.match(rows[0]!, new RegExp(`^${s0} +owned +worker-a +7 +\\d{10}…\\d{10} +- +- +- +caught up +0ms$`));
    assert.match(rows[1]!, new RegExp(`^${s1} +handoff +worker-b +12 +\\d{10}…\\d{10} \\(pending \\d{10}…\\d{10}\\) +- +- +worker-a → worker-b +\\d+(ms|\\.\\ds) +0ms$`));
    assert.match(rows[2]!, new RegExp(`^${s2} +unassigned +- +0 +TRIM_HORIZON +shardId-000000000099 +- +- +\\d+(ms|\\.\\ds) +0ms$`));
    assert.match(rows[3]!, new RegExp(`^shardId-000000000099 +finished +worker-a +40 +SHARD_END +- +${s2} +- +caught up +0ms$`));

    const noLag = await runStatus(['--table', app, '--json', ...endpointArgs]);
    assert.equal(noLag.code, 0, noLag.stderr);
    assert.equal((JSON.parse(noLag.stdout) as LeaseTableStatus).leases.every((l) => l.lag === undefined), true);
  });

  it('--watch refreshes until interrupted and shows when each counter last moved', async () => {
    const [s0] = shards as [string];
    let renewed = false;
    const frames = (out: string) => out.split('Lease table ').slice(1);
    const run = await runStatus([app, '--watch', '0.3', ...endpointArgs], (out) => {
      const f = frames(out);
      if (f.length >= 2 && !renewed) {
        renewed = true;
        void store.getLease(s0).then((l) => store.renewLease(l!));
      }
      return renewed && f.length >= 6;
    });
    assert.equal(run.code, 0, run.stderr);
    const all = frames(run.stdout);
    assert.match(all[0]!, /COUNTER MOVED/);
    const last = all.at(-1)!;
    assert.match(last, new RegExp(`${s0} +owned +worker-a +8 +\\d+(ms|\\.\\ds) ago`), 'moved after the renewal');
    assert.match(last, /shardId-000000000099 +finished +worker-a +40 +≥\d/, 'never seen moving');
  });

  it('a missing table exits 1 naming it; --json --watch prints one document per refresh', async () => {
    const missing = await runStatus(['no-such-app', ...endpointArgs]);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /lease table no-such-app not found/);
    const run = await runStatus([app, '--json', '--watch', '0.3', ...endpointArgs], (out) => completeLines(out).length >= 2);
    assert.equal(run.code, 0, run.stderr);
    const docs = completeLines(run.stdout).map((l) => JSON.parse(l) as LeaseTableStatus);
    assert.ok(docs.length >= 2);
    assert.equal(docs[0]!.leases.length, 4);
  });

  it('reflects a running worker: it owns every shard and its checkpoints are caught up', async () => {
    const app2 = uniqueName('statusrun');
    const log = new DeliveryLog();
    const worker = new Scheduler({
      applicationName: app2,
      streamName,
      workerId: 'live-worker',
      initialPosition: 'TRIM_HORIZON',
      ...clientsFor(kinesis.endpoint, dynamo.endpoint),
      leases: { failoverTimeMillis: 1500 },
      retrieval: { mode: 'polling', idleTimeBetweenReadsMillis: 100 },
      processorFactory: log.factory('live-worker'),
    });
    await worker.start();
    try {
      await waitFor(() => log.uniqueKeys().size === 60, 20_000, 'all records');
      const run = await runStatus([app2, '--stream', streamName, '--json', ...endpointArgs]);
      assert.equal(run.code, 0, run.stderr);
      const status = JSON.parse(run.stdout) as LeaseTableStatus;
      assert.equal(status.leases.length, 3);
      for (const l of status.leases) {
        assert.equal(l.owner, 'live-worker');
        assert.equal(l.checkpoint, produced.filter((p) => p.shardId === l.shardId).at(-1)!.sequenceNumber);
        assert.deepEqual(l.lag, { millisBehindLatest: 0, pendingRecordAgeMillis: null, caughtUp: true });
      }
    } finally {
      await worker.shutdown();
    }
  });
});
