// The lean SubscribeToShard deserializer against the SDK's event-stream decoding on the same bytes: a local HTTP
// server answers each SubscribeToShard with one generated event stream (framed by the SDK's own codec, every header
// type included, sent in random pieces down to single bytes), sent twice through one real KinesisClient — once as
// the SDK decodes it, once with the lean deserializer installed (its SDK fallback wrapped to count). Generated events
// cover KPL aggregates, empty heartbeats, ChildShards and odd-but-valid JSON; exception and error messages, unknown
// event types, damaged checksums and cut bodies must give exactly the SDK's events and error.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { crc32 } from 'node:zlib';
import { SubscribeToShardCommand } from '@aws-sdk/client-kinesis';
import { EventStreamCodec, Int64 } from '@smithy/core/event-streams';
import { fromUtf8, toUtf8 } from '@smithy/core/serde';
import { createKinesisClient, type KinesisClient } from '../../src/aws/clients.js';
import { FanOutApi, type SubscribeEvent } from '../../src/aws/fanout-api.js';
import { sdkDeserializerOf } from '../../src/aws/get-records-deserializer.js';
import { mapAwsError } from '../../src/aws/map-error.js';
import { useLeanSubscribeToShard } from '../../src/aws/subscribe-to-shard-deserializer.js';
import { KclError } from '../../src/errors.js';
import { RecordAggregator } from '../../src/retrieval/kpl/aggregator.js';
import { deaggregateRecords } from '../../src/retrieval/kpl/deaggregate.js';
import { randomBytes, randomInt, seededRandom } from '../support/kpl-fixtures.js';
import { generatedRecord, maybe, RawNumber, writeJson } from '../support/kinesis-json-fixtures.js';
import { TEST_CREDENTIALS, TEST_REGION } from '../support/emulators.js';

interface Answer {
  status?: number;
  contentType?: string;
  body: Buffer;
  /** Write the body in pieces of these sizes (cycled); default one piece. */
  pieces?: number[];
  /** Write this many bytes, then destroy the connection. */
  cutAfter?: number;
  /** Write the body, then keep the answer open (until the client goes away). */
  hold?: boolean;
  /** Bodies by the requested ShardId, instead of `body`. */
  byShard?: Map<string, Buffer>;
}

let server: Server;
let client: KinesisClient;
let answer: Answer = { body: Buffer.alloc(0) };
let fallbacks = 0;
let sdk: ReturnType<typeof sdkDeserializerOf>;
/** `sdk`, counting the messages (or answers) the lean path hands to it. */
let counting: NonNullable<typeof sdk>;

before(async () => {
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const shardId = (JSON.parse(Buffer.concat(chunks).toString() || '{}') as { ShardId?: string }).ShardId ?? '';
      const a = answer.byShard ? { ...answer, body: answer.byShard.get(shardId)! } : answer;
      const headers: Record<string, string> = { 'x-amzn-requestid': 'req-1', 'content-type': a.contentType ?? 'application/vnd.amazon.eventstream' };
      res.writeHead(a.status ?? 200, headers); // chunked: an event stream has no Content-Length
      if (a.cutAfter !== undefined) {
        res.write(a.body.subarray(0, a.cutAfter), () => setTimeout(() => res.destroy(), 10));
        return;
      }
      const sizes = a.pieces ?? [a.body.byteLength || 1];
      for (let at = 0, i = 0; at < a.body.byteLength; i++) {
        const n = sizes[i % sizes.length]!;
        res.write(a.body.subarray(at, at + n));
        at += n;
      }
      if (!a.hold) res.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  client = createKinesisClient({ region: TEST_REGION, endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, credentials: TEST_CREDENTIALS });
  sdk = sdkDeserializerOf(client);
  assert.ok(sdk, 'the SDK deserializer is found on the client stack');
  counting = ((next: never, context: never) => {
    const handler = sdk!(next, context);
    return (args: never) => {
      fallbacks++;
      return handler(args);
    };
  }) as unknown as NonNullable<typeof sdk>;
});

after(() => {
  client.destroy();
  server.closeAllConnections();
  server.close();
});

// ---------------------------------------------------------------------------------------------------------------
// Event streams, framed by the SDK's own codec.

const codec = new EventStreamCodec(toUtf8, fromUtf8);
type Header = Parameters<EventStreamCodec['encode']>[0]['headers'][string];

function message(headers: Record<string, Header>, body: string | Uint8Array): Buffer {
  return Buffer.from(codec.encode({ headers, body: typeof body === 'string' ? fromUtf8(body) : body }));
}

const str = (value: string): Header => ({ type: 'string', value });

/** Headers of every type the format has, for the reader to skip. */
function extraHeaders(random: () => number): Record<string, Header> {
  const all: [string, Header][] = [
    ['x-bool-true', { type: 'boolean', value: true }],
    ['x-bool-false', { type: 'boolean', value: false }],
    ['x-byte', { type: 'byte', value: -5 }],
    ['x-short', { type: 'short', value: 1234 }],
    ['x-int', { type: 'integer', value: -123456 }],
    ['x-long', { type: 'long', value: Int64.fromNumber(2 ** 40 + 3) }],
    ['x-bytes', { type: 'binary', value: randomBytes(random, randomInt(random, 40)) }],
    ['x-string', str('é€ ünïcode')],
    ['x-time', { type: 'timestamp', value: new Date(1_700_000_000_123) }],
    ['x-uuid', { type: 'uuid', value: '0123abcd-4567-89ab-cdef-0123456789ab' }],
  ];
  return Object.fromEntries(all.filter(() => random() < 0.4));
}

function eventMessage(type: string, payload: string | Uint8Array, random?: () => number): Buffer {
  const extra = random ? extraHeaders(random) : {};
  const routing = { ':message-type': str('event'), ':event-type': str(type), ':content-type': str('application/json') };
  // Extra headers before or after the routing ones.
  return message(random && random() < 0.5 ? { ...extra, ...routing } : { ...routing, ...extra }, payload);
}

const INITIAL = eventMessage('initial-response', '{}');

function exceptionMessage(type: string, text: string): Buffer {
  return message({ ':message-type': str('exception'), ':exception-type': str(type), ':content-type': str('application/json') }, JSON.stringify({ message: text }));
}

/** `bytes` with its checksums made right again after `change`. */
function rechecked(bytes: Buffer, change: (b: Buffer) => void): Buffer {
  const b = Buffer.from(bytes);
  change(b);
  b.writeUInt32BE(crc32(b.subarray(0, 8)), 8);
  b.writeUInt32BE(crc32(b.subarray(0, b.byteLength - 4)), b.byteLength - 4);
  return b;
}

/** The first header's type tag replaced. */
function withHeaderType(bytes: Buffer, type: number): Buffer {
  return rechecked(bytes, (b) => (b[12 + 1 + b[12]!] = type));
}

function withHeadersLength(bytes: Buffer, length: number): Buffer {
  return rechecked(bytes, (b) => b.writeUInt32BE(length, 4));
}

/** One byte flipped, checksums left as they were. */
function damaged(bytes: Buffer, at: number): Buffer {
  const b = Buffer.from(bytes);
  b[at]! ^= 0x40;
  return b;
}

function generatedEvent(random: () => number, last: boolean): Record<string, unknown> {
  const heartbeat = random() < 0.2;
  const event: Record<string, unknown> = {
    Records: heartbeat ? [] : Array.from({ length: 1 + randomInt(random, 12) }, (_, i) => generatedRecord(random, i)),
    ContinuationSequenceNumber: last ? undefined : maybe(random, `4959033827149025660855969253836157109592157598913${randomInt(random, 1e6)}`, 0.05),
    MillisBehindLatest: maybe(random, new RawNumber(String([0, 1, 999, 86_400_000, 2 ** 40][randomInt(random, 5)])), 0.05),
  };
  if (last) {
    event.ChildShards = Array.from({ length: 1 + randomInt(random, 2) }, (_, i) => ({
      ShardId: `shardId-00000000000${i + 1}`,
      ParentShards: ['shardId-000000000000'],
      HashKeyRange: { StartingHashKey: String(i), EndingHashKey: '340282366920938463463374607431768211455' },
    }));
  }
  if (random() < 0.2) event.Unknown = { a: [true, false, null, 1.5e3] };
  return event;
}

function generatedStream(random: () => number): Buffer {
  const count = randomInt(random, 6);
  const closed = random() < 0.2;
  const events = Array.from({ length: count }, (_, i) =>
    eventMessage('SubscribeToShardEvent', writeJson(generatedEvent(random, closed && i === count - 1), random, random() < 0.5 ? 0 : 0.05), random),
  );
  return Buffer.concat([eventMessage('initial-response', '{}', random), ...events]);
}

function randomPieces(random: () => number): number[] | undefined {
  const r = random();
  return r < 0.3 ? undefined : r < 0.5 ? [1] : Array.from({ length: 5 }, () => 1 + randomInt(random, 3000));
}

// ---------------------------------------------------------------------------------------------------------------
// Both paths on one answer.

interface Outcome {
  /** Members yielded (before the error, if any). */
  events: unknown[];
  /** Where it failed: the call itself, or the iteration. */
  failedIn?: 'send' | 'iteration';
  error?: { name: string; message: string; ctor: string; fault: unknown; kcl: string };
}

function describeError(error: unknown): NonNullable<Outcome['error']> {
  const e = error as { name: string; message: string; $fault?: unknown; constructor: { name: string } };
  // The SDK adds a hint to the message of some errors thrown while deserializing; it is the same on both paths.
  return { name: e.name, message: e.message, ctor: e.constructor.name, fault: e.$fault, kcl: mapAwsError(error, 'op').constructor.name };
}

async function run(command: SubscribeToShardCommand): Promise<Outcome> {
  const outcome: Outcome = { events: [] };
  let out;
  try {
    out = await client.send(command);
  } catch (error) {
    return { ...outcome, failedIn: 'send', error: describeError(error) };
  }
  try {
    // String keys only: the SDK marks a stray initial-response with a symbol of its own per decoding.
    for await (const member of out.EventStream ?? []) outcome.events.push(Object.fromEntries(Object.entries(member)));
  } catch (error) {
    return { ...outcome, failedIn: 'iteration', error: describeError(error) };
  }
  return outcome;
}

const input = { ConsumerARN: 'arn:aws:kinesis:us-east-1:000000000000:stream/s/consumer/c:1', ShardId: 'shardId-000000000000', StartingPosition: { Type: 'LATEST' as const } };

async function both(a: Answer): Promise<{ sdk: Outcome; lean: Outcome; fallbacks: number }> {
  answer = a;
  const sdkOutcome = await run(new SubscribeToShardCommand(input));
  const before = fallbacks;
  const command = new SubscribeToShardCommand(input);
  useLeanSubscribeToShard(command, counting);
  const lean = await run(command);
  return { sdk: sdkOutcome, lean, fallbacks: fallbacks - before };
}

describe('lean SubscribeToShard deserializer', () => {
  it('yields the SDK’s events on generated streams, in any chunking, without falling back', async () => {
    const random = seededRandom(0x5b);
    let events = 0;
    for (let i = 0; i < 60; i++) {
      const body = generatedStream(random);
      const pieces = randomPieces(random);
      const { sdk, lean, fallbacks } = await both({ body, ...(pieces ? { pieces } : {}) });
      assert.equal(sdk.error, undefined, `case ${i}: the SDK accepts the generated stream`);
      assert.deepEqual(lean, sdk, `case ${i}: same events (pieces ${JSON.stringify(pieces)})`);
      assert.equal(fallbacks, 0, `case ${i}: lean path used`);
      events += lean.events.length;
    }
    assert.ok(events > 100, `${events} events compared`);
  });

  it('gives exactly the SDK’s events and error for exception and error messages, wherever they come', async () => {
    const modeled = ['ResourceNotFoundException', 'ResourceInUseException', 'KMSDisabledException', 'KMSInvalidStateException', 'KMSAccessDeniedException', 'KMSNotFoundException', 'KMSOptInRequired', 'KMSThrottlingException', 'InternalFailureException'];
    const failures = [
      ...[...modeled, 'LimitExceededException', 'SomethingNewException'].map((type) => [type, exceptionMessage(type, `${type} happened`)] as const),
      ['error message', message({ ':message-type': str('error'), ':error-code': str('InternalError'), ':error-message': str('boom') }, '')] as const,
    ];
    const event = eventMessage('SubscribeToShardEvent', JSON.stringify({ Records: [{ SequenceNumber: '1', Data: 'aGk=', PartitionKey: 'p', ApproximateArrivalTimestamp: 1.5 }], ContinuationSequenceNumber: '1', MillisBehindLatest: 0 }));
    for (const [name, failure] of failures) {
      const placements: [string, Buffer[], 'send' | 'iteration'][] = [
        ['instead of the initial-response', [failure, event], 'send'],
        ['right after the initial-response', [INITIAL, failure, event], 'iteration'],
        ['mid-stream', [INITIAL, event, event, failure, event], 'iteration'],
      ];
      for (const [where, parts, failedIn] of placements) {
        const { sdk, lean, fallbacks } = await both({ body: Buffer.concat(parts), pieces: [5, 3000] });
        assert.deepEqual(lean, sdk, `${name} ${where}`);
        assert.equal(lean.failedIn, failedIn, `${name} ${where}: fails in ${failedIn}`);
        assert.ok(fallbacks > 0, `${name} ${where}: decoded by the SDK`);
        if (modeled.includes(name)) assert.equal(lean.error?.ctor, name, `${name}: the SDK's modeled exception class`);
      }
    }
  });

  it('gives exactly the SDK’s result for odd messages and bodies, through the SDK where it must', async () => {
    const plain = (payload: string): Buffer => eventMessage('SubscribeToShardEvent', payload);
    const ok = plain(JSON.stringify({ Records: [], ContinuationSequenceNumber: '7', MillisBehindLatest: 1 }));
    const stream = (...parts: Buffer[]): Buffer => Buffer.concat([INITIAL, ...parts]);
    const cases: [string, Answer, 'lean' | 'sdk'][] = [
      ['no messages at all', { body: Buffer.alloc(0) }, 'lean'],
      ['only the initial-response', { body: INITIAL }, 'lean'],
      ['no initial-response', { body: Buffer.concat([ok, ok]) }, 'lean'],
      ['an initial-response with members', { body: Buffer.concat([eventMessage('initial-response', '{"X":1}'), ok]) }, 'sdk'],
      ['an initial-response {} with whitespace', { body: Buffer.concat([eventMessage('initial-response', ' {\n\t} \r'), ok]) }, 'lean'],
      ['an initial-response that is not JSON', { body: Buffer.concat([eventMessage('initial-response', '{}}'), ok]) }, 'sdk'],
      ['an empty initial-response', { body: Buffer.concat([eventMessage('initial-response', ''), ok]) }, 'sdk'],
      ['an unknown event type first', { body: Buffer.concat([eventMessage('NewEvent', '{}'), INITIAL, ok]) }, 'sdk'],
      ['an unknown event type mid-stream', { body: stream(ok, eventMessage('NewEvent', '{"a":1}'), ok) }, 'sdk'],
      ['a second initial-response', { body: stream(ok, INITIAL, ok) }, 'sdk'],
      ['an empty event payload', { body: stream(plain(''), ok) }, 'sdk'],
      ['an event that is not JSON', { body: stream(ok, plain('{"Records": ['), ok) }, 'sdk'],
      ['an event with __type', { body: stream(plain('{"__type":"X","Records":[]}'), ok) }, 'sdk'],
      ['a string timestamp', { body: stream(plain('{"Records":[{"Data":"","ApproximateArrivalTimestamp":"1700000000"}]}')) }, 'sdk'],
      ['URL-safe base64', { body: stream(plain('{"Records":[{"Data":"a-V_bG8="}]}')) }, 'sdk'],
      ['MillisBehindLatest as a string', { body: stream(plain('{"Records":[],"MillisBehindLatest":"5"}')) }, 'sdk'],
      ['a boolean :message-type', { body: stream(ok, message({ ':message-type': { type: 'boolean', value: true }, ':event-type': str('SubscribeToShardEvent') }, '{}')) }, 'sdk'],
      ['no :message-type', { body: stream(ok, message({ ':event-type': str('SubscribeToShardEvent') }, '{}')) }, 'sdk'],
      ['an unknown message type', { body: stream(ok, message({ ':message-type': str('gossip'), ':event-type': str('X') }, '{}')) }, 'sdk'],
      ['an unknown header type', { body: stream(ok, withHeaderType(ok, 10), ok) }, 'sdk'],
      ['headers longer than the message', { body: stream(ok, withHeadersLength(ok, ok.byteLength)) }, 'sdk'],
      ['a damaged message checksum mid-stream', { body: stream(ok, damaged(ok, ok.byteLength - 2), ok) }, 'sdk'],
      ['a damaged message checksum first', { body: Buffer.concat([damaged(INITIAL, INITIAL.byteLength - 1), ok]) }, 'sdk'],
      ['a damaged payload', { body: stream(ok, damaged(ok, ok.byteLength - 10), ok) }, 'sdk'],
      ['a damaged prelude checksum mid-stream', { body: stream(ok, damaged(ok, 9), ok) }, 'lean'],
      ['a damaged prelude checksum first', { body: Buffer.concat([damaged(INITIAL, 10), ok]) }, 'sdk'],
      ['a body that ends inside a message', { body: stream(ok, ok.subarray(0, 30)) }, 'lean'],
      ['a body that ends inside a prelude', { body: stream(ok, ok.subarray(0, 5)) }, 'lean'],
      ['a body that ends inside the first message', { body: INITIAL.subarray(0, 20) }, 'sdk'],
      ['400 ResourceInUseException', { status: 400, contentType: 'application/x-amz-json-1.1', body: Buffer.from('{"__type":"ResourceInUseException","message":"busy"}') }, 'sdk'],
      ['500 InternalFailure', { status: 500, contentType: 'application/x-amz-json-1.1', body: Buffer.from('{"__type":"InternalFailureException"}') }, 'sdk'],
      ['another content type', { contentType: 'application/json', body: stream(ok) }, 'sdk'],
    ];
    for (const [name, a, path] of cases) {
      for (const pieces of [undefined, [1]]) {
        const { sdk, lean, fallbacks } = await both({ ...a, ...(pieces ? { pieces } : {}) });
        assert.deepEqual(lean, sdk, `${name}${pieces ? ' (1-byte pieces)' : ''}`);
        assert.equal(fallbacks > 0, path === 'sdk', `${name}: ${path} path`);
      }
    }
  });

  it('fails, never hangs or yields part of an event, when the connection is cut mid-message', async () => {
    const big = eventMessage('SubscribeToShardEvent', JSON.stringify({ Records: [{ SequenceNumber: '1', Data: Buffer.alloc(100_000, 7).toString('base64'), PartitionKey: 'p' }], ContinuationSequenceNumber: '1', MillisBehindLatest: 0 }));
    const body = Buffer.concat([INITIAL, big, big]);
    for (const cutAfter of [INITIAL.byteLength + big.byteLength + 6, INITIAL.byteLength + big.byteLength + 50_000]) {
      const { sdk, lean } = await both({ body, cutAfter });
      assert.equal(lean.events.length, 1, 'the whole first event, nothing of the second');
      assert.equal(lean.failedIn, 'iteration');
      assert.deepEqual(lean, sdk);
      assert.equal(lean.error?.kcl, 'NetworkError', 'a retriable network error once mapped');
    }
  });

  it('ends the event stream with an AbortError when the subscription is aborted, while waiting or between events', async () => {
    const event = eventMessage('SubscribeToShardEvent', JSON.stringify({ Records: [], ContinuationSequenceNumber: '1', MillisBehindLatest: 0 }));
    for (const pending of [true, false]) {
      answer = { body: Buffer.concat([INITIAL, event]), hold: true };
      const controller = new AbortController();
      const api = new FanOutApi(client);
      const iterator = (await api.subscribeToShard(input.ConsumerARN, input.ShardId, { type: 'LATEST' }, controller.signal))[Symbol.asyncIterator]();
      assert.equal((await iterator.next()).done, false, 'first event');
      const next = pending ? iterator.next() : undefined;
      setTimeout(() => controller.abort(new Error('lease lost')), 20);
      if (!pending) await new Promise((r) => setTimeout(r, 50));
      const started = Date.now();
      await assert.rejects(next ?? iterator.next(), (e: unknown) => e instanceof KclError && e.retriable && /aborted/i.test(e.message));
      assert.ok(Date.now() - started < 2000, 'at once');
    }
  });

  it('keeps concurrent subscriptions apart when their events straddle chunks (the join buffer is shared)', async () => {
    const random = seededRandom(0x77);
    const shards = ['shardId-000000000000', 'shardId-000000000001', 'shardId-000000000002', 'shardId-000000000003'];
    const byShard = new Map(
      shards.map((shardId, s) => {
        const events = Array.from({ length: 6 }, (_, i) =>
          eventMessage('SubscribeToShardEvent', JSON.stringify({
            Records: Array.from({ length: 1 + randomInt(random, 60) }, (_, j) => ({ SequenceNumber: `${s}-${i}-${j}`, Data: Buffer.from(randomBytes(random, randomInt(random, 3000))).toString('base64'), PartitionKey: `s${s}` })),
            ContinuationSequenceNumber: `${s}-${i}`,
            MillisBehindLatest: s,
          })),
        );
        return [shardId, Buffer.concat([INITIAL, ...events])] as const;
      }),
    );
    answer = { body: Buffer.alloc(0), byShard, pieces: [1000, 7, 4093] };
    const read = (shardId: string, lean: boolean): Promise<Outcome> => {
      const command = new SubscribeToShardCommand({ ...input, ShardId: shardId });
      if (lean) useLeanSubscribeToShard(command, counting);
      return run(command);
    };
    const viaSdk = await Promise.all(shards.map((s) => read(s, false)));
    const before = fallbacks;
    const lean = await Promise.all(shards.map((s) => read(s, true)));
    assert.equal(fallbacks, before, 'lean path used');
    assert.deepEqual(lean, viaSdk);
    assert.equal(lean.reduce((n, o) => n + o.events.length, 0), 24);
  });

  it('keeps KPL aggregates byte-exact through FanOutApi (MD5-checked deaggregation), as the SDK path does', async () => {
    const random = seededRandom(3);
    const users = Array.from({ length: 40 }, (_, i) => ({ partitionKey: `pk-${i}-é`, data: randomBytes(random, randomInt(random, 400)) }));
    const aggregates = RecordAggregator.aggregate(users, { maxUserRecords: 10 });
    const records = aggregates.map((a, i) => ({ SequenceNumber: String(100 + i), ApproximateArrivalTimestamp: 1_700_000_000.5, Data: Buffer.from(a.data).toString('base64'), PartitionKey: a.partitionKey }));
    const body = Buffer.concat([
      INITIAL,
      eventMessage('SubscribeToShardEvent', JSON.stringify({ Records: records.slice(0, 2), ContinuationSequenceNumber: '101', MillisBehindLatest: 5 })),
      eventMessage('SubscribeToShardEvent', JSON.stringify({ Records: [], ContinuationSequenceNumber: '101', MillisBehindLatest: 0 })),
      eventMessage('SubscribeToShardEvent', JSON.stringify({ Records: records.slice(2), MillisBehindLatest: 0, ChildShards: [{ ShardId: 'shardId-000000000001', ParentShards: ['shardId-000000000000'], HashKeyRange: { StartingHashKey: '0', EndingHashKey: '9' } }] })),
    ]);
    const read = async (api: FanOutApi): Promise<SubscribeEvent[]> => {
      answer = { body, pieces: [777] };
      const out: SubscribeEvent[] = [];
      for await (const e of await api.subscribeToShard(input.ConsumerARN, input.ShardId, { type: 'LATEST' }, new AbortController().signal)) out.push(e);
      return out;
    };
    const lean = await read(new FanOutApi(client));
    const viaSdk = await read(new FanOutApi(client, { leanSubscribeToShard: false }));
    assert.deepEqual(lean, viaSdk);
    assert.equal(lean.length, 3);
    assert.equal(lean[2]!.childShards?.[0]?.shardId, 'shardId-000000000001');
    const out = deaggregateRecords(lean.flatMap((e) => e.records));
    assert.equal(out.length, users.length);
    out.forEach((r, i) => {
      assert.equal(r.aggregated, true, 'decoded as an aggregate (MD5 matched)');
      assert.equal(r.partitionKey, users[i]!.partitionKey);
      assert.deepEqual(Buffer.from(r.data), Buffer.from(users[i]!.data));
    });
  });
});
