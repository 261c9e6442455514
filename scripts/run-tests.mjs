#!/usr/bin/env node
// Runs test/**/*.test.ts with Node's built-in test runner and the tsx loader, one `node --test FILE` per file,
// TEST_CONCURRENCY files at a time (default 2). Each file's report is printed whole when it ends, then the totals.
//
// Why not one `node --test` over every file: Node 20's runner neither expands globs nor picks up .ts files, and the
// `--test-force-exit` that used to bound a file that leaves a handle open loses verdicts (nodejs/node#64833: the
// last results of a file can vanish from the report, so counts come out low). Here every file runs to its natural
// exit, and a file still running after TEST_FILE_TIMEOUT_MS (default 10 min) is killed and reported by name.
//
// Usage: node scripts/run-tests.mjs [dir-or-file ...]   (default: test/)
import { spawn } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { clearTimeout, setTimeout } from 'node:timers';

function collect(path, out) {
  if (statSync(path).isDirectory()) {
    for (const entry of readdirSync(path).sort()) collect(join(path, entry), out);
  } else if (path.endsWith('.test.ts')) {
    out.push(path);
  }
  return out;
}

const roots = process.argv.slice(2);
const files = (roots.length ? roots : ['test']).flatMap((root) => collect(root, []));
if (files.length === 0) {
  console.error('no test files found');
  process.exit(1);
}
const concurrency = Math.max(1, Number(process.env.TEST_CONCURRENCY ?? '2'));
const testTimeout = process.env.TEST_TIMEOUT_MS ?? '240000';
const fileTimeout = Number(process.env.TEST_FILE_TIMEOUT_MS ?? '600000');
const COUNTS = ['tests', 'pass', 'fail', 'cancelled', 'skipped', 'todo'];

/** Process groups of the files running now: killed if this script is stopped, so nothing outlives it. */
const running = new Set();
function killGroup(pid) {
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    // already gone
  }
}
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => {
    for (const pid of running) killGroup(pid);
    process.exit(1);
  });
}

/** Runs one file; resolves with its counts (from the spec reporter's summary) and how it ended. */
function runFile(file) {
  return new Promise((resolve) => {
    const started = Date.now();
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', '--test', `--test-timeout=${testTimeout}`, '--test-reporter=spec', file],
      // Its own process group, so that a timeout kills the file's process too (the runner's child), not only the runner.
      { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, FORCE_COLOR: process.env.FORCE_COLOR ?? '0' }, detached: true },
    );
    running.add(child.pid);
    const output = [];
    child.stdout.on('data', (chunk) => output.push(chunk));
    child.stderr.on('data', (chunk) => output.push(chunk));
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      killGroup(child.pid);
    }, fileTimeout);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      running.delete(child.pid);
      const text = Buffer.concat(output).toString('utf8');
      const counts = {};
      for (const name of COUNTS) {
        const match = text.match(new RegExp(`^ℹ ${name} (\\d+)$`, 'm'));
        counts[name] = match ? Number(match[1]) : undefined;
      }
      resolve({ file, text, code, signal, timedOut, counts, seconds: (Date.now() - started) / 1000 });
    });
  });
}

const results = [];
let next = 0;
async function worker() {
  while (next < files.length) {
    const result = await runFile(files[next++]);
    results.push(result);
    process.stdout.write(`\n▶ ${result.file} (${result.seconds.toFixed(1)} s)\n${result.text}`);
    if (result.timedOut) process.stdout.write(`✖ ${result.file}: still running after ${fileTimeout} ms: killed\n`);
  }
}
await Promise.all(Array.from({ length: Math.min(concurrency, files.length) }, worker));

const totals = Object.fromEntries(COUNTS.map((name) => [name, 0]));
const failed = [];
for (const r of results) {
  for (const name of COUNTS) totals[name] += r.counts[name] ?? 0;
  const accounted = (r.counts.pass ?? 0) + (r.counts.fail ?? 0) + (r.counts.cancelled ?? 0) + (r.counts.skipped ?? 0) + (r.counts.todo ?? 0);
  let why;
  if (r.timedOut) why = `did not finish within ${fileTimeout} ms`;
  else if (r.code !== 0) why = `exited with ${r.signal ?? `code ${r.code}`}`;
  else if (r.counts.tests === undefined) why = 'no summary in its report';
  else if (r.counts.tests === 0) why = 'ran no tests';
  else if (accounted !== r.counts.tests) why = `${r.counts.tests} tests but ${accounted} verdicts`;
  if (why) failed.push(`${r.file}: ${why}`);
}
console.log(`\n== ${results.length} files: ${COUNTS.map((name) => `${name} ${totals[name]}`).join(', ')}`);
if (failed.length > 0) {
  console.log(`== failed files (${failed.length}):\n${failed.map((f) => `  ✖ ${f}`).join('\n')}`);
  process.exit(1);
}
