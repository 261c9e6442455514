// What `import('ts-kcl')` costs a cold start: wall time, CPU time and RSS of a fresh `node` that imports the built
// package, for this working tree and a baseline git revision, in interleaved rounds (medians; a process that
// imports nothing gives the floor). Both trees are compiled with the repository's tsc into temporary folders.
// Usage: npx tsx bench/import-cost.ts [--baseline <git-ref>] [--rounds 15]
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const { values: args } = parseArgs({
  options: {
    // The commit before the optional parts were made lazy (issue 16).
    baseline: { type: 'string', default: '8edfad8' },
    rounds: { type: 'string', default: '15' },
  },
});
const rounds = Number(args.rounds);
const work = mkdtempSync(join(tmpdir(), 'ts-kcl-import-cost-'));

/** Compiles `src/` of a revision (or of the working tree when `ref` is undefined) into `<dir>/dist`. */
function build(label: string, ref: string | undefined): string {
  const dir = join(work, label);
  mkdirSync(dir);
  if (ref === undefined) {
    cpSync(join(ROOT, 'src'), join(dir, 'src'), { recursive: true });
    cpSync(join(ROOT, 'tsconfig.json'), join(dir, 'tsconfig.json'));
  } else {
    const tar = join(work, `${label}.tar`);
    execFileSync('git', ['archive', '--format=tar', '-o', tar, ref, 'src', 'tsconfig.json'], { cwd: ROOT });
    execFileSync('tar', ['-xf', tar, '-C', dir]);
  }
  cpSync(join(ROOT, 'package.json'), join(dir, 'package.json'));
  symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'));
  execFileSync(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', join(dir, 'tsconfig.json'), '--sourceMap', 'false', '--declaration', 'false', '--declarationMap', 'false'], { cwd: dir });
  return pathToFileURL(join(dir, 'dist', 'index.js')).href;
}

interface Sample {
  ms: number;
  cpuMs: number;
  rssMiB: number;
}

const PROBE = `
const t0 = performance.now(); const c0 = process.cpuUsage();
const url = process.argv[1];
if (url !== 'none') await import(url);
const ms = performance.now() - t0; const c = process.cpuUsage(c0);
console.log(JSON.stringify({ ms, cpuMs: (c.user + c.system) / 1000, rssMiB: process.memoryUsage().rss / 1048576 }));
`;

function sample(url: string): Sample {
  const out = execFileSync(process.execPath, ['--input-type=module', '-e', PROBE, url], { encoding: 'utf8' });
  return JSON.parse(out.trim().split('\n').at(-1)!) as Sample;
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

try {
  console.log(`building baseline ${args.baseline} and the working tree …`);
  const variants: [string, string][] = [
    ['node only', 'none'],
    [`baseline ${args.baseline}`, build('baseline', args.baseline)],
    ['this tree', build('current', undefined)],
  ];
  const samples = new Map<string, Sample[]>(variants.map(([name]) => [name, []]));
  for (const [, url] of variants) sample(url); // warm the file cache
  for (let r = 0; r < rounds; r++) {
    const order = r % 2 === 0 ? variants : [...variants].reverse();
    for (const [name, url] of order) samples.get(name)!.push(sample(url));
  }
  const rows = variants.map(([name]) => {
    const s = samples.get(name)!;
    return { name, ms: median(s.map((x) => x.ms)), cpuMs: median(s.map((x) => x.cpuMs)), rssMiB: median(s.map((x) => x.rssMiB)) };
  });
  console.log(`\nimport('ts-kcl') in a fresh node ${process.version}, medians of ${rounds} interleaved rounds:\n`);
  console.log('| variant | import wall ms | import CPU ms | RSS MiB after |');
  console.log('|---|---:|---:|---:|');
  for (const r of rows) console.log(`| ${r.name} | ${r.ms.toFixed(1)} | ${r.cpuMs.toFixed(1)} | ${r.rssMiB.toFixed(1)} |`);
  const [floor, base, cur] = rows as [typeof rows[0], typeof rows[0], typeof rows[0]];
  console.log(
    `\nthis tree / baseline: wall ${(cur.ms / base.ms).toFixed(2)}×, CPU ${(cur.cpuMs / base.cpuMs).toFixed(2)}×, ` +
      `RSS above a bare node ${(cur.rssMiB - floor.rssMiB).toFixed(1)} MiB vs ${(base.rssMiB - floor.rssMiB).toFixed(1)} MiB`,
  );
} finally {
  rmSync(work, { recursive: true, force: true });
}
