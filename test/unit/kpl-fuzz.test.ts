// Seeded mutation fuzzing of the deaggregator: whatever the bytes, it never throws, always yields at least one
// record, and an aggregate it cannot decode comes out as one ordinary record carrying the original bytes.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { RecordAggregator } from '../../src/retrieval/kpl/aggregator.js';
import { deaggregate } from '../../src/retrieval/kpl/deaggregate.js';
import type { KinesisClientRecord } from '../../src/processor/types.js';
import { MAX_HASH_KEY } from '../../src/shards/hash-key-range.js';
import { aggAggregate } from '../support/aws-kinesis-agg.js';
import { frame, kinesisRecord, MAGIC, randomBytes, randomInt, seededRandom } from '../support/kpl-fixtures.js';

const ITERATIONS = 20_000;
const SEED = 0x5eed;

function seeds(random: () => number): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let i = 0; i < 12; i++) {
    const records = Array.from({ length: 2 + randomInt(random, 20) }, (_, j) => ({
      partitionKey: `k${randomInt(random, 5)}`,
      data: randomBytes(random, randomInt(random, 60)),
      ...(j % 3 === 0 ? { explicitHashKey: String(randomInt(random, 1e6)) } : {}),
    }));
    out.push(RecordAggregator.aggregate(records)[0]!.data);
    out.push(aggAggregate(records)[0]!.data);
  }
  return out;
}

/** Mutates the protobuf part (then re-frames it with a valid MD5, so the parser sees it) or the raw bytes. */
function mutate(random: () => number, seed: Uint8Array): Uint8Array {
  const reframe = random() < 0.8;
  let bytes = Uint8Array.from(reframe ? seed.subarray(4, seed.length - 16) : seed);
  const edits = 1 + randomInt(random, 4);
  for (let e = 0; e < edits; e++) {
    const at = randomInt(random, bytes.length + 1);
    switch (randomInt(random, 6)) {
      case 0: // flip bits
        if (bytes.length > 0) bytes[at % bytes.length]! ^= 1 << randomInt(random, 8);
        break;
      case 1: // random byte
        if (bytes.length > 0) bytes[at % bytes.length] = randomInt(random, 256);
        break;
      case 2: // truncate
        bytes = bytes.subarray(0, at);
        break;
      case 3: { // insert random bytes
        const extra = randomBytes(random, 1 + randomInt(random, 8));
        bytes = Uint8Array.from([...bytes.subarray(0, at), ...extra, ...bytes.subarray(at)]);
        break;
      }
      case 4: // delete a span
        bytes = Uint8Array.from([...bytes.subarray(0, at), ...bytes.subarray(at + 1 + randomInt(random, 6))]);
        break;
      default: // a boundary value: 0x80 runs (varints that never end) or 0xff
        if (bytes.length > 0) bytes.fill(random() < 0.5 ? 0x80 : 0xff, at % bytes.length, (at % bytes.length) + 1 + randomInt(random, 12));
    }
  }
  return reframe ? frame(bytes) : bytes;
}

describe('deaggregator fuzzing', () => {
  it(`survives ${ITERATIONS} seeded mutations (seed ${SEED})`, () => {
    const random = seededRandom(SEED);
    const corpus = seeds(random);
    const range = { startingHashKey: '0', endingHashKey: MAX_HASH_KEY.toString() };
    let decoded = 0;
    let malformedCount = 0;
    for (let i = 0; i < ITERATIONS; i++) {
      const input = i % 50 === 0 ? randomBytes(random, randomInt(random, 64)) : mutate(random, corpus[i % corpus.length]!);
      if (i % 50 === 0 && random() < 0.5 && input.length >= 4) input.set(MAGIC);
      const record = kinesisRecord(input, String(i + 1));
      const malformed: string[] = [];
      let out: KinesisClientRecord[] = [];
      try {
        out = deaggregate(record, {
          hashKeyRange: range,
          filterOffRangeSubRecords: i % 2 === 0, // the full range: nothing may be filtered
          onMalformed: (_r, reason) => malformed.push(reason),
        });
      } catch (error) {
        assert.fail(`iteration ${i} threw ${String(error)} on ${Buffer.from(input).toString('hex')}`);
      }
      const context = `iteration ${i}: ${Buffer.from(input).toString('hex')}`;
      assert.ok(out.length >= 1, context);
      assert.ok(malformed.length <= 1, context);
      if (malformed.length === 1 || out[0]!.aggregated === false) {
        assert.equal(out.length, 1, context);
        assert.equal(out[0]!.data, input, context);
        assert.equal(out[0]!.aggregated, false, context);
        assert.equal(out[0]!.subSequenceNumber, 0, context);
        if (malformed.length === 1) malformedCount++;
      } else {
        decoded++;
        out.forEach((r, j) => {
          assert.equal(r.aggregated, true, context);
          assert.equal(r.subSequenceNumber, j, context);
          assert.equal(r.sequenceNumber, record.sequenceNumber, context);
          assert.equal(typeof r.partitionKey, 'string', context);
          assert.equal(r.data.buffer, input.buffer, context);
          assert.ok(r.data.byteOffset >= input.byteOffset + 4 && r.data.byteOffset + r.data.length <= input.byteOffset + input.length - 16, context);
        });
      }
    }
    // The mutations must exercise both outcomes substantially.
    assert.ok(decoded > ITERATIONS / 20, `decoded ${decoded}`);
    assert.ok(malformedCount > ITERATIONS / 4, `malformed ${malformedCount}`);
  });
});
