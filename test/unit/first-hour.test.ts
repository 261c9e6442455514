// Issue 16, the mistakes of a first hour that need no AWS: the exact text a user sees for each.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mapAwsError } from '../../src/aws/map-error.js';
import { endpointsFromEnv } from '../../src/aws/endpoint-env.js';
import { resolveLogger } from '../../src/config/resolve-logger.js';
import { checkProcessorShape } from '../../src/lifecycle/processor-shape.js';
import { ConfigError, DependencyError, Scheduler, type SchedulerOptions } from '../../src/index.js';
import { silentLogger } from '../../src/util/logger.js';
import { ROOT } from '../support/multilang-daemon.js';

const base: SchedulerOptions = {
  applicationName: 'first-hour',
  streamName: 'orders',
  processorFactory: () => ({ initialize() {}, processRecords() {}, leaseLost() {}, shardEnded() {} }),
};

function configError(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (error) {
    assert.ok(error instanceof ConfigError, `expected a ConfigError, got ${String(error)}`);
    return error;
  }
  assert.fail('expected a ConfigError');
}

/** Runs `fn` with process.stderr.write captured. */
function stderrOf(fn: () => void): string {
  const original = process.stderr.write.bind(process.stderr);
  let out = '';
  process.stderr.write = (chunk: string | Uint8Array) => {
    out += typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8');
    return true;
  };
  try {
    fn();
  } finally {
    process.stderr.write = original;
  }
  return out;
}

describe('logger: visible by default, console accepted, silenceable', () => {
  it('with no logger, warnings and errors go to stderr (one line each); info and debug do not', () => {
    const logger = resolveLogger(undefined, undefined, {});
    const out = stderrOf(() => {
      const shard = logger.child({ shardId: 'shardId-000000000001' });
      shard.debug({}, 'detail');
      shard.info({}, 'worker started');
      shard.warn({ attempts: 1 }, 'processor processRecords failed on shardId-000000000001; retrying in 200 ms');
      shard.error({ err: new Error('boom') }, 'processor processRecords failed 2 times in a row');
    });
    const lines = out.trimEnd().split('\n');
    assert.equal(lines.length, 2, out);
    assert.match(lines[0]!, /^\S+Z WARN {2}processor processRecords failed on shardId-000000000001; retrying in 200 ms \{"shardId":"shardId-000000000001","attempts":1\}$/);
    assert.match(lines[1]!, /^\S+Z ERROR processor processRecords failed 2 times in a row \{"shardId":"shardId-000000000001","err":"Error: boom"\}$/);
  });

  it("logLevel and TS_KCL_LOG_LEVEL set the level (the variable wins); 'silent' and logger: false say nothing", () => {
    const info = stderrOf(() => resolveLogger(undefined, 'info', {}).info({}, 'worker started'));
    assert.match(info, /INFO {2}worker started/);
    const fromEnv = stderrOf(() => resolveLogger(undefined, 'info', { TS_KCL_LOG_LEVEL: 'error' }).warn({}, 'x'));
    assert.equal(fromEnv, '');
    assert.equal(resolveLogger(undefined, 'silent', {}), silentLogger);
    assert.equal(resolveLogger(undefined, undefined, { TS_KCL_LOG_LEVEL: 'SILENT' }), silentLogger);
    assert.equal(resolveLogger(false, undefined, {}), silentLogger);
    const sched = new Scheduler({ ...base, logger: false });
    assert.equal(sched.options.logger, silentLogger);
  });

  it('console (no child()) is accepted: called as (message, fields) with the bindings merged', () => {
    const calls: unknown[][] = [];
    const fake = { debug: (...a: unknown[]) => calls.push(['debug', ...a]), info: (...a: unknown[]) => calls.push(['info', ...a]), warn: (...a: unknown[]) => calls.push(['warn', ...a]), error: (...a: unknown[]) => calls.push(['error', ...a]) };
    const logger = resolveLogger(fake, undefined, {});
    logger.child({ shardId: 's-1' }).child({ component: 'fanout' }).warn({ attempts: 2 }, 'retrying');
    logger.info({}, 'plain');
    assert.deepEqual(calls, [['warn', 'retrying', { shardId: 's-1', component: 'fanout', attempts: 2 }], ['info', 'plain']]);
    assert.doesNotThrow(() => new Scheduler({ ...base, logger: console }));
  });

  it('bad logger settings: the exact errors', () => {
    assert.equal(
      configError(() => new Scheduler({ ...base, logger: { info() {} } as never })).message,
      'Invalid option "logger": expected a logger with debug(), info(), warn() and error() (pino, console, …); this one has no debug(), warn(), error()',
    );
    assert.equal(
      configError(() => new Scheduler({ ...base, logLevel: 'loud' as never })).message,
      `Invalid option "logLevel": expected one of 'debug', 'info', 'warn', 'error', 'silent', got "loud"`,
    );
    assert.equal(
      configError(() => resolveLogger(undefined, undefined, { TS_KCL_LOG_LEVEL: 'verbose' })).message,
      'Invalid option "logLevel": TS_KCL_LOG_LEVEL="verbose" is not one of debug, info, warn, error, silent',
    );
    assert.equal(
      configError(() => new Scheduler({ ...base, logger: console, logLevel: 'debug' })).message,
      'Invalid option "logLevel": only applies to the built-in logger (set the level on your own logger)',
    );
  });
});

describe('processor shape', () => {
  it('a missing or non-function method is a ConfigError naming it', () => {
    const needs = 'a ShardRecordProcessor needs initialize(), processRecords(), leaseLost() and shardEnded(); shutdownRequested() is optional';
    assert.equal(
      configError(() => checkProcessorShape({ processRecords() {}, leaseLost() {}, shardEnded() {} })).message,
      `Invalid option "processorFactory": returned a processor with no initialize() (${needs})`,
    );
    assert.equal(
      configError(() => checkProcessorShape({ initialize: 'yes', processRecords() {}, shardEnded() {} })).message,
      `Invalid option "processorFactory": returned a processor with initialize is string, not a function, no leaseLost() (${needs})`,
    );
    assert.equal(configError(() => checkProcessorShape(undefined)).message, `Invalid option "processorFactory": returned undefined, not a processor (${needs})`);
    assert.equal(
      configError(() => checkProcessorShape(Promise.resolve({}))).message,
      `Invalid option "processorFactory": returned a Promise: it must return the processor itself, synchronously (${needs})`,
    );
    class Processor {
      initialize(): void {}
      processRecords(): void {}
      leaseLost(): void {}
      shardEnded(): void {}
    }
    const p = new Processor();
    assert.equal(checkProcessorShape(p), p, 'methods on the prototype count');
  });
});

describe("endpoints from the SDK's variables", () => {
  it('service variable, else AWS_ENDPOINT_URL; AWS_IGNORE_CONFIGURED_ENDPOINT_URLS turns them off', () => {
    assert.deepEqual(endpointsFromEnv({ AWS_ENDPOINT_URL: 'http://localhost:4566', AWS_ENDPOINT_URL_DYNAMODB: 'http://localhost:8000' }), {
      kinesis: 'http://localhost:4566',
      dynamodb: 'http://localhost:8000',
      cloudwatch: 'http://localhost:4566',
    });
    assert.deepEqual(endpointsFromEnv({ AWS_ENDPOINT_URL_KINESIS: 'http://k:1', AWS_IGNORE_CONFIGURED_ENDPOINT_URLS: 'true' }), {});
    assert.equal(
      configError(() => endpointsFromEnv({ AWS_ENDPOINT_URL_KINESIS: 'localhost:4567' })).message,
      'Invalid option "AWS_ENDPOINT_URL_KINESIS": expected an http(s) URL in the environment variable, got "localhost:4567"',
    );
  });

  it('the Scheduler takes them like endpoints; an explicit endpoints entry wins', () => {
    const saved = { ...process.env };
    try {
      process.env.AWS_ENDPOINT_URL_KINESIS = 'http://127.0.0.1:4567';
      process.env.AWS_ENDPOINT_URL_DYNAMODB = 'http://127.0.0.1:4568';
      const s = new Scheduler({ ...base, logger: false, endpoints: { dynamodb: 'http://127.0.0.1:8000' } });
      assert.deepEqual({ ...s.options.endpoints }, { kinesis: 'http://127.0.0.1:4567', dynamodb: 'http://127.0.0.1:8000' });
    } finally {
      for (const k of Object.keys(process.env)) if (!(k in saved)) delete process.env[k];
    }
  });
});

describe('an answer from the wrong service', () => {
  it('a body the SDK cannot parse, or UnknownOperationException, becomes a DependencyError that says so', () => {
    const html = Object.assign(new SyntaxError('Unexpected token'), { $metadata: { httpStatusCode: 200 } });
    Object.defineProperty(html, '$response', { value: { statusCode: 200, headers: { 'content-type': 'text/html' } }, enumerable: false });
    const e1 = mapAwsError(html, 'DynamoDB.DescribeTable(app)');
    assert.ok(e1 instanceof DependencyError);
    assert.equal(
      e1.message,
      'DynamoDB.DescribeTable(app) failed: the endpoint answered with a web page (HTML), HTTP 200: it looks like another service, not DynamoDB; check endpoints / AWS_ENDPOINT_URL_KINESIS / AWS_ENDPOINT_URL_DYNAMODB (Kinesis and DynamoDB swapped?)',
    );
    const unknown = Object.assign(new Error(''), { name: 'UnknownOperationException', $metadata: { httpStatusCode: 400 } });
    const e2 = mapAwsError(unknown, 'Kinesis.ListShards(orders)');
    assert.ok(e2 instanceof DependencyError);
    assert.match(e2.message, /^Kinesis\.ListShards\(orders\) failed: the endpoint does not know this operation: it looks like another service's endpoint, not Kinesis's, or an emulator without it \(kinesalite has no enhanced fan-out: use polling\)/);
    // A plain SyntaxError (no raw response: not the SDK's deserializer) is not blamed on the endpoint.
    assert.doesNotMatch(mapAwsError(new SyntaxError('x'), 'Kinesis.ListShards(orders)').message, /another service/);
  });
});

describe("the SDK's NodeVersionSupportWarning", () => {
  it('is not printed when ts-kcl builds its clients on a supported Node (printed by a bare SDK client on Node 20)', () => {
    const run = (code: string) =>
      spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], { cwd: ROOT, encoding: 'utf8', env: { ...process.env, AWS_REGION: 'us-east-1' } });
    const ours = run(
      "const m = await import('./src/aws/clients.ts'); m.createKinesisClient({}).destroy(); m.createDynamoDbClient({}).destroy(); console.log(process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ?? 'unset');",
    );
    assert.equal(ours.status, 0, ours.stderr);
    assert.doesNotMatch(ours.stderr, /NodeVersionSupportWarning/);
    assert.equal(ours.stdout.trim(), 'unset', "the application's environment is left as it was");
    if (Number(process.versions.node.split('.')[0]) < 22) {
      const bare = spawnSync(process.execPath, ['--input-type=module', '-e', "const { KinesisClient } = await import('@aws-sdk/client-kinesis'); new KinesisClient({ region: 'us-east-1' }).destroy();"], { cwd: ROOT, encoding: 'utf8' });
      assert.match(bare.stderr, /NodeVersionSupportWarning/, 'control: the SDK does warn on this Node');
    }
  });
});
