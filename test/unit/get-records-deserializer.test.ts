// The lean GetRecords deserializer against the SDK's own on the same bytes: a local HTTP server answers each
// GetRecords with one generated body, sent twice through one real KinesisClient — once as the SDK deserializes it,
// once with the lean deserializer installed (its SDK fallback wrapped to count). Generated answers cover KPL
// aggregates and odd-but-valid JSON (escapes, whitespace, key order, number forms, missing/null/unknown members);
// deliberately odd answers (bad base64, string timestamps, `__type`, error statuses, other content types, bodies
// that are not JSON) must give exactly the SDK's result or error, through the fallback.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { GetRecordsCommand } from '@aws-sdk/client-kinesis';
import { createKinesisClient, type KinesisClient } from '../../src/aws/clients.js';
import { AnswerBufferPool } from '../../src/aws/answer-buffer-pool.js';
import { sdkDeserializerOf, useLeanGetRecords } from '../../src/aws/get-records-deserializer.js';
import { decodeBase64 } from '../../src/aws/strict-base64.js';
import { KinesisApi } from '../../src/aws/kinesis-api.js';
import { KclError } from '../../src/errors.js';
import { RecordAggregator } from '../../src/retrieval/kpl/aggregator.js';
import { deaggregateRecords } from '../../src/retrieval/kpl/deaggregate.js';
import { randomBytes, randomInt, seededRandom } from '../support/kpl-fixtures.js';
import { generatedRecord, maybe, randomKey, RawNumber, writeJson } from '../support/kinesis-json-fixtures.js';
import { TEST_CREDENTIALS, TEST_REGION } from '../support/emulators.js';

interface Answer {
  status: number;
  contentType: string | undefined;
  body: string | Buffer;
  /** Cut the connection after this many body bytes. */
  cutAfter?: number;
  /** Send the body in pieces of this many bytes; with `chunked`, without a Content-Length. */
  pieces?: { bytes: number; chunked: boolean };
}

let server: Server;
let client: KinesisClient;
let answer: Answer = { status: 200, contentType: 'application/x-amz-json-1.1', body: '{}' };
let fallbacks = 0;
let lean: ReturnType<typeof sdkDeserializerOf>;

before(async () => {
  server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      const headers: Record<string, string> = { 'x-amzn-requestid': 'req-1', 'x-amz-id-2': 'ext-2' };
      if (answer.contentType !== undefined) headers['content-type'] = answer.contentType;
      const body = typeof answer.body === 'string' ? Buffer.from(answer.body, 'utf8') : answer.body;
      if (answer.cutAfter !== undefined) {
        res.writeHead(answer.status, { ...headers, 'content-length': String(body.byteLength) });
        res.write(body.subarray(0, answer.cutAfter), () => res.destroy());
        return;
      }
      if (answer.pieces !== undefined) {
        const { bytes, chunked } = answer.pieces;
        res.writeHead(answer.status, chunked ? headers : { ...headers, 'content-length': String(body.byteLength) });
        for (let at = 0; at < body.byteLength; at += bytes) res.write(body.subarray(at, at + bytes));
        res.end();
        return;
      }
      res.writeHead(answer.status, headers);
      res.end(body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  client = createKinesisClient({ region: TEST_REGION, endpoint, credentials: TEST_CREDENTIALS });
  const sdk = sdkDeserializerOf(client);
  assert.ok(sdk, 'the SDK deserializer is found on the client stack');
  lean = ((next: never, context: never) => {
    const handler = sdk(next, context);
    return (args: never) => {
      fallbacks++;
      return handler(args);
    };
  }) as unknown as typeof sdk;
});

after(() => {
  client.destroy();
  server.close();
});

type Outcome = { ok: true; value: unknown } | { ok: false; name: string; message: string; status: unknown };

async function outcome(run: () => Promise<unknown>): Promise<Outcome> {
  try {
    return { ok: true, value: await run() };
  } catch (error) {
    const e = error as { name: string; message: string; $metadata?: { httpStatusCode?: number } };
    return { ok: false, name: e.name, message: e.message, status: e.$metadata?.httpStatusCode };
  }
}

/** The SDK's outcome and the lean one for the same answer, and whether the lean one used the fallback. */
async function both(a: Answer): Promise<{ sdk: Outcome; lean: Outcome; fellBack: boolean }> {
  answer = a;
  const sdk = await outcome(() => client.send(new GetRecordsCommand({ ShardIterator: 'it', Limit: 10 })));
  const before = fallbacks;
  const command = new GetRecordsCommand({ ShardIterator: 'it', Limit: 10 });
  useLeanGetRecords(command, lean!);
  const leanOutcome = await outcome(() => client.send(command));
  return { sdk, lean: leanOutcome, fellBack: fallbacks > before };
}

// ---------------------------------------------------------------------------------------------------------------
// Generated answers (the writer and records: test/support/kinesis-json-fixtures.ts).

function generatedBody(random: () => number): Record<string, unknown> {
  const body: Record<string, unknown> = {
    Records: Array.from({ length: randomInt(random, 25) }, (_, i) => generatedRecord(random, i)),
    NextShardIterator: maybe(random, `AAAAAAAA${randomKey(random)}==`),
    MillisBehindLatest: maybe(random, new RawNumber(random() < 0.5 ? String(randomInt(random, 86_400_000)) : '0')),
  };
  if (random() < 0.2) {
    body.ChildShards = Array.from({ length: 1 + randomInt(random, 2) }, (_, i) => ({
      ShardId: `shardId-00000000000${i + 1}`,
      ParentShards: ['shardId-000000000000'],
      HashKeyRange: { StartingHashKey: String(i), EndingHashKey: maybe(random, '340282366920938463463374607431768211455') },
    }));
  }
  if (random() < 0.2) body.Unknown = { a: [true, false, null] };
  return body;
}

describe('lean GetRecords deserializer', () => {
  it('gives the SDK’s output on generated answers, without falling back', async () => {
    const random = seededRandom(0x21);
    for (let i = 0; i < 100; i++) {
      const body = writeJson(generatedBody(random), random, random() < 0.5 ? 0 : 0.05);
      const { sdk, lean, fellBack } = await both({ status: 200, contentType: 'application/x-amz-json-1.1', body });
      assert.equal(sdk.ok, true, `case ${i}: the SDK accepts the generated answer`);
      assert.deepEqual(lean, sdk, `case ${i}: same output\n${body.slice(0, 300)}`);
      assert.equal(fellBack, false, `case ${i}: lean path used`);
    }
  });

  it('reads a multi-megabyte answer sent in many pieces, with and without a Content-Length', async () => {
    const random = seededRandom(0x4d);
    const body = JSON.stringify({
      Records: Array.from({ length: 3000 }, (_, i) => ({
        SequenceNumber: String(49_000_000 + i),
        ApproximateArrivalTimestamp: 1_700_000_000.25,
        Data: Buffer.from(randomBytes(random, 1024)).toString('base64'),
        PartitionKey: `pk-${i}`,
      })),
      NextShardIterator: 'next',
      MillisBehindLatest: 0,
    });
    assert.ok(body.length > 4_000_000);
    for (const pieces of [{ bytes: 65_536, chunked: false }, { bytes: 10_007, chunked: true }]) {
      const { sdk, lean, fellBack } = await both({ status: 200, contentType: 'application/x-amz-json-1.1', body, pieces });
      assert.equal(sdk.ok, true);
      assert.equal(fellBack, false, 'lean path used');
      assert.deepEqual(lean, sdk, `same output (${JSON.stringify(pieces)})`);
    }
  });

  it('reads large answers into pooled buffers, and a reused buffer leaves earlier records intact', async () => {
    const random = seededRandom(0x9001);
    const bigBody = (from: number): string =>
      JSON.stringify({
        Records: Array.from({ length: 400 }, (_, i) => ({
          SequenceNumber: String(from + i),
          ApproximateArrivalTimestamp: 1_700_000_000.5,
          Data: Buffer.from(randomBytes(random, 700)).toString('base64'),
          PartitionKey: `pk-${from + i}`,
        })),
        NextShardIterator: `next-${from}`,
        MillisBehindLatest: 0,
      });
    const pool = new AnswerBufferPool(8 * 1024 * 1024, 60_000);
    const read = async (body: string): Promise<{ sdk: unknown; lean: unknown }> => {
      answer = { status: 200, contentType: 'application/x-amz-json-1.1', body, pieces: { bytes: 16_384, chunked: false } };
      const sdk = await client.send(new GetRecordsCommand({ ShardIterator: 'it', Limit: 10 }));
      const command = new GetRecordsCommand({ ShardIterator: 'it', Limit: 10 });
      useLeanGetRecords(command, lean!, pool);
      return { sdk, lean: await client.send(command) };
    };
    const first = await read(bigBody(1000));
    const firstCopy = structuredClone(first.lean);
    assert.equal(pool.idleBytes, 1024 * 1024, 'the answer buffer (one MiB) went back to the pool');
    const second = await read(bigBody(5000));
    assert.equal(pool.idleBytes, 1024 * 1024, 'the second answer reused it');
    assert.deepEqual(second.lean, second.sdk);
    assert.deepEqual(first.lean, first.sdk, 'the first answer’s records are unchanged after their buffer was reused');
    assert.deepEqual(first.lean, firstCopy);
    // An answer the lean reader leaves to the SDK keeps its buffer (the SDK reads it): the pool does not get it back.
    const odd = bigBody(9000).replace('"MillisBehindLatest":0', '"MillisBehindLatest":0,"__type":"X"');
    const before = fallbacks;
    const third = await read(odd);
    assert.equal(fallbacks, before + 1, 'the SDK path read it');
    assert.deepEqual(third.lean, third.sdk);
    assert.equal(pool.idleBytes, 0, 'the buffer the SDK read was not given back');
  });

  it('keeps KPL aggregates byte-exact: deaggregation (MD5 checked) gives back the user records', async () => {
    const random = seededRandom(7);
    const users = Array.from({ length: 60 }, (_, i) => ({ partitionKey: `pk-${i}`, data: randomBytes(random, 1 + randomInt(random, 500)) }));
    const aggregates = RecordAggregator.aggregate(users, { maxUserRecords: 20 });
    const body = JSON.stringify({
      Records: aggregates.map((a, i) => ({
        SequenceNumber: String(100 + i),
        ApproximateArrivalTimestamp: 1_700_000_000.5,
        Data: Buffer.from(a.data).toString('base64'),
        PartitionKey: a.partitionKey,
      })),
      NextShardIterator: 'next',
      MillisBehindLatest: 0,
    });
    answer = { status: 200, contentType: 'application/x-amz-json-1.1', body };
    const lean = await new KinesisApi(client).getRecords('it', 100);
    const sdk = await new KinesisApi(client, { leanGetRecords: false }).getRecords('it', 100);
    assert.deepEqual(lean, sdk);
    const out = deaggregateRecords(lean.records);
    assert.equal(out.length, users.length);
    out.forEach((r, i) => {
      assert.equal(r.aggregated, true, 'decoded as an aggregate (MD5 matched)');
      assert.equal(r.subSequenceNumber, i % 20);
      assert.equal(r.partitionKey, users[i]!.partitionKey);
      assert.deepEqual(Buffer.from(r.data), Buffer.from(users[i]!.data));
    });
  });

  it('gives exactly the SDK’s result or error for odd answers, through the SDK path', async () => {
    const record = { SequenceNumber: '1', ApproximateArrivalTimestamp: 1_700_000_000, Data: 'aGVsbG8=', PartitionKey: 'p' };
    const odd = (patch: Record<string, unknown>): string => JSON.stringify({ Records: [{ ...record, ...patch }], NextShardIterator: 'n' });
    const json = 'application/x-amz-json-1.1';
    const cases: [string, Answer][] = [
      ['base64 with a space', { status: 200, contentType: json, body: odd({ Data: 'aGVs bG8=' }) }],
      ['base64 with !', { status: 200, contentType: json, body: odd({ Data: 'aGVs!G8=' }) }],
      ['URL-safe base64', { status: 200, contentType: json, body: odd({ Data: 'a-V_bG8=' }) }],
      ['base64 with = inside', { status: 200, contentType: json, body: odd({ Data: 'aG==bG8=' }) }],
      ['base64 of bad length', { status: 200, contentType: json, body: odd({ Data: 'aGVsbG8' }) }],
      ['base64 with three =', { status: 200, contentType: json, body: odd({ Data: 'aGVsb===' }) }],
      ['non-canonical padding bits', { status: 200, contentType: json, body: odd({ Data: 'aGVsbG9=' }) }],
      ['Data as a number', { status: 200, contentType: json, body: odd({ Data: 12 }) }],
      ['timestamp as a string', { status: 200, contentType: json, body: odd({ ApproximateArrivalTimestamp: '1700000000.25' }) }],
      ['timestamp as garbage', { status: 200, contentType: json, body: odd({ ApproximateArrivalTimestamp: 'soon' }) }],
      ['SequenceNumber as a number', { status: 200, contentType: json, body: odd({ SequenceNumber: 12 }) }],
      ['record with __type', { status: 200, contentType: json, body: odd({ __type: 'X' }) }],
      ['answer with __type', { status: 200, contentType: json, body: JSON.stringify({ __type: 'Y', Records: [], Extra: 1 }) }],
      ['Records not a list', { status: 200, contentType: json, body: JSON.stringify({ Records: { a: 1 } }) }],
      ['a null record', { status: 200, contentType: json, body: JSON.stringify({ Records: [null] }) }],
      ['MillisBehindLatest as a string', { status: 200, contentType: json, body: JSON.stringify({ Records: [], MillisBehindLatest: '5' }) }],
      ['ParentShards not strings', { status: 200, contentType: json, body: JSON.stringify({ Records: [], ChildShards: [{ ParentShards: [1] }] }) }],
      ['empty body', { status: 200, contentType: json, body: '' }],
      ['not JSON', { status: 200, contentType: json, body: '{"Records": [' }],
      ['a JSON array', { status: 200, contentType: json, body: '[1,2]' }],
      ['JSON content type with charset', { status: 200, contentType: 'application/x-amz-json-1.1; charset=utf-8', body: odd({}) }],
      ['application/json', { status: 200, contentType: 'application/json', body: odd({}) }],
      ['no content type', { status: 200, contentType: undefined, body: odd({}) }],
      ['CBOR content type', { status: 200, contentType: 'application/cbor', body: odd({}) }],
      ['throttled', { status: 400, contentType: json, body: JSON.stringify({ __type: 'ProvisionedThroughputExceededException', message: 'slow down' }) }],
      ['expired iterator', { status: 400, contentType: json, body: JSON.stringify({ __type: 'ExpiredIteratorException', message: 'old' }) }],
      ['server error', { status: 500, contentType: json, body: JSON.stringify({ __type: 'InternalFailure' }) }],
      ['an HTML error page', { status: 503, contentType: 'text/html', body: '<html>busy</html>' }],
      ['a __proto__ member', { status: 200, contentType: json, body: odd({ ['__proto__']: { x: 1 } }) }],
      ['trailing comma', { status: 200, contentType: json, body: '{"Records":[],}' }],
      ['single quotes', { status: 200, contentType: json, body: "{'Records':[]}" }],
      ['leading zero', { status: 200, contentType: json, body: '{"Records":[],"MillisBehindLatest":01}' }],
      ['a raw control character', { status: 200, contentType: json, body: '{"Records":[],"NextShardIterator":"a\u0001b"}' }],
      ['a bad escape', { status: 200, contentType: json, body: '{"Records":[],"NextShardIterator":"a\\qb"}' }],
      ['unterminated string', { status: 200, contentType: json, body: '{"Records":[],"NextShardIterator":"ab' }],
      ['trailing garbage', { status: 200, contentType: json, body: '{"Records":[]} x' }],
      ['two documents', { status: 200, contentType: json, body: '{"Records":[]}{}' }],
      ['a byte-order mark', { status: 200, contentType: json, body: '\uFEFF{"Records":[]}' }],
      ['NaN', { status: 200, contentType: json, body: '{"Records":[],"MillisBehindLatest":NaN}' }],
      ['true misspelt', { status: 200, contentType: json, body: '{"Records":[],"X":tru}' }],
      ['invalid UTF-8 in a key', { status: 200, contentType: json, body: Buffer.concat([Buffer.from(odd({}).slice(0, -1)), Buffer.from([0x2c, 0x22, 0xc3, 0x28, 0xff, 0x22, 0x3a, 0x31, 0x7d])]) }],
    ];
    // Node's decoder, which the SDK also uses, ignores the unused bits of the last character: same bytes either way.
    const leanCases = new Set(['JSON content type with charset', 'application/json', 'non-canonical padding bits', 'invalid UTF-8 in a key']);
    for (const [name, a] of cases) {
      const { sdk, lean, fellBack } = await both(a);
      assert.deepEqual(lean, sdk, name);
      if (leanCases.has(name)) assert.equal(fellBack, false, `${name}: lean path`);
      else assert.equal(fellBack, true, `${name}: SDK path`);
    }
  });

  it('gives the SDK’s result or error on randomly damaged answers', async () => {
    const random = seededRandom(0xbad);
    const noise = ['"', '\\', ',', ':', '{', '}', '[', ']', ' ', 'n', '0', '-', '.', 'e', '=', 'A', '\u0000', 'é', '\uFEFF'];
    for (let i = 0; i < 100; i++) {
      let body = writeJson(generatedBody(random), random, 0.02);
      for (let k = 1 + randomInt(random, 3); k > 0; k--) {
        const at = randomInt(random, body.length);
        const op = randomInt(random, 3);
        const ch = noise[randomInt(random, noise.length)]!;
        body = op === 0 ? body.slice(0, at) + ch + body.slice(at) : op === 1 ? body.slice(0, at) + body.slice(at + 1) : body.slice(0, at) + ch + body.slice(at + 1);
      }
      const { sdk, lean } = await both({ status: 200, contentType: 'application/x-amz-json-1.1', body });
      assert.deepEqual(lean, sdk, `case ${i}\n${body.slice(0, 300)}`);
    }
  });

  it('fails a GetRecords whose answer is cut off with a typed, retriable error', async () => {
    const body = JSON.stringify({ Records: [{ SequenceNumber: '1', Data: Buffer.alloc(5000).toString('base64'), PartitionKey: 'p' }] });
    answer = { status: 200, contentType: 'application/x-amz-json-1.1', body, cutAfter: 3000 };
    const error = await new KinesisApi(client).getRecords('it', 10).then(
      () => assert.fail('a cut-off answer must fail'),
      (e: unknown) => e,
    );
    assert.ok(error instanceof KclError, String(error));
    assert.equal(error.retriable, true, `${error.code}: ${error.message}`);
  });

  it('decodes base64 only where the SDK would accept it', () => {
    const random = seededRandom(99);
    for (let i = 0; i < 300; i++) {
      const bytes = randomBytes(random, randomInt(random, 40));
      let s = Buffer.from(bytes).toString('base64');
      assert.deepEqual(decodeBase64(s), new Uint8Array(bytes));
      if (s.length === 0) continue;
      // One character replaced by anything printable or whitespace: accepted only if still standard base64.
      const at = randomInt(random, s.length);
      s = s.slice(0, at) + String.fromCharCode(9 + randomInt(random, 118)) + s.slice(at + 1);
      const standard = s.length % 4 === 0 && /^[A-Za-z0-9+/]*={0,2}$/.test(s);
      const decoded = decodeBase64(s);
      if (!standard) assert.equal(decoded, undefined, JSON.stringify(s));
      else assert.deepEqual(Buffer.from(decoded ?? 'rejected'), Buffer.from(s, 'base64'), JSON.stringify(s));
    }
  });
});
