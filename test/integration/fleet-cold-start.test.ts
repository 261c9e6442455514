// A fleet that starts together spreads at once (issue 19), on a real lease table: in-process LeaseCoordinators
// (the fleet defaults the simulator runs) through DynamoDbLeaseStore on dynalite, with real timers, started at
// random instants within one second. Each must hold its fair share (±1) after its discovery round and two taker
// rounds, every lease taken exactly once, nothing stolen.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createDynamoDbClient } from '../../src/aws/clients.js';
import { DynamoDbApi } from '../../src/aws/dynamodb-api.js';
import { DynamoDbLeaseStore } from '../../src/leases/dynamodb-lease-store.js';
import { LeaseCoordinator } from '../../src/leases/lease-coordinator.js';
import { systemClock } from '../../src/util/clock.js';
import { silentLogger } from '../../src/util/logger.js';
import { newLease, profileSettings } from '../support/fleet/fleet-simulator.js';
import { seededRandom } from '../support/seeded-random.js';
import { startDynalite, stopAll, TEST_CREDENTIALS, TEST_REGION, uniqueName, type Emulator } from '../support/emulators.js';

// The defaults: taker tick 2 s. The discovery round covers workers that start within one taker interval of each
// other (a 600-ms tick would not cover a one-second spread).
const FAILOVER = 10_000;
const TAKER = FAILOVER / 5;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('fleet cold start on dynalite (in-process lease coordinators, real timers)', () => {
  let dynamo: Emulator;
  const running: LeaseCoordinator[] = [];
  before(async () => {
    dynamo = await startDynalite();
  });
  after(async () => {
    await Promise.all(running.map((c) => c.stop()));
    await stopAll();
  });

  for (const [workers, leases, seed] of [[8, 64, 1], [12, 40, 2]] as const) {
    it(`${workers} workers started within a second on ${leases} leases: fair share ±1 within two taker rounds, nothing stolen`, async () => {
      const api = new DynamoDbApi(createDynamoDbClient({ region: TEST_REGION, endpoint: dynamo.endpoint, credentials: TEST_CREDENTIALS }));
      const store = new DynamoDbLeaseStore(api, uniqueName('cold-start'));
      await store.createTableIfNotExists({ billingMode: 'PAY_PER_REQUEST', readCapacity: 1, writeCapacity: 1, activeTimeoutMillis: 60_000 });
      await Promise.all(Array.from({ length: leases }, (_, i) => store.createLeaseIfNotExists(newLease(i))));

      const random = seededRandom(seed);
      const offsets = Array.from({ length: workers }, () => Math.floor(random() * 1000)).sort((a, b) => a - b);
      const held = new Map<string, string>();
      let acquisitions = 0;
      let stolen = 0;
      const errors: string[] = [];
      const rounds = new Map<string, number>();
      const balancedAtRound = new Map<string, number>();
      const ids: string[] = [];
      const balanced = (): boolean => {
        if (held.size < leases) return false;
        const counts = ids.map((id) => [...held.values()].filter((h) => h === id).length);
        return Math.max(...counts) - Math.min(...counts) <= 1;
      };
      const t0 = Date.now();
      for (const [i, at] of offsets.entries()) {
        await sleep(Math.max(0, at - (Date.now() - t0)));
        const id = `worker-${String(i).padStart(2, '0')}`;
        ids.push(id);
        const c = new LeaseCoordinator(store, {
          workerId: id,
          renewIntervalMillis: Math.floor(FAILOVER / 3) - 25,
          maxLeasesForWorker: Infinity,
          gracefulHandoffTimeoutMillis: 30_000,
          ...profileSettings('fleet', FAILOVER),
          takerIntervalMillis: TAKER,
          failoverTimeMillis: FAILOVER,
          maxLeasesToStealAtOneTime: 8,
          gracefulHandoff: true,
          clock: systemClock,
          logger: silentLogger,
        });
        c.on('acquired', ({ lease }) => {
          acquisitions++;
          held.set(lease.leaseKey, id);
        });
        c.on('lost', ({ leaseKey }) => {
          if (held.get(leaseKey) === id) held.delete(leaseKey);
        });
        c.on('handoffStarted', () => stolen++);
        // What a processor does when asked to hand a shard over: checkpoint, stop, then let go.
        c.on('handoffRequested', ({ leaseKey }) => void sleep(100).then(() => c.finishHandoff(leaseKey)));
        // A failed lease task is retried next round (as in the Scheduler); without a listener the emitter would throw.
        c.on('error', ({ task, error }) => errors.push(`${id} ${task}: ${String(error)}`));
        c.on('takeRound', (round) => {
          stolen += round.stolen.length;
          rounds.set(id, (rounds.get(id) ?? 0) + 1);
        });
        running.push(c);
        void c.runTaker().catch(() => undefined).then(() => c.start());
      }
      const atLastStart = new Map(ids.map((id) => [id, rounds.get(id) ?? 0]));
      // Poll the in-memory view (no extra table reads); note each worker's round count at the first balanced moment.
      const deadline = Date.now() + 30_000;
      while (!balanced() && Date.now() < deadline) await sleep(20);
      const tookMillis = Date.now() - t0;
      for (const id of ids) balancedAtRound.set(id, (rounds.get(id) ?? 0) - atLastStart.get(id)!);
      const counts = ids.map((id) => [...held.values()].filter((h) => h === id).length);
      console.log(`${workers} × ${leases}: balanced ${tookMillis} ms after the first start; counts ${counts.join(',')}; rounds since the last start ${[...balancedAtRound.values()].join(',')}; acquisitions ${acquisitions}; steals ${stolen}; lease task errors ${errors.length} ${errors.slice(0, 3).join(' | ')}`);
      assert.ok(balanced(), `balanced within 30 s (counts ${counts.join(',')}, ${held.size}/${leases} held)`);
      assert.equal(acquisitions, leases, 'every lease taken exactly once');
      assert.equal(stolen, 0, 'no steals');
      // Rounds since the last worker started: its first is the discovery round (one lease, to be seen); the fair
      // shares come in the next two. Rounds are counted by the workers themselves, so a loaded machine's slow
      // requests do not fail the test; the time is reported.
      const late = ids.filter((id) => (balancedAtRound.get(id) ?? 0) > 3);
      assert.deepEqual(late, [], `workers that needed more than the discovery round and two taker rounds (${[...balancedAtRound.values()].join(',')})`);
      await Promise.all(running.splice(0).map((c) => c.stop()));
      api.close();
    });
  }
});
