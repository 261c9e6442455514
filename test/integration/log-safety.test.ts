import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { inspect } from 'node:util';
import { Scheduler, type Logger, type ShardRecordProcessor } from '../../src/index.js';
import { startCloudWatchEndpoint, type CloudWatchEndpoint } from '../support/cloudwatch-endpoint.js';
import { startDynalite, startKinesalite, stopAll, TEST_REGION, uniqueName, type Emulator } from '../support/emulators.js';
import { startFaultProxy, type FaultProxy } from '../support/fault-proxy.js';
import { createStream, kinesisAdmin, waitFor } from '../support/scenario.js';

/** Credentials only this test uses: any trace of them in a log line is a leak. */
const CREDENTIALS = { accessKeyId: 'AKIALOGSAFETY7Q3ZX9W2', secretAccessKey: 'sEcReT/log+safety+K8jv2mQ0pL7nR4tY6uI1oP3aS5d', sessionToken: 'TOKEN-log-safety-FQoGZXIvYXdzEJr' };

interface CapturedLine {
  level: string;
  /** What pino would write (bindings, fields, `err` with its cause chain), for every Error at any depth. */
  json: string;
  /** What `util.inspect` shows of the same call (console loggers). */
  inspected: string;
}

/**
 * Serializes like pino's std `err` serializer (name, message, stack, every enumerable property, the `cause` chain),
 * applied to every Error at any depth and not only under `err`, and with bytes shown as text and base64. Hidden
 * (non-enumerable) properties are left out as pino and `util.inspect` leave them out: the AWS SDK keeps the raw HTTP
 * response there, which links back to the signed request headers.
 */
function serialize(value: unknown, seen = new WeakSet<object>(), depth = 0): unknown {
  if (value === null || typeof value !== 'object') return typeof value === 'bigint' ? value.toString() : value;
  if (seen.has(value) || depth > 12) return '[seen]';
  seen.add(value);
  if (value instanceof Uint8Array) return { base64: Buffer.from(value).toString('base64'), utf8: Buffer.from(value).toString('utf8') };
  if (Array.isArray(value)) return value.map((v) => serialize(v, seen, depth + 1));
  const out: Record<string, unknown> = {};
  const enumerable: string[] = [];
  for (const k in value) enumerable.push(k);
  const keys = value instanceof Error ? ['name', 'message', 'stack', 'cause', ...enumerable] : enumerable;
  for (const k of new Set(keys)) out[k] = serialize((value as Record<string, unknown>)[k], seen, depth + 1);
  return out;
}

function capturingLogger(lines: CapturedLine[], bindings: Record<string, unknown> = {}): Logger {
  const at = (level: string) => (obj: object, msg?: string): void => {
    const record = { level, ...bindings, ...obj, msg };
    lines.push({ level, json: JSON.stringify(serialize(record)), inspected: inspect(record, { depth: 12, breakLength: Infinity }) });
  };
  return { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error'), child: (more) => capturingLogger(lines, { ...bindings, ...more }) };
}

describe('logging: no credentials, no payloads, even in a run full of errors (kinesalite + dynalite behind fault proxies)', () => {
  let kinesis: Emulator;
  let dynamo: Emulator;
  let kinesisProxy: FaultProxy;
  let dynamoProxy: FaultProxy;
  let cloudwatch: CloudWatchEndpoint;
  before(async () => {
    [kinesis, dynamo, cloudwatch] = await Promise.all([startKinesalite(), startDynalite(), startCloudWatchEndpoint('fail')]);
    [kinesisProxy, dynamoProxy] = await Promise.all([startFaultProxy(kinesis.endpoint), startFaultProxy(dynamo.endpoint)]);
  });
  after(async () => {
    await Promise.all([kinesisProxy.close(), dynamoProxy.close(), cloudwatch.close()]);
    await stopAll();
  });

  it('every log line of the run is free of the access key, secret, session token and record bytes', async () => {
    const admin = kinesisAdmin(kinesis.endpoint);
    const streamName = await createStream(admin, 2);
    const marker = `PAYLOAD-${randomUUID()}`;
    const payloads = Array.from({ length: 60 }, (_, i) => `${marker}-${i}-{"card":"4111111111111111"}`);
    await admin.putRecords({ streamName }, payloads.map((p, i) => ({ partitionKey: `pk-${i}`, data: new TextEncoder().encode(p) })));

    const lines: CapturedLine[] = [];
    const delivered = new Set<string>();
    const failedOnce = new Set<string>();
    const processor = (): ShardRecordProcessor => ({
      initialize: () => undefined,
      processRecords: async ({ records, checkpointer, shardId }) => {
        if (!failedOnce.has(shardId)) {
          failedOnce.add(shardId);
          throw new Error(`processor failed on purpose for ${shardId}`);
        }
        for (const r of records) delivered.add(new TextDecoder().decode(r.data));
        await checkpointer.checkpoint();
      },
      leaseLost: () => undefined,
      shardEnded: async ({ checkpointer }) => checkpointer.checkpoint(),
      shutdownRequested: async ({ checkpointer }) => checkpointer.checkpoint(),
    });
    const scheduler = new Scheduler({
      applicationName: uniqueName('logapp'),
      streamName,
      workerId: 'log-worker',
      initialPosition: 'TRIM_HORIZON',
      region: TEST_REGION,
      credentials: CREDENTIALS,
      endpoints: { kinesis: kinesisProxy.url, dynamodb: dynamoProxy.url, cloudwatch: cloudwatch.url },
      leases: { failoverTimeMillis: 1500 },
      retrieval: { mode: 'polling', idleTimeBetweenReadsMillis: 100 },
      metrics: { backend: 'cloudwatch', bufferMillis: 200 },
      logger: capturingLogger(lines),
      processorFactory: processor,
    });

    await scheduler.start();
    try {
      await waitFor(() => delivered.size === 60, 20_000, 'all records despite the processor errors');
      // Kinesis failing: throttling, then 500s, then dropped connections on GetRecords.
      for (const fault of ['throttle', 'server-error', 'reset'] as const) {
        kinesisProxy.fail(fault, ['GetRecords', 'GetShardIterator']);
        await new Promise((r) => setTimeout(r, 700));
      }
      kinesisProxy.clear();
      // DynamoDB failing: renewals, checkpoints and scans get 500s and resets until leases expire locally.
      dynamoProxy.fail('server-error');
      await new Promise((r) => setTimeout(r, 1000));
      dynamoProxy.fail('reset');
      await waitFor(() => lines.some((l) => /expired-locally/.test(l.json)), 10_000, 'leases lost to failed renewals');
      dynamoProxy.clear();
      await waitFor(() => scheduler.heldLeaseKeys.length === 2, 15_000, 'leases taken again once DynamoDB answers');
    } finally {
      await scheduler.shutdown();
    }

    assert.ok(kinesisProxy.failed > 0 && dynamoProxy.failed > 0, 'faults were injected');
    const warnings = lines.filter((l) => l.level === 'warn' || l.level === 'error');
    assert.ok(warnings.length >= 5, `errors were logged (${warnings.length} warn/error lines)`);
    assert.ok(lines.some((l) => /processor failed/.test(l.json)), 'processor errors logged');
    assert.ok(lines.some((l) => /lease renewal failed|lease task failed/.test(l.json)), 'DynamoDB errors logged');
    assert.ok(lines.some((l) => /could not publish metrics to CloudWatch/.test(l.json)), 'CloudWatch errors logged');
    assert.ok(lines.some((l) => /"shardId":"shardId-/.test(l.json) && l.level === 'warn'), 'shard lines carry the shard binding');
    assert.ok(lines.some((l) => /InternalFailure|ProvisionedThroughputExceeded|ECONNRESET|socket hang up/.test(l.json)), 'AWS errors were serialized in full');

    const forbidden: [string, string][] = [
      ['access key id', CREDENTIALS.accessKeyId],
      ['secret access key', CREDENTIALS.secretAccessKey],
      ['secret (JSON-escaped)', JSON.stringify(CREDENTIALS.secretAccessKey).slice(1, -1)],
      ['session token', CREDENTIALS.sessionToken],
      ['payload marker', marker],
      ['payload base64', Buffer.from(`${marker}-0`).toString('base64').slice(0, 40)],
      ['payload content', '4111111111111111'],
    ];
    for (const line of lines) {
      for (const [what, secret] of forbidden) {
        assert.ok(!line.json.includes(secret) && !line.inspected.includes(secret), `${what} leaked in a ${line.level} line: ${line.json.slice(0, 2000)}`);
      }
    }
  });
});
