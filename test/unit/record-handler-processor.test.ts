import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ShardCheckpointer } from '../../src/checkpoint/shard-checkpointer.js';
import { ExtendedSequenceNumber as ESN } from '../../src/checkpoint/extended-sequence-number.js';
import { resolveProcessing } from '../../src/config/resolve-processing.js';
import type { CheckpointUpdate } from '../../src/leases/lease-store.js';
import { createProcessingFactory } from '../../src/processing/processor-factory.js';
import type { ProcessingEventSink } from '../../src/processing/processing-events.js';
import type { RecordHandlerProcessor } from '../../src/processing/record-handler-processor.js';
import type { ProcessingOptions } from '../../src/config/options.js';
import type { DeadLetterInfo, RecordContext } from '../../src/processor/record-handler-types.js';
import type { KinesisClientRecord, ProcessRecordsInput } from '../../src/processor/types.js';
import { FakeClock, flushMicrotasks } from '../../src/util/clock.js';
import { silentLogger } from '../../src/util/logger.js';

const SHARD = 'shardId-000000000000';

const rec = (seq: number | string, key: string, sub = 0, arrival = new Date(0)): KinesisClientRecord => ({
  sequenceNumber: String(seq),
  subSequenceNumber: sub,
  partitionKey: key,
  data: new Uint8Array([1, 2, 3]),
  approximateArrivalTimestamp: arrival,
  aggregated: sub > 0,
});

interface Call {
  record: KinesisClientRecord;
  context: RecordContext;
  resolve: () => void;
  reject: (error: unknown) => void;
}

function setup(processing: ProcessingOptions, opts: { wallClock?: () => number; handoffTimeout?: number } = {}) {
  const clock = new FakeClock();
  const writes: CheckpointUpdate[] = [];
  const checkpointer = new ShardCheckpointer(SHARD, async (u) => {
    writes.push(u);
  }, ESN.TRIM_HORIZON);
  const calls: Call[] = [];
  const running = new Set<string>();
  let maxRunning = 0;
  const log: string[] = [];
  const events: Record<string, unknown[]> = { retried: [], deadLettered: [], expired: [], checkpointed: [] };
  const sink: ProcessingEventSink = {
    recordRetried: (e) => events.retried!.push(e),
    recordDeadLettered: (e) => events.deadLettered!.push(e),
    recordExpired: (e) => events.expired!.push(e),
    checkpointed: (e) => events.checkpointed!.push(e),
  };
  const factory = createProcessingFactory({
    processorFactory: undefined,
    recordHandler: (record, context) =>
      new Promise<void>((resolve, reject) => {
        const id = `${record.sequenceNumber}/${record.subSequenceNumber}`;
        running.add(id);
        maxRunning = Math.max(maxRunning, running.size);
        log.push(`start ${record.partitionKey} ${id}`);
        calls.push({
          record,
          context,
          resolve: () => {
            running.delete(id);
            log.push(`end ${record.partitionKey} ${id}`);
            resolve();
          },
          reject: (e) => {
            running.delete(id);
            reject(e instanceof Error ? e : new Error(String(e)));
          },
        });
      }),
    processing: resolveProcessing({ recordHandler: () => undefined, processing }),
    clock,
    wallClock: opts.wallClock ?? (() => 0),
    logger: silentLogger,
    gracefulHandoffTimeoutMillis: opts.handoffTimeout ?? 10_000,
    recordWriter: () => {
      throw new Error('no writer in unit tests');
    },
    events: sink,
  });
  const processor = factory({ shardId: SHARD, streamName: 's' }) as RecordHandlerProcessor;
  void processor.initialize({ shardId: SHARD, streamName: 's', extendedSequenceNumber: { sequenceNumber: 'TRIM_HORIZON', subSequenceNumber: 0 } });
  const consumer = new AbortController();
  const deliver = (records: KinesisClientRecord[], isAtShardEnd = false): Promise<unknown> => {
    const last = records[records.length - 1];
    if (last) checkpointer.advanceLargestPermitted(new ESN(last.sequenceNumber, last.subSequenceNumber));
    const input: ProcessRecordsInput = { shardId: SHARD, streamName: 's', records, checkpointer, isAtShardEnd, signal: consumer.signal };
    return Promise.resolve(processor.processRecords(input));
  };
  const pending = (seq: string, sub = 0): Call => {
    const c = [...calls].reverse().find((x) => x.record.sequenceNumber === seq && x.record.subSequenceNumber === sub);
    assert.ok(c, `record ${seq}/${sub} was called`);
    return c;
  };
  const checkpoints = (): string[] => writes.map((w) => `${w.checkpoint.sequenceNumber}${w.checkpoint.subSequenceNumber ? `/${w.checkpoint.subSequenceNumber}` : ''}`);
  return { clock, processor, checkpointer, writes, checkpoints, calls, deliver, pending, consumer, log, events, get maxRunning() { return maxRunning; } };
}

describe('RecordHandlerProcessor', () => {
  it('runs different keys concurrently up to maxInFlight, one record per key at a time, in order', async () => {
    const t = setup({ maxInFlight: 3 });
    const done = t.deliver([rec(1, 'a'), rec(2, 'a'), rec(3, 'b'), rec(4, 'c'), rec(5, 'd')]);
    await flushMicrotasks();
    assert.equal(await Promise.race([done.then(() => 'returned'), flushMicrotasks().then(() => 'waiting')]), 'returned', 'processRecords returns once the batch is accepted');
    assert.deepEqual(t.calls.map((c) => c.record.sequenceNumber), ['1', '3', '4'], 'a:1, b:3, c:4 start; a:2 waits for a:1, d waits for a slot');
    t.pending('3').resolve();
    await flushMicrotasks();
    assert.deepEqual(t.calls.map((c) => c.record.sequenceNumber), ['1', '3', '4', '5'], 'd takes the free slot; a:2 still waits for a:1');
    t.pending('1').resolve();
    await flushMicrotasks();
    assert.equal(t.calls.at(-1)!.record.sequenceNumber, '2');
    assert.ok(t.log.indexOf('start a 2/0') > t.log.indexOf('end a 1/0'));
    assert.equal(t.maxRunning, 3);
  });

  it('checkpoints only the low-water mark, on the interval, sub-sequence precise', async () => {
    const t = setup({ maxInFlight: 10, orderBy: 'none', checkpointIntervalMillis: 1000 });
    await t.deliver([rec(100, 'a'), rec(200, 'b', 0), rec(200, 'c', 1), rec(200, 'd', 2), rec(300, 'e')]);
    await flushMicrotasks();
    t.pending('300').resolve();
    t.pending('200', 2).resolve();
    t.pending('100').resolve();
    await t.clock.advance(1000);
    assert.deepEqual(t.checkpoints(), ['100'], 'not past 200/0, which is still running');
    t.pending('200', 0).resolve();
    await t.clock.advance(1000);
    assert.deepEqual(t.checkpoints(), ['100', '200'], 'up to 200/0; 200/1 still running');
    await t.clock.advance(1000);
    assert.equal(t.writes.length, 2, 'no write when the mark did not move');
    t.pending('200', 1).resolve();
    await t.clock.advance(1000);
    assert.deepEqual(t.checkpoints(), ['100', '200', '300']);
    assert.equal(t.events.checkpointed!.length, 3);
    assert.deepEqual(t.events.checkpointed![0], { shardId: SHARD, streamName: 's', sequenceNumber: '100', subSequenceNumber: 0 }, 'the stream tells shards of different streams apart');
  });

  it('checkpointEveryRecords checkpoints as soon as the mark passed that many records', async () => {
    const t = setup({ maxInFlight: 4, checkpointIntervalMillis: 60_000, checkpointEveryRecords: 2 });
    await t.deliver([rec(1, 'a'), rec(2, 'b'), rec(3, 'c')]);
    await flushMicrotasks();
    t.pending('1').resolve();
    await flushMicrotasks();
    assert.deepEqual(t.checkpoints(), []);
    t.pending('2').resolve();
    await flushMicrotasks();
    assert.deepEqual(t.checkpoints(), ['2']);
  });

  it('backpressure: processRecords waits while maxBufferedRecords are held, so fetching pauses', async () => {
    const t = setup({ maxInFlight: 2, maxBufferedRecords: 3 });
    let returned = false;
    const done = t.deliver([rec(1, 'stuck'), rec(2, 'stuck'), rec(3, 'b'), rec(4, 'c'), rec(5, 'd')]).then(() => (returned = true));
    await flushMicrotasks();
    assert.equal(returned, false);
    assert.equal(t.processor.buffered, 3);
    t.pending('3').resolve(); // done, but above the stuck record: still held
    await flushMicrotasks();
    assert.equal(returned, false, 'a finished record above the mark still counts');
    assert.equal(t.processor.buffered, 3);
    t.pending('1').resolve(); // the mark moves past 1 only (2 waits on key 'stuck')
    await flushMicrotasks();
    assert.equal(t.processor.buffered, 3, '2, 3 (done), 4 held');
    t.pending('2').resolve();
    await done;
    assert.equal(returned, true);
  });

  it('backpressure: a full buffer takes records again once it drained to three quarters, not after every record', async () => {
    const t = setup({ maxInFlight: 8, maxBufferedRecords: 8 });
    const records = Array.from({ length: 12 }, (_, i) => rec(i + 1, `k${i}`));
    let returned = false;
    const done = t.deliver(records).then(() => (returned = true));
    await flushMicrotasks();
    assert.equal(t.calls.length, 8);
    t.pending('1').resolve();
    await flushMicrotasks();
    assert.equal(t.processor.buffered, 7);
    assert.equal(t.calls.length, 8, 'one free slot of 8 is not enough to resume');
    t.pending('2').resolve();
    await flushMicrotasks();
    assert.equal(t.calls.length, 10, 'at 6 of 8 it takes records again, up to full');
    assert.equal(t.processor.buffered, 8);
    for (const seq of ['3', '4', '5', '6', '7', '8', '9', '10']) t.pending(seq).resolve();
    await done;
    assert.equal(returned, true);
    assert.equal(t.calls.length, 12, 'every record ran');
  });

  it('the first try\'s context is shared and read-only; a failed first try is retried with a context of its own', async () => {
    const t = setup({ maxInFlight: 2, retryBaseMillis: 10, retryMaxMillis: 10 });
    await t.deliver([rec(1, 'a'), rec(2, 'b')]);
    await flushMicrotasks();
    const [first, second] = [t.pending('1'), t.pending('2')];
    assert.equal(first.context, second.context);
    assert.ok(Object.isFrozen(first.context));
    assert.equal(first.context.attempt, 1);
    first.reject(new Error('once'));
    await t.clock.advance(10);
    const retry = t.pending('1');
    assert.notEqual(retry.context, first.context);
    assert.equal(retry.context.attempt, 2);
    assert.equal(t.events.retried!.length, 1, 'the failed first try was reported');
    retry.resolve();
    second.resolve();
    await t.clock.advance(5000);
    assert.deepEqual(t.checkpoints(), ['2']);
  });

  it('maxAttempts 1: a failed first try goes straight to the dead letter, no retry', async () => {
    const dead: string[] = [];
    const t = setup({ maxInFlight: 1, maxAttempts: 1, deadLetter: (r) => void dead.push(r.sequenceNumber) });
    await t.deliver([rec(1, 'a'), rec(2, 'a')]);
    await flushMicrotasks();
    t.pending('1').reject(new Error('bad'));
    await flushMicrotasks();
    assert.deepEqual(dead, ['1']);
    assert.equal(t.events.retried!.length, 0);
    t.pending('2').resolve();
    await t.clock.advance(5000);
    assert.deepEqual(t.checkpoints(), ['2']);
  });

  it('leaseLost aborts the handlers\' signal and writes no checkpoint afterwards', async () => {
    const t = setup({ maxInFlight: 2 });
    await t.deliver([rec(1, 'a'), rec(2, 'b')]);
    await flushMicrotasks();
    t.pending('1').resolve();
    await flushMicrotasks();
    t.consumer.abort();
    t.processor.leaseLost({ shardId: SHARD, streamName: 's' });
    assert.equal(t.pending('2').context.signal.aborted, true);
    t.pending('2').resolve();
    await t.clock.advance(5000);
    assert.deepEqual(t.writes, []);
  });

  it('shutdownRequested lets in-flight records finish, then checkpoints the mark', async () => {
    const t = setup({ maxInFlight: 2, checkpointIntervalMillis: 60_000 });
    await t.deliver([rec(1, 'a'), rec(2, 'b')]);
    await flushMicrotasks();
    let finished = false;
    const stop = Promise.resolve(t.processor.shutdownRequested({ shardId: SHARD, streamName: 's', checkpointer: t.checkpointer })).then(() => (finished = true));
    await flushMicrotasks();
    assert.equal(finished, false);
    t.pending('2').resolve();
    t.pending('1').resolve();
    await stop;
    assert.deepEqual(t.checkpoints(), ['2']);
    assert.equal(t.pending('1').context.signal.aborted, true, 'signal aborted after the stop');
  });

  it('shutdownRequested gives up after 80% of the handoff timeout: aborts the signal, checkpoints what finished', async () => {
    const t = setup({ maxInFlight: 2, checkpointIntervalMillis: 60_000 }, { handoffTimeout: 1000 });
    await t.deliver([rec(1, 'a'), rec(2, 'b')]);
    await flushMicrotasks();
    t.pending('1').resolve();
    let finished = false;
    const stop = Promise.resolve(t.processor.shutdownRequested({ shardId: SHARD, streamName: 's', checkpointer: t.checkpointer })).then(() => (finished = true));
    await t.clock.advance(799);
    assert.equal(finished, false);
    await t.clock.advance(1);
    await stop;
    assert.deepEqual(t.checkpoints(), ['1']);
    assert.equal(t.pending('2').context.signal.aborted, true);
  });

  it('shardEnded waits for every record, then checkpoints SHARD_END', async () => {
    const t = setup({ maxInFlight: 2 });
    await t.deliver([rec(1, 'a'), rec(2, 'a')], true);
    t.checkpointer.markShardEnd();
    let finished = false;
    const end = Promise.resolve(t.processor.shardEnded({ shardId: SHARD, streamName: 's', checkpointer: t.checkpointer })).then(() => (finished = true));
    await flushMicrotasks();
    t.pending('1').resolve();
    await flushMicrotasks();
    assert.equal(finished, false, 'record 2 still runs');
    t.pending('2').resolve();
    await end;
    assert.equal(t.checkpointer.lastCheckpointValue.isShardEnd, true);
    assert.equal(t.writes.at(-1)!.checkpoint.sequenceNumber, 'SHARD_END');
  });

  it('retries a failing record with backoff, then dead-letters it after maxAttempts; its key continues after it', async () => {
    const dead: Array<{ seq: string; error: unknown; info: DeadLetterInfo }> = [];
    const t = setup({
      maxInFlight: 4,
      maxAttempts: 3,
      retryBaseMillis: 100,
      retryMaxMillis: 100,
      deadLetter: async (r, error, info) => {
        dead.push({ seq: r.sequenceNumber, error, info });
      },
    });
    await t.deliver([rec(1, 'a'), rec(2, 'a'), rec(3, 'b')]);
    await flushMicrotasks();
    t.pending('3').resolve();
    for (let attempt = 1; attempt <= 3; attempt++) {
      const c = t.pending('1');
      assert.equal(c.context.attempt, attempt);
      c.reject(new Error(`boom ${attempt}`));
      await t.clock.advance(100);
    }
    assert.equal(t.events.retried!.length, 2);
    assert.deepEqual(dead.map((d) => [d.seq, (d.error as Error).message, d.info.attempts, d.info.reason]), [['1', 'boom 3', 3, 'maxAttempts']]);
    assert.equal(t.events.deadLettered!.length, 1);
    assert.deepEqual((t.events.retried as Array<{ streamName: string }>).map((e) => e.streamName), ['s', 's']);
    assert.equal((t.events.deadLettered![0] as { streamName: string }).streamName, 's');
    t.pending('2').resolve();
    await t.clock.advance(5000);
    assert.deepEqual(t.checkpoints(), ['3'], 'the dead-lettered record counts as done');
  });

  it('without a dead-letter destination a failing record is retried forever and the mark waits', async () => {
    const t = setup({ maxInFlight: 2, retryBaseMillis: 10, retryMaxMillis: 10 });
    await t.deliver([rec(1, 'a'), rec(2, 'b')]);
    await flushMicrotasks();
    t.pending('2').resolve();
    for (let i = 0; i < 50; i++) {
      t.pending('1').reject(new Error('always'));
      await t.clock.advance(10);
    }
    assert.equal(t.pending('1').context.attempt, 51);
    assert.deepEqual(t.writes, [], 'never past the failing record');
  });

  it('maxRecordAgeMillis: an old record is dead-lettered without a try (expired)', async () => {
    const dead: DeadLetterInfo[] = [];
    let now = 10_000;
    const t = setup({ maxInFlight: 1, maxRecordAgeMillis: 5000, deadLetter: (_r, _e, info) => void dead.push(info) }, { wallClock: () => now });
    await t.deliver([rec(1, 'a', 0, new Date(1000)), rec(2, 'a', 0, new Date(9000))]);
    await flushMicrotasks();
    assert.deepEqual(dead.map((d) => [d.reason, d.attempts]), [['expired', 0]]);
    assert.equal(t.events.expired!.length, 1);
    assert.deepEqual(t.calls.map((c) => c.record.sequenceNumber), ['2']);
    now = 20_000;
    t.pending('2').reject(new Error('late'));
    await t.clock.advance(30_000);
    assert.deepEqual(dead.map((d) => [d.reason, d.attempts]), [['expired', 0], ['expired', 1]]);
  });
});
