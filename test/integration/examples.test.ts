// Runs every program in examples/ against kinesalite + dynalite, as a user would start it (tsx, endpoints
// from environment variables), so the examples cannot rot.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { CreateTableCommand, DescribeTableCommand, PutItemCommand, ScanCommand } from '@aws-sdk/client-dynamodb';
import { startDynalite, startKinesalite, uniqueName, type Emulator } from '../support/emulators.js';
import { clientsFor, createStream, kinesisAdmin, produce, waitFor } from '../support/scenario.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

interface Run {
  child: ChildProcess;
  output: () => string;
  exit: Promise<number | null>;
}

/** Starts `examples/<file>` with the emulators' endpoints; SIGKILLed after `killAfterMillis` at the latest. */
function runExample(file: string, env: Record<string, string>, killAfterMillis = 45_000): Run {
  const child = spawn(process.execPath, ['--import', 'tsx', `examples/${file}`], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...env },
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  const timer = setTimeout(() => child.kill('SIGKILL'), killAfterMillis);
  const exit = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve(code);
    }),
  );
  return { child, output: () => output, exit };
}

describe('the README', () => {
  it('shows the processor of examples/readme-processor.ts (which the typecheck compiles)', () => {
    const example = readFileSync(`${ROOT}examples/readme-processor.ts`, 'utf8');
    const body = example.slice(example.indexOf('import ')).replace("from '../src/index.js'", "from 'ts-kcl'");
    const readme = readFileSync(`${ROOT}README.md`, 'utf8');
    assert.ok(readme.includes('```ts\n' + body + '```'), 'README.md "A processor in 20 lines" differs from examples/readme-processor.ts');
  });
});

describe('examples/ on the emulators', () => {
  let kinesis: Emulator;
  let dynamo: Emulator;
  const running: Run[] = [];

  before(async () => {
    [kinesis, dynamo] = await Promise.all([startKinesalite({ shardLimit: 100 }), startDynalite()]);
  });
  after(async () => {
    for (const run of running) run.child.kill('SIGKILL');
    await Promise.all([kinesis?.stop(), dynamo?.stop()]);
  });

  function start(file: string, env: Record<string, string>): Run {
    const run = runExample(file, { KINESIS_ENDPOINT: kinesis.endpoint, DYNAMODB_ENDPOINT: dynamo.endpoint, ...env });
    running.push(run);
    return run;
  }

  it('basic-processor prints every record and stops on SIGTERM', { timeout: 60_000 }, async () => {
    const admin = kinesisAdmin(kinesis.endpoint);
    const stream = await createStream(admin, 2, 'basic');
    const produced = await produce(admin, stream, 20);
    const run = start('basic-processor.ts', { STREAM_NAME: stream });
    await waitFor(() => produced.every((p) => run.output().includes(` ${p.key}\n`)), 40_000, `all records printed:\n${run.output()}`);
    run.child.kill('SIGTERM');
    assert.equal(await run.exit, 0, run.output());
    assert.match(run.output(), /^stopped$/m);
  });

  it('parallel-handler processes every record, dead-letters the poison one after 3 tries, stops on SIGTERM', { timeout: 60_000 }, async () => {
    const admin = kinesisAdmin(kinesis.endpoint);
    const stream = await createStream(admin, 2, 'par');
    const produced = await produce(admin, stream, 20);
    await produce(admin, stream, 1, 0, 'poison');
    const run = start('parallel-handler.ts', { STREAM_NAME: stream });
    await waitFor(
      () => produced.every((p) => run.output().includes(` ${p.key}\n`)) && run.output().includes('dead-letter poison-0 after 3 attempts (maxAttempts)'),
      40_000,
      `all records done, the poison one dead-lettered:\n${run.output()}`,
    );
    assert.equal(run.output().match(/^retrying /gm)?.length, 2, run.output());
    run.child.kill('SIGTERM');
    assert.equal(await run.exit, 0, run.output());
    assert.match(run.output(), /^stopped$/m);
  });

  it('graceful-shutdown checkpoints in shutdownRequested on SIGTERM', { timeout: 60_000 }, async () => {
    const admin = kinesisAdmin(kinesis.endpoint);
    const stream = await createStream(admin, 2, 'graceful');
    const produced = await produce(admin, stream, 40);
    const app = uniqueName('graceful-app');
    const run = start('graceful-shutdown.ts', { STREAM_NAME: stream, APPLICATION_NAME: app });
    const processed = () => {
      const perShard = new Map<string, number>();
      for (const m of run.output().matchAll(/^(\S+): processed (\d+) records$/gm)) perShard.set(m[1]!, Number(m[2]));
      return [...perShard.values()].reduce((a, b) => a + b, 0);
    };
    await waitFor(() => processed() === produced.length, 40_000, `all records processed:\n${run.output()}`);
    run.child.kill('SIGTERM');
    assert.equal(await run.exit, 0, run.output());
    assert.match(run.output(), /all shards checkpointed, leases released/);

    // The lease table holds each shard's last record as its checkpoint: a new worker starts after it.
    const { dynamoDbClient } = clientsFor(kinesis.endpoint, dynamo.endpoint);
    const items = (await dynamoDbClient.send(new ScanCommand({ TableName: app }))).Items ?? [];
    dynamoDbClient.destroy();
    const lastByShard = new Map<string, string>();
    for (const p of produced) {
      const prev = lastByShard.get(p.shardId);
      if (prev === undefined || BigInt(p.sequenceNumber) > BigInt(prev)) lastByShard.set(p.shardId, p.sequenceNumber);
    }
    const checkpoints = new Map(items.map((item) => [item.leaseKey!.S!, item.checkpoint!.S!]));
    assert.deepEqual(checkpoints, lastByShard);
  });

  it('import-checkpoints moves vmware-go-kcl checkpoints; the consumer continues after them', { timeout: 60_000 }, async () => {
    const admin = kinesisAdmin(kinesis.endpoint);
    const stream = await createStream(admin, 1, 'import');
    const produced = await produce(admin, stream, 20);
    const { dynamoDbClient } = clientsFor(kinesis.endpoint, dynamo.endpoint);
    const goTable = uniqueName('go-kcl');
    await dynamoDbClient.send(
      new CreateTableCommand({
        TableName: goTable,
        KeySchema: [{ AttributeName: 'ShardID', KeyType: 'HASH' }],
        AttributeDefinitions: [{ AttributeName: 'ShardID', AttributeType: 'S' }],
        BillingMode: 'PAY_PER_REQUEST',
      }),
    );
    await waitFor(
      async () => (await dynamoDbClient.send(new DescribeTableCommand({ TableName: goTable }))).Table?.TableStatus === 'ACTIVE',
      10_000,
      'the go-kcl table',
    );
    // A go-kcl row as it looks after processing the first 10 records (vmware-go-kcl's attribute names).
    await dynamoDbClient.send(
      new PutItemCommand({
        TableName: goTable,
        Item: {
          ShardID: { S: produced[9]!.shardId },
          Checkpoint: { S: produced[9]!.sequenceNumber },
          AssignedTo: { S: 'go-worker-1' },
          LeaseTimeout: { S: new Date().toISOString() },
        },
      }),
    );
    dynamoDbClient.destroy();

    const app = uniqueName('imported-app');
    const importRun = start('import-checkpoints.ts', { GO_KCL_TABLE: goTable, APPLICATION_NAME: app });
    assert.equal(await importRun.exit, 0, importRun.output());
    assert.match(importRun.output(), /imported 1 of 1 checkpoints/);

    const run = start('basic-processor.ts', { STREAM_NAME: stream, APPLICATION_NAME: app });
    await waitFor(() => run.output().includes(` ${produced[19]!.key}\n`), 40_000, `the last record printed:\n${run.output()}`);
    run.child.kill('SIGTERM');
    assert.equal(await run.exit, 0, run.output());
    const printed = produced.filter((p) => run.output().includes(` ${p.key}\n`)).map((p) => p.key);
    assert.deepEqual(printed, produced.slice(10).map((p) => p.key), 'only the records after the imported checkpoint');
  });

  it('kpl-producer-consumer gets every aggregated user record back', { timeout: 60_000 }, async () => {
    const stream = await createStream(kinesisAdmin(kinesis.endpoint), 2, 'kpl');
    const run = start('kpl-producer-consumer.ts', { STREAM_NAME: stream, RECORDS: '500' });
    assert.equal(await run.exit, 0, run.output());
    assert.match(run.output(), /produced 500 user records in 5 Kinesis records/);
    assert.match(run.output(), /consumed 500 of 500 user records/);
  });

  it('multi-stream consumes two streams with one lease table', { timeout: 60_000 }, async () => {
    const admin = kinesisAdmin(kinesis.endpoint);
    const [orders, payments] = await Promise.all([createStream(admin, 2, 'orders'), createStream(admin, 1, 'payments')]);
    const produced = [
      ...(await produce(admin, orders, 10, 0, 'order')).map((p) => ({ ...p, stream: orders })),
      ...(await produce(admin, payments, 10, 0, 'payment')).map((p) => ({ ...p, stream: payments })),
    ];
    const app = uniqueName('multi-app');
    const run = start('multi-stream.ts', { STREAM_NAMES: `${orders},${payments}`, APPLICATION_NAME: app });
    await waitFor(
      () => produced.every((p) => run.output().includes(`${p.stream} ${p.shardId} ${p.key}\n`)),
      40_000,
      `every record printed with its stream and shard:\n${run.output()}`,
    );
    run.child.kill('SIGTERM');
    assert.equal(await run.exit, 0, run.output());

    // One lease table, Java KCL's multi-stream lease keys (account:stream:creationEpoch:shardId).
    const { dynamoDbClient } = clientsFor(kinesis.endpoint, dynamo.endpoint);
    const items = (await dynamoDbClient.send(new ScanCommand({ TableName: app }))).Items ?? [];
    dynamoDbClient.destroy();
    const keys = items.map((item) => item.leaseKey!.S!).sort();
    assert.equal(keys.length, 3);
    for (const key of keys) assert.match(key, new RegExp(`^\\d{12}:(${orders}|${payments}):\\d+:shardId-\\d+$`));
  });

  it('prometheus-metrics serves /metrics, /healthz and /readyz', { timeout: 60_000 }, async () => {
    const admin = kinesisAdmin(kinesis.endpoint);
    const stream = await createStream(admin, 1, 'prom');
    await produce(admin, stream, 10);
    const run = start('prometheus-metrics.ts', { STREAM_NAME: stream, HTTP_PORT: '0', HTTP_HOST: '127.0.0.1' });
    await waitFor(() => /metrics on (\S+)\/metrics/.test(run.output()), 40_000, `the endpoint address:\n${run.output()}`);
    const base = /metrics on (\S+)\/metrics/.exec(run.output())![1]!;
    await waitFor(
      async () => /^kcl_records_processed_total\{[^}]*\} 10$/m.test(await (await fetch(`${base}/metrics`)).text()),
      30_000,
      '10 records counted on /metrics',
    );
    const metrics = await (await fetch(`${base}/metrics`)).text();
    assert.match(metrics, /^kcl_current_leases\{/m);
    assert.equal((await fetch(`${base}/healthz`)).status, 200);
    assert.equal((await fetch(`${base}/readyz`)).status, 200);
    run.child.kill('SIGTERM');
    assert.equal(await run.exit, 0, run.output());
  });
});
