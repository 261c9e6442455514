/**
 * Fleet simulator: many real LeaseCoordinators (taker, renewer, decision code) on a simulated DynamoDB lease table
 * (latency per request, RCU/WCU by item size and consistency, 1 MB scan pages) and a simulated clock. For each size
 * and profile it runs, on one fleet: cold start of N workers within 1 s, a steady window, a crash, a crash of the
 * lowest worker id (a failure watcher), one worker joining, and a rolling restart in 10 batches.
 *
 *   npx tsx bench/fleet-sim.ts [--sizes 10x100,50x1000,200x10000] [--profiles java2x,before,fleet]
 *                              [--steady-minutes 5] [--max-wait-s 300] [--seed 1] [--scenarios cold,steady,...]
 *                              [--steady-taker-ms N] [--watchers N] [--json]
 *
 * Profiles: `java2x` = Java KCL 2.x's taker (≈20 s, one steal per round), `before` = ts-kcl before issue 19
 * (every worker scans every 2 s), `fleet` = ts-kcl now. Times are simulated (failover 10 s, ts-kcl defaults).
 */
import { parseArgs } from 'node:util';
import type { FleetProfile } from '../test/support/fleet/fleet-simulator.js';
import { runScenarios, type ScenarioName, type ScenarioResult } from '../test/support/fleet/fleet-scenarios.js';

const { values: args } = parseArgs({
  options: {
    sizes: { type: 'string', default: '10x100,50x1000,200x10000' },
    profiles: { type: 'string', default: 'java2x,before,fleet' },
    'steady-minutes': { type: 'string', default: '5' },
    'max-wait-s': { type: 'string', default: '300' },
    seed: { type: 'string', default: '1' },
    scenarios: { type: 'string' },
    'steady-taker-ms': { type: 'string' },
    watchers: { type: 'string' },
    json: { type: 'boolean', default: false },
  },
});

const sizes = args.sizes.split(',').map((s) => s.split('x').map(Number) as [number, number]);
const profiles = args.profiles.split(',') as FleetProfile[];
const fmt = (ms: number | undefined): string => (ms === undefined ? 'not reached' : `${(ms / 1000).toFixed(1)} s`);
const results: ScenarioResult[] = [];

console.log('| workers × leases | profile | cold start → balanced (extra moves) | crash: takeover / balanced (moves / leases lost) | watcher crash: takeover | join: balanced (moves) | rolling restart (moves) | scans/min | RCU/min | WCU/min | RCU per lease-h | WCU per lease-h | $ per 1k lease-h | wall |');
console.log('|---|---|---|---|---|---|---|---|---|---|---|---|---|---|');
for (const [workers, leases] of sizes) {
  for (const profile of profiles) {
    const overrides = profile === 'fleet'
      ? {
          ...(args['steady-taker-ms'] === undefined ? {} : { steadyTakerIntervalMillis: Number(args['steady-taker-ms']) }),
          ...(args.watchers === undefined ? {} : { failureWatchers: Number(args.watchers) }),
        }
      : {};
    const r = await runScenarios({
      workers,
      leases,
      profile,
      seed: Number(args.seed),
      steadyMinutes: Number(args['steady-minutes']),
      maxWaitMillis: Number(args['max-wait-s']) * 1000,
      overrides,
      ...(args.scenarios === undefined ? {} : { scenarios: args.scenarios.split(',') as ScenarioName[] }),
    });
    results.push(r);
    const s = r.steady;
    console.log(
      `| ${workers} × ${leases} | ${profile} | ${fmt(r.coldBalanceMillis)} (${r.coldExtraMoves}) | ` +
        `${fmt(r.crashTakeoverMillis)} / ${fmt(r.crashBalanceMillis)} (${r.crashMoves ?? '–'} / ${r.crashLeases ?? '–'}) | ${fmt(r.crashWatcherTakeoverMillis)} | ` +
        `${fmt(r.joinBalanceMillis)} (${r.joinMoves ?? '–'}) | ${fmt(r.rollingMillis)} (${r.rollingMoves ?? '–'}) | ` +
        (s
          ? `${s.scansPerMinute.toFixed(0)} | ${s.rcuPerMinute.toFixed(0)} | ${s.wcuPerMinute.toFixed(0)} | ${s.rcuPerLeaseHour.toFixed(1)} | ${s.wcuPerLeaseHour.toFixed(0)} | ${(s.dollarsPerLeaseHour * 1000).toFixed(4)} | `
          : '– | – | – | – | – | – | ') +
        `${(r.wallMillis / 1000).toFixed(0)} s |`,
    );
  }
}
if (args.json) console.log(JSON.stringify(results.map((r) => ({ ...r, config: { ...r.config, overrides: undefined } })), null, 2));
process.exit(0);
