import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ShardCheckpointer } from '../../src/checkpoint/shard-checkpointer.js';
import { ExtendedSequenceNumber as ESN } from '../../src/checkpoint/extended-sequence-number.js';
import type { ProcessingOptions } from '../../src/config/options.js';
import { resolveProcessing } from '../../src/config/resolve-processing.js';
import { ConfigError } from '../../src/errors.js';
import type { CheckpointUpdate } from '../../src/leases/lease-store.js';
import { createProcessingFactory } from '../../src/processing/processor-factory.js';
import { noProcessingEvents } from '../../src/processing/processing-events.js';
import type { KinesisClientRecord, ProcessRecordsInput, ProcessRecordsResult, ShardRecordProcessor } from '../../src/processor/types.js';
import { FakeClock, flushMicrotasks } from '../../src/util/clock.js';
import { silentLogger } from '../../src/util/logger.js';

const SHARD = 'shardId-000000000001';
const rec = (seq: number): KinesisClientRecord => ({
  sequenceNumber: String(seq),
  subSequenceNumber: 0,
  partitionKey: `k${seq}`,
  data: new Uint8Array([seq]),
  approximateArrivalTimestamp: new Date(0),
  aggregated: false,
});

function setup(processing: ProcessingOptions, processRecords: (records: KinesisClientRecord[], input: ProcessRecordsInput) => Promise<void | ProcessRecordsResult>) {
  const clock = new FakeClock();
  const writes: CheckpointUpdate[] = [];
  const checkpointer = new ShardCheckpointer(SHARD, async (u) => void writes.push(u), ESN.TRIM_HORIZON);
  const batches: string[][] = [];
  const dead: string[] = [];
  const inner: ShardRecordProcessor = {
    initialize: () => undefined,
    processRecords: (input) => {
      batches.push(input.records.map((r) => r.sequenceNumber));
      return processRecords(input.records, input);
    },
    leaseLost: () => undefined,
    shardEnded: () => undefined,
  };
  const full: ProcessingOptions = { retryBaseMillis: 10, retryMaxMillis: 10, ...processing };
  if (full.deadLetter === undefined && (full.maxAttempts !== undefined)) full.deadLetter = (r) => void dead.push(r.sequenceNumber);
  const factory = createProcessingFactory({
    processorFactory: () => inner,
    recordHandler: undefined,
    processing: resolveProcessing({ processorFactory: () => inner, processing: full }),
    clock,
    logger: silentLogger,
    gracefulHandoffTimeoutMillis: 10_000,
    recordWriter: () => {
      throw new Error('unused');
    },
    events: noProcessingEvents,
  });
  const processor = factory({ shardId: SHARD, streamName: 's' });
  const run = async (records: KinesisClientRecord[]): Promise<void> => {
    checkpointer.advanceLargestPermitted(new ESN(records.at(-1)!.sequenceNumber));
    const signal = new AbortController().signal;
    const done = Promise.resolve(processor.processRecords({ shardId: SHARD, streamName: 's', records, checkpointer, isAtShardEnd: false, signal }));
    for (let i = 0; i < 200; i++) {
      const settled = await Promise.race([done.then(() => true), flushMicrotasks().then(() => false)]);
      if (settled) return;
      await clock.advance(10);
    }
    throw new Error('processRecords did not finish');
  };
  return { run, batches, dead, checkpoints: () => writes.map((w) => w.checkpoint.sequenceNumber) };
}

describe('BatchFailureProcessor (processorFactory + processing)', () => {
  it('a reported failedRecord: records before it are checkpointed, delivery resumes from it', async () => {
    let failOnce = true;
    const t = setup({}, async (records) => {
      if (failOnce && records.some((r) => r.sequenceNumber === '3')) {
        failOnce = false;
        return { failedRecord: records.find((r) => r.sequenceNumber === '3')!, error: new Error('3 failed') };
      }
    });
    await t.run([1, 2, 3, 4, 5].map(rec));
    assert.deepEqual(t.batches, [['1', '2', '3', '4', '5'], ['3', '4', '5']]);
    assert.deepEqual(t.checkpoints(), ['2']);
  });

  it('a record that keeps failing is dead-lettered after maxAttempts, checkpointed, and the rest delivered', async () => {
    const t = setup({ maxAttempts: 2 }, async (records) => {
      const bad = records.find((r) => r.sequenceNumber === '3');
      if (bad) return { failedRecord: bad };
    });
    await t.run([1, 2, 3, 4, 5].map(rec));
    assert.deepEqual(t.batches, [['1', '2', '3', '4', '5'], ['3', '4', '5'], ['4', '5']]);
    assert.deepEqual(t.dead, ['3']);
    assert.deepEqual(t.checkpoints(), ['2', '3']);
  });

  it('bisectOnError finds the throwing record among 8, dead-letters only it', async () => {
    const t = setup({ maxAttempts: 2, bisectOnError: true }, async (records) => {
      if (records.some((r) => r.sequenceNumber === '6')) throw new Error('6 is poison');
    });
    await t.run([1, 2, 3, 4, 5, 6, 7, 8].map(rec));
    assert.deepEqual(t.dead, ['6']);
    const delivered = new Set(t.batches.filter((b) => !b.includes('6')).flat());
    assert.deepEqual([...delivered].sort(), ['1', '2', '3', '4', '5', '7', '8']);
    assert.deepEqual(t.batches.slice(0, 3), [['1', '2', '3', '4', '5', '6', '7', '8'], ['1', '2', '3', '4'], ['5', '6', '7', '8']]);
    assert.ok(t.batches.some((b) => b.length === 1 && b[0] === '6'));
  });

  it('without bisect a throwing batch is retried whole, then every record of it is dead-lettered', async () => {
    const t = setup({ maxAttempts: 3 }, async () => {
      throw new Error('down');
    });
    await t.run([1, 2, 3].map(rec));
    assert.equal(t.batches.length, 3);
    assert.deepEqual(t.dead, ['1', '2', '3']);
    assert.deepEqual(t.checkpoints(), ['3']);
  });

  it('a failedRecord that is not in the batch is a failure (retried), never a skip', async () => {
    let calls = 0;
    const t = setup({}, async () => {
      calls++;
      if (calls < 3) return { failedRecord: { sequenceNumber: '999' } };
    });
    await t.run([1, 2].map(rec));
    assert.equal(calls, 3);
    assert.deepEqual(t.checkpoints(), []);
  });
});

describe('resolveProcessing', () => {
  const handler = (): void => undefined;
  const factory = (): never => {
    throw new Error('unused');
  };
  const bad = (input: Parameters<typeof resolveProcessing>[0], key: string): void => {
    assert.throws(() => resolveProcessing(input), (e: unknown) => e instanceof ConfigError && e.key === key, key);
  };

  it('defaults', () => {
    const r = resolveProcessing({ recordHandler: handler })!;
    assert.deepEqual(
      { maxInFlight: r.maxInFlight, orderBy: r.orderBy, interval: r.checkpointIntervalMillis, buffered: r.maxBufferedRecords, attempts: r.maxAttempts },
      { maxInFlight: 1, orderBy: 'partitionKey', interval: 5000, buffered: 1000, attempts: Number.POSITIVE_INFINITY },
    );
    assert.equal(resolveProcessing({ processorFactory: factory }), undefined, 'a processorFactory alone: nothing changes');
    assert.equal(resolveProcessing({ recordHandler: handler, processing: { deadLetter: { streamName: 'dlq' } } })!.maxAttempts, 3);
  });

  it('names the key of every bad value', () => {
    bad({ recordHandler: handler, processorFactory: factory }, 'recordHandler');
    bad({}, 'processorFactory');
    bad({ recordHandler: 'x' }, 'recordHandler');
    bad({ recordHandler: handler, processing: { maxInFlight: 0 } }, 'processing.maxInFlight');
    bad({ recordHandler: handler, processing: { orderBy: 'shard' } }, 'processing.orderBy');
    bad({ recordHandler: handler, processing: { maxInFlight: 64, maxBufferedRecords: 10 } }, 'processing.maxBufferedRecords');
    bad({ recordHandler: handler, processing: { maxAttempts: 3 } }, 'processing.maxAttempts');
    bad({ recordHandler: handler, processing: { maxRecordAgeMillis: 3 } }, 'processing.maxRecordAgeMillis');
    bad({ recordHandler: handler, processing: { deadLetter: { streamName: 'bad name' } } }, 'processing.deadLetter.streamName');
    bad({ recordHandler: handler, processing: { deadLetter: 'dlq' } }, 'processing.deadLetter');
    bad({ recordHandler: handler, processing: { bisectOnError: true } }, 'processing.bisectOnError');
    bad({ recordHandler: handler, processing: { nope: 1 } }, 'processing.nope');
    bad({ processorFactory: factory, processing: { maxInFlight: 4 } }, 'processing.maxInFlight');
    bad({ recordHandler: handler, processing: { retryBaseMillis: 500, retryMaxMillis: 100 } }, 'processing.retryMaxMillis');
  });
});
