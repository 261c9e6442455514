// Proves the emulator harness (test/support/emulators.ts): each emulator starts on a free loopback port,
// answers real SDK calls, and after stop() its port is free and its process (if any) is gone.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Agent as HttpsAgent } from 'node:https';
import { connect } from 'node:net';
import {
  CreateStreamCommand,
  DescribeStreamSummaryCommand,
  GetRecordsCommand,
  GetShardIteratorCommand,
  KinesisClient,
  ListShardsCommand,
  ListStreamsCommand,
  PutRecordCommand,
} from '@aws-sdk/client-kinesis';
import { DynamoDBClient, ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import {
  startDynalite,
  startDynamoDbLocal,
  startKinesalite,
  startKinesisLocal,
  stopAll,
  TEST_CREDENTIALS,
  TEST_REGION,
  uniqueName,
  type Emulator,
} from '../support/emulators.js';

after(() => stopAll());

function portOf(endpoint: string): number {
  return Number(new URL(endpoint).port);
}

/** Resolves with the connect error code ('ECONNREFUSED' when nothing listens), or 'connected'. */
function tryConnect(port: number): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.setTimeout(2_000, () => {
      socket.destroy();
      resolve('timeout');
    });
    socket.once('connect', () => {
      socket.destroy();
      resolve('connected');
    });
    socket.once('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
  });
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function timed<T>(label: string, start: () => Promise<T>): Promise<T> {
  const began = performance.now();
  const result = await start();
  console.log(`[emulators] ${label} started in ${Math.round(performance.now() - began)} ms`);
  return result;
}

async function assertStopped(emulator: Emulator, extraEndpoints: string[] = []): Promise<void> {
  const began = performance.now();
  await emulator.stop();
  console.log(`[emulators] ${emulator.kind} stopped in ${Math.round(performance.now() - began)} ms`);
  for (const endpoint of [emulator.endpoint, ...extraEndpoints]) {
    assert.equal(await tryConnect(portOf(endpoint)), 'ECONNREFUSED', `${endpoint} should be closed`);
  }
  if (emulator.pid !== undefined) assert.equal(processAlive(emulator.pid), false, `pid ${emulator.pid} should be gone`);
  await emulator.stop(); // idempotent
}

function kinesisClient(endpoint: string, handler = new NodeHttpHandler()): KinesisClient {
  return new KinesisClient({ region: TEST_REGION, endpoint, credentials: TEST_CREDENTIALS, requestHandler: handler, maxAttempts: 1 });
}

function dynamoClient(endpoint: string): DynamoDBClient {
  return new DynamoDBClient({ region: TEST_REGION, endpoint, credentials: TEST_CREDENTIALS, requestHandler: new NodeHttpHandler(), maxAttempts: 1 });
}

/** Create a one-shard stream, wait ACTIVE, put a record and read it back from TRIM_HORIZON. Returns the stream ARN. */
async function roundTrip(client: KinesisClient, label: string): Promise<string | undefined> {
  const streamName = uniqueName('harness');
  const began = performance.now();
  await client.send(new CreateStreamCommand({ StreamName: streamName, ShardCount: 1 }));
  let arn: string | undefined;
  for (let deadline = Date.now() + 15_000; ; ) {
    const { StreamDescriptionSummary: summary } = await client.send(new DescribeStreamSummaryCommand({ StreamName: streamName }));
    if (summary?.StreamStatus === 'ACTIVE') {
      arn = summary.StreamARN;
      break;
    }
    assert.ok(Date.now() < deadline, `${streamName} did not become ACTIVE`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  const active = performance.now();

  const data = Buffer.from(`hello from ${label}`);
  const put = await client.send(new PutRecordCommand({ StreamName: streamName, PartitionKey: 'pk-1', Data: data }));
  assert.equal(put.ShardId, 'shardId-000000000000');

  const { Shards: shards } = await client.send(new ListShardsCommand({ StreamName: streamName }));
  assert.equal(shards?.length, 1);
  const { ShardIterator: iterator } = await client.send(
    new GetShardIteratorCommand({ StreamName: streamName, ShardId: shards[0]!.ShardId!, ShardIteratorType: 'TRIM_HORIZON' }),
  );
  let shardIterator = iterator;
  const records = [];
  for (let attempt = 0; attempt < 20 && records.length === 0 && shardIterator; attempt++) {
    const page = await client.send(new GetRecordsCommand({ ShardIterator: shardIterator }));
    records.push(...(page.Records ?? []));
    shardIterator = page.NextShardIterator;
  }
  assert.equal(records.length, 1);
  assert.equal(records[0]!.PartitionKey, 'pk-1');
  assert.equal(records[0]!.SequenceNumber, put.SequenceNumber);
  assert.deepEqual(Buffer.from(records[0]!.Data!), data);
  console.log(
    `[emulators] ${label}: stream ACTIVE after ${Math.round(active - began)} ms, ` +
      `put+read back in ${Math.round(performance.now() - active)} ms, ARN ${arn ?? '(none)'}`,
  );
  return arn;
}

describe('emulator harness', () => {
  test('uniqueName gives distinct names valid for Kinesis streams and DynamoDB tables', () => {
    const names = new Set(Array.from({ length: 100 }, () => uniqueName('my prefix/é')));
    assert.equal(names.size, 100);
    for (const name of names) {
      assert.match(name, /^[a-zA-Z0-9_.-]{3,128}$/);
      assert.ok(name.startsWith('my-prefix--'));
    }
  });

  test('kinesalite: in process, ListStreams, stream round trip, stop frees the port', async () => {
    const emulator = await timed('kinesalite', () => startKinesalite());
    assert.equal(emulator.kind, 'kinesalite');
    assert.match(emulator.endpoint, /^http:\/\/127\.0\.0\.1:\d+$/);
    const client = kinesisClient(emulator.endpoint);
    try {
      const listed = await client.send(new ListStreamsCommand({}));
      assert.deepEqual(listed.StreamNames, []);
      await roundTrip(client, 'kinesalite');
    } finally {
      client.destroy();
    }
    await assertStopped(emulator);
  });

  test('kinesis-local: child process, plain and TLS endpoints, stream round trip, stop kills it', async () => {
    const emulator = await timed('kinesis-local', () => startKinesisLocal());
    assert.equal(emulator.kind, 'kinesis-local');
    assert.match(emulator.endpoint, /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.match(emulator.tlsEndpoint, /^https:\/\/127\.0\.0\.1:\d+$/);
    assert.ok(emulator.pid !== undefined && processAlive(emulator.pid));
    const client = kinesisClient(emulator.endpoint);
    const tlsClient = kinesisClient(
      emulator.tlsEndpoint,
      new NodeHttpHandler({ httpsAgent: new HttpsAgent({ rejectUnauthorized: false }) }),
    );
    try {
      assert.deepEqual((await client.send(new ListStreamsCommand({}))).StreamNames, []);
      assert.deepEqual((await tlsClient.send(new ListStreamsCommand({}))).StreamNames, []);
      const arn = await roundTrip(client, 'kinesis-local');
      assert.match(arn ?? '', new RegExp(`^arn:aws:kinesis:${TEST_REGION}:000000000000:stream/harness-`));
    } finally {
      // Left open, keep-alive sockets would also be fine: stop() escalates to SIGKILL.
      client.destroy();
      tlsClient.destroy();
    }
    await assertStopped(emulator, [emulator.tlsEndpoint]);
  });

  test('dynalite: in process, ListTables, stop frees the port', async () => {
    const emulator = await timed('dynalite', () => startDynalite());
    assert.equal(emulator.kind, 'dynalite');
    const client = dynamoClient(emulator.endpoint);
    try {
      assert.deepEqual((await client.send(new ListTablesCommand({}))).TableNames, []);
    } finally {
      client.destroy();
    }
    await assertStopped(emulator);
  });

  test('dynamodb-local: java child process, ListTables, stop kills it', async () => {
    const emulator = await timed('dynamodb-local', () => startDynamoDbLocal());
    assert.equal(emulator.kind, 'dynamodb-local');
    assert.match(emulator.endpoint, /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.ok(emulator.pid !== undefined && processAlive(emulator.pid));
    const client = dynamoClient(emulator.endpoint);
    try {
      assert.deepEqual((await client.send(new ListTablesCommand({}))).TableNames, []);
    } finally {
      client.destroy();
    }
    await assertStopped(emulator);
  });

  test('stopAll stops whatever is still running', async () => {
    const [kinesis, dynamo] = await Promise.all([startKinesalite(), startDynalite()]);
    await stopAll();
    assert.equal(await tryConnect(portOf(kinesis.endpoint)), 'ECONNREFUSED');
    assert.equal(await tryConnect(portOf(dynamo.endpoint)), 'ECONNREFUSED');
  });
});
