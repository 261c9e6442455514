/**
 * Lease store operations per second: renew and take, on dynalite and DynamoDB Local, with 1 and 8 clients.
 *
 *   npx tsx bench/lease-store-ops.ts [--seconds 5] [--emulators dynalite,dynamodb-local]
 *
 * - Every client has its own DynamoDB client (own keep-alive sockets) and runs its operations one after another;
 *   "8 clients" are 8 such loops at once.
 * - renew: each client renews its own lease (one lease per client), using the lease returned by the previous
 *   renewal, for a fixed duration. No contention: every write should succeed.
 * - take: each client takes fresh unowned leases from its own pre-created pool (created before the clock starts),
 *   for the same fixed duration (or until the pool runs out). Same request shape as a steal (conditional on the
 *   counter, SET owner/counter, REMOVE checkpointOwner); no contention.
 * - contended take (extra): 8 clients race to take the same lease, round after round; exactly one should win each
 *   round, the figure is rounds per second.
 * - dynalite runs as its own Node process (`dynalite` CLI), like DynamoDB Local runs in its own JVM, so the
 *   emulator does not share this process's event loop with the clients.
 * Each emulator first gets a few seconds of unrecorded warm-up. Prints the machine facts and a Markdown table.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer, type AddressInfo } from 'node:net';
import { cpus } from 'node:os';
import { createRequire } from 'node:module';
import { parseArgs } from 'node:util';
import { DynamoDbApi } from '../src/aws/dynamodb-api.js';
import { DynamoDbLeaseStore } from '../src/leases/dynamodb-lease-store.js';
import type { Lease } from '../src/leases/lease.js';
import type { LeaseTableOptions } from '../src/leases/lease-store.js';
import { startDynamoDbLocal, stopAll, TEST_CREDENTIALS, TEST_REGION, uniqueName } from '../test/support/emulators.js';

const { values: args } = parseArgs({
  options: {
    seconds: { type: 'string', default: '5' },
    emulators: { type: 'string', default: 'dynalite,dynamodb-local' },
  },
});
const SECONDS = Number(args.seconds);
const EMULATORS = args.emulators.split(',').map((e) => e.trim()) as ('dynalite' | 'dynamodb-local')[];
const CLIENT_COUNTS = [1, 8];
const TABLE: LeaseTableOptions = { billingMode: 'PAY_PER_REQUEST', readCapacity: 10, writeCapacity: 10, activeTimeoutMillis: 30_000 };

interface Row {
  emulator: string;
  operation: string;
  clients: number;
  ops: number;
  seconds: number;
  failed: number;
  latencies: number[];
}

function newLease(leaseKey: string, leaseOwner?: string): Lease {
  return {
    leaseKey,
    ...(leaseOwner !== undefined ? { leaseOwner } : {}),
    leaseCounter: 0,
    checkpoint: { sequenceNumber: 'TRIM_HORIZON', subSequenceNumber: 0 },
    ownerSwitchesSinceCheckpoint: 0,
    parentShardIds: [],
    childShardIds: [],
    hashKeyRange: { startingHashKey: '0', endingHashKey: '340282366920938463463374607431768211455' },
  };
}

async function mapLimit<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) await fn(items[next++]!);
    }),
  );
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** dynalite in its own process; resolves once it listens. */
async function startDynaliteProcess(): Promise<{ endpoint: string; stop(): Promise<void> }> {
  const require = createRequire(import.meta.url);
  const cli = require.resolve('dynalite/cli.js');
  const port = await freePort();
  const child: ChildProcess = spawn(process.execPath, [cli, '--host', '127.0.0.1', '--port', String(port), '--createTableMs', '5', '--deleteTableMs', '5'], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const kill = (): void => {
    child.kill('SIGKILL');
  };
  process.on('exit', kill);
  await new Promise<void>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`dynalite exited with ${code}`)));
    child.stdout!.on('data', (chunk: Buffer) => {
      if (chunk.toString().includes('listening')) resolve();
    });
  });
  return {
    endpoint: `http://127.0.0.1:${port}`,
    async stop() {
      process.off('exit', kill);
      child.removeAllListeners('exit');
      const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.kill('SIGTERM');
      await gone;
    },
  };
}

function makeClients(endpoint: string, tableName: string, count: number): { api: DynamoDbApi; store: DynamoDbLeaseStore }[] {
  return Array.from({ length: count }, () => {
    const api = DynamoDbApi.create({ region: TEST_REGION, endpoint, credentials: TEST_CREDENTIALS });
    return { api, store: new DynamoDbLeaseStore(api, tableName) };
  });
}

/** Runs `step` in each client's loop until the deadline (or until `step` returns false); one op per call. */
async function timedLoops(seconds: number, count: number, step: (client: number) => Promise<boolean | 'failed'>): Promise<Omit<Row, 'emulator' | 'operation' | 'clients'>> {
  const latencies: number[] = [];
  let failed = 0;
  const start = performance.now();
  const deadline = start + seconds * 1000;
  await Promise.all(
    Array.from({ length: count }, async (_, c) => {
      while (performance.now() < deadline) {
        const t0 = performance.now();
        const outcome = await step(c);
        latencies.push(performance.now() - t0);
        if (outcome === 'failed') failed++;
        if (outcome === false) {
          latencies.pop();
          break;
        }
      }
    }),
  );
  const elapsed = (performance.now() - start) / 1000;
  return { ops: latencies.length, seconds: elapsed, failed, latencies: latencies.sort((a, b) => a - b) };
}

async function benchRenew(endpoint: string, clients: number, seconds = SECONDS): Promise<Omit<Row, 'emulator' | 'operation' | 'clients'>> {
  const tableName = uniqueName('bench-renew');
  const cs = makeClients(endpoint, tableName, clients);
  await cs[0]!.store.createTableIfNotExists(TABLE);
  const leases = await Promise.all(
    cs.map(async ({ store }, c) => {
      const lease = newLease(`shardId-${String(c).padStart(12, '0')}`, `worker-${c}`);
      await store.createLeaseIfNotExists(lease);
      return lease;
    }),
  );
  // Warm up sockets.
  for (const [c, { store }] of cs.entries()) {
    const r = await store.renewLease(leases[c]!);
    if (r.ok) leases[c] = r.lease;
  }
  const result = await timedLoops(seconds, clients, async (c) => {
    const r = await cs[c]!.store.renewLease(leases[c]!);
    if (!r.ok) return 'failed';
    leases[c] = r.lease;
    return true;
  });
  await cs[0]!.api.deleteTable(tableName);
  for (const { api } of cs) api.close();
  return result;
}

async function benchTake(endpoint: string, clients: number, poolPerClient: number): Promise<Omit<Row, 'emulator' | 'operation' | 'clients'>> {
  const tableName = uniqueName('bench-take');
  const cs = makeClients(endpoint, tableName, clients);
  await cs[0]!.store.createTableIfNotExists(TABLE);
  const pools = cs.map((_, c) => Array.from({ length: poolPerClient }, (_, i) => newLease(`shardId-${c}-${String(i).padStart(9, '0')}`)));
  await mapLimit(pools.flat(), 32, (lease) => cs[0]!.store.createLeaseIfNotExists(lease));
  const next = cs.map(() => 0);
  const result = await timedLoops(SECONDS, clients, async (c) => {
    const lease = pools[c]![next[c]!++];
    if (lease === undefined) return false;
    const r = await cs[c]!.store.takeLease(lease, `worker-${c}`);
    return r.ok ? true : 'failed';
  });
  await cs[0]!.api.deleteTable(tableName);
  for (const { api } of cs) api.close();
  return result;
}

/** 8 clients race for one lease per round; one round = all 8 answered. Reports rounds/s and wins per round. */
async function benchContendedTake(endpoint: string, clients: number): Promise<Omit<Row, 'emulator' | 'operation' | 'clients'> & { badRounds: number }> {
  const tableName = uniqueName('bench-race');
  const cs = makeClients(endpoint, tableName, clients);
  await cs[0]!.store.createTableIfNotExists(TABLE);
  let lease = newLease('shardId-000000000000', 'dead-worker');
  await cs[0]!.store.createLeaseIfNotExists(lease);
  let badRounds = 0;
  const latencies: number[] = [];
  const start = performance.now();
  const deadline = start + SECONDS * 1000;
  while (performance.now() < deadline) {
    const t0 = performance.now();
    const results = await Promise.all(cs.map(({ store }, c) => store.takeLease(lease, `worker-${c}`)));
    latencies.push(performance.now() - t0);
    const winners = results.filter((r) => r.ok);
    if (winners.length !== 1) badRounds++;
    const w = winners[0];
    if (w?.ok) lease = w.lease;
  }
  const seconds = (performance.now() - start) / 1000;
  await cs[0]!.api.deleteTable(tableName);
  for (const { api } of cs) api.close();
  return { ops: latencies.length, seconds, failed: badRounds, badRounds, latencies: latencies.sort((a, b) => a - b) };
}

async function main(): Promise<void> {
  const rows: Row[] = [];
  for (const kind of EMULATORS) {
    const emulator = kind === 'dynalite' ? await startDynaliteProcess() : await startDynamoDbLocal();
    try {
      // Warm-up, not recorded: JIT on both sides (the JVM of DynamoDB Local especially), sockets.
      await benchRenew(emulator.endpoint, 8, 3);
      await benchRenew(emulator.endpoint, 1, 2);
      for (const clients of CLIENT_COUNTS) {
        const renew = await benchRenew(emulator.endpoint, clients);
        rows.push({ emulator: kind, operation: 'renew (own lease)', clients, ...renew });
        console.error(`${kind} renew x${clients}: ${(renew.ops / renew.seconds).toFixed(0)} ops/s`);
        // Pool sized from the renew rate (same request cost) with 50% headroom.
        const poolPerClient = Math.ceil(((renew.ops / renew.seconds) * SECONDS * 1.5) / clients) + 50;
        const take = await benchTake(emulator.endpoint, clients, poolPerClient);
        rows.push({ emulator: kind, operation: 'take (fresh unowned lease)', clients, ...take });
        console.error(`${kind} take x${clients}: ${(take.ops / take.seconds).toFixed(0)} ops/s`);
      }
      const race = await benchContendedTake(emulator.endpoint, 8);
      rows.push({ emulator: kind, operation: 'contended take (8 race for 1 lease; per round)', clients: 8, ...race });
      console.error(`${kind} contended take: ${(race.ops / race.seconds).toFixed(0)} rounds/s, ${race.badRounds} rounds without exactly one winner`);
    } finally {
      await emulator.stop();
    }
  }
  await stopAll();

  console.log(`\nMachine: ${cpus().length} CPUs (${cpus()[0]?.model ?? 'unknown'}), Node ${process.version}, ${SECONDS} s per cell\n`);
  console.log('| emulator | operation | clients | ops | ops/s | p50 ms | p99 ms | failed |');
  console.log('|---|---|---:|---:|---:|---:|---:|---:|');
  for (const r of rows) {
    console.log(
      `| ${r.emulator} | ${r.operation} | ${r.clients} | ${r.ops} | ${(r.ops / r.seconds).toFixed(0)} | ${percentile(r.latencies, 50).toFixed(2)} | ${percentile(r.latencies, 99).toFixed(2)} | ${r.failed} |`,
    );
  }
}

await main();
