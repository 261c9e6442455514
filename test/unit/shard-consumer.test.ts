import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Lease } from '../../src/leases/lease.js';
import type { CheckpointUpdate } from '../../src/leases/lease-store.js';
import { ShardConsumer, type RecordsSource, type ShardConsumerOptions } from '../../src/lifecycle/shard-consumer.js';
import type { ChildShardInfo, KinesisClientRecord, ProcessRecordsInput, ShardRecordProcessor } from '../../src/processor/types.js';
import type { RecordsBatch } from '../../src/retrieval/records-batch.js';
import { FakeClock } from '../../src/util/clock.js';
import { silentLogger } from '../../src/util/logger.js';

const record = (sequenceNumber: string): KinesisClientRecord => ({
  sequenceNumber,
  subSequenceNumber: 0,
  partitionKey: `pk-${sequenceNumber}`,
  data: new Uint8Array([1]),
  approximateArrivalTimestamp: new Date(0),
  aggregated: false,
});
const batch = (...seqs: string[]): RecordsBatch => ({ records: seqs.map(record), isAtShardEnd: false, byteSize: seqs.length });
const shardEnd = (...seqs: string[]): RecordsBatch => ({ ...batch(...seqs), isAtShardEnd: true });

/** A records source fed by the test: `next()` waits until a batch is pushed (or the signal aborts). */
class FedSource implements RecordsSource {
  private readonly queue: RecordsBatch[] = [];
  private waiter: (() => void) | undefined;
  started = false;
  stopped = false;

  push(...batches: RecordsBatch[]): void {
    this.queue.push(...batches);
    this.waiter?.();
  }

  start(): void {
    this.started = true;
  }

  async next(signal: AbortSignal): Promise<RecordsBatch> {
    while (this.queue.length === 0) {
      if (signal.aborted) throw signal.reason;
      await new Promise<void>((resolve) => {
        this.waiter = resolve;
        signal.addEventListener('abort', () => resolve(), { once: true });
      });
    }
    return this.queue.shift()!;
  }

  async stop(): Promise<void> {
    this.stopped = true;
  }
}

function lease(extra: Partial<Lease> = {}): Lease {
  return { leaseKey: 'shardId-1', leaseCounter: 1, checkpoint: { sequenceNumber: 'TRIM_HORIZON', subSequenceNumber: 0 }, ownerSwitchesSinceCheckpoint: 0, parentShardIds: [], childShardIds: [], ...extra };
}

/** A consumer with a recording processor; `process` decides what each processRecords call does. */
function setup(opts: { lease?: Lease; process?: (input: ProcessRecordsInput) => Promise<void> | void; policy?: ShardConsumerOptions['onProcessingError']; emptyBatches?: boolean; shardEnded?: ShardRecordProcessor['shardEnded'] } = {}) {
  const clock = new FakeClock(0);
  const source = new FedSource();
  const calls: string[] = [];
  const written: CheckpointUpdate[] = [];
  const errors: string[] = [];
  let parentsDone = true;
  const held = { value: true };
  let shardEndFailures = 0;
  const shardEndsPrepared: (ChildShardInfo[] | undefined)[] = [];
  const processor: ShardRecordProcessor = {
    initialize: (input) => void calls.push(`initialize ${input.extendedSequenceNumber.sequenceNumber}`),
    processRecords: async (input) => {
      calls.push(`processRecords ${input.records.map((r) => r.sequenceNumber).join(',') || '-'}${input.isAtShardEnd ? ' end' : ''}`);
      await opts.process?.(input);
    },
    leaseLost: () => void calls.push('leaseLost'),
    shardEnded: opts.shardEnded ?? (async ({ checkpointer }) => {
      calls.push('shardEnded');
      await checkpointer.checkpoint();
    }),
    shutdownRequested: async ({ checkpointer }) => {
      calls.push('shutdownRequested');
      await checkpointer.checkpoint();
    },
  };
  const consumer = new ShardConsumer({
    shardId: 'shardId-1',
    streamName: 'orders',
    lease: opts.lease ?? lease(),
    processor,
    onProcessingError: opts.policy ?? 'retry',
    callProcessRecordsEvenForEmptyRecordList: opts.emptyBatches ?? false,
    parentShardPollIntervalMillis: 1000,
    retryBaseMillis: 100,
    retryMaxMillis: 1000,
    clock,
    logger: silentLogger,
    hooks: {
      parentsFinished: async () => parentsDone,
      leaseHeld: () => held.value,
      writeCheckpoint: async (update) => void written.push(update),
      createSource: () => source,
      onShardEnd: async (children) => {
        if (shardEndFailures > 0) {
          shardEndFailures--;
          throw new Error('child lease not created yet');
        }
        shardEndsPrepared.push(children);
      },
      onProcessingError: (error, { phase, attempt }) => errors.push(`${phase}#${attempt}: ${error instanceof Error ? error.constructor.name : String(error)}`),
    },
  });
  return {
    clock,
    source,
    calls,
    written,
    errors,
    consumer,
    shardEndsPrepared,
    setParentsDone: (done: boolean) => (parentsDone = done),
    held,
    failShardEnd: (times: number) => (shardEndFailures = times),
    checkpoints: () => written.map((w) => w.checkpoint.sequenceNumber),
  };
}

describe('ShardConsumer (fake clock, fed source)', () => {
  it('initializes at the lease checkpoint, delivers batches one at a time in order, skips empty ones, checkpoints through the writer', async () => {
    let inFlight = 0;
    let maxInFlight = 0;
    const t = setup({
      lease: lease({ checkpoint: { sequenceNumber: '5', subSequenceNumber: 0 } }),
      process: async ({ checkpointer }) => {
        maxInFlight = Math.max(maxInFlight, ++inFlight);
        await t.clock.sleep(100);
        await checkpointer.checkpoint();
        inFlight--;
      },
    });
    const run = t.consumer.run();
    await t.clock.advance(0);
    assert.equal(t.consumer.state, 'PROCESSING');
    assert.ok(t.source.started);
    t.source.push(batch('10', '11'), batch(), batch('12'));
    await t.clock.advance(1000);
    assert.deepEqual(t.calls, ['initialize 5', 'processRecords 10,11', 'processRecords 12']);
    assert.equal(maxInFlight, 1, 'each call awaited before the next');
    assert.deepEqual(t.checkpoints(), ['11', '12']);
    assert.equal(t.consumer.delivered, 3);
    t.consumer.requestShutdown();
    await t.clock.advance(0);
    const result = await run;
    assert.deepEqual(result, { reason: 'REQUESTED', releaseLease: false });
    assert.deepEqual(t.calls.slice(3), ['shutdownRequested']);
    assert.ok(t.source.stopped);
    assert.equal(t.consumer.state, 'DONE');
  });

  it('callProcessRecordsEvenForEmptyRecordList delivers empty batches too', async () => {
    const t = setup({ emptyBatches: true });
    const run = t.consumer.run();
    t.source.push(batch(), batch('1'));
    await t.clock.advance(0);
    assert.deepEqual(t.calls, ['initialize TRIM_HORIZON', 'processRecords -', 'processRecords 1']);
    t.consumer.leaseLost();
    await run;
  });

  it('waits for its parents, polling every parentShardPollIntervalMillis; nothing is initialized before', async () => {
    const t = setup({ lease: lease({ parentShardIds: ['shardId-0'] }) });
    t.setParentsDone(false);
    const run = t.consumer.run();
    await t.clock.advance(2500);
    assert.equal(t.consumer.state, 'WAITING_ON_PARENTS');
    assert.deepEqual(t.calls, []);
    t.setParentsDone(true);
    await t.clock.advance(600);
    assert.deepEqual(t.calls, ['initialize TRIM_HORIZON']);
    t.consumer.requestShutdown();
    await t.clock.advance(0);
    assert.equal((await run).reason, 'REQUESTED');
  });

  it('lease lost while waiting on parents: stops at once, no processor call at all', async () => {
    const t = setup({ lease: lease({ parentShardIds: ['shardId-0'] }) });
    t.setParentsDone(false);
    const run = t.consumer.run();
    await t.clock.advance(100);
    t.consumer.leaseLost();
    await t.clock.advance(0);
    assert.deepEqual(await run, { reason: 'LEASE_LOST', releaseLease: false });
    assert.deepEqual(t.calls, [], 'leaseLost only goes to an initialized processor');
  });

  it('lease lost during processRecords: the signal aborts, the processor gets leaseLost and nothing else; lost outranks a requested stop', async () => {
    let signal: AbortSignal | undefined;
    const t = setup({
      process: (input) =>
        new Promise<void>((resolve) => {
          signal = input.signal;
          input.signal.addEventListener('abort', () => resolve());
        }),
    });
    const run = t.consumer.run();
    t.source.push(batch('1'));
    await t.clock.advance(0);
    t.consumer.requestShutdown();
    t.consumer.leaseLost();
    await t.clock.advance(0);
    assert.ok(signal?.aborted);
    assert.deepEqual(await run, { reason: 'LEASE_LOST', releaseLease: false });
    assert.deepEqual(t.calls, ['initialize TRIM_HORIZON', 'processRecords 1', 'leaseLost']);
    assert.deepEqual(t.written, []);
  });

  it('a lease no longer safely held (not renewed in time): the next batch is not dispatched, the processor gets leaseLost', async () => {
    const t = setup();
    const run = t.consumer.run();
    t.source.push(batch('1'));
    await t.clock.advance(0);
    t.held.value = false; // e.g. the renewals stopped answering for failover − one renewal interval
    t.source.push(batch('2'));
    await t.clock.advance(0);
    assert.deepEqual(await run, { reason: 'LEASE_LOST', releaseLease: false });
    assert.deepEqual(t.calls, ['initialize TRIM_HORIZON', 'processRecords 1', 'leaseLost']);
  });

  it('shard end: child leases first (retried with backoff), then shardEnded, which must write SHARD_END', async () => {
    const t = setup();
    t.failShardEnd(2);
    const children: ChildShardInfo[] = [{ shardId: 'shardId-2', parentShards: ['shardId-1'], hashKeyRange: { startingHashKey: '0', endingHashKey: '9' } }];
    const run = t.consumer.run();
    t.source.push({ ...shardEnd('7'), childShards: children });
    await t.clock.advance(0);
    assert.deepEqual(t.shardEndsPrepared, [], 'first two attempts failed');
    await t.clock.advance(100 + 200 + 50);
    assert.deepEqual(t.shardEndsPrepared, [children]);
    assert.deepEqual(await run, { reason: 'SHARD_END', releaseLease: false });
    assert.deepEqual(t.calls, ['initialize TRIM_HORIZON', 'processRecords 7 end', 'shardEnded']);
    assert.deepEqual(t.checkpoints(), ['SHARD_END']);
  });

  it('a processor that does not checkpoint in shardEnded is asked again (even with skip) and the error reported', async () => {
    let attempts = 0;
    const t = setup({
      policy: 'skip',
      shardEnded: async ({ checkpointer }) => {
        if (++attempts === 3) await checkpointer.checkpoint();
      },
    });
    const run = t.consumer.run();
    t.source.push(shardEnd());
    await t.clock.advance(1000);
    assert.deepEqual(await run, { reason: 'SHARD_END', releaseLease: false });
    assert.equal(attempts, 3);
    assert.deepEqual(t.errors, ['shardEnded#0: InvalidStateError', 'shardEnded#1: InvalidStateError']);
    assert.deepEqual(t.checkpoints(), ['SHARD_END']);
  });

  it('a lease already at SHARD_END: nothing is read and no processor call is made', async () => {
    const t = setup({ lease: lease({ checkpoint: { sequenceNumber: 'SHARD_END', subSequenceNumber: 0 } }) });
    assert.deepEqual(await t.consumer.run(), { reason: 'SHARD_END', releaseLease: false });
    assert.deepEqual(t.calls, []);
    assert.equal(t.source.started, false);
  });

  it("onProcessingError 'retry' redelivers the same batch with capped, jittered backoff (ceilings 100, 200, 400 ms …) until it succeeds", async () => {
    let failures = 3;
    const attemptsAt: number[] = [];
    const t = setup({
      process: () => {
        attemptsAt.push(t.clock.now());
        if (failures-- > 0) throw new Error('boom');
      },
    });
    const run = t.consumer.run();
    t.source.push(batch('1'), batch('2'));
    await t.clock.advance(2000);
    assert.equal(attemptsAt.length, 5, 'four attempts at batch 1, then batch 2');
    const gaps = attemptsAt.slice(1, 4).map((t, i) => t - attemptsAt[i]!);
    gaps.forEach((gap, i) => assert.ok(gap <= 100 * 2 ** i, `retry ${i + 1} after ${gap} ms: within the jittered ceiling ${100 * 2 ** i}`));
    assert.deepEqual(t.calls.slice(1), ['processRecords 1', 'processRecords 1', 'processRecords 1', 'processRecords 1', 'processRecords 2']);
    assert.deepEqual(t.errors, ['processRecords#0: Error', 'processRecords#1: Error', 'processRecords#2: Error']);
    t.consumer.leaseLost();
    await run;
  });

  it("onProcessingError 'skip' moves on to the next batch", async () => {
    const t = setup({ policy: 'skip', process: ({ records }) => { if (records[0]?.sequenceNumber === '1') throw new Error('bad'); } });
    const run = t.consumer.run();
    t.source.push(batch('1'), batch('2'));
    await t.clock.advance(0);
    assert.deepEqual(t.calls.slice(1), ['processRecords 1', 'processRecords 2']);
    t.consumer.leaseLost();
    await run;
  });

  it("onProcessingError 'release' stops the shard with leaseLost and asks for the lease to be released", async () => {
    const t = setup({ policy: 'release', process: () => { throw new Error('bad'); } });
    const run = t.consumer.run();
    t.source.push(batch('1'), batch('2'));
    await t.clock.advance(0);
    assert.deepEqual(await run, { reason: 'LEASE_LOST', releaseLease: true });
    assert.deepEqual(t.calls, ['initialize TRIM_HORIZON', 'processRecords 1', 'leaseLost']);
    assert.equal(t.consumer.delivered, 0);
  });

  it('a failing records source ends the run as a lost lease to be released (never an unhandled rejection)', async () => {
    const t = setup();
    t.source.next = async () => {
      throw new Error('source broke');
    };
    assert.deepEqual(await t.consumer.run(), { reason: 'LEASE_LOST', releaseLease: true });
    assert.deepEqual(t.calls, ['initialize TRIM_HORIZON', 'leaseLost']);
  });
});
