#!/usr/bin/env node
// Runs Node's built-in test runner over test/**/*.test.ts with the tsx loader.
// Node 20's runner does not expand globs or pick up .ts files by itself, hence this small script.
// Usage: node scripts/run-tests.mjs [dir-or-file ...]   (default: test/)
import { spawn } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

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
const concurrency = process.env.TEST_CONCURRENCY ?? '2';
const child = spawn(
  process.execPath,
  [
    '--import',
    'tsx',
    '--test',
    `--test-concurrency=${concurrency}`,
    // A failed test may leave a worker's timers running: end each file when its tests are done, and bound every
    // test, so one bad file can never hang CI.
    '--test-force-exit',
    `--test-timeout=${process.env.TEST_TIMEOUT_MS ?? '240000'}`,
    '--test-reporter=spec',
    ...files,
  ],
  { stdio: 'inherit' },
);
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
