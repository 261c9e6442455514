// Issue 15 proofs (f) and (g) on the emulators (kinesalite + dynalite, each behind the fault proxy):
// (f) shutdown() and startGracefulShutdown() with every Kinesis and DynamoDB call black-holed finish within their
//     documented bounds (failoverTimeMillis + 5 renewal intervals; graceful: + its timeout + one interval);
// (g) listeners that throw or reject on every event: records are still delivered, the lease moves by graceful
//     handoff, shutdown releases the leases, no unhandled rejection, every failure logged.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Scheduler, type SchedulerEvents } from '../../src/index.js';
import { createDynamoDbClient } from '../../src/aws/clients.js';
import { DynamoDbApi } from '../../src/aws/dynamodb-api.js';
import { DynamoDbLeaseStore } from '../../src/leases/dynamodb-lease-store.js';
import type { Logger } from '../../src/util/logger.js';
import { startDynalite, startKinesalite, stopAll, TEST_CREDENTIALS, TEST_REGION, uniqueName, type Emulator } from '../support/emulators.js';
import { startFaultProxy, type FaultProxy } from '../support/fault-proxy.js';
import { clientsFor, createStream, DeliveryLog, kinesisAdmin, produce, waitFor } from '../support/scenario.js';

const FAILOVER = 1500;
const RENEW = FAILOVER / 3 - 25;

/** A logger that keeps error lines (listener failures are logged at error). */
function capturingLogger(lines: string[]): Logger {
  const logger: Logger = {
    debug: () => undefined,
    info: () => undefined,
    warn: () => undefined,
    error: (fields, msg) => void lines.push(`${String((fields as { event?: string }).event)} ${msg ?? ''}`),
    child: () => logger,
  };
  return logger;
}

describe('shutdown bounds and listener failures (kinesalite + dynalite behind the fault proxy)', () => {
  let kinesis: Emulator;
  let dynamo: Emulator;
  let kProxy: FaultProxy;
  let dProxy: FaultProxy;
  before(async () => {
    [kinesis, dynamo] = await Promise.all([startKinesalite(), startDynalite()]);
    [kProxy, dProxy] = await Promise.all([startFaultProxy(kinesis.endpoint, { service: 'kinesis' }), startFaultProxy(dynamo.endpoint, { service: 'dynamodb' })]);
  });
  after(async () => {
    kProxy.release();
    dProxy.release();
    await Promise.all([kProxy.close(), dProxy.close()]);
    await stopAll();
  });

  for (const graceful of [false, true]) {
    it(`(f) ${graceful ? 'startGracefulShutdown()' : 'shutdown()'} with every Kinesis and DynamoDB call black-holed finishes within its bound`, async () => {
      const admin = kinesisAdmin(kinesis.endpoint);
      const streamName = await createStream(admin, 2, 'hung-shutdown');
      const log = new DeliveryLog();
      const worker = new Scheduler({
        applicationName: uniqueName('hung-shutdown'),
        streamName,
        workerId: 'w',
        initialPosition: 'TRIM_HORIZON',
        ...clientsFor(kProxy.url, dProxy.url),
        processorFactory: log.factory('w'),
        leases: { failoverTimeMillis: FAILOVER },
        retrieval: { mode: 'polling', idleTimeBetweenReadsMillis: 100 },
        logger: false,
      });
      try {
        const produced = await produce(admin, streamName, 40, 0, 'before');
        await worker.start();
        await waitFor(() => produced.every((p) => log.uniqueKeys().has(p.key)), 15_000, 'records delivered before the fault');
        kProxy.blackHole();
        dProxy.blackHole();
        const GRACE = 1000;
        const started = Date.now();
        const finished = graceful ? await worker.startGracefulShutdown(GRACE) : await worker.shutdown();
        const took = Date.now() - started;
        const bound = (graceful ? GRACE + RENEW : 0) + FAILOVER + 5 * RENEW;
        console.log(`${graceful ? 'startGracefulShutdown' : 'shutdown'} with everything black-holed: ${took} ms (bound ${bound} ms)`);
        // A few hundred ms of slack for timers on a loaded 2-core machine; the bound itself is the documented one.
        assert.ok(took <= bound + 500, `${graceful ? 'startGracefulShutdown' : 'shutdown'} took ${took} ms (bound ${bound} ms)`);
        if (graceful) assert.equal(typeof finished, 'boolean');
        // The black hole really held the lease table (read around the proxy): the releases have not arrived.
        const store = new DynamoDbLeaseStore(new DynamoDbApi(createDynamoDbClient({ region: TEST_REGION, endpoint: dynamo.endpoint, credentials: TEST_CREDENTIALS })), worker.options.leases.tableName);
        assert.deepEqual((await store.listLeases()).leases.map((l) => l.leaseOwner), ['w', 'w']);
      } finally {
        kProxy.release();
        dProxy.release();
        await worker.shutdown();
      }
    });
  }

  it('(g) listeners throwing or rejecting on every event: delivery, handoff and shutdown go on, nothing unhandled', async () => {
    const admin = kinesisAdmin(kinesis.endpoint);
    const streamName = await createStream(admin, 2, 'throwing-listeners');
    const app = uniqueName('throwing-listeners');
    const log = new DeliveryLog();
    const errors: string[] = [];
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown): void => void unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    const make = (workerId: string, logger: Logger | false) =>
      new Scheduler({
        applicationName: app,
        streamName,
        workerId,
        initialPosition: 'TRIM_HORIZON',
        ...clientsFor(kinesis.endpoint, dynamo.endpoint),
        processorFactory: log.factory(workerId),
        leases: { failoverTimeMillis: FAILOVER },
        retrieval: { mode: 'polling', idleTimeBetweenReadsMillis: 100 },
        logger,
      });
    const a = make('a', capturingLogger(errors));
    const events: Array<keyof SchedulerEvents> = [
      'initialized', 'leaseAcquired', 'leaseLost', 'leaseStolen', 'handoffRequested', 'handoffCompleted', 'shardConsumerStopped', 'shutdown',
    ];
    events.forEach((name, i) => {
      // Half throw, half return a rejected promise: both must be contained.
      if (i % 2 === 0) a.on(name, () => { throw new Error(`listener of ${name} throws`); });
      else a.on(name, () => Promise.reject(new Error(`listener of ${name} rejects`)) as unknown as void);
    });
    const b = make('b', false);
    const store = new DynamoDbLeaseStore(new DynamoDbApi(createDynamoDbClient({ region: TEST_REGION, endpoint: dynamo.endpoint, credentials: TEST_CREDENTIALS })), app);
    const owners = async (): Promise<string[]> => (await store.listLeases()).leases.map((l) => l.leaseOwner ?? '-');
    try {
      const produced = await produce(admin, streamName, 40, 0, 'first');
      await a.start();
      await waitFor(() => produced.every((p) => log.uniqueKeys().has(p.key)), 15_000, 'a delivers despite its throwing listeners');
      await b.start();
      await waitFor(async () => (await owners()).filter((o) => o === 'b').length === 1, 15_000, 'b takes one lease from a (graceful handoff)');
      produced.push(...(await produce(admin, streamName, 40, 40, 'second')));
      await waitFor(() => produced.every((p) => log.uniqueKeys().has(p.key)), 15_000, 'records after the move are delivered');
      await a.shutdown();
      assert.ok((await owners()).every((o) => o !== 'a'), 'a released its leases at shutdown');
      await waitFor(async () => (await owners()).every((o) => o === 'b'), 10_000, 'b takes the released lease');
      await new Promise((resolve) => setImmediate(resolve));
      assert.deepEqual(unhandled, [], 'no unhandled rejection');
      for (const name of ['initialized', 'leaseAcquired', 'handoffRequested', 'handoffCompleted', 'shardConsumerStopped', 'shutdown']) {
        assert.ok(errors.some((l) => l.startsWith(`${name} `)), `the failing ${name} listener was logged (${errors.join('; ')})`);
      }
    } finally {
      process.off('unhandledRejection', onUnhandled);
      await Promise.all([a.shutdown(), b.shutdown()]);
    }
  });
});
