import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { InFlightScheduler, type InFlightEntry } from '../../src/processing/in-flight-scheduler.js';
import type { KinesisClientRecord } from '../../src/processor/types.js';

const rec = (seq: string, key: string, sub = 0, bytes = 1): KinesisClientRecord => ({
  sequenceNumber: seq,
  subSequenceNumber: sub,
  partitionKey: key,
  data: new Uint8Array(bytes),
  approximateArrivalTimestamp: new Date(0),
  aggregated: sub > 0,
});

function drainStarts(s: InFlightScheduler): InFlightEntry[] {
  const started: InFlightEntry[] = [];
  for (let e = s.next(); e; e = s.next()) started.push(e);
  return started;
}

function markOf(s: InFlightScheduler, sub?: true): string | number | undefined {
  const mark = s.lowWaterMark;
  return sub ? mark?.subSequenceNumber : mark?.toString();
}

const opts = { maxInFlight: 4, orderBy: 'partitionKey' as const, maxBufferedRecords: 100, maxBufferedBytes: 1 << 20 };

describe('InFlightScheduler', () => {
  it('runs one record per partition key at a time, the next of a key only after the previous finished', () => {
    const s = new InFlightScheduler(opts);
    for (const [i, key] of ['a', 'a', 'b', 'a', 'c', 'b'].entries()) s.push(rec(String(100 + i), key));
    const first = drainStarts(s);
    assert.deepEqual(first.map((e) => e.record.sequenceNumber), ['100', '102', '104'], 'the heads of a, b and c');
    assert.equal(s.inFlight, 3);
    s.complete(first[0]!); // a:100
    const second = drainStarts(s);
    assert.deepEqual(second.map((e) => e.record.sequenceNumber), ['101'], 'a:101 only after a:100');
    s.complete(first[1]!); // b:102
    assert.deepEqual(drainStarts(s).map((e) => e.record.sequenceNumber), ['105']);
    s.complete(second[0]!); // a:101
    assert.deepEqual(drainStarts(s).map((e) => e.record.sequenceNumber), ['103']);
  });

  it('never exceeds maxInFlight, and orderBy none lets the same key overlap', () => {
    const s = new InFlightScheduler({ ...opts, orderBy: 'none', maxInFlight: 3 });
    for (let i = 0; i < 6; i++) s.push(rec(String(10 + i), 'same'));
    const started = drainStarts(s);
    assert.equal(started.length, 3);
    assert.equal(s.next(), undefined);
    s.complete(started[1]!);
    assert.deepEqual(drainStarts(s).map((e) => e.record.sequenceNumber), ['13']);
    assert.equal(s.inFlight, 3);
  });

  it('the low-water mark is the last position below which everything finished, sub-sequence precise', () => {
    const s = new InFlightScheduler({ ...opts, maxInFlight: 10, orderBy: 'none' });
    // A KPL aggregate (seq 500, subs 0..2) between two plain records.
    const records = [rec('400', 'x'), rec('500', 'y', 0), rec('500', 'z', 1), rec('500', 'w', 2), rec('600', 'v')];
    for (const r of records) s.push(r);
    const [r400, s0, s1, s2, r600] = drainStarts(s);
    assert.equal(s.lowWaterMark, undefined);
    assert.equal(s.complete(s1!), 0, 'done above an unfinished record: the mark does not move');
    assert.equal(s.complete(r600!), 0);
    assert.equal(s.lowWaterMark, undefined);
    assert.equal(s.complete(r400!), 1);
    assert.equal(markOf(s), '400');
    assert.equal(s.complete(s0!), 2, 'sub-record 0 finishes: the mark passes it and the finished sub-record 1');
    assert.equal(markOf(s), '500/1');
    assert.equal(markOf(s, true), 1);
    assert.equal(s.complete(s2!), 2);
    assert.equal(markOf(s), '600');
    assert.ok(s.idle);
  });

  it('backpressure: the buffer counts every record above the mark, so a stuck record bounds what is held behind it', () => {
    const s = new InFlightScheduler({ ...opts, maxInFlight: 2, maxBufferedRecords: 5 });
    let seq = 1000;
    s.push(rec(String(seq++), 'stuck'));
    const [stuck] = drainStarts(s);
    // Other keys keep flowing while there is room; each finishes at once.
    let accepted = 1;
    while (s.hasRoom()) {
      s.push(rec(String(seq++), `k${accepted}`));
      accepted++;
      for (const e of drainStarts(s)) s.complete(e);
    }
    assert.equal(accepted, 5, 'at most maxBufferedRecords records between the mark and the newest');
    assert.equal(s.buffered, 5);
    assert.equal(s.lowWaterMark, undefined, 'the mark waits for the stuck record');
    s.complete(stuck!);
    assert.equal(s.buffered, 0);
    assert.equal(markOf(s), String(seq - 1));
    assert.ok(s.hasRoom());
  });

  it('backpressure by bytes; an empty buffer always takes one record, however big', () => {
    const s = new InFlightScheduler({ ...opts, maxBufferedBytes: 100 });
    s.push(rec('1', 'a', 0, 500));
    assert.equal(s.hasRoom(), false);
    const [big] = drainStarts(s);
    s.complete(big!);
    assert.ok(s.hasRoom());
    s.push(rec('2', 'a', 0, 60));
    assert.ok(s.hasRoom());
    s.push(rec('3', 'b', 0, 60));
    assert.equal(s.bufferedBytes, 120);
    assert.equal(s.hasRoom(), false);
  });

  it('ignores a record at or below the newest accepted position (a redelivered batch runs nothing twice)', () => {
    const s = new InFlightScheduler(opts);
    assert.ok(s.push(rec('10', 'a')));
    assert.equal(s.push(rec('10', 'a')), undefined);
    assert.equal(s.push(rec('9', 'b')), undefined);
    assert.ok(s.push(rec('10', 'a', 1)));
    assert.equal(s.buffered, 2);
  });

  it('keeps key order across many keys and records (randomized completion order)', () => {
    const s = new InFlightScheduler({ ...opts, maxInFlight: 16, maxBufferedRecords: 10_000 });
    let state = 7;
    const random = (): number => ((state = (state * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    const lastStarted = new Map<string, number>();
    const running = new Set<string>();
    const pending: InFlightEntry[] = [];
    for (let i = 0; i < 2000; i++) s.push(rec(String(1_000_000 + i), `k${Math.floor(random() * 64)}`));
    let finished = 0;
    while (finished < 2000) {
      for (let e = s.next(); e; e = s.next()) {
        assert.ok(!running.has(e.key), `key ${e.key} overlaps`);
        assert.ok((lastStarted.get(e.key) ?? -1) < e.index, `key ${e.key} out of order`);
        lastStarted.set(e.key, e.index);
        running.add(e.key);
        pending.push(e);
      }
      assert.ok(pending.length <= 16);
      const e = pending.splice(Math.floor(random() * pending.length), 1)[0]!;
      running.delete(e.key);
      s.complete(e);
      finished++;
    }
    assert.equal(markOf(s), String(1_000_000 + 1999));
  });
});
