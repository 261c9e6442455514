/**
 * Reads a `.cpuprofile` (from `node --cpu-prof` or `bench/drain-throughput.ts --cpu-prof`) and prints where the
 * samples went: self time by package or source file, then the top functions by self time.
 *
 *   npx tsx bench/profile-summary.ts FILE.cpuprofile... [--top 40] [--filter TEXT]
 *
 * Several files are summed (e.g. one per round).
 *
 * `--filter`: only the functions whose URL or name contains TEXT (e.g. `src/` for ts-kcl's own code).
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

const { values: args, positionals } = parseArgs({
  allowPositionals: true,
  options: { top: { type: 'string', default: '40' }, filter: { type: 'string' } },
});
/** Self time (µs) per call frame, over every file given. */
const selfMicros: { frame: ProfileNode['callFrame']; micros: number }[] = [];
let samples = 0;
for (const file of positionals) {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const perNode = new Map<number, number>();
  for (let i = 0; i < profile.samples.length; i++) {
    const id = profile.samples[i]!;
    perNode.set(id, (perNode.get(id) ?? 0) + (profile.timeDeltas[i + 1] ?? 0));
  }
  for (const [id, micros] of perNode) selfMicros.push({ frame: byId.get(id)!.callFrame, micros });
  samples += profile.samples.length;
}

/** `@aws-sdk/core`, `src/leases/lease-renewer.ts`, `node:internal/...`, or `(program)` / `(garbage collector)`. */
function place(url: string, name: string): string {
  if (url === '') return name.startsWith('(') ? name : '(native)';
  const nm = url.lastIndexOf('node_modules/');
  if (nm >= 0) {
    const parts = url.slice(nm + 'node_modules/'.length).split('/');
    return parts[0]!.startsWith('@') ? `${parts[0]}/${parts[1]}` : parts[0]!;
  }
  const src = url.indexOf('/src/');
  if (src >= 0) return url.slice(src + 1);
  const bench = url.indexOf('/bench/');
  if (bench >= 0) return url.slice(bench + 1);
  return url.startsWith('node:') ? url.split('/').slice(0, 2).join('/') : url;
}

const byPlace = new Map<string, number>();
const byFunction = new Map<string, number>();
let total = 0;
for (const { frame, micros } of selfMicros) {
  const { functionName, url, lineNumber } = frame;
  total += micros;
  const where = place(url, functionName);
  byPlace.set(where, (byPlace.get(where) ?? 0) + micros);
  if (args.filter !== undefined && !url.includes(args.filter) && !functionName.includes(args.filter)) continue;
  const key = `${functionName || '(anonymous)'}  ${where}:${lineNumber + 1}`;
  byFunction.set(key, (byFunction.get(key) ?? 0) + micros);
}
const top = Number(args.top);
const pct = (m: number): string => `${((m / total) * 100).toFixed(1).padStart(5)} %  ${(m / 1000).toFixed(0).padStart(6)} ms`;
console.log(`total sampled: ${(total / 1000).toFixed(0)} ms (${samples} samples, ${positionals.length} file(s))`);
console.log('\nself time by package / file:');
for (const [where, m] of [...byPlace].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`  ${pct(m)}  ${where}`);
console.log(`\ntop functions by self time${args.filter ? ` (filter: ${args.filter})` : ''}:`);
for (const [key, m] of [...byFunction].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`  ${pct(m)}  ${key}`);
