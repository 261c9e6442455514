// Runs README.md's "Local development in an empty folder" recipe as written: its sh steps (interpreted, without a
// shell: npm commands, background `npx` emulators, `export`s), its files (```js file=NAME blocks) and its run step,
// in an empty folder, against kinesalite and dynalite on free ports. Used by scripts/check-package.mjs with the
// packed tarball standing in for `ts-kcl` in `npm install`.
import { execFileSync, spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { clearTimeout, setTimeout } from 'node:timers';

const SECTION = '## Local development in an empty folder';

/** The recipe's parts, from the README text: `sh` command lines (comments removed) and `files` by name. */
export function extractRecipe(readme) {
  const start = readme.indexOf(SECTION);
  if (start < 0) throw new Error(`README.md has no "${SECTION}" section`);
  const end = readme.indexOf('\n## ', start + SECTION.length);
  const text = readme.slice(start, end < 0 ? undefined : end);
  const sh = [];
  const files = {};
  for (const m of text.matchAll(/```(\w+)([^\n]*)\n([\s\S]*?)```/g)) {
    const [, lang, info, body] = m;
    const file = /file=(\S+)/.exec(info)?.[1];
    if (file) files[file] = body;
    else if (lang === 'sh') sh.push(...body.split('\n').map((l) => l.replace(/\s+#.*$/, '').trim()).filter(Boolean));
  }
  return { sh, files };
}

function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/**
 * Runs the recipe in `dir` (empty). `tarball` replaces `ts-kcl` in `npm install`. Resolves with the consumer's
 * output once it printed every record and exited 0 after SIGINT; rejects with what went wrong.
 */
export async function runRecipe({ readmePath, dir, tarball, npm = 'npm', timeoutMillis = 120_000 }) {
  const { sh, files } = extractRecipe(readFileSync(readmePath, 'utf8'));
  for (const needed of ['producer.js', 'consumer.js']) if (!files[needed]) throw new Error(`the recipe has no ${needed}`);
  // The README's fixed ports may be taken on a shared machine: the same text with free ones.
  const ports = new Map([['4567', String(await freePort())], ['4568', String(await freePort())]]);
  const subst = (s) => s.replace(/\b(4567|4568)\b/g, (p) => ports.get(p));
  const env = { ...process.env };
  for (const k of Object.keys(env)) if (k.startsWith('AWS_')) delete env[k];
  const background = [];
  const runs = [];
  const run = (cmd, args) => execFileSync(cmd, args, { cwd: dir, env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: timeoutMillis });
  try {
    for (const line of sh.map(subst)) {
      if (/^(mkdir|cd)\b/.test(line)) continue; // `dir` is the new folder
      if (line.startsWith('export ')) {
        for (const [, k, v] of line.slice(7).matchAll(/(\w+)=(\S+)/g)) env[k] = v;
        continue;
      }
      if (line.startsWith('node ')) {
        runs.push(line.split(/\s+/).slice(1));
        continue;
      }
      for (const part of line.split('&&').map((p) => p.trim())) {
        const bg = part.endsWith('&');
        const [cmd, ...args] = part.replace(/&$/, '').trim().split(/\s+/);
        if (cmd === 'npm' && args[0] === 'install') {
          const list = args.slice(1).map((a) => (a === 'ts-kcl' ? tarball : a));
          run(npm, ['install', ...list, '--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error']);
        } else if (cmd === 'npm') {
          run(npm, args);
        } else if (cmd === 'npx' && bg) {
          const child = spawn(join(dir, 'node_modules', '.bin', args[0]), args.slice(1), { cwd: dir, env, stdio: 'ignore' });
          background.push(child);
          await waitForPort(Number(args[args.indexOf('--port') + 1]));
        } else {
          throw new Error(`the recipe runner does not know this step: ${part}`);
        }
      }
    }
    for (const [name, body] of Object.entries(files)) writeFileSync(join(dir, name), body);
    if (JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')).type !== 'module') throw new Error('package.json is not "type": "module"');
    const [first, second] = runs;
    if (first?.[0] !== 'producer.js' || second?.[0] !== 'consumer.js') throw new Error(`expected "node producer.js" then "node consumer.js", got ${JSON.stringify(runs)}`);
    const produced = run(process.execPath, ['producer.js']);
    if (!/put 10 records/.test(produced)) throw new Error(`producer printed: ${produced}`);
    return await consume(dir, env, timeoutMillis);
  } finally {
    for (const child of background) child.kill('SIGTERM');
  }
}

async function waitForPort(port) {
  const { connect } = await import('node:net');
  for (let i = 0; i < 100; i++) {
    const ok = await new Promise((resolve) => {
      const socket = connect(port, '127.0.0.1', () => {
        socket.end();
        resolve(true);
      });
      socket.on('error', () => resolve(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`nothing listens on port ${port}`);
}

/** Runs consumer.js until it printed the 10 records, then Ctrl-C (SIGINT): it must exit 0. */
function consume(dir, env, timeoutMillis) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['consumer.js'], { cwd: dir, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    let interrupted = false;
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMillis);
    child.stdout.on('data', (c) => {
      out += c;
      const seen = new Set([...out.matchAll(/order-(\d+) \{"order":\1\}/g)].map((m) => m[1]));
      if (seen.size === 10 && !interrupted) {
        interrupted = true;
        child.kill('SIGINT');
      }
    });
    child.stderr.on('data', (c) => (err += c));
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      if (interrupted && code === 0) resolve(out);
      else reject(new Error(`consumer.js ${interrupted ? `exited with ${code ?? signal} after SIGINT` : `stopped (${code ?? signal}) before printing the 10 records`}\nstdout:\n${out}\nstderr:\n${err}`));
    });
  });
}
