// KPL deaggregation wired into the PollingFetcher: sub-records in batches, warnings and counts for undecodable
// aggregates, the off-range filter with the lease's hash range, and checkpoints inside an aggregate.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { GetRecordsResult, KinesisRecord } from '../../src/aws/kinesis-types.js';
import type { HashKeyRange } from '../../src/shards/hash-key-range.js';
import { MAX_HASH_KEY } from '../../src/shards/hash-key-range.js';
import { ExtendedSequenceNumber } from '../../src/checkpoint/extended-sequence-number.js';
import { PollingFetcher, type FetchInfo, type PollingKinesisApi } from '../../src/retrieval/polling-fetcher.js';
import type { RecordsBatch } from '../../src/retrieval/records-batch.js';
import { RecordAggregator } from '../../src/retrieval/kpl/aggregator.js';
import { partitionKeyHash } from '../../src/retrieval/kpl/kpl-format.js';
import { systemClock } from '../../src/util/clock.js';
import type { Logger } from '../../src/util/logger.js';
import { concat, frame, kinesisRecord, pb, subRecord, text } from '../support/kpl-fixtures.js';

const enc = new TextEncoder();
const SHARD = 'shardId-000000000007';

interface Line {
  level: string;
  bindings: Record<string, unknown>;
  obj: object;
  msg: string | undefined;
}

function recordingLogger(lines: Line[], bindings: Record<string, unknown> = {}): Logger {
  const at = (level: string) => (obj: object, msg?: string) => lines.push({ level, bindings, obj, msg });
  return { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error'), child: (b) => recordingLogger(lines, { ...bindings, ...b }) };
}

/** A closed shard holding `records`: one GetRecords returns them all and no next iterator (nor children, as kinesalite). */
function closedShard(records: KinesisRecord[]): PollingKinesisApi {
  return {
    getShardIterator: async () => 'iterator-0',
    getRecords: async (): Promise<GetRecordsResult> => ({ records, millisBehindLatest: 0 }),
  };
}

async function fetchAll(
  records: KinesisRecord[],
  options: { checkpoint?: ExtendedSequenceNumber; hashKeyRange?: HashKeyRange; filterOffRangeSubRecords?: boolean } = {},
): Promise<{ batch: RecordsBatch; lines: Line[]; fetches: FetchInfo[] }> {
  const lines: Line[] = [];
  const fetches: FetchInfo[] = [];
  const fetcher = new PollingFetcher({
    kinesis: closedShard(records),
    stream: { streamName: 's' },
    shardId: SHARD,
    checkpoint: options.checkpoint ?? ExtendedSequenceNumber.TRIM_HORIZON,
    maxRecords: 10_000,
    idleTimeBetweenReadsMillis: 0,
    maxPrefetchBatches: 2,
    maxPrefetchBytes: 1 << 20,
    clock: systemClock,
    logger: recordingLogger(lines),
    onFetch: (info) => fetches.push(info),
    shardState: async () => ({ state: 'closed', children: [] }), // the listing confirms the end
    hashKeyRange: options.hashKeyRange,
    filterOffRangeSubRecords: options.filterOffRangeSubRecords,
  });
  const controller = new AbortController();
  fetcher.start(controller.signal);
  try {
    const batch = await fetcher.next(AbortSignal.timeout(5000));
    assert.equal(batch.isAtShardEnd, true);
    return { batch, lines, fetches };
  } finally {
    await fetcher.stop();
  }
}

function aggregate(keys: string[], prefix: string): Uint8Array {
  const [only] = RecordAggregator.aggregate(keys.map((partitionKey, i) => ({ partitionKey, data: enc.encode(`${prefix}${i}`) })));
  return only!.data;
}

describe('PollingFetcher with KPL aggregates', () => {
  it('delivers sub-records in order, and an undecodable aggregate as one plain record with a warning and a count', async () => {
    // A sub-record naming a partition key index outside the table; its payload must not reach the log.
    const bad = frame(concat(pb.bytesField(1, 'k'), subRecord({ pk: 3, data: 'secret' })));
    const records = [
      kinesisRecord(enc.encode('plain'), '100'),
      kinesisRecord(aggregate(['a', 'b', 'c'], 'agg-'), '200'),
      kinesisRecord(bad, '300'),
    ];
    const { batch, lines, fetches } = await fetchAll(records);
    assert.deepEqual(
      batch.records.map((r) => [r.sequenceNumber, r.subSequenceNumber, r.aggregated, r.partitionKey]),
      [['100', 0, false, 'outer'], ['200', 0, true, 'a'], ['200', 1, true, 'b'], ['200', 2, true, 'c'], ['300', 0, false, 'outer']],
    );
    assert.equal(batch.records[4]!.data, bad, 'the undecodable record keeps its bytes');
    const warnings = lines.filter((l) => l.level === 'warn');
    assert.equal(warnings.length, 1);
    assert.equal(warnings[0]!.bindings.shardId, SHARD);
    assert.deepEqual(warnings[0]!.obj, { sequenceNumber: '300', reason: 'sub-record 0: partition key index outside the table' });
    assert.equal(JSON.stringify(warnings[0]).includes('secret'), false, 'no payload in the log');
    assert.equal(fetches[0]!.records, 3, 'Kinesis records as fetched');
    assert.equal(fetches[0]!.malformedAggregates, 1);
    assert.equal(fetches[0]!.offRangeSubRecordsDropped, undefined);
  });

  it('filters off-range sub-records with the lease hash range only when asked', async () => {
    const lowerHalf = { startingHashKey: '0', endingHashKey: ((1n << 127n) - 1n).toString() };
    const low: string[] = [];
    const high: string[] = [];
    for (let i = 0; low.length < 2 || high.length < 2; i++) (partitionKeyHash(`k${i}`) < 1n << 127n ? low : high).push(`k${i}`);
    const records = [kinesisRecord(aggregate([low[0]!, high[0]!, low[1]!, high[1]!], 'x'), '500')];

    const delivered = await fetchAll(records, { hashKeyRange: lowerHalf });
    assert.equal(delivered.batch.records.length, 4);

    const filtered = await fetchAll(records, { hashKeyRange: lowerHalf, filterOffRangeSubRecords: true });
    assert.deepEqual(filtered.batch.records.map((r) => [r.subSequenceNumber, text(r.data)]), [[0, 'x0'], [2, 'x2']]);
    assert.equal(filtered.fetches[0]!.offRangeSubRecordsDropped, 2);

    const noRange = await fetchAll(records, { filterOffRangeSubRecords: true });
    assert.equal(noRange.batch.records.length, 4);
    assert.ok(noRange.lines.some((l) => l.level === 'warn' && /no hash-key range/.test(l.msg ?? '')));

    const full = await fetchAll(records, { hashKeyRange: { startingHashKey: '0', endingHashKey: MAX_HASH_KEY.toString() }, filterOffRangeSubRecords: true });
    assert.equal(full.batch.records.length, 4);
  });

  it('resumes after a checkpoint inside an aggregate with only the later sub-records', async () => {
    const records = [
      kinesisRecord(aggregate(['a', 'b', 'c', 'd', 'e'], 'first-'), '700'),
      kinesisRecord(aggregate(['a', 'b'], 'second-'), '800'),
    ];
    const { batch } = await fetchAll(records, { checkpoint: new ExtendedSequenceNumber('700', 2) });
    assert.deepEqual(batch.records.map((r) => text(r.data)), ['first-3', 'first-4', 'second-0', 'second-1']);
    assert.equal(batch.byteSize, batch.records.reduce((n, r) => n + r.data.byteLength, 0));
  });
});
