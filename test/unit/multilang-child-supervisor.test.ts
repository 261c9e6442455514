import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ChildSupervisor } from '../../src/multilang/child-supervisor.js';
import { ShutdownError, type Logger } from '../../src/index.js';

const lines: string[] = [];
const logger: Logger = {
  debug: () => undefined,
  info: (_o, msg) => void lines.push(msg ?? ''),
  warn: () => undefined,
  error: () => undefined,
  child: () => logger,
};

async function timed(p: Promise<void>): Promise<number> {
  const start = Date.now();
  await p;
  return Date.now() - start;
}

describe('ChildSupervisor', () => {
  it('spawns at once until a shard fails, then waits base·2^(n−1) capped; a processed batch resets it', async () => {
    const s = new ChildSupervisor({ logger, baseDelayMillis: 40, maxDelayMillis: 100 });
    assert.ok((await timed(s.beforeSpawn('a'))) < 30);
    s.failed('a');
    assert.ok((await timed(s.beforeSpawn('a'))) >= 25);
    s.failed('a');
    s.failed('a');
    assert.equal(s.failuresOf('a'), 3);
    const capped = await timed(s.beforeSpawn('a'));
    // The cap is read from the log line (deterministic); the timing only checks that it really waited. Timers run
    // off the event loop's cached clock, so under load they can fire a little early by Date.now().
    assert.match(lines.at(-1) ?? '', /after 100 ms/, 'capped at 100 ms, not 160');
    assert.ok(capped >= 70 && capped < 2000, `waited about 100 ms, took ${capped}`);
    assert.ok((await timed(s.beforeSpawn('b'))) < 30, 'other shards are not delayed');
    s.succeeded('a');
    assert.ok((await timed(s.beforeSpawn('a'))) < 30);
    assert.match(lines.join('\n'), /restarting the record processor of a after 40 ms/);
  });

  it('stop() ends pending backoffs and refuses new spawns', async () => {
    const s = new ChildSupervisor({ logger, baseDelayMillis: 10_000 });
    s.failed('a');
    const pending = s.beforeSpawn('a');
    s.stop();
    await assert.rejects(pending, ShutdownError);
    await assert.rejects(s.beforeSpawn('b'), ShutdownError);
  });
});
