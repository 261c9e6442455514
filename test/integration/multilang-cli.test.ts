import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startDynalite, startKinesalite, stopAll, TEST_REGION, uniqueName, type Emulator } from '../support/emulators.js';
import { createStream, kinesisAdmin, waitFor } from '../support/scenario.js';
import { completeLines } from '../support/json-lines.js';
import { MULTILANG_FIXTURES, spawnDaemon, writeProperties } from '../support/multilang-daemon.js';

const dir = mkdtempSync(join(tmpdir(), 'multilang-cli-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const BASE = { applicationName: 'cli-app', streamName: 'cli-stream', executableName: 'node x.js', regionName: TEST_REGION };

async function exitOf(file: string): Promise<{ code: number | null; output: string }> {
  const daemon = spawnDaemon(file);
  const { code } = await daemon.exited;
  return { code, output: daemon.output.join('\n') };
}

describe('ts-kcl multilang: configuration errors', () => {
  it('a bad value exits 1 naming the properties key; unknown keys are warned about first', async () => {
    const file = writeProperties(dir, 'bad.properties', { ...BASE, someUnknownKey: 1, failoverTimeMillis: 'soon' });
    const { code, output } = await exitOf(file);
    assert.equal(code, 1);
    assert.match(output, /ERROR .*bad\.properties: Invalid option "failoverTimeMillis": expected an integer/);
  });

  it('warns about unknown keys; an executable that does not exist fails before anything starts', async () => {
    const file = writeProperties(dir, 'noexec.properties', { ...BASE, executableName: 'no-such-program-here --x', someUnknownKey: 1 });
    const { code, output } = await exitOf(file);
    assert.equal(code, 1);
    assert.match(output, /WARN {2}unknown key "someUnknownKey" \(ignored\)/);
    assert.match(output, /"executableName": "no-such-program-here" is not an executable file on PATH/);
  });

  it('a missing properties file exits 1', async () => {
    const { code, output } = await exitOf(join(dir, 'missing.properties'));
    assert.equal(code, 1);
    assert.match(output, /ENOENT/);
  });
});

describe('ts-kcl multilang: start-up failure and signals (kinesalite + dynalite)', () => {
  let kinesis: Emulator;
  let dynamo: Emulator;
  before(async () => {
    [kinesis, dynamo] = await Promise.all([startKinesalite(), startDynalite()]);
  });
  after(() => stopAll());

  const props = (name: string, streamName: string, extra: Record<string, string | number>, childLog: string) =>
    writeProperties(dir, name, {
      // A child that never answers shutdownRequested (the plan is one JSON word: no spaces to split on).
      executableName: `node ${join(MULTILANG_FIXTURES, 'fake-child.mjs')} ${childLog} {"shutdownRequested":["hang"]}`,
      applicationName: uniqueName('cliapp'),
      streamName,
      regionName: TEST_REGION,
      kinesisEndpoint: kinesis.endpoint,
      dynamoDBEndpoint: dynamo.endpoint,
      retrievalMode: 'POLLING',
      initialPositionInStream: 'TRIM_HORIZON',
      idleTimeBetweenReadsInMillis: 200,
      ...extra,
    });
  const childPid = (log: string): number => JSON.parse(completeLines(readFileSync(log, 'utf8'))[0]!).pid as number;
  const alive = (pid: number): boolean => {
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  };

  it('a stream that does not exist: exits 1 saying so', async () => {
    const { code, output } = await exitOf(props('nostream.properties', 'no-such-stream', {}, join(dir, 'unused.jsonl')));
    assert.equal(code, 1);
    assert.match(output, /could not start: Stream no-such-stream does not exist/);
  });

  it('a child hanging in shutdownRequested is killed once shutdownGraceMillis is over; the daemon exits 1', async () => {
    const streamName = await createStream(kinesisAdmin(kinesis.endpoint), 1, 'clisig');
    const childLog = join(dir, 'grace-child.jsonl');
    const daemon = spawnDaemon(props('grace.properties', streamName, { shutdownGraceMillis: 1000 }, childLog));
    await waitFor(() => existsSync(childLog) && readFileSync(childLog, 'utf8').includes('"initialize"'), 20_000, 'the child initialized');
    const pid = childPid(childLog);
    const started = Date.now();
    assert.equal(await daemon.stop('SIGTERM'), 1);
    assert.ok(Date.now() - started < 10_000);
    assert.match(daemon.output.join('\n'), /still busy after shutdownGraceMillis; killing them/);
    await waitFor(() => !alive(pid), 5000, 'the child gone');
  });

  it('a second signal stops at once', async () => {
    const streamName = await createStream(kinesisAdmin(kinesis.endpoint), 1, 'clisig');
    const childLog = join(dir, 'twice-child.jsonl');
    const daemon = spawnDaemon(props('twice.properties', streamName, { shutdownGraceMillis: 60_000 }, childLog));
    await waitFor(() => existsSync(childLog) && readFileSync(childLog, 'utf8').includes('"initialize"'), 20_000, 'the child initialized');
    const pid = childPid(childLog);
    daemon.proc.kill('SIGTERM');
    await daemon.waitForOutput(/shutting down gracefully/, 5000);
    await waitFor(() => readFileSync(childLog, 'utf8').includes('"shutdownRequested"'), 5000, 'shutdownRequested sent');
    const started = Date.now();
    assert.equal(await daemon.stop('SIGINT'), 1);
    assert.ok(Date.now() - started < 5000, 'no waiting for the 60 s grace');
    assert.match(daemon.output.join('\n'), /stopping at once/);
    await waitFor(() => !alive(pid), 5000, 'the child gone');
  });
});
