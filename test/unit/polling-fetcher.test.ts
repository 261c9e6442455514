import { afterEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { GetRecordsResult, IteratorPosition, KinesisRecord, StreamRef } from '../../src/aws/kinesis-types.js';
import type { ChildShard } from '../../src/shards/shard.js';
import { ExtendedSequenceNumber } from '../../src/checkpoint/extended-sequence-number.js';
import {
  DependencyError,
  ExpiredIteratorError,
  IllegalArgumentError,
  InvalidStateError,
  NetworkError,
  ResourceNotFoundError,
  ThrottlingError,
} from '../../src/errors.js';
import type { KinesisClientRecord } from '../../src/processor/types.js';
import { PollingFetcher, type FetchInfo, type PollingFetcherOptions, type PollingKinesisApi } from '../../src/retrieval/polling-fetcher.js';
import type { RecordsBatch } from '../../src/retrieval/records-batch.js';
import type { ShardState } from '../../src/retrieval/shard-state-cache.js';
import { toClientRecord, toClientRecords } from '../../src/retrieval/records-batch.js';
import { filterAfterCheckpoint, startingPosition } from '../../src/retrieval/starting-position.js';
import { FakeClock, flushMicrotasks } from '../../src/util/clock.js';
import type { Logger } from '../../src/util/logger.js';

const SHARD = 'shardId-000000000000';
const STREAM: StreamRef = { streamName: 'fake-stream' };

/** Sequence number of the i-th record: 21 digits, increasing, comparable as BigInt only (not as JS numbers). */
function seq(i: number): string {
  return (49_000_000_000_000_000_000n + BigInt(i) * 1_000n).toString();
}

function makeRecords(count: number, bytes = 10): KinesisRecord[] {
  return Array.from({ length: count }, (_, i) => ({
    sequenceNumber: seq(i),
    partitionKey: `pk-${i}`,
    data: new Uint8Array(bytes).fill(i % 256),
    approximateArrivalTimestamp: new Date(1_700_000_000_000 + i * 1000),
  }));
}

type Call =
  | { op: 'getShardIterator'; shardId: string; position: IteratorPosition }
  | { op: 'getRecords'; iterator: string; limit: number };

interface IteratorState {
  index: number;
  expired: boolean;
}

/** In-memory Kinesis shard: iterators are positions; errors and hangs can be injected per call. */
class FakeKinesis implements PollingKinesisApi {
  readonly calls: Call[] = [];
  /** Thrown, in order, by the next GetRecords calls (before any work). */
  readonly getRecordsFailures: Error[] = [];
  readonly getShardIteratorFailures: Error[] = [];
  closed = false;
  childShards: ChildShard[] | undefined;
  /** When set, GetRecords waits for its signal to abort (a call in flight during stop()). */
  hang = false;
  private readonly iterators = new Map<string, IteratorState>();
  private nextId = 0;

  constructor(public records: KinesisRecord[]) {}

  get getRecordsCalls(): number {
    return this.calls.filter((c) => c.op === 'getRecords').length;
  }

  get iteratorCalls(): Extract<Call, { op: 'getShardIterator' }>[] {
    return this.calls.filter((c): c is Extract<Call, { op: 'getShardIterator' }> => c.op === 'getShardIterator');
  }

  expireIterators(): void {
    for (const state of this.iterators.values()) state.expired = true;
  }

  private newIterator(index: number): string {
    const id = `it-${this.nextId++}`;
    this.iterators.set(id, { index, expired: false });
    return id;
  }

  private firstIndex(predicate: (r: KinesisRecord) => boolean): number {
    const i = this.records.findIndex(predicate);
    return i === -1 ? this.records.length : i;
  }

  async getShardIterator(
    _stream: StreamRef,
    shardId: string,
    position: IteratorPosition,
    _options?: { signal?: AbortSignal },
  ): Promise<string> {
    this.calls.push({ op: 'getShardIterator', shardId, position });
    const failure = this.getShardIteratorFailures.shift();
    if (failure) throw failure;
    switch (position.type) {
      case 'TRIM_HORIZON':
        return this.newIterator(0);
      case 'LATEST':
        return this.newIterator(this.records.length);
      case 'AT_TIMESTAMP':
        return this.newIterator(this.firstIndex((r) => r.approximateArrivalTimestamp >= position.timestamp));
      case 'AT_SEQUENCE_NUMBER':
        return this.newIterator(this.firstIndex((r) => BigInt(r.sequenceNumber) >= BigInt(position.sequenceNumber)));
      case 'AFTER_SEQUENCE_NUMBER':
        return this.newIterator(this.firstIndex((r) => BigInt(r.sequenceNumber) > BigInt(position.sequenceNumber)));
    }
  }

  async getRecords(
    iterator: string,
    limit: number,
    _stream?: StreamRef,
    options: { signal?: AbortSignal } = {},
  ): Promise<GetRecordsResult> {
    this.calls.push({ op: 'getRecords', iterator, limit });
    if (this.hang) {
      await new Promise<never>((_, reject) =>
        options.signal?.addEventListener('abort', () => reject(new NetworkError('aborted')), { once: true }),
      );
    }
    const failure = this.getRecordsFailures.shift();
    if (failure) throw failure;
    const state = this.iterators.get(iterator);
    if (state === undefined) throw new DependencyError(`unknown iterator ${iterator}`);
    if (state.expired) throw new ExpiredIteratorError('iterator expired');
    const records = this.records.slice(state.index, state.index + limit);
    const end = state.index + records.length;
    const remaining = this.records.length - end;
    const result: GetRecordsResult = { records, millisBehindLatest: remaining > 0 ? remaining * 1000 : 0 };
    if (this.closed && remaining === 0) {
      if (this.childShards) result.childShards = this.childShards;
    } else {
      result.nextShardIterator = this.newIterator(end);
    }
    return result;
  }
}

/** FakeClock that remembers every sleep it was asked for. */
class RecordingClock extends FakeClock {
  readonly sleeps: number[] = [];

  override sleep(ms: number, signal?: AbortSignal): Promise<void> {
    this.sleeps.push(ms);
    return super.sleep(ms, signal);
  }
}

interface LogLine {
  level: 'debug' | 'info' | 'warn' | 'error';
  obj: object;
  msg?: string | undefined;
}

function recordingLogger(lines: LogLine[]): Logger {
  const logger: Logger = {
    debug: (obj, msg) => lines.push({ level: 'debug', obj, msg }),
    info: (obj, msg) => lines.push({ level: 'info', obj, msg }),
    warn: (obj, msg) => lines.push({ level: 'warn', obj, msg }),
    error: (obj, msg) => lines.push({ level: 'error', obj, msg }),
    child: () => logger,
  };
  return logger;
}

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

interface Harness {
  fetcher: PollingFetcher;
  kinesis: FakeKinesis;
  clock: RecordingClock;
  logs: LogLine[];
  fetches: FetchInfo[];
  signal: AbortSignal;
  controller: AbortController;
}

function harness(kinesis: FakeKinesis, overrides: Partial<PollingFetcherOptions> = {}, start = true): Harness {
  const clock = new RecordingClock();
  const logs: LogLine[] = [];
  const fetches: FetchInfo[] = [];
  const fetcher = new PollingFetcher({
    kinesis,
    stream: STREAM,
    shardId: SHARD,
    checkpoint: ExtendedSequenceNumber.TRIM_HORIZON,
    maxRecords: 10,
    idleTimeBetweenReadsMillis: 1000,
    maxPrefetchBatches: 100,
    maxPrefetchBytes: 1 << 30,
    clock,
    logger: recordingLogger(logs),
    random: () => 0.5,
    onFetch: (info) => fetches.push(info),
    ...overrides,
  });
  const controller = new AbortController();
  if (start) fetcher.start(controller.signal);
  cleanups.push(() => fetcher.stop());
  return { fetcher, kinesis, clock, logs, fetches, signal: new AbortController().signal, controller };
}

/** Takes batches until `count` records arrived (advancing fake time when the fetcher waits on it). */
async function takeRecords(h: Harness, count: number, step = 1000): Promise<{ records: KinesisClientRecord[]; batches: RecordsBatch[] }> {
  const records: KinesisClientRecord[] = [];
  const batches: RecordsBatch[] = [];
  while (records.length < count) {
    const pending = h.fetcher.next(h.signal);
    let settled = false;
    void pending.then(
      () => (settled = true),
      () => (settled = true),
    );
    for (let i = 0; i < 1000 && !settled; i++) {
      await flushMicrotasks();
      if (!settled) await h.clock.advance(step);
    }
    const batch = await pending;
    batches.push(batch);
    records.push(...batch.records);
    if (batch.isAtShardEnd) break;
  }
  return { records, batches };
}

function sequenceNumbers(records: { sequenceNumber: string }[]): string[] {
  return records.map((r) => r.sequenceNumber);
}

describe('records-batch', () => {
  it('maps a Kinesis record to a client record without copying its bytes', () => {
    const [raw] = makeRecords(1);
    const client = toClientRecord(raw!);
    assert.equal(client.data, raw!.data);
    assert.equal(client.subSequenceNumber, 0);
    assert.equal(client.aggregated, false);
    assert.equal(client.partitionKey, 'pk-0');
    assert.equal('explicitHashKey' in client, false);
    assert.equal(toClientRecord({ ...raw!, explicitHashKey: '42' }).explicitHashKey, '42');
    assert.deepEqual(sequenceNumbers(toClientRecords(makeRecords(3))), [seq(0), seq(1), seq(2)]);
  });
});

describe('startingPosition', () => {
  it('maps checkpoints to iterator positions', () => {
    const ts = new Date('2024-01-02T03:04:05Z');
    assert.deepEqual(startingPosition(ExtendedSequenceNumber.TRIM_HORIZON), { iterator: { type: 'TRIM_HORIZON' } });
    assert.deepEqual(startingPosition(ExtendedSequenceNumber.LATEST), { iterator: { type: 'LATEST' } });
    assert.deepEqual(startingPosition(ExtendedSequenceNumber.AT_TIMESTAMP, ts), { iterator: { type: 'AT_TIMESTAMP', timestamp: ts } });
    assert.deepEqual(startingPosition(ExtendedSequenceNumber.SHARD_END), { iterator: undefined });
    const checkpoint = new ExtendedSequenceNumber(seq(5), 2);
    const real = startingPosition(checkpoint);
    assert.deepEqual(real.iterator, { type: 'AT_SEQUENCE_NUMBER', sequenceNumber: seq(5) });
    assert.equal(real.filterAtOrBelow, checkpoint);
  });

  it('refuses AT_TIMESTAMP without a timestamp', () => {
    assert.throws(() => startingPosition(ExtendedSequenceNumber.AT_TIMESTAMP), IllegalArgumentError);
    assert.throws(() => startingPosition(ExtendedSequenceNumber.AT_TIMESTAMP, new Date(NaN)), IllegalArgumentError);
  });

  it('filters records at or below the checkpoint, sub-sequence numbers included', () => {
    const sub = (i: number, s: number): KinesisClientRecord => ({ ...toClientRecord(makeRecords(i + 1)[i]!), subSequenceNumber: s, aggregated: true });
    const records = [sub(1, 0), sub(2, 0), sub(2, 1), sub(2, 2), sub(2, 3), sub(2, 4), sub(3, 0)];
    const out = filterAfterCheckpoint(records, new ExtendedSequenceNumber(seq(2), 2));
    assert.deepEqual(
      out.records.map((r) => `${r.sequenceNumber}/${r.subSequenceNumber}`),
      [`${seq(2)}/3`, `${seq(2)}/4`, `${seq(3)}/0`],
    );
    assert.equal(out.done, true);
    // Everything at or below: dropped, and filtering must go on.
    assert.deepEqual(filterAfterCheckpoint(records.slice(0, 4), new ExtendedSequenceNumber(seq(2), 2)), { records: [], done: false });
    // Nothing below: the same array comes back.
    const above = records.slice(6);
    assert.equal(filterAfterCheckpoint(above, new ExtendedSequenceNumber(seq(2), 4)).records, above);
    // Numbers beyond 2^53 compare exactly.
    const big = [{ ...sub(0, 0), sequenceNumber: '49000000000000000000001' }];
    assert.equal(filterAfterCheckpoint(big, new ExtendedSequenceNumber('49000000000000000000000')).records.length, 1);
  });
});

describe('PollingFetcher', () => {
  it('delivers every record once, in order, from TRIM_HORIZON, with the same bytes', async () => {
    const h = harness(new FakeKinesis(makeRecords(95)));
    const { records } = await takeRecords(h, 95);
    assert.deepEqual(sequenceNumbers(records), sequenceNumbers(h.kinesis.records));
    assert.equal(records[7]!.data, h.kinesis.records[7]!.data);
    assert.deepEqual(h.kinesis.iteratorCalls.map((c) => c.position), [{ type: 'TRIM_HORIZON' }]);
    assert.equal(h.fetches[0]!.records, 10);
    assert.equal(h.fetches[0]!.bytes, 100);
    assert.equal(h.fetches[0]!.millisBehindLatest, 85_000);
  });

  it('stops fetching at maxPrefetchBatches and resumes as batches are taken (slow consumer)', async () => {
    const h = harness(new FakeKinesis(makeRecords(200)), { maxPrefetchBatches: 3 });
    await flushMicrotasks();
    await h.clock.advance(60_000);
    assert.equal(h.kinesis.getRecordsCalls, 3);
    assert.equal(h.fetcher.queuedBatches, 3);
    assert.equal(h.fetcher.queuedBytes, 300);
    // The consumer takes one batch and "processes" it for a long time: at most N+1 fetched ahead of it.
    const first = await h.fetcher.next(h.signal);
    await h.clock.advance(60_000);
    assert.equal(h.kinesis.getRecordsCalls, 4);
    assert.equal(h.fetcher.queuedBatches, 3);
    assert.equal(first.records[0]!.sequenceNumber, seq(0));
    await h.fetcher.next(h.signal);
    await h.fetcher.next(h.signal);
    await flushMicrotasks();
    assert.equal(h.kinesis.getRecordsCalls, 6);
    assert.equal(h.fetcher.queuedBatches, 3);
  });

  it('stops fetching at maxPrefetchBytes, but always fetches into an empty queue', async () => {
    // 10 records of 1000 bytes per batch.
    const h = harness(new FakeKinesis(makeRecords(200, 1000)), { maxPrefetchBatches: 10, maxPrefetchBytes: 15_000 });
    await h.clock.advance(60_000);
    assert.equal(h.kinesis.getRecordsCalls, 2);
    assert.equal(h.fetcher.queuedBytes, 20_000);
    await h.fetcher.next(h.signal);
    await h.clock.advance(60_000);
    assert.equal(h.kinesis.getRecordsCalls, 3);

    const tiny = harness(new FakeKinesis(makeRecords(200, 1000)), { maxPrefetchBatches: 10, maxPrefetchBytes: 1 });
    await tiny.clock.advance(60_000);
    assert.equal(tiny.kinesis.getRecordsCalls, 1);
    assert.equal(tiny.fetcher.queuedBatches, 1);
  });

  it('with maxPrefetchBatches 0 fetches only while the consumer waits', async () => {
    const h = harness(new FakeKinesis(makeRecords(50)), { maxPrefetchBatches: 0 });
    await h.clock.advance(60_000);
    assert.equal(h.kinesis.getRecordsCalls, 0);
    const batch = await h.fetcher.next(h.signal);
    assert.equal(batch.records.length, 10);
    await h.clock.advance(60_000);
    assert.equal(h.kinesis.getRecordsCalls, 1);
  });

  it('sleeps idleTimeBetweenReadsMillis only when caught up, and never queues two empty batches in a row', async () => {
    const h = harness(new FakeKinesis(makeRecords(25)), { idleTimeBetweenReadsMillis: 1000 });
    await flushMicrotasks();
    // 10 + 10 (behind: no sleep), 5 (lag 0, not a full batch: caught up) → one idle sleep.
    assert.equal(h.kinesis.getRecordsCalls, 3);
    assert.deepEqual(h.clock.sleeps, [1000]);
    await h.clock.advance(999);
    assert.equal(h.kinesis.getRecordsCalls, 3);
    await h.clock.advance(1);
    assert.equal(h.kinesis.getRecordsCalls, 4); // empty answer → sleeps again
    await h.clock.advance(5000);
    assert.equal(h.kinesis.getRecordsCalls, 9);
    assert.deepEqual(h.clock.sleeps, Array(7).fill(1000));
    // Queue: three data batches and one empty batch carrying the latest lag, not six empty ones.
    assert.equal(h.fetcher.queuedBatches, 4);
    const { batches } = await takeRecords(h, 25);
    assert.deepEqual(batches.map((b) => b.records.length), [10, 10, 5]);
    assert.deepEqual(batches.map((b) => b.millisBehindLatest), [15_000, 5_000, 0]);
    const empty = await h.fetcher.next(h.signal);
    assert.equal(empty.records.length, 0);
    assert.equal(empty.isAtShardEnd, false);
    assert.equal(empty.millisBehindLatest, 0);
    // New data after the idle pause is picked up.
    h.kinesis.records.push(...makeRecords(30).slice(25));
    await h.clock.advance(1000);
    const fresh = await h.fetcher.next(h.signal);
    assert.deepEqual(sequenceNumbers(fresh.records), [seq(25), seq(26), seq(27), seq(28), seq(29)]);
  });

  it('keeps fetching without a pause after a full batch, even when the lag says 0 (kinesalite)', async () => {
    const kinesis = new FakeKinesis(makeRecords(30));
    const original = kinesis.getRecords.bind(kinesis);
    kinesis.getRecords = async (...args) => ({ ...(await original(...args)), millisBehindLatest: 0 });
    const h = harness(kinesis);
    await flushMicrotasks();
    assert.equal(h.kinesis.getRecordsCalls, 4); // 10, 10, 10, then an empty answer
    assert.deepEqual(h.clock.sleeps, [1000]);
  });

  it('after an expired iterator resumes after the last fetched record: no loss, no duplicates', async () => {
    const h = harness(new FakeKinesis(makeRecords(30)), { maxPrefetchBatches: 1 });
    await flushMicrotasks();
    const first = await h.fetcher.next(h.signal); // 0..9; the loop fetches 10..19 into the queue
    await flushMicrotasks();
    assert.equal(h.kinesis.getRecordsCalls, 2);
    h.kinesis.expireIterators();
    const rest = await takeRecords(h, 20);
    const all = [...first.records, ...rest.records];
    assert.deepEqual(sequenceNumbers(all), sequenceNumbers(h.kinesis.records));
    assert.deepEqual(h.kinesis.iteratorCalls.map((c) => c.position), [
      { type: 'TRIM_HORIZON' },
      { type: 'AFTER_SEQUENCE_NUMBER', sequenceNumber: seq(19) },
    ]);
    assert.ok(h.logs.some((l) => l.level === 'info' && /expired/.test(l.msg ?? '')));
  });

  it('an iterator that expires before anything was fetched restarts from the starting position (filter kept)', async () => {
    const kinesis = new FakeKinesis(makeRecords(30));
    kinesis.getRecordsFailures.push(new ExpiredIteratorError('expired'), new ExpiredIteratorError('expired again'));
    const h = harness(kinesis, { checkpoint: new ExtendedSequenceNumber(seq(4)) });
    const { records } = await takeRecords(h, 25);
    assert.deepEqual(sequenceNumbers(records), sequenceNumbers(kinesis.records.slice(5)));
    const start = { type: 'AT_SEQUENCE_NUMBER', sequenceNumber: seq(4) };
    assert.deepEqual(kinesis.iteratorCalls.map((c) => c.position), [start, start, start]);
    // First expiry: new iterator at once; the second in a row backs off.
    assert.deepEqual(h.clock.sleeps.slice(0, 1), [100]); // backoffDelay(1) with random 0.5
  });

  it('backs off on throttling with growing, capped delays, logs at warn every few failures, and loses nothing', async () => {
    const kinesis = new FakeKinesis(makeRecords(20));
    for (let i = 0; i < 10; i++) kinesis.getRecordsFailures.push(new ThrottlingError('Rate exceeded'));
    kinesis.getShardIteratorFailures.push(new NetworkError('ECONNRESET'));
    const h = harness(kinesis);
    const { records } = await takeRecords(h, 20, 500);
    assert.deepEqual(sequenceNumbers(records), sequenceNumbers(kinesis.records));
    // 1 network failure, then 10 throttles in a row (the counter does not reset in between): ceilings 100·2^n ≤ 10 s, ×0.5.
    assert.deepEqual(h.clock.sleeps.slice(0, 11), [50, 100, 200, 400, 800, 1600, 3200, 5000, 5000, 5000, 5000]);
    const warns = h.logs.filter((l) => l.level === 'warn');
    assert.deepEqual(warns.map((l) => (l.obj as { consecutiveFailures: number }).consecutiveFailures), [3, 6, 9]);
    assert.equal(h.logs.filter((l) => l.level === 'error').length, 0);
    // The iterator survived the throttling: one GetShardIterator success only.
    assert.equal(kinesis.iteratorCalls.length, 2);
  });

  it('retries unexpected non-retriable errors with backoff, logging at error and re-getting the iterator', async () => {
    const kinesis = new FakeKinesis(makeRecords(20));
    kinesis.getRecordsFailures.push(new DependencyError('InvalidArgumentException'), new DependencyError('weird'));
    const h = harness(kinesis);
    const { records } = await takeRecords(h, 20, 500);
    assert.deepEqual(sequenceNumbers(records), sequenceNumbers(kinesis.records));
    assert.deepEqual(h.clock.sleeps.slice(0, 2), [50, 100]);
    assert.equal(h.logs.filter((l) => l.level === 'error').length, 1); // first of the run; every 3rd after
    assert.deepEqual(kinesis.iteratorCalls.map((c) => c.position.type), ['TRIM_HORIZON', 'TRIM_HORIZON', 'TRIM_HORIZON']);
  });

  it('treats ResourceNotFound as the end of the shard', async () => {
    const kinesis = new FakeKinesis(makeRecords(20));
    const h = harness(kinesis, { maxPrefetchBatches: 1 });
    await flushMicrotasks();
    kinesis.getRecordsFailures.push(new ResourceNotFoundError('shard gone'));
    const first = await h.fetcher.next(h.signal);
    assert.equal(first.records.length, 10);
    const end = await h.fetcher.next(h.signal);
    assert.deepEqual(end, { records: [], isAtShardEnd: true, byteSize: 0 });
    await flushMicrotasks();
    assert.equal(h.fetcher.ended, true);
    await assert.rejects(h.fetcher.next(h.signal), InvalidStateError);

    const onIterator = new FakeKinesis([]);
    onIterator.getShardIteratorFailures.push(new ResourceNotFoundError('stream gone'));
    const h2 = harness(onIterator);
    assert.equal((await h2.fetcher.next(h2.signal)).isAtShardEnd, true);
  });

  it('ends the shard with childShards when there is no next iterator, and fetches nothing after', async () => {
    const kinesis = new FakeKinesis(makeRecords(15));
    kinesis.closed = true;
    const range = (s: string, e: string): { startingHashKey: string; endingHashKey: string } => ({ startingHashKey: s, endingHashKey: e });
    kinesis.childShards = [
      { shardId: 'shardId-000000000001', parentShards: [SHARD], hashKeyRange: range('0', '99') },
      { shardId: 'shardId-000000000002', parentShards: [SHARD], hashKeyRange: range('100', '199') },
    ];
    const h = harness(kinesis);
    const { records, batches } = await takeRecords(h, 1000);
    assert.equal(records.length, 15);
    const last = batches[batches.length - 1]!;
    assert.equal(last.isAtShardEnd, true);
    assert.deepEqual(last.childShards, kinesis.childShards);
    assert.notEqual(last.childShards[0]?.parentShards, kinesis.childShards[0]?.parentShards); // a copy
    assert.equal(batches.filter((b) => b.isAtShardEnd).length, 1);
    await h.clock.advance(60_000);
    assert.equal(kinesis.getRecordsCalls, 2);
    assert.equal(h.clock.pendingSleeps, 0);
    await assert.rejects(h.fetcher.next(h.signal), InvalidStateError);
  });

  it('drops records at or below a sequence-number checkpoint, including its sub-sequence number', async () => {
    const kinesis = new FakeKinesis(makeRecords(30));
    const h = harness(kinesis, { checkpoint: new ExtendedSequenceNumber(seq(12)) });
    const { records } = await takeRecords(h, 17);
    assert.deepEqual(sequenceNumbers(records), sequenceNumbers(kinesis.records.slice(13)));
    assert.deepEqual(kinesis.iteratorCalls[0]!.position, { type: 'AT_SEQUENCE_NUMBER', sequenceNumber: seq(12) });

    // A checkpoint inside an aggregate (sub 3): the record at that sequence number (sub 0 today) is dropped too.
    const k2 = new FakeKinesis(makeRecords(30));
    const h2 = harness(k2, { checkpoint: new ExtendedSequenceNumber(seq(12), 3) });
    const second = await takeRecords(h2, 17);
    assert.equal(second.records[0]!.sequenceNumber, seq(13));
    assert.equal(second.records.length, 17);
  });

  it('reports fetched counts in onFetch, delivered bytes in the batch', async () => {
    const kinesis = new FakeKinesis(makeRecords(30));
    const h = harness(kinesis, { checkpoint: new ExtendedSequenceNumber(seq(4)) });
    const batch = await h.fetcher.next(h.signal);
    assert.equal(batch.records.length, 9); // AT_SEQUENCE_NUMBER re-reads the checkpointed record; it is dropped
    assert.equal(batch.byteSize, 90);
    assert.deepEqual(h.fetches[0], { durationMillis: 0, records: 10, bytes: 100, millisBehindLatest: 16_000 });
  });

  it('a throwing onFetch listener is logged and loses nothing', async () => {
    const kinesis = new FakeKinesis(makeRecords(30));
    const h = harness(kinesis, {
      onFetch: () => {
        throw new Error('metrics broke');
      },
    });
    const { records } = await takeRecords(h, 30);
    assert.deepEqual(sequenceNumbers(records), sequenceNumbers(kinesis.records));
    assert.ok(h.logs.some((l) => l.level === 'error' && /onFetch/.test(l.msg ?? '')));
  });

  it('delivers one shard-end batch for a SHARD_END checkpoint without calling Kinesis', async () => {
    const kinesis = new FakeKinesis(makeRecords(5));
    const h = harness(kinesis, { checkpoint: ExtendedSequenceNumber.SHARD_END });
    assert.deepEqual(await h.fetcher.next(h.signal), { records: [], isAtShardEnd: true, byteSize: 0 });
    assert.equal(kinesis.calls.length, 0);
  });

  it('reads AT_TIMESTAMP from the configured initial timestamp', async () => {
    const kinesis = new FakeKinesis(makeRecords(10));
    const h = harness(kinesis, { checkpoint: ExtendedSequenceNumber.AT_TIMESTAMP, initialTimestamp: new Date(1_700_000_007_000) });
    const batch = await h.fetcher.next(h.signal);
    assert.deepEqual(sequenceNumbers(batch.records), [seq(7), seq(8), seq(9)]);
    assert.throws(
      () => harness(kinesis, { checkpoint: ExtendedSequenceNumber.AT_TIMESTAMP }, false),
      IllegalArgumentError,
    );
  });

  describe('stopping', () => {
    it('stop() while idle leaves no pending sleep and fails waiting consumers', async () => {
      const h = harness(new FakeKinesis([]));
      await flushMicrotasks();
      await h.fetcher.next(h.signal); // the empty batch
      assert.equal(h.clock.pendingSleeps, 1);
      const waiting = h.fetcher.next(h.signal);
      await h.fetcher.stop();
      assert.equal(h.clock.pendingSleeps, 0);
      await assert.rejects(waiting, InvalidStateError);
      await assert.rejects(h.fetcher.next(h.signal), InvalidStateError);
      const calls = h.kinesis.calls.length;
      await h.clock.advance(60_000);
      assert.equal(h.kinesis.calls.length, calls);
    });

    it('stop() while backing off or waiting for room, and with a call in flight', async () => {
      const throttled = new FakeKinesis(makeRecords(5));
      throttled.getRecordsFailures.push(new ThrottlingError('slow down'));
      const a = harness(throttled);
      await flushMicrotasks();
      assert.equal(a.clock.pendingSleeps, 1);
      await a.fetcher.stop();
      assert.equal(a.clock.pendingSleeps, 0);

      const full = harness(new FakeKinesis(makeRecords(50)), { maxPrefetchBatches: 1 });
      await flushMicrotasks();
      assert.equal(full.fetcher.queuedBatches, 1);
      await full.fetcher.stop();
      assert.equal(full.fetcher.queuedBatches, 0); // released
      assert.equal(full.fetcher.queuedBytes, 0);

      const hanging = new FakeKinesis(makeRecords(5));
      hanging.hang = true;
      const c = harness(hanging);
      await flushMicrotasks();
      assert.equal(hanging.getRecordsCalls, 1);
      await c.fetcher.stop();
      assert.equal(c.clock.pendingSleeps, 0);
      assert.equal(c.logs.filter((l) => l.level === 'warn' || l.level === 'error').length, 0);
    });

    it('aborting the start signal stops the loop; next() rejects with its reason', async () => {
      const h = harness(new FakeKinesis([]));
      await flushMicrotasks();
      await h.fetcher.next(h.signal);
      const waiting = h.fetcher.next(h.signal);
      const reason = new Error('lease lost');
      h.controller.abort(reason);
      await assert.rejects(waiting, (e) => e === reason);
      await h.fetcher.stop();
      assert.equal(h.clock.pendingSleeps, 0);
      await assert.rejects(h.fetcher.next(h.signal), (e) => e === reason);
    });

    it('next() rejects with its own signal reason when aborted, and the fetcher keeps going', async () => {
      const h = harness(new FakeKinesis([]));
      await flushMicrotasks();
      await h.fetcher.next(h.signal);
      const controller = new AbortController();
      const waiting = h.fetcher.next(controller.signal);
      const reason = new Error('consumer gone');
      controller.abort(reason);
      await assert.rejects(waiting, (e) => e === reason);
      await assert.rejects(h.fetcher.next(controller.signal), (e) => e === reason);
      await h.clock.advance(1000);
      assert.equal((await h.fetcher.next(h.signal)).records.length, 0);
    });

    it('next() before start() and a second start() are refused', async () => {
      const h = harness(new FakeKinesis([]), {}, false);
      await assert.rejects(h.fetcher.next(h.signal), InvalidStateError);
      h.fetcher.start(new AbortController().signal);
      assert.throws(() => h.fetcher.start(new AbortController().signal), InvalidStateError);
    });
  });
});

describe('PollingFetcher: rate bound and invalid shard ends (issue 15)', () => {
  it('starts GetRecords calls at least 1000 / maxCallsPerSecond ms apart while catching up', async () => {
    const kinesis = new FakeKinesis(makeRecords(60));
    const h = harness(kinesis, { maxCallsPerSecond: 5, idleTimeBetweenReadsMillis: 0 }, false);
    const times: number[] = [];
    const getRecords = kinesis.getRecords.bind(kinesis);
    kinesis.getRecords = (...args) => {
      times.push(h.clock.now());
      return getRecords(...args);
    };
    h.fetcher.start(h.controller.signal);
    const { records } = await takeRecords(h, 60, 10);
    assert.equal(records.length, 60);
    assert.ok(times.length >= 6, `${times.length} calls`);
    for (let i = 1; i < times.length; i++) assert.ok(times[i]! - times[i - 1]! >= 200, `calls ${i - 1} and ${i} ${times[i]! - times[i - 1]!} ms apart`);
    // And not slower than the bound requires: six 10-record pages take five gaps.
    assert.ok(times[5]! - times[0]! <= 5 * 200 + 50, `six calls over ${times[5]! - times[0]!} ms`);
  });

  it('no bound without maxCallsPerSecond: a catching-up shard is read back to back', async () => {
    const kinesis = new FakeKinesis(makeRecords(30));
    const h = harness(kinesis, { idleTimeBetweenReadsMillis: 0 }, false);
    const times: number[] = [];
    const getRecords = kinesis.getRecords.bind(kinesis);
    kinesis.getRecords = (...args) => {
      times.push(h.clock.now());
      return getRecords(...args);
    };
    h.fetcher.start(h.controller.signal);
    await takeRecords(h, 30, 10);
    assert.equal(times[2]! - times[0]!, 0);
  });

  it('an answer without a next iterator or children is retried while the listing shows the shard open, and ends it once closed', async () => {
    const kinesis = new FakeKinesis(makeRecords(15));
    kinesis.closed = true; // answers at the tip carry no next iterator and no children (kinesalite's shard end)
    let state: ShardState = { state: 'open' };
    const h = harness(kinesis, { shardState: async () => state }, false);
    h.fetcher.start(h.controller.signal);
    const first = await takeRecords(h, 10);
    assert.equal(first.records.length, 10);
    assert.ok(first.batches.every((b) => !b.isAtShardEnd));
    // The last page (5 records, no next iterator, no children): invalid while open, never the end.
    for (let i = 0; i < 20; i++) await h.clock.advance(500);
    assert.equal(h.fetcher.queuedBatches, 0, 'the invalid answer and its records were dropped');
    assert.equal(h.fetcher.ended, false);
    const warnings = h.logs.filter((l) => l.level === 'warn' && /invalid GetRecords answer/.test(l.msg ?? ''));
    assert.ok(warnings.length >= 2, 'retried with a warning each time');
    const retryIterators = kinesis.iteratorCalls.slice(1).map((c) => c.position);
    assert.ok(retryIterators.length >= 2 && retryIterators.every((p) => p.type === 'AFTER_SEQUENCE_NUMBER' && p.sequenceNumber === makeRecords(15)[9]!.sequenceNumber));
    // The listing now shows it closed: the same answer is the end, with the listing's children, records once.
    const children: ChildShard[] = [{ shardId: 'shardId-000000000009', parentShards: [SHARD], hashKeyRange: { startingHashKey: '0', endingHashKey: '9' } }];
    state = { state: 'closed', children };
    const rest = await takeRecords(h, 5);
    assert.deepEqual(sequenceNumbers(rest.records), sequenceNumbers(makeRecords(15).slice(10)));
    const last = rest.batches.at(-1)!;
    assert.equal(last.isAtShardEnd, true);
    assert.deepEqual(last.childShards?.map((c) => c.shardId), ['shardId-000000000009']);
  });

  it('without a shard listing, an answer without a next iterator or children never ends the shard', async () => {
    const kinesis = new FakeKinesis(makeRecords(3));
    kinesis.closed = true;
    const h = harness(kinesis);
    for (let i = 0; i < 20; i++) await h.clock.advance(1000);
    assert.equal(h.fetcher.ended, false);
    assert.equal(h.fetcher.queuedBatches, 0);
    assert.ok(kinesis.getRecordsCalls >= 3);
  });
});
