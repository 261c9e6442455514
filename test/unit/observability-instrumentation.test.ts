import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { InstrumentedLeaseStore } from '../../src/coordinator/lease-store-instrumentation.js';
import { instrumentProcessor } from '../../src/coordinator/processor-instrumentation.js';
import { NetworkError } from '../../src/errors.js';
import { InMemoryLeaseStore } from '../../src/leases/in-memory-lease-store.js';
import type { Lease } from '../../src/leases/lease.js';
import { Metrics } from '../../src/metrics/metrics.js';
import type { MetricDatum, MetricsSink } from '../../src/metrics/metrics-sink.js';
import type { KinesisClientRecord, ProcessRecordsInput, ShardRecordProcessor } from '../../src/processor/types.js';
import { FakeClock } from '../../src/util/clock.js';

class CaptureSink implements MetricsSink {
  readonly data: MetricDatum[] = [];
  record(d: MetricDatum): void {
    this.data.push(d);
  }
  names(): string[] {
    return this.data.map((d) => `${d.dimensions.Operation}/${d.name}=${d.kind === 'timing' ? 't' : d.value}`);
  }
}

function newLease(key: string, owner?: string): Lease {
  return { leaseKey: key, leaseOwner: owner, leaseCounter: 0, checkpoint: { sequenceNumber: 'TRIM_HORIZON', subSequenceNumber: 0 }, ownerSwitchesSinceCheckpoint: 0, parentShardIds: [], childShardIds: [] };
}

describe('InstrumentedLeaseStore', () => {
  it('times lease calls into Java KCL metrics and tells which calls went through, without changing results', async () => {
    const raw = new InMemoryLeaseStore();
    await raw.createLeaseIfNotExists(newLease('shardId-1', 'other-worker'));
    await raw.createLeaseIfNotExists(newLease('shardId-2'));
    const sink = new CaptureSink();
    const events: string[] = [];
    const store = new InstrumentedLeaseStore(raw, new Metrics(sink, 'DETAILED'), 'w1', {
      renewalAnswered: () => events.push('renewal'),
      tableAnswered: () => events.push('table'),
    }, new FakeClock());
    const { leases } = await store.listLeases();
    assert.equal(leases.length, 2);
    const stolen = leases.find((l) => l.leaseKey === 'shardId-1')!;
    const taken = await store.takeLease(stolen, 'w1');
    assert.ok(taken.ok);
    const renewed = await store.renewLease(taken.lease);
    assert.ok(renewed.ok);
    const stale = await store.renewLease(taken.lease);
    assert.equal(stale.ok, false, 'a lost race is a result, still reported as answered');
    await store.updateCheckpoint(renewed.lease, { checkpoint: { sequenceNumber: '1', subSequenceNumber: 0 } });
    raw.failNext('renewLease', new NetworkError('down'));
    await assert.rejects(store.renewLease(renewed.lease), NetworkError);
    assert.equal(raw.calls.renewLease, 3, 'the real store did the work');

    assert.deepEqual(sink.names(), [
      'TakeLeases/ListLeases.Success=1', 'TakeLeases/ListLeases.Time=t',
      'TakeLeases/TakeLease.Success=1', 'TakeLeases/TakeLease.Time=t',
      'RenewAllLeases/RenewLease.Success=1', 'RenewAllLeases/RenewLease.Time=t',
      'RenewAllLeases/RenewLease.Success=1', 'RenewAllLeases/RenewLease.Time=t',
      'ProcessTask/UpdateLease.Success=1', 'ProcessTask/UpdateLease.Time=t',
      'RenewAllLeases/RenewLease.Success=0', 'RenewAllLeases/RenewLease.Time=t',
    ]);
    assert.deepEqual(sink.data[0]!.dimensions, { Operation: 'TakeLeases', WorkerIdentifier: 'w1' });
    assert.deepEqual(sink.data[8]!.dimensions, { Operation: 'ProcessTask', ShardId: 'shardId-1' });
    assert.deepEqual(events, ['table', 'table', 'renewal', 'table', 'renewal', 'table', 'renewal', 'table', 'renewal']);
  });

  it('times calls on the injected clock', async () => {
    const raw = new InMemoryLeaseStore();
    await raw.createLeaseIfNotExists(newLease('s'));
    const clock = new FakeClock();
    const sink = new CaptureSink();
    const store = new InstrumentedLeaseStore(raw, new Metrics(sink, 'DETAILED'), 'w1', { renewalAnswered: () => undefined, tableAnswered: () => undefined }, clock);
    const slow: InMemoryLeaseStore['listLeases'] = async () => {
      await clock.sleep(250);
      return InMemoryLeaseStore.prototype.listLeases.call(raw);
    };
    raw.listLeases = slow;
    const listing = store.listLeases();
    await clock.advance(250);
    assert.equal((await listing).leases.length, 1);
    const time = sink.data.find((d) => d.name === 'ListLeases.Time');
    assert.equal(time?.value, 250);
  });

  it('at SUMMARY only renewals are timed', async () => {
    const raw = new InMemoryLeaseStore();
    await raw.createLeaseIfNotExists(newLease('s'));
    const sink = new CaptureSink();
    const noop = { renewalAnswered: () => undefined, tableAnswered: () => undefined };
    const store = new InstrumentedLeaseStore(raw, new Metrics(sink, 'SUMMARY'), 'w1', noop, new FakeClock());
    const { leases } = await store.listLeases();
    const t = await store.takeLease(leases[0]!, 'w1');
    assert.ok(t.ok);
    await store.renewLease(t.lease);
    assert.deepEqual(sink.names(), ['RenewAllLeases/RenewLease.Success=1', 'RenewAllLeases/RenewLease.Time=t']);
  });
});

describe('instrumentProcessor', () => {
  const record = (data: string): KinesisClientRecord => ({
    sequenceNumber: '1', subSequenceNumber: 0, partitionKey: 'pk', data: new TextEncoder().encode(data), approximateArrivalTimestamp: new Date(), aggregated: false,
  });

  function scopes(sink: CaptureSink, reportLag: boolean) {
    const m = new Metrics(sink, 'DETAILED');
    return {
      process: m.scope({ Operation: 'ProcessTask', ShardId: 's' }),
      initialize: m.scope({ Operation: 'InitializeTask', ShardId: 's' }),
      shutdown: m.scope({ Operation: 'ShutdownTask', ShardId: 's' }),
      reportLag,
    };
  }

  it('counts records and bytes of successful calls, times each call, passes inputs and errors through', async () => {
    const seen: unknown[] = [];
    let fail = true;
    const inner: ShardRecordProcessor = {
      initialize: (input) => void seen.push(input.shardId),
      processRecords(input) {
        seen.push(input.records.length);
        if (fail) throw new Error('boom');
      },
      leaseLost: () => undefined,
      shardEnded: () => undefined,
    };
    const sink = new CaptureSink();
    const p = instrumentProcessor(inner, scopes(sink, true), new FakeClock());
    assert.equal('shutdownRequested' in p, false, 'an optional method the processor lacks stays absent');
    await p.initialize({ shardId: 's', streamName: 'x', extendedSequenceNumber: { sequenceNumber: 'TRIM_HORIZON', subSequenceNumber: 0 } });
    const input = { shardId: 's', streamName: 'x', records: [record('abc'), record('de')], millisBehindLatest: 42, isAtShardEnd: false } as unknown as ProcessRecordsInput;
    await assert.rejects(Promise.resolve(p.processRecords(input)), /boom/);
    fail = false;
    await p.processRecords(input);
    await p.leaseLost({ shardId: 's', streamName: 'x' });
    assert.deepEqual(seen, ['s', 2, 2]);
    assert.deepEqual(sink.names(), [
      'InitializeTask/RecordProcessor.initialize.Success=1', 'InitializeTask/RecordProcessor.initialize.Time=t',
      'ProcessTask/MillisBehindLatest=42',
      'ProcessTask/RecordProcessor.processRecords.Success=0', 'ProcessTask/RecordProcessor.processRecords.Time=t',
      'ProcessTask/MillisBehindLatest=42',
      'ProcessTask/RecordProcessor.processRecords.Success=1', 'ProcessTask/RecordProcessor.processRecords.Time=t',
      'ProcessTask/RecordsProcessed=2', 'ProcessTask/DataBytesProcessed=5',
      'ShutdownTask/RecordProcessor.shutdown.Success=1', 'ShutdownTask/RecordProcessor.shutdown.Time=t',
    ]);
    assert.equal(sink.data.find((d) => d.name === 'DataBytesProcessed')!.unit, 'Bytes');
  });

  it('keeps shutdownRequested bound to the processor; no lag metric when polling reports it per fetch', async () => {
    class Processor implements ShardRecordProcessor {
      calls = 0;
      initialize(): void {}
      processRecords(): void {}
      leaseLost(): void {}
      shardEnded(): void {}
      shutdownRequested(): void {
        this.calls++;
      }
    }
    const inner = new Processor();
    const sink = new CaptureSink();
    const p = instrumentProcessor(inner, scopes(sink, false), new FakeClock());
    await p.shutdownRequested!({ shardId: 's', streamName: 'x' } as never);
    await p.processRecords({ records: [], millisBehindLatest: 9 } as unknown as ProcessRecordsInput);
    assert.equal(inner.calls, 1);
    assert.equal(sink.data.some((d) => d.name === 'MillisBehindLatest'), false);
  });
});
