import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { Scheduler } from '../../src/index.js';
import { createDynamoDbClient, createKinesisClient } from '../../src/aws/clients.js';
import { startDynalite, startKinesisLocal, stopAll, TEST_CREDENTIALS, TEST_REGION, uniqueName, type Emulator, type KinesisLocalEmulator } from '../support/emulators.js';
import { createStream, kinesisAdmin, waitFor } from '../support/scenario.js';

const RECORD_BYTES = 50 * 1024;
const PER_PUT = 20; // 1 MB per PutRecords
const RUN_MILLIS = 30_000;
const WARMUP_MILLIS = 6_000;

const mb = (bytes: number): number => Math.round((bytes / 1024 / 1024) * 10) / 10;

// A full GC before each sample takes the garbage of decoding (which comes and goes in 10 MB waves) out of the
// measurement: what remains is what the process holds.
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

describe('enhanced fan-out backpressure (kinesis-local + dynalite)', () => {
  let kinesis: KinesisLocalEmulator;
  let dynamo: Emulator;
  before(async () => {
    [kinesis, dynamo] = await Promise.all([startKinesisLocal(), startDynalite()]);
  });
  after(() => stopAll());

  it('a slow processor: records keep coming, the backlog stays at the service, RSS stays flat', async () => {
    const admin = kinesisAdmin(kinesis.endpoint);
    const streamName = await createStream(admin, 2, 'fanout-slow');
    let processedBytes = 0;
    let batches = 0;
    const worker = new Scheduler({
      applicationName: uniqueName('fanout-slow'),
      streamName,
      workerId: 'slow',
      initialPosition: 'TRIM_HORIZON',
      kinesisClient: createKinesisClient({ region: TEST_REGION, endpoint: kinesis.endpoint, credentials: TEST_CREDENTIALS }),
      dynamoDbClient: createDynamoDbClient({ region: TEST_REGION, endpoint: dynamo.endpoint, credentials: TEST_CREDENTIALS }),
      retrieval: { mode: 'fanout', maxQueuedEvents: 2 },
      processorFactory: () => ({
        initialize: () => undefined,
        processRecords: async ({ records }) => {
          batches++;
          let bytes = 0;
          for (const r of records) bytes += r.data.byteLength;
          processedBytes += bytes;
          // Slow: 50 KB/s per shard, while the producer writes about 1 MB/s (kinesis-local's pace).
          await new Promise((r) => setTimeout(r, Math.max(200, (bytes / (50 * 1024)) * 1000)));
        },
        leaseLost: () => undefined,
        shardEnded: async ({ checkpointer }) => checkpointer.checkpoint(),
      }),
    });
    let producedBytes = 0;
    let producing = true;
    const payload = new Uint8Array(RECORD_BYTES).fill(7);
    const producer = (async () => {
      for (let i = 0; producing; i++) {
        await admin.putRecords({ streamName }, Array.from({ length: PER_PUT }, (_, j) => ({ partitionKey: `pk-${i}-${j}`, data: payload })));
        producedBytes += PER_PUT * RECORD_BYTES;
        await new Promise((r) => setTimeout(r, 100));
      }
    })();
    const samples: { t: number; rss: number; backlog: number }[] = [];
    let started = Date.now();
    try {
      await worker.start();
      await waitFor(() => batches > 0, 20_000, 'the first batch');
      // The windows count from the first batch: on a loaded machine the subscription alone can take seconds.
      started = Date.now();
      while (Date.now() - started < RUN_MILLIS) {
        gc();
        samples.push({ t: Date.now() - started, rss: process.memoryUsage().rss, backlog: producedBytes - processedBytes });
        await new Promise((r) => setTimeout(r, 500));
      }
    } finally {
      producing = false;
      await producer;
      await worker.shutdown();
    }
    // Two windows of 5 s: just after warm-up, and at the end.
    const early = samples.filter((s) => s.t >= WARMUP_MILLIS && s.t < WARMUP_MILLIS + 5000);
    const late = samples.filter((s) => s.t >= RUN_MILLIS - 5000);
    const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;
    const rssGrowth = mean(late.map((s) => s.rss)) - mean(early.map((s) => s.rss));
    const backlogGrowth = mean(late.map((s) => s.backlog)) - mean(early.map((s) => s.backlog));
    const peak = Math.max(...samples.filter((s) => s.t >= WARMUP_MILLIS).map((s) => s.rss));
    console.log(
      `fan-out slow processor: produced ${mb(producedBytes)} MB, processed ${mb(processedBytes)} MB in ${batches} batches; ` +
        `backlog +${mb(backlogGrowth)} MB and RSS ${rssGrowth >= 0 ? '+' : ''}${mb(rssGrowth)} MB between the early and late windows ` +
        `(peak ${mb(peak)} MB); RSS samples ${samples.map((s) => mb(s.rss)).join(' ')}`,
    );
    // Precondition of the scenario: production outpaced the slow processor by megabytes (on a loaded 2-core machine
    // the producer itself manages only ~10 MB in the run, so 4 MB is the floor that still says "fell behind").
    assert.ok(backlogGrowth > 4 * 1024 * 1024, `the processor fell further and further behind (backlog +${mb(backlogGrowth)} MB)`);
    assert.ok(rssGrowth < 16 * 1024 * 1024 && rssGrowth < backlogGrowth / 2, `RSS grew ${mb(rssGrowth)} MB while the backlog grew ${mb(backlogGrowth)} MB`);
  });
});
