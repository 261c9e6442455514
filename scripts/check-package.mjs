#!/usr/bin/env node
// Packaging check (CI): builds and packs ts-kcl, checks what the tarball holds (ESM, declarations, the bin and
// nothing else), installs it into an empty temporary project from the npm cache, type-checks a small consumer
// against the installed declarations, imports it, and runs the `ts-kcl` bin.
// Usage: node scripts/check-package.mjs [--keep]   (--keep leaves the temporary project for inspection)
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const keep = process.argv.includes('--keep');
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
const dir = mkdtempSync(join(tmpdir(), 'ts-kcl-pack-'));
const failures = [];

function run(command, args, cwd) {
  return execFileSync(command, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

function step(name, fn) {
  const started = Date.now();
  try {
    fn();
    console.log(`ok   ${name} (${Date.now() - started} ms)`);
  } catch (error) {
    const detail = [error.stdout, error.stderr].filter(Boolean).join('\n') || error.message;
    console.log(`FAIL ${name}\n${detail}`);
    failures.push(name);
  }
}

try {
  let tarball = '';
  step('npm pack (prepack builds dist/)', () => {
    const [info] = JSON.parse(run(npm, ['pack', '--json', '--pack-destination', dir], ROOT));
    tarball = join(dir, info.filename);
    const files = info.files.map((f) => f.path);
    const allowed = (p) =>
      ['package.json', 'README.md', 'CHANGELOG.md', 'LICENSE'].includes(p) || /^dist\/.+\.(js|d\.ts)$/.test(p);
    const unexpected = files.filter((p) => !allowed(p));
    if (unexpected.length) throw new Error(`unexpected files in the package: ${unexpected.join(', ')}`);
    for (const needed of ['dist/index.js', 'dist/index.d.ts', 'dist/cli/main.js', 'dist/coordinator/dashboard/dashboard-page.js', 'CHANGELOG.md']) {
      if (!files.includes(needed)) throw new Error(`missing from the package: ${needed}`);
    }
    if (!readFileSync(join(ROOT, 'dist/cli/main.js'), 'utf8').startsWith('#!/usr/bin/env node')) {
      throw new Error('dist/cli/main.js has no #!/usr/bin/env node line');
    }
    console.log(`     ${files.length} files, ${info.size} bytes packed, ${info.unpackedSize} unpacked`);
  });

  const project = join(dir, 'consumer');
  step('install the tarball into an empty project', () => {
    execFileSync('mkdir', ['-p', project]);
    writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }));
    // --prefer-offline: the dependencies come from the npm cache that `npm ci` filled.
    run(npm, ['install', tarball, '--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error'], project);
  });

  step('type-check a consumer against the installed declarations', () => {
    writeFileSync(
      join(project, 'consumer.ts'),
      `import { Scheduler, KclError, RecordAggregator, type ShardRecordProcessor, type SchedulerOptions } from 'ts-kcl';

const processor: ShardRecordProcessor = {
  initialize({ shardId }) { console.log(shardId); },
  async processRecords({ records, checkpointer }) {
    for (const r of records) console.log(r.partitionKey, r.data.byteLength);
    await checkpointer.checkpoint();
  },
  leaseLost() {},
  async shardEnded({ checkpointer }) { await checkpointer.checkpoint(); },
};
const options: SchedulerOptions = { applicationName: 'app', streamName: 'stream', processorFactory: () => processor };
export const scheduler = new Scheduler(options);
export const code: string = new KclError('KCL_X', 'x').code;
export const aggregates = RecordAggregator.aggregate([{ partitionKey: 'p', data: new Uint8Array(1) }]);
// @ts-expect-error an unknown option is a type error
export const bad = new Scheduler({ ...options, noSuchOption: 1 });
`,
    );
    writeFileSync(
      join(project, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          target: 'ES2022',
          module: 'NodeNext',
          moduleResolution: 'NodeNext',
          strict: true,
          noEmit: true,
          skipLibCheck: true,
          // @types/node from this repository: the consumer project has no dev dependencies of its own.
          typeRoots: [join(ROOT, 'node_modules/@types')],
          types: ['node'],
        },
        files: ['consumer.ts'],
      }),
    );
    run(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.json'], project);
  });

  step("import('ts-kcl') in Node", () => {
    const out = run(
      process.execPath,
      ['--input-type=module', '-e', "const m = await import('ts-kcl'); console.log(typeof m.Scheduler, typeof m.KclError);"],
      project,
    );
    if (out.trim() !== 'function function') throw new Error(`unexpected exports: ${out}`);
  });

  step('the ts-kcl bin runs', () => {
    const out = run(join(project, 'node_modules/.bin/ts-kcl'), ['--help'], project);
    if (!/multilang/.test(out) || !/status/.test(out) || !/dashboard/.test(out)) throw new Error(`unexpected --help output:\n${out}`);
  });
} finally {
  if (keep) console.log(`kept ${dir}`);
  else rmSync(dir, { recursive: true, force: true });
}

if (failures.length) {
  console.error(`package check failed: ${failures.join('; ')}`);
  process.exit(1);
}
console.log('package check passed');
