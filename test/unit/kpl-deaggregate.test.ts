import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { deaggregate, deaggregateRecords, type DeaggregationOptions } from '../../src/retrieval/kpl/deaggregate.js';
import { RecordAggregator } from '../../src/retrieval/kpl/aggregator.js';
import { effectiveHashKey, partitionKeyHash } from '../../src/retrieval/kpl/kpl-format.js';
import type { KinesisRecord } from '../../src/aws/kinesis-types.js';
import { MAX_HASH_KEY, midpointHashKey } from '../../src/shards/hash-key-range.js';
import { ExtendedSequenceNumber } from '../../src/checkpoint/extended-sequence-number.js';
import { filterAfterCheckpoint } from '../../src/retrieval/starting-position.js';
import { concat, frame, kinesisRecord, MAGIC, pb, subRecord, text } from '../support/kpl-fixtures.js';

const enc = new TextEncoder();

function collect(options: DeaggregationOptions = {}) {
  const malformed: string[] = [];
  const filtered: number[] = [];
  return {
    malformed,
    filtered,
    options: {
      ...options,
      onMalformed: (_r: KinesisRecord, reason: string) => malformed.push(reason),
      onFiltered: (_r: KinesisRecord, n: number) => filtered.push(n),
    } satisfies DeaggregationOptions,
  };
}

/** One aggregate holding `n` records `${prefix}-${i}` with keys pk-0…pk-(keys−1). */
function aggregateOf(n: number, keys = 3, prefix = 'u'): Uint8Array {
  const records = Array.from({ length: n }, (_, i) => ({ partitionKey: `pk-${i % keys}`, data: enc.encode(`${prefix}-${i}`) }));
  const [only, ...rest] = RecordAggregator.aggregate(records);
  assert.equal(rest.length, 0);
  return only!.data;
}

describe('deaggregate', () => {
  it('expands an aggregate into sub-records sharing sequence number and arrival time, with data as views', () => {
    const data = aggregateOf(10);
    const record = kinesisRecord(data, '12345');
    const { malformed, options } = collect();
    const out = deaggregate(record, options);
    assert.deepEqual(malformed, []);
    assert.equal(out.length, 10);
    out.forEach((r, i) => {
      assert.equal(r.sequenceNumber, '12345');
      assert.equal(r.subSequenceNumber, i);
      assert.equal(r.partitionKey, `pk-${i % 3}`);
      assert.equal(r.explicitHashKey, undefined);
      assert.equal('explicitHashKey' in r, false, 'no explicitHashKey property when the sub-record has none');
      assert.equal(r.aggregated, true);
      assert.equal(r.approximateArrivalTimestamp, record.approximateArrivalTimestamp);
      assert.equal(text(r.data), `u-${i}`);
      assert.equal(r.data.buffer, data.buffer, 'a view of the received bytes, not a copy');
    });
  });

  it('gives each sub-record its own explicit hash key', () => {
    const [agg] = RecordAggregator.aggregate([
      { partitionKey: 'a', data: enc.encode('0'), explicitHashKey: '7' },
      { partitionKey: 'b', data: enc.encode('1') },
      { partitionKey: 'a', data: enc.encode('2'), explicitHashKey: MAX_HASH_KEY.toString() },
      { partitionKey: 'c', data: enc.encode('3'), explicitHashKey: '7' },
    ]);
    assert.equal(agg!.explicitHashKey, '7', 'outer record routed like its first sub-record');
    const out = deaggregate(kinesisRecord(agg!.data));
    assert.deepEqual(
      out.map((r) => [r.partitionKey, r.explicitHashKey, text(r.data)]),
      [['a', '7', '0'], ['b', undefined, '1'], ['a', MAX_HASH_KEY.toString(), '2'], ['c', '7', '3']],
    );
  });

  it('passes records without the magic through untouched and silently', () => {
    const { malformed, options } = collect();
    for (const data of [new Uint8Array(0), enc.encode('hello'), Uint8Array.of(0xf3, 0x89, 0x9a), Uint8Array.of(0xf3, 0x89, 0x9a, 0xc3, 1, 2)]) {
      const record = { ...kinesisRecord(data), explicitHashKey: '99' };
      const out = deaggregate(record, options);
      assert.equal(out.length, 1);
      assert.equal(out[0]!.data, data, 'same bytes object');
      assert.equal(out[0]!.aggregated, false);
      assert.equal(out[0]!.subSequenceNumber, 0);
      assert.equal(out[0]!.partitionKey, 'outer');
      assert.equal(out[0]!.explicitHashKey, '99');
    }
    assert.deepEqual(malformed, []);
  });

  it('keeps an order across plain and aggregated records', () => {
    const records = [kinesisRecord(enc.encode('p0'), '1'), kinesisRecord(aggregateOf(3, 1, 'a'), '2'), kinesisRecord(enc.encode('p1'), '3')];
    const out = deaggregateRecords(records);
    assert.deepEqual(
      out.map((r) => [r.sequenceNumber, r.subSequenceNumber, r.aggregated, text(r.data)]),
      [['1', 0, false, 'p0'], ['2', 0, true, 'a-0'], ['2', 1, true, 'a-1'], ['2', 2, true, 'a-2'], ['3', 0, false, 'p1']],
    );
  });

  describe('undecodable aggregates become one ordinary record carrying the original bytes, with a warning', () => {
    const good = concat(pb.bytesField(1, 'k'), subRecord({ pk: 0, data: 'x' }));
    const cases: [string, Uint8Array, RegExp][] = [
      ['magic only', MAGIC, /too short/],
      ['magic and 15 bytes', concat(MAGIC, new Uint8Array(15)), /too short/],
      ['bad MD5', (() => { const d = frame(good); d[d.length - 1]! ^= 1; return d; })(), /MD5/],
      ['truncated aggregate', frame(good).subarray(0, frame(good).length - 1), /MD5/],
      ['no sub-records (empty message)', frame(new Uint8Array(0)), /no sub-records/],
      ['only key tables', frame(pb.bytesField(1, 'k')), /no sub-records/],
      ['truncated protobuf with a valid MD5', frame(good.subarray(0, good.length - 1)), /runs past the end/],
      ['garbage protobuf', frame(Uint8Array.of(0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff)), /varint/],
      ['field number 0', frame(Uint8Array.of(0x02, 0x00)), /field number 0/],
      ['invalid wire type', frame(Uint8Array.of(0x0f)), /wire type/],
      ['partition key index outside the table', frame(concat(pb.bytesField(1, 'k'), subRecord({ pk: 1, data: 'x' }))), /partition key index/],
      ['huge partition key index', frame(concat(pb.bytesField(1, 'k'), subRecord({ pk: 2n ** 64n - 1n, data: 'x' }))), /partition key index/],
      ['explicit hash key index outside the table', frame(concat(pb.bytesField(1, 'k'), subRecord({ pk: 0, ehk: 0, data: 'x' }))), /explicit hash key index/],
      ['sub-record without partition key index', frame(concat(pb.bytesField(1, 'k'), subRecord({ data: 'x' }))), /without partition_key_index/],
      ['sub-record without data', frame(concat(pb.bytesField(1, 'k'), subRecord({ pk: 0 }))), /without data/],
      ['partition key index with the wrong wire type', frame(concat(pb.bytesField(1, 'k'), subRecord({ data: 'x', extra: [pb.bytesField(1, 'zz')] }))), /without partition_key_index/],
      ['tag without key', frame(concat(pb.bytesField(1, 'k'), subRecord({ pk: 0, data: 'x', extra: [pb.bytesField(4, pb.bytesField(2, 'v'))] }))), /tag without key/],
      ['unterminated group', frame(concat(good, Uint8Array.of(0x2b))), /unterminated group/],
      ['stray end of group', frame(concat(good, Uint8Array.of(0x2c))), /end of group/],
    ];
    for (const [name, data, reason] of cases) {
      it(name, () => {
        const { malformed, options } = collect();
        const record = kinesisRecord(data, '777');
        let out: ReturnType<typeof deaggregate> = [];
        assert.doesNotThrow(() => {
          out = deaggregate(record, options);
        });
        assert.equal(out.length, 1);
        assert.equal(out[0]!.data, data, 'the original bytes object');
        assert.equal(out[0]!.aggregated, false);
        assert.equal(out[0]!.sequenceNumber, '777');
        assert.equal(out[0]!.subSequenceNumber, 0);
        assert.equal(malformed.length, 1);
        assert.match(malformed[0]!, reason);
      });
    }

    it('rolls back the sub-records of a batch decoded before the fault, keeping earlier records', () => {
      const bad = frame(concat(pb.bytesField(1, 'k'), subRecord({ pk: 0, data: 'a' }), subRecord({ pk: 0, data: 'b' }), subRecord({ pk: 5, data: 'c' })));
      const { malformed, options } = collect();
      const out = deaggregateRecords([kinesisRecord(aggregateOf(2), '1'), kinesisRecord(bad, '2')], options);
      assert.deepEqual(out.map((r) => [r.sequenceNumber, r.subSequenceNumber, r.aggregated]), [['1', 0, true], ['1', 1, true], ['2', 0, false]]);
      assert.equal(malformed.length, 1);
    });
  });

  it('tolerates what protobuf allows: unknown fields of every wire type, groups, tags, fields in any order', () => {
    const proto = concat(
      subRecord({ pk: 1, data: 'first', extra: [pb.bytesField(4, concat(pb.bytesField(1, 'tk'), pb.bytesField(2, 'tv'))), pb.fixed32Field(9)] }),
      pb.varintField(15, 3),
      pb.bytesField(1, 'zero'),
      pb.fixed64Field(7),
      pb.group(8, pb.varintField(1, 1), pb.group(9, pb.bytesField(2, 'deep'))),
      pb.bytesField(1, 'one'),
      pb.bytesField(2, '42'),
      pb.varintField(3, 1), // records with the wrong wire type: an unknown field
      subRecord({ data: 'second', pk: 0, ehk: 0 }),
    );
    const { malformed, options } = collect();
    const out = deaggregate(kinesisRecord(frame(proto)), options);
    assert.deepEqual(malformed, []);
    assert.deepEqual(out.map((r) => [r.subSequenceNumber, r.partitionKey, r.explicitHashKey, text(r.data)]), [
      [0, 'one', undefined, 'first'],
      [1, 'zero', '42', 'second'],
    ]);
  });

  it('decodes UTF-8 partition keys and empty data', () => {
    const [agg] = RecordAggregator.aggregate([
      { partitionKey: 'ключ-🔑', data: new Uint8Array(0) },
      { partitionKey: 'é', data: enc.encode('x') },
    ]);
    const out = deaggregate(kinesisRecord(agg!.data));
    assert.deepEqual(out.map((r) => [r.partitionKey, r.data.length]), [['ключ-🔑', 0], ['é', 1]]);
  });

  describe('off-range sub-records', () => {
    const lowerHalf = { startingHashKey: '0', endingHashKey: (BigInt(midpointHashKey({ startingHashKey: '0', endingHashKey: MAX_HASH_KEY.toString() })) - 1n).toString() };
    const mid = 1n << 127n;
    // Partition keys whose MD5 falls in each half.
    const keysIn: string[] = [];
    const keysOut: string[] = [];
    for (let i = 0; keysIn.length < 3 || keysOut.length < 3; i++) (partitionKeyHash(`k${i}`) < mid ? keysIn : keysOut).push(`k${i}`);
    const records = [
      { partitionKey: keysIn[0]!, data: enc.encode('0 in') },
      { partitionKey: keysOut[0]!, data: enc.encode('1 out') },
      { partitionKey: keysOut[1]!, data: enc.encode('2 in (ehk)'), explicitHashKey: (mid - 1n).toString() },
      { partitionKey: keysIn[1]!, data: enc.encode('3 out (ehk)'), explicitHashKey: mid.toString() },
      { partitionKey: keysIn[0]!, data: enc.encode('4 in') },
      { partitionKey: keysOut[0]!, data: enc.encode('5 out') },
      { partitionKey: keysIn[2]!, data: enc.encode('6 in (ehk 0)'), explicitHashKey: '0' },
    ];
    const [agg] = RecordAggregator.aggregate(records);

    it('computes the effective hash key as Kinesis does (EHK, else MD5 of the key as a big-endian integer)', () => {
      assert.equal(effectiveHashKey('x', '123'), 123n);
      assert.equal(effectiveHashKey('x'), BigInt(`0x${createHash('md5').update('x').digest('hex')}`));
      assert.equal(effectiveHashKey('x', '-1'), undefined);
      assert.equal(effectiveHashKey('x', (MAX_HASH_KEY + 1n).toString()), undefined);
    });

    it('are delivered by default, even with the range known', () => {
      const { filtered, options } = collect({ hashKeyRange: lowerHalf });
      assert.equal(deaggregate(kinesisRecord(agg!.data), options).length, 7);
      assert.deepEqual(filtered, []);
    });

    it('are dropped one by one with filterOffRangeSubRecords, keeping their original sub-sequence numbers', () => {
      const { filtered, options } = collect({ hashKeyRange: lowerHalf, filterOffRangeSubRecords: true });
      const out = deaggregate(kinesisRecord(agg!.data), options);
      assert.deepEqual(out.map((r) => [r.subSequenceNumber, text(r.data)]), [[0, '0 in'], [2, '2 in (ehk)'], [4, '4 in'], [6, '6 in (ehk 0)']]);
      assert.deepEqual(filtered, [3]);
    });

    it('an aggregate entirely outside the range yields nothing; plain records are never filtered', () => {
      const upperHalf = { startingHashKey: mid.toString(), endingHashKey: MAX_HASH_KEY.toString() };
      const [allLow] = RecordAggregator.aggregate([{ partitionKey: keysIn[0]!, data: enc.encode('a') }, { partitionKey: keysIn[1]!, data: enc.encode('b') }]);
      const { filtered, options } = collect({ hashKeyRange: upperHalf, filterOffRangeSubRecords: true });
      const out = deaggregateRecords([kinesisRecord(allLow!.data, '1'), { ...kinesisRecord(enc.encode('plain'), '2', keysIn[0]) }], options);
      assert.deepEqual(out.map((r) => r.sequenceNumber), ['2']);
      assert.deepEqual(filtered, [2]);
    });

    it('keeps sub-records whose explicit hash key cannot be judged, and ignores an invalid range', () => {
      const bad = frame(concat(pb.bytesField(1, keysOut[0]!), pb.bytesField(2, 'not-a-number'), subRecord({ pk: 0, ehk: 0, data: 'x' }), subRecord({ pk: 0, data: 'y' })));
      const { options } = collect({ hashKeyRange: lowerHalf, filterOffRangeSubRecords: true });
      assert.deepEqual(deaggregate(kinesisRecord(bad), options).map((r) => text(r.data)), ['x']);
      const invalid = collect({ hashKeyRange: { startingHashKey: 'abc', endingHashKey: '1' }, filterOffRangeSubRecords: true });
      assert.equal(deaggregate(kinesisRecord(agg!.data), invalid.options).length, 7);
    });
  });

  it('works with filterAfterCheckpoint: a checkpoint inside an aggregate keeps only the later sub-records', () => {
    const out = deaggregateRecords([kinesisRecord(aggregateOf(10), '100'), kinesisRecord(enc.encode('next'), '101')]);
    const { records } = filterAfterCheckpoint(out, new ExtendedSequenceNumber('100', 3));
    assert.deepEqual(records.map((r) => `${r.sequenceNumber}/${r.subSequenceNumber}`), ['100/4', '100/5', '100/6', '100/7', '100/8', '100/9', '101/0']);
  });
});
