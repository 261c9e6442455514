import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startDynalite, startKinesalite, stopAll, TEST_REGION, uniqueName, type Emulator } from '../support/emulators.js';
import { createStream, kinesisAdmin, produce, waitFor } from '../support/scenario.js';
import {
  killStrayProcessors,
  MULTILANG_FIXTURES,
  readEvents,
  spawnDaemon,
  writeProperties,
  type DaemonProcess,
} from '../support/multilang-daemon.js';

const BAD = 'shardId-000000000001';

describe('ts-kcl multilang survives misbehaving record processors (kinesalite + dynalite)', () => {
  let kinesis: Emulator;
  let dynamo: Emulator;
  let dir: string;
  let eventsFile: string;
  let daemon: DaemonProcess | undefined;
  before(async () => {
    [kinesis, dynamo] = await Promise.all([startKinesalite(), startDynalite()]);
    dir = mkdtempSync(join(tmpdir(), 'multilang-faulty-'));
    eventsFile = join(dir, 'events.jsonl');
    mkdirSync(join(dir, 'state'));
  });
  after(async () => {
    await daemon?.stop('SIGKILL').catch(() => undefined);
    killStrayProcessors(readEvents(eventsFile));
    rmSync(dir, { recursive: true, force: true });
    await stopAll();
  });

  it('junk on stdout is skipped; a crashing, a hanging and a wrong-status child cost only their shard a restart with backoff', async () => {
    const admin = kinesisAdmin(kinesis.endpoint);
    const streamName = await createStream(admin, 3, 'mlfaulty');
    const produced = await produce(admin, streamName, 300);
    const properties = writeProperties(dir, 'faulty.properties', {
      executableName: `node ${join(MULTILANG_FIXTURES, 'faulty-processor.mjs')} ${eventsFile} ${join(dir, 'state')} ${BAD}`,
      streamName,
      applicationName: uniqueName('mlfaulty'),
      initialPositionInStream: 'TRIM_HORIZON',
      regionName: TEST_REGION,
      kinesisEndpoint: kinesis.endpoint,
      dynamoDBEndpoint: dynamo.endpoint,
      retrievalMode: 'POLLING',
      failoverTimeMillis: 3000,
      maxRecords: 50,
      idleTimeBetweenReadsInMillis: 200,
      timeoutInSeconds: 2,
      shutdownGraceMillis: 5000,
    });
    daemon = spawnDaemon(properties);
    const delivered = (shardId?: string) =>
      new Set(readEvents(eventsFile).filter((e) => e.event === 'record' && (shardId === undefined || e.shardId === shardId)).map((e) => e.data));
    const expected = (pick: (shardId: string) => boolean) => new Set(produced.filter((p) => pick(p.shardId)).map((p) => p.key));

    // The good shards go on while the bad one fails.
    const good = expected((s) => s !== BAD);
    await waitFor(() => [...good].every((k) => delivered().has(k)), 20_000, 'every record of the good shards');
    const badSoFar = delivered(BAD).size;
    assert.ok(badSoFar < expected((s) => s === BAD).size, 'the bad shard is still failing while the others are done');

    // The bad shard is retried until its processor behaves, with growing delays in between.
    const bad = expected((s) => s === BAD);
    await waitFor(() => [...bad].every((k) => delivered(BAD).has(k)), 40_000, 'every record of the bad shard');
    const attempts = readEvents(eventsFile).filter((e) => e.event === 'attempt').map((e) => (e as unknown as { attempt: number }).attempt);
    assert.deepEqual(attempts, [1, 2, 3, 4]);
    const log = daemon.output.join('\n');
    assert.match(log, /exited with code 2/);
    assert.match(log, /sent nothing for 2000 ms/);
    assert.match(log, /answered status for \\?"initialize\\?" while processRecords was pending/);
    for (const delay of [1000, 2000, 4000]) assert.match(log, new RegExp(`restarting the record processor of ${BAD} after ${delay} ms`));
    assert.match(log, /skipping unexpected line on child stdout: processing a batch/);
    assert.match(log, /child stderr: batch of \d+ on shardId-000000000000/);
    assert.equal(daemon.proc.exitCode, null, 'the daemon is still running');

    const code = await daemon.stop('SIGTERM');
    assert.equal(code, 0, daemon.output.slice(-10).join('\n'));
    assert.deepEqual(killStrayProcessors(readEvents(eventsFile)), [], 'no child left behind, not even the hung one');
  });
});
