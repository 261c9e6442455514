// Runs the demo (scripts/demo.ts, what `npm run demo` starts) small and non-interactive, so it never rots:
// it must exit 0, verify 0 missing records after the SIGKILL failover, and leave no worker process behind.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const RECORDS = 3000;

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('the demo (npm run demo)', () => {
  it('consumes everything across a worker SIGKILL, exits 0 and leaves no processes', { timeout: 120_000 }, async () => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', 'scripts/demo.ts', '--records', String(RECORDS), '--duration', '8', '--plain'],
      { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '1' } },
    );
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    const timer = setTimeout(() => child.kill('SIGKILL'), 100_000);
    const code = await new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
    clearTimeout(timer);

    assert.equal(code, 0, `demo exited with ${String(code)}:\n${output}`);
    const verdict = new RegExp(`^produced ${RECORDS}, consumed ${RECORDS} unique, 0 missing, \\d+ duplicates`, 'm');
    assert.match(output, verdict, output);
    assert.match(output, /killed worker-\d \(pid \d+\) with SIGKILL/, 'a worker was killed midway');
    assert.match(output, /failover complete: worker-\d's \d+ shard\(s\) processing again/, output);
    assert.match(output, /per-shard order: held/, output);

    const pids = [...output.matchAll(/worker-\d started \(pid (\d+)\)/g)].map((m) => Number(m[1]));
    assert.equal(pids.length, 3, `three workers started:\n${output}`);
    // The demo waits for its children; give the OS a moment to reap them anyway.
    const deadline = Date.now() + 2_000;
    while (pids.some(isAlive) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    assert.deepEqual(pids.filter(isAlive), [], 'no worker process left behind');
  });
});
