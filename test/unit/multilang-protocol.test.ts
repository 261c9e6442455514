import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  checkpointErrorName,
  encodeMessage,
  initializeMessage,
  parseChildLine,
  processRecordsMessage,
} from '../../src/multilang/protocol.js';
import {
  DependencyError,
  IllegalArgumentError,
  InvalidStateError,
  NetworkError,
  ShutdownError,
  ThrottlingError,
  type KinesisClientRecord,
} from '../../src/index.js';

const record = (over: Partial<KinesisClientRecord> = {}): KinesisClientRecord => ({
  sequenceNumber: '49590338271490256608559692538361571095921575989136588898',
  subSequenceNumber: 0,
  partitionKey: 'pk-1',
  data: new TextEncoder().encode('hello, world'),
  approximateArrivalTimestamp: new Date(1_476_889_707_123),
  aggregated: false,
  ...over,
});

describe('multilang protocol', () => {
  it('initialize carries the shard and its checkpoint (sequence number or sentinel)', () => {
    assert.equal(
      encodeMessage(initializeMessage('shardId-000000000001', { sequenceNumber: 'TRIM_HORIZON', subSequenceNumber: 0 })),
      '{"action":"initialize","shardId":"shardId-000000000001","sequenceNumber":"TRIM_HORIZON","subSequenceNumber":0}\n',
    );
  });

  it('processRecords: Java JsonFriendlyRecord fields, base64 data, arrival in epoch ms, millisBehindLatest', () => {
    const sub = new Uint8Array([0, 1, 2, 0xff, 0xfe]).subarray(1, 4); // a view: only its own bytes are encoded
    const m = processRecordsMessage([record(), record({ subSequenceNumber: 3, data: sub, aggregated: true })], 1234);
    assert.deepEqual(JSON.parse(encodeMessage(m)), {
      action: 'processRecords',
      millisBehindLatest: 1234,
      records: [
        { action: 'record', data: Buffer.from('hello, world').toString('base64'), partitionKey: 'pk-1', sequenceNumber: record().sequenceNumber, subSequenceNumber: 0, approximateArrivalTimestamp: 1_476_889_707_123 },
        { action: 'record', data: Buffer.from([1, 2, 0xff]).toString('base64'), partitionKey: 'pk-1', sequenceNumber: record().sequenceNumber, subSequenceNumber: 3, approximateArrivalTimestamp: 1_476_889_707_123 },
      ],
    });
    assert.equal(processRecordsMessage([], undefined).millisBehindLatest, null, 'unknown lag is null, as Jackson writes it');
  });

  it('one message per line', () => {
    assert.equal(encodeMessage({ action: 'leaseLost' }), '{"action":"leaseLost"}\n');
    assert.equal(encodeMessage({ action: 'shardEnded' }), '{"action":"shardEnded"}\n');
    assert.equal(encodeMessage({ action: 'shutdownRequested' }), '{"action":"shutdownRequested"}\n');
    assert.equal(
      encodeMessage({ action: 'checkpoint', sequenceNumber: null, subSequenceNumber: null, error: 'ShutdownException' }),
      '{"action":"checkpoint","sequenceNumber":null,"subSequenceNumber":null,"error":"ShutdownException"}\n',
    );
  });

  it('reads status and checkpoint messages (as aws-kcl and kclpy send them)', () => {
    assert.deepEqual(parseChildLine('{"action":"status","responseFor":"processRecords"}'), { kind: 'message', message: { action: 'status', responseFor: 'processRecords' } });
    assert.deepEqual(parseChildLine('  {"action":"status"}\r'), { kind: 'message', message: { action: 'status', responseFor: null } });
    // aws-kcl: checkpoint(cb) sends sequenceNumber null; checkpoint(seq, cb) omits subSequenceNumber.
    assert.deepEqual(parseChildLine('{"action":"checkpoint","sequenceNumber":null}'), { kind: 'message', message: { action: 'checkpoint', sequenceNumber: null, subSequenceNumber: null } });
    assert.deepEqual(parseChildLine('{"action":"checkpoint"}'), { kind: 'message', message: { action: 'checkpoint', sequenceNumber: null, subSequenceNumber: null } });
    assert.deepEqual(parseChildLine('{"action":"checkpoint","sequenceNumber":"123"}'), { kind: 'message', message: { action: 'checkpoint', sequenceNumber: '123', subSequenceNumber: null } });
    // kclpy sends both fields; extra fields are tolerated.
    assert.deepEqual(parseChildLine('{"action":"checkpoint","sequenceNumber":"123","subSequenceNumber":4,"checkpoint":"x"}'), { kind: 'message', message: { action: 'checkpoint', sequenceNumber: '123', subSequenceNumber: 4 } });
  });

  it('a malformed checkpoint request is kept so it can be refused (instead of leaving the child waiting)', () => {
    const parsed = parseChildLine('{"action":"checkpoint","sequenceNumber":{"a":1}}');
    assert.equal(parsed.kind, 'message');
    assert.ok(parsed.kind === 'message' && parsed.message.action === 'checkpoint' && parsed.message.invalid);
    const sub = parseChildLine('{"action":"checkpoint","sequenceNumber":"1","subSequenceNumber":"x"}');
    assert.ok(sub.kind === 'message' && sub.message.action === 'checkpoint' && sub.message.invalid);
  });

  it('blank lines, non-JSON and other messages are skipped', () => {
    assert.deepEqual(parseChildLine(''), { kind: 'blank' });
    assert.deepEqual(parseChildLine('  \t '), { kind: 'blank' });
    for (const junk of ['hello', '{"half":', '[1,2]', '42', 'null', '{"action":"initialize"}', '{"no":"action"}']) {
      assert.equal(parseChildLine(junk).kind, 'junk', junk);
    }
  });

  it('checkpoint errors carry Java exception names', () => {
    assert.equal(checkpointErrorName(new ShutdownError('x')), 'ShutdownException');
    assert.equal(checkpointErrorName(new ThrottlingError('x')), 'ThrottlingException');
    assert.equal(checkpointErrorName(new InvalidStateError('x')), 'InvalidStateException');
    assert.equal(checkpointErrorName(new IllegalArgumentError('x')), 'IllegalArgumentException');
    assert.equal(checkpointErrorName(new DependencyError('x')), 'KinesisClientLibDependencyException');
    assert.equal(checkpointErrorName(new NetworkError('x')), 'KinesisClientLibDependencyException');
    assert.equal(checkpointErrorName(new Error('x')), 'KinesisClientLibDependencyException');
  });
});
