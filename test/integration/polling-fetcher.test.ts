// PollingFetcher against the real emulators: kinesalite for volume (2 shards, 2,000 records), kinesis-local for
// resharding (a split parent ends with both children in childShards).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { createKinesisClient, type KinesisClient } from '../../src/aws/clients.js';
import { KinesisAdmin, type PutRecordResult } from '../../src/aws/kinesis-admin.js';
import { KinesisApi } from '../../src/aws/kinesis-api.js';
import type { StreamRef } from '../../src/aws/kinesis-types.js';
import { evenHashKeyRanges, midpointHashKey } from '../../src/shards/hash-key-range.js';
import { ExtendedSequenceNumber } from '../../src/checkpoint/extended-sequence-number.js';
import type { KinesisClientRecord } from '../../src/processor/types.js';
import { PollingFetcher, type PollingFetcherOptions } from '../../src/retrieval/polling-fetcher.js';
import type { RecordsBatch } from '../../src/retrieval/records-batch.js';
import { systemClock } from '../../src/util/clock.js';
import { silentLogger } from '../../src/util/logger.js';
import { startKinesalite, startKinesisLocal, TEST_CREDENTIALS, TEST_REGION, uniqueName } from '../support/emulators.js';

const ACTIVE_TIMEOUT = 15_000;
const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const text = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('utf8');

interface Put extends PutRecordResult {
  data: string;
}

function bySequence(a: { sequenceNumber: string }, b: { sequenceNumber: string }): number {
  const x = BigInt(a.sequenceNumber);
  const y = BigInt(b.sequenceNumber);
  return x < y ? -1 : x > y ? 1 : 0;
}

function fetcher(api: KinesisApi, stream: StreamRef, shardId: string, overrides: Partial<PollingFetcherOptions> = {}): PollingFetcher {
  return new PollingFetcher({
    kinesis: api,
    stream,
    shardId,
    checkpoint: ExtendedSequenceNumber.TRIM_HORIZON,
    maxRecords: 150,
    idleTimeBetweenReadsMillis: 100,
    maxPrefetchBatches: 3,
    maxPrefetchBytes: 8 * 1024 * 1024,
    clock: systemClock,
    logger: silentLogger,
    ...overrides,
  });
}

/**
 * Takes batches until `expected` records arrived, then one more batch, which must be empty (caught up: nothing
 * extra) or the shard end. `onBatch` runs per batch (a slow consumer sleeps there).
 */
async function drain(
  f: PollingFetcher,
  expected: number,
  onBatch: (batch: RecordsBatch) => Promise<void> | void = () => undefined,
): Promise<{ records: KinesisClientRecord[]; batches: RecordsBatch[] }> {
  const signal = AbortSignal.timeout(60_000);
  const records: KinesisClientRecord[] = [];
  const batches: RecordsBatch[] = [];
  while (records.length < expected) {
    const batch = await f.next(signal);
    batches.push(batch);
    records.push(...batch.records);
    await onBatch(batch);
    if (batch.isAtShardEnd) return { records, batches };
  }
  const extra = await f.next(signal);
  batches.push(extra);
  assert.equal(extra.records.length, 0, 'records beyond the expected ones');
  return { records, batches };
}

function assertSame(records: KinesisClientRecord[], expected: Put[]): void {
  assert.deepEqual(
    records.map((r) => r.sequenceNumber),
    expected.map((p) => p.sequenceNumber),
  );
  assert.deepEqual(
    records.map((r) => text(r.data)),
    expected.map((p) => p.data),
  );
  for (const r of records) {
    assert.equal(r.subSequenceNumber, 0);
    assert.equal(r.aggregated, false);
  }
}

describe('PollingFetcher on kinesalite', () => {
  let client: KinesisClient;
  let api: KinesisApi;
  let stop: (() => Promise<void>) | undefined;
  const stream: StreamRef = { streamName: uniqueName('fetch') };
  /** Per shard, in shard order. */
  const puts = new Map<string, Put[]>();

  before(async () => {
    const emulator = await startKinesalite();
    stop = () => emulator.stop();
    client = createKinesisClient({ region: TEST_REGION, endpoint: emulator.endpoint, credentials: TEST_CREDENTIALS });
    api = new KinesisApi(client, { requestTimeoutMillis: 10_000 });
    const admin = new KinesisAdmin(client, { requestTimeoutMillis: 10_000 });
    await admin.createStream(stream.streamName!, 2);
    await admin.waitForStreamActive(stream, ACTIVE_TIMEOUT);
    const ranges = evenHashKeyRanges(2);
    const inputs = Array.from({ length: 2000 }, (_, i) => ({
      partitionKey: `pk-${i}`,
      explicitHashKey: ranges[i % 2]!.startingHashKey,
      data: enc(`record-${i}-${'x'.repeat(i % 200)}`),
    }));
    // A few concurrent batches of 500, like a real producer.
    const results = await Promise.all([0, 1, 2, 3].map((k) => admin.putRecords(stream, inputs.slice(k * 500, (k + 1) * 500))));
    results.flat().forEach((result, i) => {
      const list = puts.get(result.shardId) ?? [];
      list.push({ ...result, data: text(inputs[i]!.data) });
      puts.set(result.shardId, list);
    });
    for (const list of puts.values()) list.sort(bySequence);
    assert.equal(puts.size, 2);
  });

  after(async () => {
    client?.destroy();
    await stop?.();
  });

  void it('fetches every record exactly once, in order, per shard from TRIM_HORIZON', async () => {
    await Promise.all(
      [...puts].map(async ([shardId, expected]) => {
        const f = fetcher(api, stream, shardId);
        f.start(new AbortController().signal);
        try {
          const { records, batches } = await drain(f, expected.length);
          assertSame(records, expected);
          assert.ok(batches.length >= Math.ceil(expected.length / 150), 'several GetRecords pages');
          assert.ok(batches.every((b) => b.byteSize === b.records.reduce((n, r) => n + r.data.byteLength, 0)));
        } finally {
          await f.stop();
        }
      }),
    );
  });

  void it('starting from a checkpoint in the middle yields exactly the later records', async () => {
    const [shardId, expected] = [...puts][0]!;
    const middle = Math.floor(expected.length / 2) + 7;
    const f = fetcher(api, stream, shardId, { checkpoint: new ExtendedSequenceNumber(expected[middle]!.sequenceNumber) });
    f.start(new AbortController().signal);
    try {
      const { records } = await drain(f, expected.length - middle - 1);
      assertSame(records, expected.slice(middle + 1));
    } finally {
      await f.stop();
    }
  });

  void it('holds at most maxPrefetchBatches batches for a slow consumer', async () => {
    const [shardId, expected] = [...puts][1]!;
    const f = fetcher(api, stream, shardId, { maxRecords: 50, maxPrefetchBatches: 2, idleTimeBetweenReadsMillis: 50 });
    let maxQueued = 0;
    let maxBytes = 0;
    const sample = (): void => {
      maxQueued = Math.max(maxQueued, f.queuedBatches);
      maxBytes = Math.max(maxBytes, f.queuedBytes);
    };
    const sampler = setInterval(sample, 2);
    f.start(new AbortController().signal);
    try {
      let sawFull = false;
      let taken = 0;
      const { records } = await drain(f, expected.length, async (batch) => {
        taken += batch.records.length;
        sample();
        // "Processing" is slow: long enough for the fetcher to fill its queue (bounded wait: the machine may be
        // busy), then a little longer so any overshoot past the bound would show.
        const deadline = Date.now() + 5_000;
        while (f.queuedBatches < 2 && expected.length - taken > 2 * 50 && Date.now() < deadline) await sleep(2);
        if (f.queuedBatches === 2) sawFull = true;
        await sleep(10);
        sample();
      });
      assertSame(records, expected);
      assert.ok(maxQueued <= 2, `at most 2 batches queued, saw ${maxQueued}`);
      assert.ok(sawFull, 'the fetcher did run ahead of the slow consumer');
      assert.ok(maxBytes <= 2 * 50 * 230, `queued bytes stay bounded, saw ${maxBytes}`);
    } finally {
      clearInterval(sampler);
      await f.stop();
    }
  });
});

describe('PollingFetcher on kinesis-local', () => {
  let client: KinesisClient;
  let api: KinesisApi;
  let admin: KinesisAdmin;
  let stop: (() => Promise<void>) | undefined;

  before(async () => {
    const emulator = await startKinesisLocal();
    stop = () => emulator.stop();
    client = createKinesisClient({ region: TEST_REGION, endpoint: emulator.endpoint, credentials: TEST_CREDENTIALS });
    api = new KinesisApi(client, { requestTimeoutMillis: 10_000 });
    admin = new KinesisAdmin(client, { requestTimeoutMillis: 10_000 });
  });

  after(async () => {
    client?.destroy();
    await stop?.();
  });

  void it('reading a split parent ends with isAtShardEnd and both children in childShards', async () => {
    const name = uniqueName('fetch-split');
    await admin.createStream(name, 1);
    const summary = await admin.waitForStreamActive({ streamName: name }, ACTIVE_TIMEOUT);
    const stream: StreamRef = { streamArn: summary.streamArn };
    const parent = (await api.listShards(stream))[0]!;
    const written = await admin.putRecords(
      stream,
      Array.from({ length: 25 }, (_, i) => ({ partitionKey: `pk-${i}`, data: enc(`before-split-${i}`) })),
    );
    const expected: Put[] = written.map((w, i) => ({ ...w, data: `before-split-${i}` })).sort(bySequence);
    await admin.splitShard(stream, parent.shardId, midpointHashKey(parent.hashKeyRange));
    await admin.waitForStreamActive(stream, ACTIVE_TIMEOUT);
    const children = (await api.listShards(stream)).filter((s) => s.parentShardId === parent.shardId);
    assert.equal(children.length, 2);

    const f = fetcher(api, stream, parent.shardId, { maxRecords: 10 });
    f.start(new AbortController().signal);
    try {
      const { records, batches } = await drain(f, expected.length + 1);
      assertSame(records, expected);
      const last = batches[batches.length - 1]!;
      assert.equal(last.isAtShardEnd, true);
      assert.equal(batches.filter((b) => b.isAtShardEnd).length, 1);
      assert.deepEqual(
        (last.childShards ?? []).map((c) => c.shardId).sort(),
        children.map((c) => c.shardId).sort(),
      );
      for (const c of last.childShards ?? []) assert.deepEqual(c.parentShards, [parent.shardId]);
      await assert.rejects(f.next(AbortSignal.timeout(5_000)), { code: 'KCL_INVALID_STATE' });
    } finally {
      await f.stop();
      await admin.deleteStream(stream).catch(() => undefined);
    }
  });
});
