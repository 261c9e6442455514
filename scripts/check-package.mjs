#!/usr/bin/env node
// Packaging check (CI): builds and packs ts-kcl, checks what the tarball holds (ESM, declarations, the bin, LICENSE
// and nothing else; no reference to a file it leaves out), installs it into an empty ESM project and an empty
// CommonJS project from the npm cache, type-checks a small consumer in each against the installed declarations,
// imports / requires it, runs the `ts-kcl` bin, and runs README.md's local-development recipe in a third empty
// folder (scripts/readme-recipe.mjs).
// Usage: node scripts/check-package.mjs [--keep]   (--keep leaves the temporary project for inspection)
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runRecipe } from './readme-recipe.mjs';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const keep = process.argv.includes('--keep');
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
const dir = mkdtempSync(join(tmpdir(), 'ts-kcl-pack-'));
const failures = [];

function run(command, args, cwd) {
  return execFileSync(command, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

async function step(name, fn) {
  const started = Date.now();
  try {
    await fn();
    console.log(`ok   ${name} (${Date.now() - started} ms)`);
  } catch (error) {
    const detail = [error.stdout, error.stderr].filter(Boolean).join('\n') || error.message;
    console.log(`FAIL ${name}\n${detail}`);
    failures.push(name);
  }
}

try {
  let tarball = '';
  await step('npm pack (prepack builds dist/)', () => {
    const [info] = JSON.parse(run(npm, ['pack', '--json', '--pack-destination', dir], ROOT));
    tarball = join(dir, info.filename);
    const files = info.files.map((f) => f.path);
    const allowed = (p) =>
      ['package.json', 'README.md', 'CHANGELOG.md', 'LICENSE'].includes(p) || /^dist\/.+\.(js|d\.ts)$/.test(p);
    const unexpected = files.filter((p) => !allowed(p));
    if (unexpected.length) throw new Error(`unexpected files in the package: ${unexpected.join(', ')}`);
    for (const needed of ['dist/index.js', 'dist/index.d.ts', 'dist/cli/main.js', 'dist/coordinator/dashboard/dashboard-page.js', 'CHANGELOG.md', 'LICENSE']) {
      if (!files.includes(needed)) throw new Error(`missing from the package: ${needed}`);
    }
    if (!readFileSync(join(ROOT, 'dist/cli/main.js'), 'utf8').startsWith('#!/usr/bin/env node')) {
      throw new Error('dist/cli/main.js has no #!/usr/bin/env node line');
    }
    // A sourceMappingURL to a map that is not shipped makes debuggers and bundlers warn.
    const dangling = files.filter((p) => p.startsWith('dist/') && /sourceMappingURL=/.test(readFileSync(join(ROOT, p), 'utf8')));
    if (dangling.length) throw new Error(`files referring to source maps that are not shipped: ${dangling.slice(0, 5).join(', ')}`);
    if (!/Apache License\s+Version 2\.0/.test(readFileSync(join(ROOT, 'LICENSE'), 'utf8'))) throw new Error('LICENSE is not the Apache License 2.0 text');
    console.log(`     ${files.length} files, ${info.size} bytes packed, ${info.unpackedSize} unpacked`);
  });

  const project = join(dir, 'consumer');
  await step('install the tarball into an empty project', () => {
    execFileSync('mkdir', ['-p', project]);
    writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }));
    // --prefer-offline: the dependencies come from the npm cache that `npm ci` filled.
    run(npm, ['install', tarball, '--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error'], project);
  });

  await step('type-check a consumer against the installed declarations', () => {
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

  await step("import('ts-kcl') in Node", () => {
    const out = run(
      process.execPath,
      ['--input-type=module', '-e', "const m = await import('ts-kcl'); console.log(typeof m.Scheduler, typeof m.KclError);"],
      project,
    );
    if (out.trim() !== 'function function') throw new Error(`unexpected exports: ${out}`);
  });

  await step('the ts-kcl bin runs', () => {
    const out = run(join(project, 'node_modules/.bin/ts-kcl'), ['--help'], project);
    if (!/multilang/.test(out) || !/status/.test(out) || !/dashboard/.test(out)) throw new Error(`unexpected --help output:\n${out}`);
  });

  // `npm init -y` makes a CommonJS project: require('ts-kcl') must work there (Node 20.19+/22.12+ load ES modules
  // with require(), as long as the module graph has no top-level await).
  const cjs = join(dir, 'consumer-cjs');
  await step('install the tarball into an empty CommonJS project', () => {
    mkdirSync(cjs, { recursive: true });
    writeFileSync(join(cjs, 'package.json'), JSON.stringify({ name: 'consumer-cjs', private: true, type: 'commonjs' }));
    run(npm, ['install', tarball, '--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error'], cjs);
  });

  await step('type-check a CommonJS consumer (import = require) against the installed declarations', () => {
    writeFileSync(
      join(cjs, 'consumer.cts'),
      `import kcl = require('ts-kcl');

const processor: kcl.ShardRecordProcessor = {
  initialize() {},
  async processRecords({ checkpointer }) { await checkpointer.checkpoint(); },
  leaseLost() {},
  async shardEnded({ checkpointer }) { await checkpointer.checkpoint(); },
};
export const scheduler = new kcl.Scheduler({ applicationName: 'app', streamName: 'stream', processorFactory: () => processor, logger: false });
export const code: string = new kcl.ConfigError('x', 'y').code;
`,
    );
    writeFileSync(
      join(cjs, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          target: 'ES2022',
          module: 'NodeNext',
          moduleResolution: 'NodeNext',
          strict: true,
          noEmit: true,
          skipLibCheck: true,
          typeRoots: [join(ROOT, 'node_modules/@types')],
          types: ['node'],
        },
        files: ['consumer.cts'],
      }),
    );
    run(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.json'], cjs);
  });

  await step("require('ts-kcl') in Node (CommonJS)", () => {
    writeFileSync(
      join(cjs, 'index.js'),
      `const { Scheduler, KclError, ConfigError } = require('ts-kcl');
try {
  new Scheduler({ applicationName: 'app', streamName: 'stream', processorFactory: 1 });
} catch (e) {
  if (!(e instanceof ConfigError)) throw e;
  console.log(typeof Scheduler, typeof KclError, e.code);
}
`,
    );
    const out = run(process.execPath, ['index.js'], cjs);
    if (out.trim() !== 'function function KCL_CONFIG_INVALID') throw new Error(`unexpected output: ${out}`);
  });

  await step('README.md local-development recipe (kinesalite + dynalite)', async () => {
    const recipe = join(dir, 'recipe');
    mkdirSync(recipe, { recursive: true });
    const out = await runRecipe({ readmePath: join(ROOT, 'README.md'), dir: recipe, tarball, npm });
    console.log(`     consumer printed ${out.split('\n').filter((l) => / order-\d+ /.test(l)).length} record lines`);
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
