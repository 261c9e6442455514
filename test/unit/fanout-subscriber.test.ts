import { afterEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { SubscribeEvent } from '../../src/aws/fanout-api.js';
import type { GetRecordsResult, IteratorPosition, KinesisRecord, StreamRef } from '../../src/aws/kinesis-types.js';
import type { ChildShard } from '../../src/shards/shard.js';
import { ExtendedSequenceNumber as ESN } from '../../src/checkpoint/extended-sequence-number.js';
import { InvalidStateError, NetworkError, ResourceInUseError, ResourceNotFoundError } from '../../src/errors.js';
import { FanOutSubscriber, type FanOutSubscriberOptions, type ShardEndCheck } from '../../src/retrieval/fanout-subscriber.js';
import type { PollingKinesisApi } from '../../src/retrieval/polling-fetcher.js';
import type { RecordsBatch } from '../../src/retrieval/records-batch.js';
import type { ShardState } from '../../src/retrieval/shard-state-cache.js';
import { ShardStateCache } from '../../src/retrieval/shard-state-cache.js';
import { FakeClock, flushMicrotasks } from '../../src/util/clock.js';
import { silentLogger } from '../../src/util/logger.js';

const SHARD = 'shardId-000000000000';
const STREAM: StreamRef = { streamName: 'fake-stream' };
const CHILDREN: ChildShard[] = [
  { shardId: 'shardId-000000000001', parentShards: [SHARD], hashKeyRange: { startingHashKey: '0', endingHashKey: '10' } },
  { shardId: 'shardId-000000000002', parentShards: [SHARD], hashKeyRange: { startingHashKey: '11', endingHashKey: '20' } },
];

function seq(i: number): string {
  return (49_000_000_000_000_000_000n + BigInt(i) * 1_000n).toString();
}

function record(i: number, bytes = 10): KinesisRecord {
  return { sequenceNumber: seq(i), partitionKey: `pk-${i}`, data: new Uint8Array(bytes).fill(i % 256), approximateArrivalTimestamp: new Date(0) };
}

/** An event carrying records `from`…`to-1`, continuation = the last one's sequence number (or `cont`). */
function event(from: number, to: number, extra: Partial<SubscribeEvent> = {}): SubscribeEvent {
  const records = Array.from({ length: to - from }, (_, k) => record(from + k));
  return { records, continuationSequenceNumber: seq(Math.max(from, to - 1)), millisBehindLatest: 0, ...extra };
}

/** One fake subscription: the test pushes events, ends or fails it; a pending `next()` rejects when it is aborted. */
class FakeStream implements AsyncIterable<SubscribeEvent> {
  pulls = 0;
  private readonly items: Array<{ event: SubscribeEvent } | { end: true } | { error: Error }> = [];
  private waiter: { resolve: (r: IteratorResult<SubscribeEvent>) => void; reject: (e: unknown) => void } | undefined;
  private finished = false;

  constructor(readonly position: IteratorPosition, readonly signal: AbortSignal) {
    signal.addEventListener('abort', () => {
      this.finished = true;
      const w = this.waiter;
      this.waiter = undefined;
      w?.reject(new NetworkError('stream aborted'));
    });
  }

  push(...events: SubscribeEvent[]): void {
    for (const e of events) this.items.push({ event: e });
    this.drain();
  }

  end(): void {
    this.items.push({ end: true });
    this.drain();
  }

  fail(error: Error): void {
    this.items.push({ error });
    this.drain();
  }

  private drain(): void {
    if (this.waiter === undefined) return;
    const item = this.items.shift();
    if (item === undefined) return;
    const w = this.waiter;
    this.waiter = undefined;
    if ('event' in item) w.resolve({ value: item.event, done: false });
    else if ('end' in item) {
      this.finished = true;
      w.resolve({ value: undefined, done: true });
    } else {
      this.finished = true;
      w.reject(item.error);
    }
  }

  [Symbol.asyncIterator](): AsyncIterator<SubscribeEvent> {
    return {
      next: () => {
        this.pulls++;
        if (this.signal.aborted) return Promise.reject(new NetworkError('stream aborted'));
        if (this.finished && this.items.length === 0) return Promise.resolve({ value: undefined, done: true });
        return new Promise((resolve, reject) => {
          this.waiter = { resolve, reject };
          this.drain();
        });
      },
    };
  }
}

/** The subscribe function: hands out FakeStreams, or throws what the test queued. */
class FakeService {
  readonly streams: FakeStream[] = [];
  readonly positions: IteratorPosition[] = [];
  readonly failures: Error[] = [];
  /** When true, subscribe never answers (until aborted). */
  hangSubscribe = false;

  subscribe = (position: IteratorPosition, signal: AbortSignal): Promise<AsyncIterable<SubscribeEvent>> => {
    this.positions.push(position);
    const failure = this.failures.shift();
    if (failure) return Promise.reject(failure);
    if (this.hangSubscribe) {
      return new Promise((_, reject) => signal.addEventListener('abort', () => reject(new NetworkError('aborted')), { once: true }));
    }
    const stream = new FakeStream(position, signal);
    this.streams.push(stream);
    return Promise.resolve(stream);
  };

  get last(): FakeStream {
    const s = this.streams[this.streams.length - 1];
    assert.ok(s, 'no subscription yet');
    return s;
  }
}

const clock = new FakeClock();
const controllers: AbortController[] = [];
const subscribers: FanOutSubscriber[] = [];

afterEach(async () => {
  for (const s of subscribers.splice(0)) await s.stop();
  for (const c of controllers.splice(0)) c.abort();
});

function make(service: FakeService, overrides: Partial<FanOutSubscriberOptions> = {}): FanOutSubscriber {
  const s = new FanOutSubscriber({
    subscribe: service.subscribe,
    shardId: SHARD,
    checkpoint: ESN.TRIM_HORIZON,
    maxQueuedEvents: 3,
    idleTimeoutMillis: 30_000,
    clock,
    logger: silentLogger,
    random: () => 0.5,
    ...overrides,
  });
  const controller = new AbortController();
  controllers.push(controller);
  subscribers.push(s);
  s.start(controller.signal);
  return s;
}

async function settle(): Promise<void> {
  await clock.advance(0);
  await flushMicrotasks();
}

async function take(s: FanOutSubscriber): Promise<RecordsBatch> {
  const c = new AbortController();
  const t = setTimeout(() => c.abort(new Error('no batch within 2 s')), 2000);
  try {
    return await s.next(c.signal);
  } finally {
    clearTimeout(t);
  }
}

const keys = (b: RecordsBatch): string[] => b.records.map((r) => `${r.sequenceNumber}/${r.subSequenceNumber}`);

describe('FanOutSubscriber', () => {
  it('starts at the checkpoint, drops records at or below it, and delivers events as batches', async () => {
    const service = new FakeService();
    const s = make(service, { checkpoint: new ESN(seq(2)) });
    await settle();
    assert.deepEqual(service.positions, [{ type: 'AT_SEQUENCE_NUMBER', sequenceNumber: seq(2) }]);
    service.last.push(event(2, 5), event(5, 6));
    const a = await take(s);
    assert.deepEqual(keys(a), [`${seq(3)}/0`, `${seq(4)}/0`]);
    assert.equal(a.millisBehindLatest, 0);
    assert.equal(a.isAtShardEnd, false);
    assert.deepEqual(keys(await take(s)), [`${seq(5)}/0`]);
  });

  it('maps the sentinels to TRIM_HORIZON / LATEST / AT_TIMESTAMP', async () => {
    const ts = new Date('2026-01-01T00:00:00Z');
    for (const [checkpoint, expected] of [
      [ESN.TRIM_HORIZON, { type: 'TRIM_HORIZON' }],
      [ESN.LATEST, { type: 'LATEST' }],
      [ESN.AT_TIMESTAMP, { type: 'AT_TIMESTAMP', timestamp: ts }],
    ] as const) {
      const service = new FakeService();
      make(service, { checkpoint, initialTimestamp: ts });
      await settle();
      assert.deepEqual(service.positions, [expected]);
    }
  });

  it('resubscribes AFTER the last continuation number when the service ends a subscription: no loss, no duplicates', async () => {
    const service = new FakeService();
    const s = make(service);
    await settle();
    service.last.push(event(0, 3), { records: [], continuationSequenceNumber: seq(7) });
    service.last.end();
    await settle();
    assert.equal(service.streams.length, 2, 'resubscribed at once');
    assert.deepEqual(service.positions[1], { type: 'AFTER_SEQUENCE_NUMBER', sequenceNumber: seq(7) });
    service.last.push(event(8, 10));
    const seen: string[] = [];
    for (let i = 0; i < 3; i++) seen.push(...keys(await take(s)));
    assert.deepEqual(seen, [0, 1, 2, 8, 9].map((i) => `${seq(i)}/0`));
    assert.equal(s.subscriptions, 2);
  });

  it('resubscribes after a failed subscription with backoff, from the last continuation', async () => {
    const service = new FakeService();
    const s = make(service);
    await settle();
    service.last.push(event(0, 2));
    service.last.fail(new NetworkError('ECONNRESET'));
    await settle();
    assert.equal(service.streams.length, 1, 'waits before resubscribing');
    await clock.advance(200);
    assert.equal(service.streams.length, 2);
    assert.deepEqual(service.positions[1], { type: 'AFTER_SEQUENCE_NUMBER', sequenceNumber: seq(1) });
    assert.deepEqual(keys(await take(s)), [`${seq(0)}/0`, `${seq(1)}/0`]);
  });

  it('retries ResourceInUse (a subscription aborted a moment ago) with growing, jittered delays', async () => {
    const service = new FakeService();
    service.failures.push(new ResourceInUseError('in use'), new ResourceInUseError('in use'), new ResourceInUseError('in use'));
    make(service, { checkpoint: new ESN(seq(4)) });
    await settle();
    assert.equal(service.positions.length, 1);
    await clock.advance(100); // 0.5 × 200
    assert.equal(service.positions.length, 2);
    await clock.advance(199);
    assert.equal(service.positions.length, 2);
    await clock.advance(1); // 0.5 × 400
    assert.equal(service.positions.length, 3);
    await clock.advance(400); // 0.5 × 800
    assert.equal(service.positions.length, 4);
    assert.equal(service.streams.length, 1, 'the fourth attempt succeeded');
    for (const p of service.positions) assert.deepEqual(p, { type: 'AT_SEQUENCE_NUMBER', sequenceNumber: seq(4) });
  });

  it('closes a silent subscription and opens another after a jittered delay', async () => {
    const service = new FakeService();
    const s = make(service, { idleTimeoutMillis: 5000 });
    await settle();
    service.last.push(event(0, 1));
    await settle();
    const first = service.last;
    await clock.advance(4999);
    assert.equal(first.signal.aborted, false);
    await clock.advance(1);
    assert.equal(first.signal.aborted, true, 'the silent stream is closed');
    assert.equal(service.streams.length, 1);
    await clock.advance(500); // SILENCE_BACKOFF: 0.5 × 1000
    assert.equal(service.streams.length, 2);
    assert.deepEqual(service.positions[1], { type: 'AFTER_SEQUENCE_NUMBER', sequenceNumber: seq(0) });
    assert.deepEqual(keys(await take(s)), [`${seq(0)}/0`]);
  });

  it('also treats a subscribe call that never answers as silence', async () => {
    const service = new FakeService();
    service.hangSubscribe = true;
    make(service, { idleTimeoutMillis: 1000 });
    await settle();
    await clock.advance(1000);
    service.hangSubscribe = false;
    await clock.advance(500);
    assert.equal(service.positions.length, 2);
    assert.equal(service.streams.length, 1);
  });

  it('is not silent while paused by backpressure', async () => {
    const service = new FakeService();
    const s = make(service, { idleTimeoutMillis: 1000, maxQueuedEvents: 1 });
    await settle();
    service.last.push(event(0, 1), event(1, 2));
    await settle();
    await clock.advance(10_000);
    assert.equal(service.streams.length, 1, 'no restart while the queue is full');
    assert.equal(service.last.signal.aborted, false);
    assert.deepEqual(keys(await take(s)), [`${seq(0)}/0`]);
    assert.deepEqual(keys(await take(s)), [`${seq(1)}/0`]);
  });

  it('pulls events only as batches are taken: the queue stays within maxQueuedEvents', async () => {
    const service = new FakeService();
    const s = make(service, { maxQueuedEvents: 2 });
    await settle();
    const stream = service.last;
    for (let i = 0; i < 50; i++) stream.push(event(i, i + 1));
    await settle();
    assert.equal(s.queuedBatches, 2);
    assert.equal(stream.pulls, 2, 'nothing read beyond the queue bound');
    assert.deepEqual(keys(await take(s)), [`${seq(0)}/0`]);
    await settle();
    assert.equal(stream.pulls, 3);
    assert.equal(s.queuedBatches, 2);
    for (let i = 1; i < 50; i++) assert.deepEqual(keys(await take(s)), [`${seq(i)}/0`]);
    assert.equal(stream.pulls, 51);
  });

  it('merges empty events while one waits in the queue', async () => {
    const service = new FakeService();
    const s = make(service, { maxQueuedEvents: 2 });
    await settle();
    for (let i = 0; i < 10; i++) service.last.push({ records: [], continuationSequenceNumber: seq(i), millisBehindLatest: 10 - i });
    await settle();
    assert.equal(s.queuedBatches, 1);
    assert.equal(service.last.pulls, 11, 'empties are read on');
    const b = await take(s);
    assert.equal(b.records.length, 0);
    assert.equal(b.millisBehindLatest, 1);
  });

  it('ends at an event with ChildShards (records of that event included); nothing follows', async () => {
    const service = new FakeService();
    const s = make(service);
    await settle();
    service.last.push(event(0, 2, { childShards: CHILDREN, continuationSequenceNumber: undefined }));
    const b = await take(s);
    assert.equal(b.isAtShardEnd, true);
    assert.equal(b.records.length, 2);
    assert.deepEqual(b.childShards?.map((c) => c.shardId), ['shardId-000000000001', 'shardId-000000000002']);
    await settle();
    assert.equal(s.ended, true);
    await assert.rejects(take(s), InvalidStateError);
    await clock.advance(60_000);
    assert.equal(service.positions.length, 1, 'no resubscription after shard end');
  });

  it('an event with neither a continuation number nor children does not end an open shard: it is dropped and the shard resubscribed after the previous event', async () => {
    const service = new FakeService();
    const kinesis = new FakeKinesis();
    const s = make(service, { shardEndCheck: check(kinesis, () => ({ state: 'open' }), 1000) });
    await settle();
    service.last.push(event(0, 2));
    assert.equal((await take(s)).records.length, 2);
    service.last.push({ records: [record(2)] }); // invalid: no continuation, no children
    await settle();
    assert.equal(service.last.signal.aborted, true, 'the subscription with the invalid event is closed');
    assert.equal(s.ended, false);
    await clock.advance(10_000); // past the resubscribe backoff
    assert.equal(service.positions.length, 2);
    assert.deepEqual(service.positions[1], { type: 'AFTER_SEQUENCE_NUMBER', sequenceNumber: seq(1) });
    service.last.push(event(2, 4));
    const b = await take(s);
    assert.equal(b.isAtShardEnd, false);
    assert.deepEqual(keys(b), [`${seq(2)}/0`, `${seq(3)}/0`], 'the dropped record comes again, once');
  });

  it('without a shard-end check, an event with neither a continuation number nor children is never taken as the end', async () => {
    const service = new FakeService();
    const s = make(service);
    await settle();
    service.last.push({ records: [] });
    await settle();
    await clock.advance(10_000);
    assert.equal(s.ended, false);
    assert.equal(service.positions.length, 2);
    assert.deepEqual(service.positions[1], { type: 'TRIM_HORIZON' });
  });

  it('an event with neither a continuation number nor children ends the shard when the listing shows it closed and read', async () => {
    const service = new FakeService();
    const kinesis = new FakeKinesis();
    kinesis.results = [{ records: [] }];
    const s = make(service, { shardEndCheck: check(kinesis, () => ({ state: 'closed', children: CHILDREN }), 1000) });
    await settle();
    service.last.push(event(0, 2));
    assert.equal((await take(s)).records.length, 2);
    service.last.push({ records: [] });
    const b = await take(s);
    assert.equal(b.isAtShardEnd, true);
    assert.deepEqual(b.childShards?.map((c) => c.shardId), CHILDREN.map((c) => c.shardId));
  });

  it('ResourceNotFound ⇒ shard end (Java KCL) without a shard listing', async () => {
    const service = new FakeService();
    service.failures.push(new ResourceNotFoundError('no shard'));
    const s = make(service);
    const b = await take(s);
    assert.equal(b.isAtShardEnd, true);
    assert.equal(b.records.length, 0);
  });

  it('ResourceNotFound for a shard the listing shows open is retried (the consumer is what is missing)', async () => {
    const service = new FakeService();
    service.failures.push(new ResourceNotFoundError('no consumer'));
    const kinesis = new FakeKinesis();
    const s = make(service, { shardEndCheck: check(kinesis, () => ({ state: 'open' })) });
    await settle();
    await clock.advance(100);
    assert.equal(service.positions.length, 2);
    assert.equal(s.ended, false);
    assert.equal(kinesis.getRecordsCalls, 0);
  });

  it('finds the end of a closed shard whose subscription only sends empty events (kinesis-local)', async () => {
    const service = new FakeService();
    const kinesis = new FakeKinesis();
    let state: ShardState = { state: 'open' };
    const s = make(service, { shardEndCheck: check(kinesis, () => state, 2000) });
    await settle();
    service.last.push(event(0, 3));
    assert.equal((await take(s)).records.length, 3);
    // Open: empty events for a long time never end the shard, and cost no GetRecords.
    for (let t = 0; t < 5; t++) {
      await clock.advance(1000);
      service.last.push({ records: [], continuationSequenceNumber: seq(2) });
      await settle();
    }
    assert.equal(kinesis.getRecordsCalls, 0);
    assert.equal((await take(s)).records.length, 0);
    // Closed, but GetRecords still sees a record the subscription has not delivered yet: not the end.
    state = { state: 'closed', children: CHILDREN };
    kinesis.results = [{ records: [record(3)], nextShardIterator: 'it-2' }];
    await clock.advance(2000);
    service.last.push({ records: [], continuationSequenceNumber: seq(2) });
    await settle();
    assert.equal(kinesis.getRecordsCalls, 1);
    assert.deepEqual(kinesis.positions[0], { type: 'AFTER_SEQUENCE_NUMBER', sequenceNumber: seq(2) });
    service.last.push(event(3, 4));
    let r = await take(s);
    while (r.records.length === 0) r = await take(s);
    assert.deepEqual(keys(r), [`${seq(3)}/0`]);
    // Closed and read to the end: GetRecords has nothing and no next iterator ⇒ shard end with its children.
    kinesis.results = [{ records: [], childShards: CHILDREN }];
    for (let t = 0; t < 2; t++) {
      await clock.advance(1000);
      service.last.push({ records: [], continuationSequenceNumber: seq(3) });
      await settle();
    }
    let b = await take(s);
    while (!b.isAtShardEnd) b = await take(s);
    assert.deepEqual(b.childShards?.map((c) => c.shardId), CHILDREN.map((c) => c.shardId));
    assert.deepEqual(kinesis.positions[1], { type: 'AFTER_SEQUENCE_NUMBER', sequenceNumber: seq(3) });
    await settle();
    assert.equal(service.last.signal.aborted, true, 'the subscription is closed at shard end');
  });

  it('shard-end check without any record received reads from the start position, filtered by the checkpoint', async () => {
    const service = new FakeService();
    const kinesis = new FakeKinesis();
    // The checkpointed record is returned by AT_SEQUENCE_NUMBER: it is not "unseen"; then the shard ends.
    kinesis.results = [{ records: [record(5)], nextShardIterator: 'it-2' }, { records: [] }];
    const s = make(service, {
      checkpoint: new ESN(seq(5)),
      shardEndCheck: check(kinesis, () => ({ state: 'closed', children: CHILDREN }), 1000),
    });
    await settle();
    await clock.advance(1000);
    service.last.push({ records: [], continuationSequenceNumber: seq(5) });
    let b = await take(s);
    while (!b.isAtShardEnd) b = await take(s);
    assert.deepEqual(kinesis.positions[0], { type: 'AT_SEQUENCE_NUMBER', sequenceNumber: seq(5) });
    assert.deepEqual(b.childShards?.map((c) => c.shardId), CHILDREN.map((c) => c.shardId), "the listing's children when GetRecords has none");
  });

  it('stop() closes the open subscription and ends the loop; next() then fails', async () => {
    const service = new FakeService();
    const s = make(service);
    await settle();
    service.last.push(event(0, 1));
    await settle();
    await s.stop();
    assert.equal(service.last.signal.aborted, true);
    assert.equal(s.ended, true);
    await assert.rejects(take(s), InvalidStateError);
    await clock.advance(60_000);
    assert.equal(service.positions.length, 1);
  });

  it('a SHARD_END checkpoint yields one shard-end batch without subscribing', async () => {
    const service = new FakeService();
    const s = make(service, { checkpoint: ESN.SHARD_END });
    const b = await take(s);
    assert.equal(b.isAtShardEnd, true);
    assert.equal(service.positions.length, 0);
  });
});

describe('ShardStateCache', () => {
  it('shares one listing among askers within the TTL and derives children', async () => {
    let calls = 0;
    const cache = new ShardStateCache(
      async () => {
        calls++;
        await Promise.resolve();
        return [
          { shardId: 'p', hashKeyRange: { startingHashKey: '0', endingHashKey: '9' }, sequenceNumberRange: { startingSequenceNumber: '1', endingSequenceNumber: '5' } },
          { shardId: 'c1', parentShardId: 'p', hashKeyRange: { startingHashKey: '0', endingHashKey: '4' }, sequenceNumberRange: { startingSequenceNumber: '6' } },
          { shardId: 'c2', parentShardId: 'p', hashKeyRange: { startingHashKey: '5', endingHashKey: '9' }, sequenceNumberRange: { startingSequenceNumber: '7' } },
        ];
      },
      1000,
      clock,
    );
    const [p, c1, x] = await Promise.all([cache.get('p'), cache.get('c1'), cache.get('x')]);
    assert.equal(calls, 1);
    assert.equal(p.state, 'closed');
    assert.deepEqual(p.state === 'closed' ? p.children.map((c) => `${c.shardId}<${c.parentShards.join()}`) : [], ['c1<p', 'c2<p']);
    assert.deepEqual(c1, { state: 'open' });
    assert.deepEqual(x, { state: 'absent' });
    await clock.advance(999);
    await cache.get('p');
    assert.equal(calls, 1);
    await clock.advance(1);
    await cache.get('p');
    assert.equal(calls, 2);
  });
});

/** GetShardIterator/GetRecords for shard-end checks: answers `results` in order (then: empty, no next iterator). */
class FakeKinesis implements PollingKinesisApi {
  results: GetRecordsResult[] = [];
  readonly positions: IteratorPosition[] = [];
  getRecordsCalls = 0;

  getShardIterator(_stream: StreamRef, _shardId: string, position: IteratorPosition): Promise<string> {
    this.positions.push(position);
    return Promise.resolve('it-1');
  }

  getRecords(): Promise<GetRecordsResult> {
    this.getRecordsCalls++;
    return Promise.resolve(this.results.shift() ?? { records: [] });
  }
}

function check(kinesis: FakeKinesis, state: () => ShardState, intervalMillis = 1000): ShardEndCheck {
  return { shardState: () => Promise.resolve(state()), kinesis, stream: STREAM, intervalMillis };
}
