// `ts-kcl status` on a first run (issue 16): endpoints from the SDK's variables, one line and a non-zero exit for a
// misspelt stream, a missing table (also with --watch) and missing credentials with a local endpoint.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { createDynamoDbClient } from '../../src/aws/clients.js';
import { DynamoDbApi } from '../../src/aws/dynamodb-api.js';
import { DynamoDbLeaseStore } from '../../src/leases/dynamodb-lease-store.js';
import type { LeaseTableStatus } from '../../src/index.js';
import { startDynalite, startKinesalite, stopAll, TEST_CREDENTIALS, TEST_REGION, uniqueName, type Emulator } from '../support/emulators.js';
import { ROOT } from '../support/multilang-daemon.js';
import { createStream, kinesisAdmin } from '../support/scenario.js';

const MAIN = join(ROOT, 'src', 'cli', 'main.ts');

function status(args: string[], env: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('AWS_')));
    // HOME elsewhere: no shared config/credentials files can supply credentials.
    const proc = spawn(process.execPath, ['--import', 'tsx', MAIN, 'status', ...args], {
      cwd: ROOT,
      env: { ...base, HOME: '/nonexistent', AWS_EC2_METADATA_DISABLED: 'true', AWS_REGION: TEST_REGION, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    proc.stdout.on('data', (c: Buffer) => (stdout += c.toString('utf8')));
    proc.stderr.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
    const killer = setTimeout(() => proc.kill('SIGKILL'), 90_000);
    proc.on('exit', (code) => {
      clearTimeout(killer);
      resolve({ code, stdout, stderr });
    });
  });
}

describe('ts-kcl status, first run (kinesalite + dynalite)', () => {
  let kinesis: Emulator;
  let dynamo: Emulator;
  let streamName: string;
  const app = uniqueName('statusfirst');
  let env: Record<string, string>;
  type Run = Awaited<ReturnType<typeof status>>;
  // The five CLI runs start together (each spends seconds loading tsx): the tests below assert on their results.
  let runs: { ok: Run; typo: Run; missing: Run; watching: Run; noCredentials: Run };

  before(async () => {
    [kinesis, dynamo] = await Promise.all([startKinesalite(), startDynalite()]);
    streamName = await createStream(kinesisAdmin(kinesis.endpoint), 1, 'statusfirst');
    const store = new DynamoDbLeaseStore(new DynamoDbApi(createDynamoDbClient({ region: TEST_REGION, endpoint: dynamo.endpoint, credentials: TEST_CREDENTIALS })), app);
    await store.createTableIfNotExists({ billingMode: 'PAY_PER_REQUEST', readCapacity: 1, writeCapacity: 1, activeTimeoutMillis: 10_000 });
    env = {
      AWS_ACCESS_KEY_ID: TEST_CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: TEST_CREDENTIALS.secretAccessKey,
      AWS_ENDPOINT_URL_KINESIS: kinesis.endpoint,
      AWS_ENDPOINT_URL_DYNAMODB: dynamo.endpoint,
    };
    const { AWS_ACCESS_KEY_ID: _a, AWS_SECRET_ACCESS_KEY: _s, ...noCredentials } = env;
    const [ok, typo, missing, watching, noCreds] = await Promise.all([
      status([app, '--stream', streamName, '--json'], env),
      status([app, '--stream', `${streamName}-typo`], env),
      status(['no-such-app'], env),
      status(['no-such-app', '--watch', '0.3'], env),
      status([app], noCredentials),
    ]);
    runs = { ok, typo, missing, watching, noCredentials: noCreds };
  });
  after(() => stopAll());

  it('takes the endpoints from AWS_ENDPOINT_URL_KINESIS / _DYNAMODB', async () => {
    const run = runs.ok;
    assert.equal(run.code, 0, run.stderr);
    assert.equal((JSON.parse(run.stdout) as LeaseTableStatus).tableName, app);
  });

  it('a misspelt --stream: exit 1, one line', async () => {
    const run = runs.typo;
    assert.equal(run.code, 1);
    assert.equal(run.stdout, '');
    assert.equal(run.stderr, `error: stream ${streamName}-typo not found at ${kinesis.endpoint} (check --stream)\n`);
  });

  it('a missing table: exit 1, one line — with --watch too, instead of a loop of error frames', async () => {
    const expected = `error: lease table no-such-app not found at ${dynamo.endpoint} (the table is named after the application unless --table says otherwise)\n`;
    const once = runs.missing;
    assert.equal(once.code, 1);
    assert.equal(once.stderr, expected);
    const watching = runs.watching;
    assert.equal(watching.code, 1);
    assert.equal(watching.stderr, expected);
    assert.equal(watching.stdout, '');
  });

  it('no credentials with a local endpoint: exit 1 and a hint', async () => {
    const run = runs.noCredentials;
    assert.equal(run.code, 1);
    assert.equal(
      run.stderr,
      'error: no AWS credentials found (environment, shared config, SSO, instance role); local emulators accept any: AWS_ACCESS_KEY_ID=local AWS_SECRET_ACCESS_KEY=local ts-kcl status …\n',
    );
  });
});
