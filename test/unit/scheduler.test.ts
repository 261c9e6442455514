import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Scheduler } from '../../src/coordinator/scheduler.js';
import type { SchedulerParts } from '../../src/coordinator/scheduler-parts.js';
import type { SchedulerOptions } from '../../src/config/options.js';
import { NetworkError, ShutdownError } from '../../src/errors.js';
import { InMemoryLeaseStore } from '../../src/leases/in-memory-lease-store.js';
import type { ProcessRecordsInput, ShardRecordProcessor, ShutdownRequestedInput } from '../../src/processor/types.js';
import { FakeClock } from '../../src/util/clock.js';
import { silentLogger, type Logger } from '../../src/util/logger.js';
import { FakeKinesis } from '../support/fake-kinesis.js';

const FAILOVER = 3000;
const TAKER = 500;
const HANDOFF_TIMEOUT = 2000;

/** What processors of one worker saw, as `shard:call` lines, and the hooks a test uses to steer them. */
interface Behaviour {
  processRecords?(input: ProcessRecordsInput): Promise<void> | void;
  shutdownRequested?(input: ShutdownRequestedInput): Promise<void> | void;
}

class Recorder {
  readonly calls: string[] = [];
  readonly records = new Map<string, string[]>();
  behaviour: Behaviour = {};

  factory = ({ shardId }: { shardId: string }): ShardRecordProcessor => ({
    initialize: () => void this.calls.push(`${shardId}:initialize`),
    processRecords: async (input) => {
      this.calls.push(`${shardId}:processRecords`);
      await this.behaviour.processRecords?.(input);
      const seen = this.records.get(shardId) ?? [];
      seen.push(...input.records.map((r) => r.partitionKey));
      this.records.set(shardId, seen);
      if (input.records.length > 0) await input.checkpointer.checkpoint();
    },
    leaseLost: () => void this.calls.push(`${shardId}:leaseLost`),
    shardEnded: async ({ checkpointer }) => {
      this.calls.push(`${shardId}:shardEnded`);
      await checkpointer.checkpoint();
    },
    shutdownRequested: async (input) => {
      this.calls.push(`${shardId}:shutdownRequested`);
      await this.behaviour.shutdownRequested?.(input);
    },
  });

  count(call: string): number {
    return this.calls.filter((c) => c.endsWith(`:${call}`)).length;
  }
}

/** Workers over one in-memory lease table and one fake stream, all on one fake clock: no emulator, no real sleep. */
async function fleet(shards = 4) {
  const clock = new FakeClock(1_000_000);
  const store = new InMemoryLeaseStore();
  const kinesis = new FakeKinesis('orders', shards);
  /** `hang`: from now on every lease-table and Kinesis call never answers (a black-holed network). */
  const faults = { hang: false };
  const hangable = <T extends object>(target: T): T =>
    new Proxy(target, {
      get(t, prop, receiver) {
        const value = Reflect.get(t, prop, receiver) as unknown;
        if (typeof value !== 'function') return value;
        return (...args: unknown[]) => (faults.hang ? new Promise(() => undefined) : (value as (...a: unknown[]) => unknown).apply(t, args));
      },
    });
  const parts: SchedulerParts = {
    kinesis: () => ({ value: { api: hangable(kinesis), client: undefined }, close: () => undefined }),
    leaseStore: () => ({ value: hangable(store), close: () => undefined }),
  };
  const workers: Scheduler[] = [];
  const worker = (workerId: string, extra: Partial<SchedulerOptions> = {}) => {
    const recorder = new Recorder();
    const events: string[] = [];
    const scheduler = new Scheduler(
      {
        applicationName: 'unit',
        streamName: 'orders',
        workerId,
        processorFactory: recorder.factory,
        initialPosition: 'TRIM_HORIZON',
        clock,
        logger: process.env.DEBUG_LOG ? debugLogger(workerId, clock) : silentLogger,
        retrieval: { mode: 'polling', idleTimeBetweenReadsMillis: 200 },
        ...extra,
        leases: { failoverTimeMillis: FAILOVER, takerIntervalMillis: TAKER, gracefulHandoffTimeoutMillis: HANDOFF_TIMEOUT, maxLeasesToStealAtOneTime: 4, ...extra.leases },
      },
      parts,
    );
    for (const name of ['leaseAcquired', 'leaseStolen', 'leaseLost', 'handoffRequested', 'handoffCompleted', 'shardConsumerStopped', 'shutdown'] as const) {
      scheduler.on(name, (e: object) => events.push(`${name} ${JSON.stringify(e)}`));
    }
    workers.push(scheduler);
    return { scheduler, recorder, events };
  };
  const owners = async (): Promise<Record<string, string | undefined>> => {
    const { leases } = await store.listLeases();
    return Object.fromEntries(leases.map((l) => [l.leaseKey, l.leaseOwner]));
  };
  /** Advances fake time in steps until `check` holds (at most `limit` ms); returns the time it took. */
  const until = async (check: () => boolean | Promise<boolean>, limit: number, what: string, step = 50): Promise<number> => {
    const begin = clock.now();
    while (!(await check())) {
      if (clock.now() - begin > limit) assert.fail(`${what}: not within ${limit} ms of fake time`);
      await clock.advance(step);
    }
    return clock.now() - begin;
  };
  const stopAll = async (): Promise<void> => {
    await Promise.all([...workers.map((w) => w.shutdown()), clock.advance(FAILOVER * 2)]);
  };
  return { clock, store, kinesis, worker, owners, until, stopAll, faults };
}

/** `DEBUG_LOG=1`: the workers' logs on the fake time line, for when a policy test fails. */
function debugLogger(name: string, clock: FakeClock, bindings: object = {}): Logger {
  const log = (level: string) => (fields: object, msg?: string) => console.log(clock.now() - 1_000_000, name, level, msg, JSON.stringify({ ...bindings, ...fields }));
  return { debug: log('debug'), info: log('info'), warn: log('warn'), error: log('error'), child: (b: object) => debugLogger(name, clock, { ...bindings, ...b }) };
}

const count = (events: string[], name: string): number => events.filter((e) => e.startsWith(`${name} `)).length;

describe('Scheduler policies (in-memory lease table, fake Kinesis, fake clock)', () => {
  it('starts a consumer per lease as leases come and stops it as they go (steal, release at shutdown, retake)', async () => {
    const f = await fleet(4);
    for (const id of f.kinesis.shardIds) f.kinesis.put(id, `${id}-a`, `${id}-b`);
    const immediate = { leases: { gracefulHandoff: false } }; // steals take at once (the handoff has its own test)
    const a = f.worker('a', immediate);
    await a.scheduler.start();
    await f.until(() => a.recorder.count('initialize') === 4, 1000, 'a starts four consumers');
    assert.deepEqual(a.scheduler.heldLeaseKeys.sort(), f.kinesis.shardIds);
    await f.until(() => [...a.recorder.records.values()].flat().length === 8, 2000, 'a delivers every record');

    const b = f.worker('b', immediate);
    await b.scheduler.start(); // its first taker round steals half: 2 of 4
    await f.until(() => b.recorder.count('initialize') === 2, 1000, 'b starts consumers for what it stole');
    assert.equal(count(b.events, 'leaseStolen'), 2);
    assert.ok(b.events.filter((e) => e.startsWith('leaseStolen')).every((e) => e.includes('"from":"a"')), 'the taker names the previous owner');
    await f.until(() => a.recorder.count('leaseLost') === 2, FAILOVER, 'a finds out at its next renewal and stops those consumers');
    assert.equal(a.scheduler.heldLeaseKeys.length, 2);
    assert.deepEqual(Object.values(await f.owners()).sort(), ['a', 'a', 'b', 'b']);
    assert.equal(count(a.events, 'leaseLost'), 2);
    assert.ok(a.events.filter((e) => e.startsWith('leaseLost')).every((e) => e.includes('renewal-conflict')));

    // b resumes after a's checkpoints: nothing delivered twice.
    f.kinesis.put(b.scheduler.heldLeaseKeys[0]!, 'later');
    await f.until(() => [...a.recorder.records.values(), ...b.recorder.records.values()].flat().includes('later'), 2000, 'a new record is delivered');
    assert.equal([...b.recorder.records.values()].flat().length, 1, 'b only got the new record');

    await Promise.all([b.scheduler.shutdown(), f.clock.advance(0)]);
    assert.equal(count(b.events, 'shutdown'), 1);
    assert.deepEqual(b.scheduler.heldLeaseKeys, []);
    // Leases released moments ago are left for two taker ticks to workers just starting (the fleet's fresh-release
    // grace, lease-taker-decision.ts), then a takes them back.
    await f.until(() => a.scheduler.heldLeaseKeys.length === 4, 3 * TAKER + 100, 'a retakes the released leases within three taker rounds');
    await f.stopAll();
  });

  it("onProcessingError 'release': this worker retakes the shard after 1 s, 2 s, 4 s … of consecutive failures; a delivered batch resets it", async () => {
    const f = await fleet(2);
    const [bad, good] = f.kinesis.shardIds as [string, string];
    f.kinesis.put(bad, 'poison');
    f.kinesis.put(good, 'fine');
    const w = f.worker('w', { onProcessingError: 'release' });
    let failing = true;
    w.recorder.behaviour.processRecords = ({ shardId }) => {
      if (failing && shardId === bad) throw new Error('cannot handle this record');
    };
    const acquiredAt: number[] = [];
    w.scheduler.on('leaseAcquired', ({ shardId }) => shardId === bad && acquiredAt.push(f.clock.now()));
    await w.scheduler.start();
    await f.until(() => acquiredAt.length === 6, 40_000, 'five releases and retakes', 100);
    const gaps = acquiredAt.slice(1).map((t, i) => t - acquiredAt[i]!);
    for (const [i, backoff] of [1000, 2000, 4000, 8000, 16_000].entries()) {
      assert.ok(gaps[i]! >= backoff && gaps[i]! <= backoff + TAKER + 400, `release ${i + 1}: retaken after ${gaps[i]} ms, backoff ${backoff}`);
    }
    const stops = (): number => w.events.filter((e) => e.startsWith('shardConsumerStopped') && e.includes(bad)).length;
    assert.ok(stops() >= 5 && w.recorder.count('leaseLost') === stops(), 'every give-up stops the consumer and calls leaseLost');
    assert.deepEqual(w.recorder.records.get(good), ['fine'], 'the other shard goes on');

    failing = false; // the next run delivers: the count starts over
    await f.until(() => (w.recorder.records.get(bad) ?? []).includes('poison'), 40_000, 'delivered at last', 100);
    failing = true;
    f.kinesis.put(bad, 'poison-2');
    const before = acquiredAt.length;
    const failedAgain = f.clock.now();
    await f.until(() => acquiredAt.length === before + 1, 5000, 'released again after the new failure', 100);
    const gap = acquiredAt[before]! - failedAgain;
    assert.ok(gap <= 1000 + TAKER + 400, `after a delivered batch the backoff starts at 1 s again (retaken after ${gap} ms)`);
    await f.stopAll();
  });

  it('graceful handoff: the victim’s processor checkpoints in shutdownRequested, then the lease moves and resumes there', async () => {
    const f = await fleet(2);
    for (const id of f.kinesis.shardIds) f.kinesis.put(id, `${id}-1`, `${id}-2`);
    const a = f.worker('a', { leases: { gracefulHandoff: true } });
    a.recorder.behaviour.processRecords = () => undefined;
    a.recorder.behaviour.shutdownRequested = ({ checkpointer }) => checkpointer.checkpoint();
    await a.scheduler.start();
    await f.until(() => [...a.recorder.records.values()].flat().length === 4, 2000, 'a delivers every record');
    const b = f.worker('b', { leases: { gracefulHandoff: true, maxLeasesToStealAtOneTime: 1 } });
    await b.scheduler.start();
    await f.until(() => count(a.events, 'handoffCompleted') === 1, FAILOVER, 'a hands one lease over after shutdownRequested');
    assert.equal(a.recorder.count('shutdownRequested'), 1);
    assert.ok(a.events.some((e) => e.startsWith('handoffCompleted') && e.includes('"written":true')));
    assert.equal(a.recorder.count('leaseLost'), 0, 'a handed over; nothing was lost');
    await f.until(() => b.recorder.count('initialize') === 1, FAILOVER, 'b starts once the handoff is finished');
    assert.deepEqual(Object.values(await f.owners()).sort(), ['a', 'b']);
    const moved = b.scheduler.heldLeaseKeys[0]!;
    f.kinesis.put(moved, 'after-handoff');
    await f.until(() => b.recorder.records.get(moved)?.length === 1, 2000, 'b delivers the new record');
    assert.deepEqual(b.recorder.records.get(moved), ['after-handoff'], 'b resumed after a’s checkpoint: nothing twice');
    await f.stopAll();
  });

  it('graceful handoff: a processor still busy after gracefulHandoffTimeoutMillis is stopped as on lease loss and the lease moves', async () => {
    const f = await fleet(2);
    for (const id of f.kinesis.shardIds) f.kinesis.put(id, 'slow');
    const a = f.worker('a', { leases: { gracefulHandoff: true } });
    // A cooperative but slow processor: it returns only when its signal is aborted (lease loss).
    a.recorder.behaviour.processRecords = ({ signal }) => new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve()));
    await a.scheduler.start();
    await f.until(() => a.recorder.count('processRecords') === 2, 1000, 'a is busy with both batches');
    const b = f.worker('b', { leases: { gracefulHandoff: true } });
    await b.scheduler.start();
    await f.until(() => count(a.events, 'handoffRequested') === 1, FAILOVER, 'a learns of the handoff at its next renewal');
    const requestedAt = f.clock.now();
    await f.until(() => count(a.events, 'handoffCompleted') === 1, HANDOFF_TIMEOUT + 500, 'cut off after the handoff timeout');
    const waited = f.clock.now() - requestedAt;
    assert.ok(waited >= HANDOFF_TIMEOUT, `not before the timeout (${waited} ms)`);
    assert.equal(a.recorder.count('leaseLost'), 1, 'the processor was stopped as on lease loss');
    assert.equal(a.recorder.count('shutdownRequested'), 0, 'it never got to shutdownRequested');
    await f.until(() => b.recorder.count('initialize') === 1, FAILOVER, 'b starts right after the handoff');
    assert.ok(f.clock.now() - requestedAt < HANDOFF_TIMEOUT + FAILOVER, 'well before the lease would have expired');
    // The cut-off call returned and checkpointed: a was still the checkpoint owner until it finished the handoff.
    const moved = b.scheduler.heldLeaseKeys[0]!;
    assert.deepEqual(a.recorder.records.get(moved), ['slow']);
    f.kinesis.put(moved, 'next');
    await f.until(() => b.recorder.records.get(moved)?.length === 1, 2000, 'b delivers the next record');
    assert.deepEqual(b.recorder.records.get(moved), ['next'], 'b resumed after a’s checkpoint');
    await f.stopAll();
  });

  it('shutdown races: shutdown() during a graceful shutdown cuts it short; both resolve once; one shutdown event', async () => {
    const f = await fleet(2);
    for (const id of f.kinesis.shardIds) f.kinesis.put(id, id);
    const w = f.worker('w');
    w.recorder.behaviour.shutdownRequested = () => new Promise(() => undefined); // never returns
    await w.scheduler.start();
    await f.until(() => [...w.recorder.records.values()].flat().length === 2, 2000, 'records delivered');
    let graceful: boolean | undefined;
    const gracefulDone = w.scheduler.startGracefulShutdown(60_000).then((finished) => (graceful = finished));
    await f.clock.advance(1000);
    assert.equal(graceful, undefined, 'still waiting for shutdownRequested');
    let hardDone = false;
    const hard = w.scheduler.shutdown().then(() => (hardDone = true));
    const second = w.scheduler.shutdown();
    await f.until(() => hardDone && graceful !== undefined, FAILOVER + 500, 'both shutdowns resolve (at most the failover wait)');
    await second;
    await hard;
    await gracefulDone;
    assert.equal(graceful, false, 'the graceful shutdown did not finish its shards');
    assert.deepEqual(w.events.filter((e) => e.startsWith('shutdown ')), ['shutdown {"graceful":false}']);
    assert.deepEqual(Object.values(await f.owners()), [undefined, undefined], 'leases released');
    assert.equal(await w.scheduler.startGracefulShutdown(), true, 'a later call is a no-op');
  });

  it('health ages are measured on the injected clock: renewals that fail show as time since the last success', async () => {
    const f = await fleet(1);
    const w = f.worker('w');
    await w.scheduler.start();
    const t0 = f.clock.now(); // the lease was just taken: a write that went through
    await f.clock.advance(400);
    assert.equal(w.scheduler.observability.healthReport().checks.leaseRenewal.lastSuccessAgoMillis, 400);
    // One renewal round fails, its immediate retries too (two such rounds would cross failover − one renewal
    // interval: the worker stands down).
    for (let i = 0; i < 3; i++) f.store.failNext('renewLease', new NetworkError('unreachable'));
    await f.clock.advance(1900 - 400);
    const health = w.scheduler.observability.healthReport();
    assert.equal(health.checks.leaseRenewal.lastSuccessAgoMillis, f.clock.now() - t0);
    assert.equal(health.checks.leaseRenewal.heldLeases, 1);
    assert.equal(health.checks.leaseRenewal.ok, true, 'still within failoverTimeMillis');
    await f.clock.advance(1000); // the second round renews again
    assert.ok(w.scheduler.observability.healthReport().checks.leaseRenewal.lastSuccessAgoMillis! < 1000);
    await f.stopAll();
  });

  it('a processor call that never returns delays shutdown() by at most the failover time; its later checkpoint is fenced', async () => {
    const f = await fleet(1);
    const [s0] = f.kinesis.shardIds as [string];
    f.kinesis.put(s0, 'stuck');
    const w = f.worker('w');
    let release: (() => void) | undefined;
    let checkpointError: unknown;
    w.recorder.behaviour.processRecords = async ({ checkpointer }) => {
      await new Promise<void>((resolve) => (release = resolve));
      await checkpointer.checkpoint().catch((error: unknown) => (checkpointError = error));
    };
    await w.scheduler.start();
    await f.until(() => release !== undefined, 1000, 'the processor is called');
    let done = false;
    const stopping = w.scheduler.shutdown().then(() => (done = true));
    const waited = await f.until(() => done, FAILOVER + 500, 'shutdown resolves');
    await stopping;
    assert.ok(waited >= FAILOVER - 100, `waited ${waited} ms for the hung call`);
    assert.equal((await f.store.getLease(s0))!.leaseOwner, undefined, 'released anyway');
    release!();
    await f.clock.advance(0);
    assert.ok(checkpointError instanceof ShutdownError, 'the late checkpoint fails: the lease is gone');
  });

  it('listeners that throw or reject on every event never crash the worker, never leave a lease without its consumer, never block shutdown', async () => {
    const f = await fleet(4);
    const logged: string[] = [];
    const capture: Logger = {
      debug: () => undefined, info: () => undefined, warn: () => undefined,
      error: (fields: object, msg?: string) => void logged.push(`${(fields as { event?: string }).event ?? '?'} ${msg ?? ''}`),
      child: () => capture,
    };
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown): void => void unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      const a = f.worker('a', { logger: capture, leases: { gracefulHandoff: true } });
      const b = f.worker('b', { leases: { gracefulHandoff: true } });
      const names = ['initialized', 'leaseAcquired', 'leaseStolen', 'leaseLost', 'handoffStarted', 'handoffRequested', 'handoffCompleted', 'shardConsumerStopped', 'shardEnded', 'processingError', 'taskError', 'shutdown'] as const;
      names.forEach((name, i) => {
        // Alternate sync throws and async rejections; both must be contained.
        // eslint-disable-next-line @typescript-eslint/no-misused-promises -- an async listener that rejects is the point
        a.scheduler.on(name, i % 2 === 0 ? () => { throw new Error(`listener of ${name}`); } : async () => { throw new Error(`async listener of ${name}`); });
      });
      for (const s of f.kinesis.shardIds) f.kinesis.put(s, `${s}-1`);
      await a.scheduler.start();
      await f.until(() => a.recorder.records.size === 4, 2000, 'a delivers every shard although every listener throws');
      assert.deepEqual(a.scheduler.heldLeaseKeys.sort(), [...f.kinesis.shardIds].sort(), 'every held lease has its consumer');
      await b.scheduler.start();
      await f.until(async () => Object.values(await f.owners()).filter((o) => o === 'b').length === 2, 5000, 'b takes its share through handoffs');
      await f.until(() => a.scheduler.heldLeaseKeys.length === 2, 2000, 'a stopped the consumers of the leases it handed over');
      for (const s of f.kinesis.shardIds) f.kinesis.put(s, `${s}-2`);
      await f.until(() => [...a.recorder.records.values(), ...b.recorder.records.values()].flat().filter((k) => k.endsWith('-2')).length === 4, 3000, 'records after the move are delivered');
      let done = false;
      const stopping = a.scheduler.shutdown().then(() => (done = true));
      await f.until(() => done, 1000, 'shutdown resolves despite throwing shutdown listeners');
      await stopping;
      assert.ok(Object.values(await f.owners()).every((o) => o !== 'a'), 'a released its leases at shutdown');
      await f.until(async () => Object.values(await f.owners()).every((o) => o === 'b'), 3000, 'b takes the released leases');
      await new Promise((resolve) => setImmediate(resolve));
      assert.deepEqual(unhandled, [], 'no unhandled rejection');
      for (const name of ['initialized', 'leaseAcquired', 'handoffRequested', 'handoffCompleted', 'shardConsumerStopped', 'leaseLost', 'shutdown']) {
        assert.ok(logged.some((l) => l.startsWith(`${name} `)), `the failing ${name} listener was logged (${logged.join('; ')})`);
      }
    } finally {
      process.off('unhandledRejection', onUnhandled);
      await f.stopAll();
    }
  });

  it('shutdown() and startGracefulShutdown() finish within their documented bounds with every AWS call hung (processor hung or not)', async () => {
    const RENEW = FAILOVER / 3 - 25;
    // Processor hung: shutdown waits the failover time for it, while the renewals (hung) give the leases up.
    // Processor fine: the lease releases themselves hang.
    for (const [graceful, processorHangs] of [[false, true], [true, true], [false, false], [true, false]] as const) {
      const f = await fleet(2);
      for (const s of f.kinesis.shardIds) f.kinesis.put(s, `${s}-1`);
      const w = f.worker('w');
      let calls = 0;
      w.recorder.behaviour.processRecords = () => {
        calls++;
        return processorHangs ? new Promise<void>(() => undefined) : undefined;
      };
      await w.scheduler.start();
      await f.until(() => calls >= 2, 2000, 'both processors are called');
      f.faults.hang = true; // DynamoDB and Kinesis black-holed
      let done = false;
      const GRACE = 1000;
      const stopping = (graceful ? w.scheduler.startGracefulShutdown(GRACE) : w.scheduler.shutdown()).then(() => (done = true));
      const bound = (graceful ? GRACE + RENEW : 0) + FAILOVER + 5 * RENEW;
      const waited = await f.until(() => done, bound + 100, `${graceful ? 'startGracefulShutdown' : 'shutdown'} resolves within ${bound} ms`);
      await stopping;
      assert.ok(waited <= bound + 50, `waited ${waited} ms (bound ${bound})`);
    }
  });
});
