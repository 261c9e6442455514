// The end-to-end scenario every multilang record processor goes through (aws-kcl, Python): run under
// `ts-kcl multilang` on kinesalite + dynalite, it must see every record with Java's wire fields, have its
// checkpoints land in the lease table, get shardEnded after a split, leaseLost when another worker takes its
// lease, and shutdownRequested on SIGTERM, after which no child process is left.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createDynamoDbClient } from '../../src/aws/clients.js';
import { DynamoDbApi } from '../../src/aws/dynamodb-api.js';
import { DynamoDbLeaseStore } from '../../src/leases/dynamodb-lease-store.js';
import { startDynalite, startKinesalite, stopAll, TEST_CREDENTIALS, TEST_REGION, uniqueName, type Emulator } from './emulators.js';
import { createStream, kinesisAdmin, produce, waitFor, type Produced } from './scenario.js';
import { killStrayProcessors, readEvents, spawnDaemon, writeProperties, type DaemonProcess } from './multilang-daemon.js';

/** Midpoint of shard 0's hash range when a stream has two shards (0 … 2^127−1). */
const SPLIT_AT = (2n ** 126n).toString();

/** `command(eventsFile)` is the executableName of a processor that writes its events to that file. */
export function describeProcessorScenario(title: string, command: (eventsFile: string) => string, options: { skip?: string | false } = {}): void {
  describe(title, { skip: options.skip ?? false }, () => {
    let kinesis: Emulator;
    let dynamo: Emulator;
    let dir: string;
    let daemon: DaemonProcess | undefined;
    let eventsFile: string;
    let store: DynamoDbLeaseStore;
    let streamName: string;
    let produced: Produced[] = [];
    const app = uniqueName('mlapp');

    before(async () => {
      [kinesis, dynamo] = await Promise.all([startKinesalite(), startDynalite()]);
      dir = mkdtempSync(join(tmpdir(), 'multilang-scenario-'));
      eventsFile = join(dir, 'events.jsonl');
      const dynamoClient = createDynamoDbClient({ region: TEST_REGION, endpoint: dynamo.endpoint, credentials: TEST_CREDENTIALS });
      store = new DynamoDbLeaseStore(new DynamoDbApi(dynamoClient), app);
    });
    after(async () => {
      await daemon?.stop('SIGKILL').catch(() => undefined);
      killStrayProcessors(readEvents(eventsFile));
      rmSync(dir, { recursive: true, force: true });
      await stopAll();
    });

    const events = () => readEvents(eventsFile);
    const checkpointOf = async (shardId: string) => (await store.listLeases()).leases.find((l) => l.leaseKey === shardId)?.checkpoint.sequenceNumber;

    it('delivers every record with the Java wire fields and checkpoints land in the lease table', async () => {
      const admin = kinesisAdmin(kinesis.endpoint);
      streamName = await createStream(admin, 2, 'mlstream');
      produced = await produce(admin, streamName, 300);
      const properties = writeProperties(dir, 'app.properties', {
        executableName: command(eventsFile),
        streamName,
        applicationName: app,
        AWSCredentialsProvider: 'DefaultAWSCredentialsProviderChain',
        processingLanguage: 'nodejs/20',
        initialPositionInStream: 'TRIM_HORIZON',
        regionName: TEST_REGION,
        kinesisEndpoint: kinesis.endpoint,
        dynamoDBEndpoint: dynamo.endpoint,
        failoverTimeMillis: 3000,
        maxRecords: 100,
        idleTimeBetweenReadsInMillis: 200,
        shardSyncIntervalMillis: 1000,
        parentShardPollIntervalMillis: 300,
        timeoutInSeconds: 20,
        shutdownGraceMillis: 8000,
      });
      daemon = spawnDaemon(properties);
      await waitFor(() => new Set(events().filter((e) => e.event === 'record').map((e) => e.data)).size === 300, 30_000, 'all 300 records');

      const records = events().filter((e) => e.event === 'record');
      for (const p of produced) {
        const got = records.find((r) => r.data === p.key);
        assert.ok(got, `record ${p.key}`);
        assert.equal(got.shardId, p.shardId);
        assert.equal(got.sequenceNumber, p.sequenceNumber);
        assert.equal(got.partitionKey, `pk-${p.key.slice(2)}`);
        assert.equal(got.subSequenceNumber, 0);
        assert.equal(typeof got.approximateArrivalTimestamp, 'number');
        assert.ok(Math.abs(got.approximateArrivalTimestamp! - Date.now()) < 120_000, 'arrival time in epoch milliseconds');
      }
      for (const shardId of ['shardId-000000000000', 'shardId-000000000001']) {
        const inOrder = produced.filter((p) => p.shardId === shardId).map((p) => p.key);
        assert.deepEqual(records.filter((r) => r.shardId === shardId).map((r) => r.data), inOrder, `order of ${shardId}`);
      }
      const initializes = events().filter((e) => e.event === 'initialize');
      assert.deepEqual(initializes.map((e) => [e.sequenceNumber, e.subSequenceNumber]), [['TRIM_HORIZON', 0], ['TRIM_HORIZON', 0]]);
      const checkpoints = events().filter((e) => e.event === 'checkpoint');
      assert.ok(checkpoints.length >= 2);
      assert.ok(checkpoints.every((c) => c.error === null), 'every checkpoint answered without error');
      assert.ok(checkpoints.every((c) => typeof c.millisBehindLatest === 'number'));
      for (const shardId of ['shardId-000000000000', 'shardId-000000000001']) {
        const last = produced.filter((p) => p.shardId === shardId).at(-1)!.sequenceNumber;
        await waitFor(async () => (await checkpointOf(shardId)) === last, 10_000, `checkpoint of ${shardId} in the lease table`);
      }
      assert.ok(!daemon.output.some((l) => / ERROR /.test(l)), `no errors logged:\n${daemon.output.filter((l) => / ERROR /.test(l)).join('\n')}`);
    });

    it('shard end reaches the processor after a split; its checkpoint writes SHARD_END', async () => {
      const admin = kinesisAdmin(kinesis.endpoint);
      await admin.splitShard({ streamName }, 'shardId-000000000000', SPLIT_AT);
      await waitFor(() => events().some((e) => e.event === 'shardEnded' && e.shardId === 'shardId-000000000000'), 30_000, 'shardEnded of the split shard');
      assert.equal(events().find((e) => e.event === 'shardEnded')!.error, null);
      await waitFor(async () => (await checkpointOf('shardId-000000000000')) === 'SHARD_END', 10_000, 'SHARD_END in the lease table');
      // The children start once the parent is finished, from TRIM_HORIZON.
      await waitFor(() => events().filter((e) => e.event === 'initialize').length === 4, 20_000, 'processors for both children');
      const more = await produce(admin, streamName, 60, 300);
      await waitFor(() => more.every((p) => events().some((e) => e.event === 'record' && e.data === p.key)), 30_000, 'records put after the split');
    });

    it('lease loss reaches the processor when another worker takes the lease; the lease comes back after it expires', async () => {
      const shardId = 'shardId-000000000001';
      // The take is conditional on the lease counter, which the daemon bumps with every renewal: retry on a race.
      let checkpoint: string | undefined;
      await waitFor(async () => {
        const lease = (await store.getLease(shardId, { consistentRead: true }))!;
        checkpoint = lease.checkpoint.sequenceNumber;
        return (await store.takeLease(lease, 'thief')).ok;
      }, 10_000, 'the thief taking the lease');
      await waitFor(() => events().some((e) => e.event === 'leaseLost' && e.shardId === shardId), 15_000, 'leaseLost');
      // The thief never renews: after failoverTimeMillis the daemon takes the shard again and resumes at the checkpoint.
      await waitFor(() => events().filter((e) => e.event === 'initialize' && e.shardId === shardId).length === 2, 20_000, 'the shard back');
      const again = events().filter((e) => e.event === 'initialize' && e.shardId === shardId).at(-1)!;
      assert.equal(again.sequenceNumber, checkpoint);
    });

    it('SIGTERM: shutdownRequested reaches every processor, leases are released, the daemon exits 0 and no child is left', async () => {
      const before = events().length;
      const code = await daemon!.stop('SIGTERM');
      assert.equal(code, 0, daemon!.output.slice(-10).join('\n'));
      const shutdowns = events().slice(before).filter((e) => e.event === 'shutdownRequested');
      assert.deepEqual(shutdowns.map((e) => e.shardId).sort(), ['shardId-000000000001', 'shardId-000000000002', 'shardId-000000000003']);
      assert.ok(shutdowns.every((e) => e.error === null));
      const { leases } = await store.listLeases();
      for (const l of leases.filter((x) => x.checkpoint.sequenceNumber !== 'SHARD_END')) assert.equal(l.leaseOwner, undefined, `${l.leaseKey} released`);
      assert.deepEqual(killStrayProcessors(events()), [], 'no record processor outlives the daemon');
    });
  });
}
