import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { RecordAggregator, type AggregatedRecord, type UserRecord } from '../../src/retrieval/kpl/aggregator.js';
import { deaggregate, deaggregateRecords } from '../../src/retrieval/kpl/deaggregate.js';
import { KINESIS_MAX_RECORD_BYTES } from '../../src/retrieval/kpl/kpl-format.js';
import { IllegalArgumentError } from '../../src/errors.js';
import { kinesisRecord, randomBytes, randomInt, seededRandom, text } from '../support/kpl-fixtures.js';

const enc = new TextEncoder();

/** Kinesis counts data + partition key (UTF-8). */
function kinesisSize(r: AggregatedRecord): number {
  return r.data.byteLength + Buffer.byteLength(r.partitionKey, 'utf8');
}

function roundTrip(entries: AggregatedRecord[]): { partitionKey: string; explicitHashKey?: string | undefined; data: string }[] {
  const out = deaggregateRecords(entries.map((e, i) => ({ ...kinesisRecord(e.data, String(i + 1), e.partitionKey), ...(e.explicitHashKey ? { explicitHashKey: e.explicitHashKey } : {}) })));
  return out.map((r) => ({ partitionKey: r.partitionKey, ...(r.explicitHashKey !== undefined ? { explicitHashKey: r.explicitHashKey } : {}), data: Buffer.from(r.data).toString('hex') }));
}

function asExpected(records: UserRecord[]) {
  return records.map((r) => ({ partitionKey: r.partitionKey, ...(r.explicitHashKey !== undefined ? { explicitHashKey: r.explicitHashKey } : {}), data: Buffer.from(r.data).toString('hex') }));
}

describe('RecordAggregator', () => {
  it('round-trips random user records through aggregates, in order', () => {
    const random = seededRandom(7);
    for (let round = 0; round < 30; round++) {
      const records: UserRecord[] = Array.from({ length: 1 + randomInt(random, 400) }, (_, i) => ({
        partitionKey: `key-${randomInt(random, 20)}${random() < 0.1 ? '-ü' : ''}`,
        data: randomBytes(random, randomInt(random, 3000)),
        ...(random() < 0.2 ? { explicitHashKey: String(randomInt(random, 1e9) * i) } : {}),
      }));
      const maxRecordBytes = 2000 + randomInt(random, 200_000);
      const entries = RecordAggregator.aggregate(records, { maxRecordBytes });
      for (const e of entries) assert.ok(kinesisSize(e) <= maxRecordBytes, `${kinesisSize(e)} > ${maxRecordBytes}`);
      assert.equal(entries.reduce((n, e) => n + e.userRecords, 0), records.length);
      assert.deepEqual(roundTrip(entries), asExpected(records));
    }
  });

  it('counts the exact encoded size: pendingBytes is what flush() returns, and aggregates are packed tight', () => {
    const random = seededRandom(11);
    const maxRecordBytes = 50_000;
    const aggregator = new RecordAggregator({ maxRecordBytes });
    const entries: AggregatedRecord[] = [];
    for (let i = 0; i < 3000; i++) {
      const record: UserRecord = { partitionKey: `pk-${randomInt(random, 300)}`, data: randomBytes(random, randomInt(random, 700)), ...(i % 7 === 0 ? { explicitHashKey: String(i * 1_000_003) } : {}) };
      const before = aggregator.pendingBytes;
      const beforeCount = aggregator.pendingRecords;
      const full = aggregator.add(record);
      if (full) {
        assert.equal(kinesisSize(full), before, 'pendingBytes predicted the size exactly');
        assert.equal(full.userRecords, beforeCount);
        // Tight: with this record the aggregate would have been too large.
        const probe = new RecordAggregator({ maxRecordBytes: Number.MAX_SAFE_INTEGER });
        const packed = deaggregate(kinesisRecord(full.data));
        for (const r of packed) probe.add({ partitionKey: r.partitionKey, data: r.data, ...(r.explicitHashKey ? { explicitHashKey: r.explicitHashKey } : {}) });
        probe.add(record);
        assert.ok(probe.pendingBytes > maxRecordBytes, 'the next record really did not fit');
        entries.push(full);
      }
    }
    const before = aggregator.pendingBytes;
    const last = aggregator.flush()!;
    assert.equal(kinesisSize(last), before);
    assert.equal(aggregator.pendingBytes, 0);
    assert.equal(aggregator.flush(), undefined);
    assert.ok(entries.length > 10);
  });

  it('fills 1 MiB records up to the limit, counting magic, MD5 and the outer partition key', () => {
    const key = 'k'.repeat(256);
    const records = Array.from({ length: 40 }, () => ({ partitionKey: key, data: new Uint8Array(100_000) }));
    const entries = RecordAggregator.aggregate(records);
    assert.deepEqual(entries.map((e) => e.userRecords), [10, 10, 10, 10]);
    for (const e of entries) assert.ok(kinesisSize(e) <= KINESIS_MAX_RECORD_BYTES);
    // Exactly at the limit: fits; one byte more: does not.
    // Two records under one 256-byte key, the second with n data bytes: key table 1+2+256 = 259; record 1:
    // 1+1+(2+3) = 7; record 2: 1+3+(2+1+3+n) = n+10; magic + MD5 20; outer key 256 ⇒ n + 552 bytes in all.
    const exact = KINESIS_MAX_RECORD_BYTES - 552;
    const pair = [{ partitionKey: key, data: new Uint8Array(1) }, { partitionKey: key, data: new Uint8Array(exact) }];
    const fits = RecordAggregator.aggregate(pair);
    assert.equal(fits.length, 1);
    assert.equal(kinesisSize(fits[0]!), KINESIS_MAX_RECORD_BYTES);
    const tooBig = RecordAggregator.aggregate([pair[0]!, { partitionKey: key, data: new Uint8Array(exact + 1) }]);
    assert.deepEqual(tooBig.map((e) => e.userRecords), [1, 1]);
  });

  it('sends a lone record unaggregated (as the KPL does), with its explicit hash key', () => {
    const data = enc.encode('solo');
    const [only] = RecordAggregator.aggregate([{ partitionKey: 'p', data, explicitHashKey: '5' }]);
    assert.deepEqual(only, { partitionKey: 'p', explicitHashKey: '5', data, userRecords: 1 });
    const out = deaggregate(kinesisRecord(only.data));
    assert.equal(out[0]!.aggregated, false);
  });

  it('routes an aggregate by its first record: outer key, and explicit hash key only when the first has one', () => {
    const [a] = RecordAggregator.aggregate([{ partitionKey: 'first', data: enc.encode('1') }, { partitionKey: 'second', data: enc.encode('2'), explicitHashKey: '9' }]);
    assert.equal(a!.partitionKey, 'first');
    assert.equal('explicitHashKey' in a!, false);
    assert.deepEqual(deaggregate(kinesisRecord(a!.data)).map((r) => text(r.data)), ['1', '2']);
  });

  it('honours maxUserRecords', () => {
    const records = Array.from({ length: 25 }, (_, i) => ({ partitionKey: `k${i}`, data: enc.encode(String(i)) }));
    assert.deepEqual(RecordAggregator.aggregate(records, { maxUserRecords: 10 }).map((e) => e.userRecords), [10, 10, 5]);
  });

  it('rejects invalid records and options with IllegalArgumentError', () => {
    const aggregator = new RecordAggregator({ maxRecordBytes: 100 });
    assert.throws(() => aggregator.add({ partitionKey: '', data: new Uint8Array(1) }), IllegalArgumentError);
    assert.throws(() => aggregator.add({ partitionKey: 'x'.repeat(257), data: new Uint8Array(1) }), IllegalArgumentError);
    assert.throws(() => aggregator.add({ partitionKey: 'x', data: 'str' as unknown as Uint8Array }), IllegalArgumentError);
    assert.throws(() => aggregator.add({ partitionKey: 'x', data: new Uint8Array(1), explicitHashKey: '-1' }), IllegalArgumentError);
    assert.throws(() => aggregator.add({ partitionKey: 'x', data: new Uint8Array(1), explicitHashKey: (2n ** 128n).toString() }), IllegalArgumentError);
    assert.throws(() => aggregator.add({ partitionKey: 'x', data: new Uint8Array(100) }), /more than the 100-byte record limit/);
    assert.equal(aggregator.pendingRecords, 0, 'a rejected record leaves nothing behind');
    aggregator.add({ partitionKey: 'x', data: new Uint8Array(99) }); // fits alone (sent plain)
    assert.throws(() => new RecordAggregator({ maxRecordBytes: 0 }), IllegalArgumentError);
    assert.throws(() => new RecordAggregator({ maxUserRecords: 1.5 }), IllegalArgumentError);
  });
});
