// Compatibility with npm `aws-kinesis-agg` (awslabs' KPL aggregation library): its aggregates decode identically
// with ours, ours decode with it, and the two encoders produce the same bytes.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { RecordAggregator, type UserRecord } from '../../src/retrieval/kpl/aggregator.js';
import { deaggregate } from '../../src/retrieval/kpl/deaggregate.js';
import { aggAggregate, aggDeaggregate, type AggUserRecordV3 } from '../support/aws-kinesis-agg.js';
import { kinesisRecord, randomBytes, randomInt, seededRandom } from '../support/kpl-fixtures.js';

const enc = new TextEncoder();

/** Produced once by aws-kinesis-agg 4.2.8 `RecordAggregator` from `GOLDEN_RECORDS` (kept as a fixed vector). */
const GOLDEN_HEX =
  'f3899ac20a05616c7068610a04626574610a0867616d6d612dc3a91204313233341a0708001a036f6e651a09080110001a0374776f1a07' +
  '08001a0300fff31a0808021a04666f757247edf9f25b02554f694ab5e6cc8b50b6';
const GOLDEN_RECORDS: UserRecord[] = [
  { partitionKey: 'alpha', data: enc.encode('one') },
  { partitionKey: 'beta', data: enc.encode('two'), explicitHashKey: '1234' },
  { partitionKey: 'alpha', data: Uint8Array.of(0, 255, 0xf3) },
  { partitionKey: 'gamma-é', data: enc.encode('four') },
];

interface Decoded {
  sequenceNumber: string;
  subSequenceNumber: number;
  partitionKey: string;
  explicitHashKey: string | undefined;
  data: string;
}

function ours(data: Uint8Array, sequenceNumber = '4242'): Decoded[] {
  const malformed: string[] = [];
  const out = deaggregate(kinesisRecord(data, sequenceNumber), { onMalformed: (_r, why) => malformed.push(why) });
  assert.deepEqual(malformed, []);
  return out.map((r) => ({
    sequenceNumber: r.sequenceNumber,
    subSequenceNumber: r.subSequenceNumber,
    partitionKey: r.partitionKey,
    explicitHashKey: r.explicitHashKey,
    data: Buffer.from(r.data).toString('base64'),
  }));
}

/**
 * aws-kinesis-agg's view, normalised. Its one known decoding quirk: an absent `explicit_hash_key_index` reads as
 * protobufjs' default 0, so a sub-record without an explicit hash key reports the table's first entry (or nothing
 * when the table is empty). `expected` (ours) tells which sub-records really have one.
 */
function theirs(data: Uint8Array, expected: Decoded[], sequenceNumber = '4242'): Decoded[] {
  const records: AggUserRecordV3[] = aggDeaggregate({ data, partitionKey: 'outer', sequenceNumber });
  return records.map((r, i) => {
    const realEhk = expected[i]?.explicitHashKey;
    return {
      sequenceNumber: r.SequenceNumber,
      subSequenceNumber: r.SubSequenceNumber ?? -1,
      partitionKey: r.PartitionKey,
      explicitHashKey: realEhk === undefined ? undefined : r.ExplicitPartitionKey,
      data: r.Data,
    };
  });
}

function expectedOf(records: UserRecord[], sequenceNumber = '4242'): Decoded[] {
  return records.map((r, i) => ({
    sequenceNumber,
    subSequenceNumber: i,
    partitionKey: r.partitionKey,
    explicitHashKey: r.explicitHashKey,
    data: Buffer.from(r.data).toString('base64'),
  }));
}

function randomRecords(random: () => number, count: number, withEhk: boolean): UserRecord[] {
  return Array.from({ length: count }, () => ({
    partitionKey: `${random() < 0.1 ? 'é' : ''}pk-${randomInt(random, 1 + randomInt(random, 50))}`,
    data: randomBytes(random, 1 + randomInt(random, random() < 0.1 ? 5000 : 200)),
    ...(withEhk && random() < 0.3 ? { explicitHashKey: String(randomInt(random, 1_000_000)) } : {}),
  }));
}

describe('KPL compatibility with aws-kinesis-agg', () => {
  it('decodes the golden vector identically, and encodes it byte for byte', () => {
    const golden = Buffer.from(GOLDEN_HEX, 'hex');
    const expected = expectedOf(GOLDEN_RECORDS);
    assert.deepEqual(ours(golden), expected);
    assert.deepEqual(theirs(golden, expected), expected);
    const [mine] = RecordAggregator.aggregate(GOLDEN_RECORDS);
    assert.equal(Buffer.from(mine!.data).toString('hex'), GOLDEN_HEX);
  });

  it('documents aws-kinesis-agg reporting the first explicit hash key for sub-records that have none', () => {
    const raw = aggDeaggregate({ data: Buffer.from(GOLDEN_HEX, 'hex'), partitionKey: 'outer', sequenceNumber: '1' });
    assert.deepEqual(raw.map((r) => r.ExplicitPartitionKey), ['1234', '1234', '1234', '1234']);
    assert.deepEqual(ours(Buffer.from(GOLDEN_HEX, 'hex')).map((r) => r.explicitHashKey), [undefined, '1234', undefined, undefined]);
  });

  it('aws-kinesis-agg aggregates (random, seeded) decode with ours exactly as with theirs', () => {
    const random = seededRandom(2024);
    for (let round = 0; round < 60; round++) {
      const withEhk = round % 2 === 0;
      const records = randomRecords(random, 1 + randomInt(random, round < 50 ? 100 : 3000), withEhk);
      const aggregates = aggAggregate(records);
      let offset = 0;
      for (const [n, a] of aggregates.entries()) {
        const seq = String(1000 + n);
        const decoded = ours(a.data, seq);
        assert.deepEqual(theirs(a.data, decoded, seq), decoded);
        // Without explicit hash keys their aggregates are also faithful to the input (see the next test for why not with).
        if (!withEhk) assert.deepEqual(decoded, expectedOf(records.slice(offset, offset + decoded.length), seq));
        offset += decoded.length;
      }
      assert.equal(offset, records.length);
    }
  });

  it('documents aws-kinesis-agg mis-encoding integer-like keys: its tables follow JS object key order, its indexes insertion order', () => {
    // Object.keys() lists integer-like keys in ascending numeric order, so a table {"900": 0, "7": 1} is written as
    // ["7", "900"] while the records keep indexes 0 and 1: each record gets the other's key. Explicit hash keys are
    // always integer-like. Ours keeps insertion order, and both decoders read ours back faithfully.
    const records: UserRecord[] = [
      { partitionKey: '900', data: enc.encode('a'), explicitHashKey: '900' },
      { partitionKey: '7', data: enc.encode('b'), explicitHashKey: '7' },
    ];
    const [reference] = aggAggregate(records);
    assert.deepEqual(ours(reference!.data).map((r) => [r.partitionKey, r.explicitHashKey]), [['7', '7'], ['900', '900']]);
    const [mine] = RecordAggregator.aggregate(records);
    const expected = expectedOf(records);
    assert.deepEqual(ours(mine!.data), expected);
    assert.deepEqual(theirs(mine!.data, expected), expected);
  });

  it('our aggregates decode with aws-kinesis-agg (checksums on), and match its bytes where its encoding is right', () => {
    const random = seededRandom(99);
    for (let round = 0; round < 60; round++) {
      const withEhk = round % 2 === 1;
      const records = randomRecords(random, 2 + randomInt(random, 300), withEhk);
      const mine = RecordAggregator.aggregate(records);
      let offset = 0;
      for (const e of mine) {
        const slice = records.slice(offset, offset + e.userRecords);
        offset += e.userRecords;
        if (e.userRecords === 1) continue; // sent unaggregated; aws-kinesis-agg would still wrap it
        const expected = expectedOf(slice);
        assert.deepEqual(theirs(e.data, expected), expected);
        if (withEhk) continue; // their encoding reorders explicit hash keys (previous test)
        const [reference, ...none] = aggAggregate(slice);
        assert.equal(none.length, 0);
        assert.equal(Buffer.compare(Buffer.from(e.data), reference!.data), 0, 'same bytes as aws-kinesis-agg');
      }
    }
  });
});
