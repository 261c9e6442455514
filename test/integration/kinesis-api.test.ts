// KinesisApi / KinesisAdmin against the real emulators: kinesis-local (kinesis-mock, faithful) and kinesalite
// (fast, partial). Shared cases run on both; features an emulator lacks are skipped, and where the emulators
// answer differently the difference is asserted, so a change in either shows up here.
import { after, afterEach, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createCipheriv, createDecipheriv } from 'node:crypto';
import { createServer as createHttpServer, request as httpRequest, type Server } from 'node:http';
import { createServer as createNetServer, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { createKinesisClient, type KinesisClient } from '../../src/aws/clients.js';
import { KinesisApi } from '../../src/aws/kinesis-api.js';
import { KinesisAdmin, type PutRecordResult } from '../../src/aws/kinesis-admin.js';
import type { GetRecordsResult, KinesisRecord, StreamRef } from '../../src/aws/kinesis-types.js';
import { MAX_HASH_KEY, midpointHashKey } from '../../src/shards/hash-key-range.js';
import type { Shard } from '../../src/shards/shard.js';
import { AwsCallTimeoutError, DependencyError, ExpiredIteratorError, NetworkError, ResourceNotFoundError, type KclError } from '../../src/errors.js';
import { startKinesis, startKinesalite, TEST_CREDENTIALS, TEST_REGION, uniqueName, type KinesisEmulatorKind } from '../support/emulators.js';

type Kind = KinesisEmulatorKind;

/** What each emulator supports (found by probing; see the report in the commit message). */
interface Features {
  /** StreamARN accepted in place of StreamName (kinesalite drops the parameter, then misses StreamName). */
  arn: boolean;
  /** ListShards honours MaxResults/NextToken (kinesalite returns everything in one page). */
  paging: boolean;
  /** ListShards honours ShardFilter (kinesalite ignores it). */
  shardFilter: boolean;
  /** The last GetRecords of a closed shard carries ChildShards. */
  childShards: boolean;
  updateShardCount: boolean;
  /** How GetRecords on a garbage iterator fails: kinesalite 400 InvalidArgumentException, kinesis-local 500 UnknownError. */
  garbageIteratorRetriable: boolean;
}

const FEATURES: Record<Kind, Features> = {
  'kinesis-local': { arn: true, paging: true, shardFilter: true, childShards: true, updateShardCount: true, garbageIteratorRetriable: true },
  kinesalite: { arn: false, paging: false, shardFilter: false, childShards: false, updateShardCount: false, garbageIteratorRetriable: false },
};

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const text = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('utf8');
const ACTIVE_TIMEOUT = 15_000;

/**
 * Both emulators encode iterators the same way: 8 bytes of header, then AES-256-CBC (fixed key) of
 * `<14-digit creation millis>/<stream>/<shard>/<sequence>/<padding>`. Back-dating the creation time yields a
 * genuinely expired iterator without waiting 5 minutes.
 */
const ITERATOR_KEY = Buffer.from('1133a5a833666b49abf28c8ba302930f0b2fb240dccd43cf4dfbc0ca91f17751', 'hex');
const ITERATOR_IV = Buffer.from('7bf139dbabbea2d9995d6fcae1dff7da', 'hex');
function backdateIterator(iterator: string, ageMillis: number): string {
  const raw = Buffer.from(iterator, 'base64');
  const decipher = createDecipheriv('aes-256-cbc', ITERATOR_KEY, ITERATOR_IV);
  const parts = Buffer.concat([decipher.update(raw.subarray(8)), decipher.final()]).toString('utf8').split('/');
  assert.equal(parts.length, 5, 'unexpected iterator layout');
  parts[0] = String(Date.now() - ageMillis).padStart(14, '0');
  const cipher = createCipheriv('aes-256-cbc', ITERATOR_KEY, ITERATOR_IV);
  return Buffer.concat([raw.subarray(0, 8), cipher.update(parts.join('/'), 'utf8'), cipher.final()]).toString('base64');
}

async function expectError<T extends KclError>(
  promise: Promise<unknown>,
  type: abstract new (...args: never[]) => T,
  check: { code: string; retriable: boolean },
): Promise<T> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof type, `expected ${type.name}, got ${String(error)}`);
    assert.equal(error.code, check.code);
    assert.equal(error.retriable, check.retriable);
    return error;
  }
  assert.fail(`expected ${type.name}, but the call succeeded`);
}

/** Reads from `iterator` until caught up (an empty page) or the shard ends; bounded. */
async function drain(
  api: KinesisApi,
  iterator: string,
  stream?: StreamRef,
  maxCalls = 30,
): Promise<{ records: KinesisRecord[]; last: GetRecordsResult; calls: number }> {
  const records: KinesisRecord[] = [];
  let current: string | undefined = iterator;
  for (let calls = 1; calls <= maxCalls; calls++) {
    const last: GetRecordsResult = await api.getRecords(current, 1000, stream);
    records.push(...last.records);
    current = last.nextShardIterator;
    if (current === undefined || last.records.length === 0) return { records, last, calls };
  }
  assert.fail(`still reading after ${maxCalls} GetRecords calls`);
}

function assertRecords(actual: KinesisRecord[], expected: { put: PutRecordResult; data: string }[]): void {
  assert.deepEqual(
    actual.map((r) => r.sequenceNumber),
    expected.map((e) => e.put.sequenceNumber),
  );
  assert.deepEqual(
    actual.map((r) => text(r.data)),
    expected.map((e) => e.data),
  );
  for (const r of actual) {
    assert.ok(r.data instanceof Uint8Array);
    assert.ok(r.approximateArrivalTimestamp instanceof Date);
  }
}

function assertCoversHashSpace(shards: Shard[]): void {
  const sorted = [...shards].sort((a, b) => (BigInt(a.hashKeyRange.startingHashKey) < BigInt(b.hashKeyRange.startingHashKey) ? -1 : 1));
  let next = 0n;
  for (const s of sorted) {
    assert.equal(BigInt(s.hashKeyRange.startingHashKey), next, `gap or overlap before ${s.shardId}`);
    next = BigInt(s.hashKeyRange.endingHashKey) + 1n;
  }
  assert.equal(next, MAX_HASH_KEY + 1n);
}

function countCommands(client: KinesisClient, commandName: string): { count: number } {
  const counter = { count: 0 };
  client.middlewareStack.add(
    (next, context) => async (args) => {
      if (context.commandName === commandName) counter.count++;
      return next(args);
    },
    { step: 'initialize', name: `count-${commandName}-${Math.random()}` },
  );
  return counter;
}

function kinesisApiSuite(kind: Kind): void {
  const features = FEATURES[kind];
  let stopEmulator: (() => Promise<void>) | undefined;
  let endpoint = '';
  let client: KinesisClient;
  let api: KinesisApi;
  let admin: KinesisAdmin;

  const created: StreamRef[] = [];

  before(async () => {
    // kinesalite's default account limit is 10 open shards
    const emulator = kind === 'kinesalite' ? await startKinesalite({ shardLimit: 100 }) : await startKinesis(kind);
    stopEmulator = () => emulator.stop();
    endpoint = emulator.endpoint;
    client = createKinesisClient({ region: TEST_REGION, endpoint, credentials: TEST_CREDENTIALS });
    api = new KinesisApi(client, { requestTimeoutMillis: 10_000 });
    admin = new KinesisAdmin(client, { requestTimeoutMillis: 10_000 });
  });
  afterEach(async () => {
    // best effort: keeps the account's open-shard count low
    for (const ref of created.splice(0)) await admin.deleteStream(ref).catch(() => undefined);
  });
  after(async () => {
    client?.destroy();
    await stopEmulator?.();
  });

  async function newStream(shards: number): Promise<{ name: string; ref: StreamRef; arn: string }> {
    const name = uniqueName('kapi');
    await admin.createStream(name, shards);
    created.push({ streamName: name });
    const summary = await admin.waitForStreamActive({ streamName: name }, ACTIVE_TIMEOUT);
    return { name, ref: { streamName: name }, arn: summary.streamArn };
  }

  void it('creates a stream, waits until ACTIVE and describes it', async () => {
    const { name, ref, arn } = await newStream(2);
    const summary = await api.describeStreamSummary(ref);
    assert.equal(summary.streamName, name);
    assert.equal(summary.status, 'ACTIVE');
    assert.equal(summary.openShardCount, 2);
    assert.ok(summary.retentionPeriodHours >= 24);
    assert.ok(summary.streamCreationTimestamp instanceof Date);
    assert.match(arn, new RegExp(`^arn:aws:kinesis:${TEST_REGION}:\\d{12}:stream/${name}$`));
    assert.ok((await admin.listStreams()).includes(name));
    if (features.arn) {
      assert.deepEqual(await api.describeStreamSummary({ streamArn: arn }), summary);
      // the ARN wins over a (wrong) name
      assert.equal((await api.describeStreamSummary({ streamArn: arn, streamName: 'no-such-stream' })).streamName, name);
    } else {
      // kinesalite drops StreamARN and then misses StreamName: a 400 ValidationException
      await expectError(api.describeStreamSummary({ streamArn: arn }), DependencyError, { code: 'KCL_DEPENDENCY', retriable: false });
    }
  });

  void it('putRecords reports the shard of every record; listShards covers 0…2^128−1', async () => {
    const { ref } = await newStream(3);
    const shards = await api.listShards(ref);
    assert.equal(shards.length, 3);
    assertCoversHashSpace(shards);
    for (const s of shards) {
      assert.match(s.shardId, /^shardId-\d{12}$/);
      assert.equal(s.parentShardId, undefined);
      assert.equal(s.sequenceNumberRange.endingSequenceNumber, undefined, 'new shards are open');
      assert.match(s.sequenceNumberRange.startingSequenceNumber, /^\d+$/);
    }
    // one record aimed at each shard's lowest and highest hash key, plus a few by partition key
    const targeted = shards.flatMap((s) => [
      { partitionKey: `lo-${s.shardId}`, data: enc(`lo-${s.shardId}`), explicitHashKey: s.hashKeyRange.startingHashKey, expect: s.shardId },
      { partitionKey: `hi-${s.shardId}`, data: enc(`hi-${s.shardId}`), explicitHashKey: s.hashKeyRange.endingHashKey, expect: s.shardId },
    ]);
    const byKey = Array.from({ length: 12 }, (_, i) => ({ partitionKey: `pk-${i}`, data: enc(`pk-${i}`) }));
    const results = await admin.putRecords(ref, [...targeted, ...byKey]);
    assert.equal(results.length, targeted.length + byKey.length);
    targeted.forEach((t, i) => assert.equal(results[i]!.shardId, t.expect, `record ${t.partitionKey}`));
    const shardIds = new Set(shards.map((s) => s.shardId));
    for (const r of results) {
      assert.ok(shardIds.has(r.shardId), r.shardId);
      assert.match(r.sequenceNumber, /^\d+$/);
    }
    // every record is in the shard putRecords named, in order
    for (const s of shards) {
      const iterator = await api.getShardIterator(ref, s.shardId, { type: 'TRIM_HORIZON' });
      const { records } = await drain(api, iterator);
      const expected = results.filter((r) => r.shardId === s.shardId).map((r) => r.sequenceNumber);
      assert.deepEqual(
        records.map((r) => r.sequenceNumber),
        expected,
      );
    }
  });

  void it('putRecords sends more than 500 records in several batches', async () => {
    const { ref } = await newStream(1);
    const calls = countCommands(client, 'PutRecordsCommand');
    const before = calls.count;
    const input = Array.from({ length: 620 }, (_, i) => ({ partitionKey: `k${i % 7}`, data: enc(`record-${i}`) }));
    const results = await admin.putRecords(ref, input);
    assert.equal(calls.count - before, 2);
    const iterator = await api.getShardIterator(ref, 'shardId-000000000000', { type: 'TRIM_HORIZON' });
    const { records } = await drain(api, iterator);
    assertRecords(
      records,
      input.map((r, i) => ({ put: results[i]!, data: text(r.data) })),
    );
  });

  void it(`listShards with maxResults: 1 returns every shard exactly once${features.paging ? ' across pages' : ' (MaxResults ignored)'}`, async () => {
    const { ref, arn } = await newStream(4);
    const calls = countCommands(client, 'ListShardsCommand');
    const before = calls.count;
    const shards = await api.listShards(ref, { maxResults: 1 });
    const pages = calls.count - before;
    assert.deepEqual(
      shards.map((s) => s.shardId),
      ['shardId-000000000000', 'shardId-000000000001', 'shardId-000000000002', 'shardId-000000000003'],
    );
    assertCoversHashSpace(shards);
    if (features.paging) assert.ok(pages >= 4, `expected ≥ 4 pages, got ${pages}`);
    else assert.equal(pages, 1);
    if (features.arn) {
      assert.deepEqual(await api.listShards({ streamArn: arn }, { maxResults: 2 }), shards);
    }
  });

  void it('getShardIterator of every type reads exactly the expected records', async () => {
    const { ref } = await newStream(1);
    const shardId = 'shardId-000000000000';
    const latest = await api.getShardIterator(ref, shardId, { type: 'LATEST' });

    const a = ['a0', 'a1', 'a2'];
    const putA = await admin.putRecords(ref, a.map((d) => ({ partitionKey: 'p', data: enc(d) })));
    await sleep(60);
    const between = new Date();
    await sleep(60);
    const b = ['b0', 'b1'];
    const putB = await admin.putRecords(ref, b.map((d) => ({ partitionKey: 'p', data: enc(d) })));
    const all = [...a.map((data, i) => ({ data, put: putA[i]! })), ...b.map((data, i) => ({ data, put: putB[i]! }))];
    // sequence numbers increase within a shard
    for (let i = 1; i < all.length; i++) assert.ok(BigInt(all[i]!.put.sequenceNumber) > BigInt(all[i - 1]!.put.sequenceNumber));

    const read = async (position: Parameters<KinesisApi['getShardIterator']>[2]) =>
      (await drain(api, await api.getShardIterator(ref, shardId, position))).records;

    assertRecords(await read({ type: 'TRIM_HORIZON' }), all);
    // LATEST taken before the puts sees all of them; taken now it sees nothing until the next put
    assertRecords((await drain(api, latest)).records, all);
    const latestNow = await api.getShardIterator(ref, shardId, { type: 'LATEST' });
    assert.deepEqual((await api.getRecords(latestNow, 100)).records, []);
    assertRecords(await read({ type: 'AT_SEQUENCE_NUMBER', sequenceNumber: putA[1]!.sequenceNumber }), all.slice(1));
    assertRecords(await read({ type: 'AFTER_SEQUENCE_NUMBER', sequenceNumber: putA[1]!.sequenceNumber }), all.slice(2));
    assertRecords(await read({ type: 'AFTER_SEQUENCE_NUMBER', sequenceNumber: putB[1]!.sequenceNumber }), []);
    assertRecords(await read({ type: 'AT_TIMESTAMP', timestamp: between }), all.slice(3));
    const firstArrival = (await read({ type: 'TRIM_HORIZON' }))[0]!.approximateArrivalTimestamp;
    assertRecords(await read({ type: 'AT_TIMESTAMP', timestamp: firstArrival }), all);

    const put = await admin.putRecord(ref, { partitionKey: 'p', data: enc('c0') });
    assert.equal(put.shardId, shardId);
    assertRecords((await drain(api, latestNow)).records, [{ put, data: 'c0' }]);
  });

  void it(`a split parent read to its end has no nextShardIterator${features.childShards ? ' and names both children' : ''}`, async () => {
    const { ref, arn } = await newStream(1);
    const parent = (await api.listShards(ref))[0]!;
    const before = await admin.putRecords(ref, ['x0', 'x1', 'x2'].map((d) => ({ partitionKey: d, data: enc(d) })));
    const split = midpointHashKey(parent.hashKeyRange);
    assert.equal(split, (1n << 127n).toString());
    await admin.splitShard(ref, parent.shardId, split);
    await admin.waitForStreamActive(ref, ACTIVE_TIMEOUT);
    const afterSplit = await admin.putRecords(ref, ['y0', 'y1'].map((d) => ({ partitionKey: d, data: enc(d) })));

    const shards = await api.listShards(ref);
    assert.equal(shards.length, 3);
    const closed = shards.find((s) => s.shardId === parent.shardId)!;
    assert.ok(closed.sequenceNumberRange.endingSequenceNumber, 'parent is closed');
    const children = shards.filter((s) => s.parentShardId === parent.shardId);
    assert.equal(children.length, 2);
    assertCoversHashSpace(children);
    assert.deepEqual(
      children.map((c) => c.hashKeyRange.startingHashKey).sort(),
      ['0', split].sort(),
    );
    for (const p of afterSplit) assert.ok(children.some((c) => c.shardId === p.shardId));

    const open = await api.listShards(ref, { shardFilter: { type: 'AT_LATEST' } });
    if (features.shardFilter) {
      assert.deepEqual(
        open.map((s) => s.shardId).sort(),
        children.map((c) => c.shardId).sort(),
      );
    } else {
      assert.equal(open.length, 3, 'kinesalite ignores ShardFilter');
    }

    const stream = features.arn ? { streamArn: arn } : undefined;
    let iterator: string | undefined = await api.getShardIterator(features.arn ? { streamArn: arn } : ref, parent.shardId, { type: 'TRIM_HORIZON' });
    const records: KinesisRecord[] = [];
    let last: GetRecordsResult | undefined;
    for (let calls = 0; iterator !== undefined; calls++) {
      assert.ok(calls < 20, 'parent never ended');
      last = await api.getRecords(iterator, 2, stream);
      records.push(...last.records);
      iterator = last.nextShardIterator;
    }
    assertRecords(
      records,
      before.map((put, i) => ({ put, data: `x${i}` })),
    );
    assert.equal(last?.nextShardIterator, undefined);
    if (features.childShards) {
      const reported = last?.childShards ?? [];
      assert.deepEqual(
        reported.map((c) => c.shardId).sort(),
        children.map((c) => c.shardId).sort(),
      );
      for (const c of reported) {
        assert.deepEqual(c.parentShards, [parent.shardId]);
        assert.deepEqual(c.hashKeyRange, children.find((x) => x.shardId === c.shardId)!.hashKeyRange);
      }
    } else {
      assert.equal(last?.childShards, undefined);
    }
  });

  void it('mergeShards joins adjacent shards' + (features.updateShardCount ? '; updateShardCount rescales' : ''), async () => {
    const { ref } = await newStream(2);
    const [left, right] = await api.listShards(ref);
    await admin.mergeShards(ref, left!.shardId, right!.shardId);
    await admin.waitForStreamActive(ref, ACTIVE_TIMEOUT);
    let open = (await api.listShards(ref)).filter((s) => s.sequenceNumberRange.endingSequenceNumber === undefined);
    assert.equal(open.length, 1);
    assert.equal(open[0]!.parentShardId, left!.shardId);
    assert.equal(open[0]!.adjacentParentShardId, right!.shardId);
    assertCoversHashSpace(open);
    if (features.updateShardCount) {
      await admin.updateShardCount(ref, 2);
      await admin.waitForStreamActive(ref, ACTIVE_TIMEOUT);
      open = (await api.listShards(ref)).filter((s) => s.sequenceNumberRange.endingSequenceNumber === undefined);
      assert.equal(open.length, 2);
      assertCoversHashSpace(open);
      assert.equal((await api.describeStreamSummary(ref)).openShardCount, 2);
    }
  });

  void it('errors are typed: expired and garbage iterators, missing stream and shard', async () => {
    const { ref } = await newStream(1);
    await admin.putRecord(ref, { partitionKey: 'p', data: enc('z') });
    const iterator = await api.getShardIterator(ref, 'shardId-000000000000', { type: 'TRIM_HORIZON' });
    // a 4-minute-old iterator still works; a 6-minute-old one has expired
    assert.equal((await api.getRecords(backdateIterator(iterator, 240_000), 10)).records.length, 1);
    const expired = await expectError(api.getRecords(backdateIterator(iterator, 360_000), 10, undefined, { shardId: 'shardId-000000000000' }), ExpiredIteratorError, {
      code: 'KCL_EXPIRED_ITERATOR',
      retriable: false,
    });
    assert.match(expired.message, /^Kinesis\.GetRecords\(shardId-000000000000\) failed: ExpiredIteratorException/);

    // garbage: kinesalite 400 InvalidArgumentException; kinesis-local fails to decrypt and answers 500
    await expectError(api.getRecords('bm90IGFuIGl0ZXJhdG9y', 10), DependencyError, {
      code: 'KCL_DEPENDENCY',
      retriable: features.garbageIteratorRetriable,
    });

    const missing = { streamName: uniqueName('missing') };
    const notFound = { code: 'KCL_RESOURCE_NOT_FOUND', retriable: false };
    await expectError(api.describeStreamSummary(missing), ResourceNotFoundError, notFound);
    await expectError(api.listShards(missing), ResourceNotFoundError, notFound);
    await expectError(api.getShardIterator(missing, 'shardId-000000000000', { type: 'LATEST' }), ResourceNotFoundError, notFound);
    await expectError(api.getShardIterator(ref, 'shardId-000000000042', { type: 'LATEST' }), ResourceNotFoundError, notFound);
    if (features.arn) {
      const arn = `arn:aws:kinesis:${TEST_REGION}:000000000000:stream/${missing.streamName}`;
      await expectError(api.describeStreamSummary({ streamArn: arn }), ResourceNotFoundError, notFound);
    }
  });
}

void describe('KinesisApi on kinesis-local', { timeout: 60_000 }, () => kinesisApiSuite('kinesis-local'));
void describe('KinesisApi on kinesalite', { timeout: 60_000 }, () => kinesisApiSuite('kinesalite'));

/**
 * AWS throttles single PutRecords entries (FailedRecordCount > 0); neither emulator does. A pass-through
 * proxy in front of kinesalite withholds every other entry of the first `faults` PutRecords calls and
 * answers for them as AWS does when a shard is over its limit; everything else reaches the emulator.
 */
async function startThrottlingProxy(target: string, faults: number): Promise<{ endpoint: string; server: Server; forwarded: number[] }> {
  let remaining = faults;
  const forwarded: number[] = [];
  const server = createHttpServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      let body = Buffer.concat(chunks);
      const isPut = String(req.headers['x-amz-target']).endsWith('.PutRecords');
      let throttled: boolean[] | undefined;
      if (isPut) {
        const json = JSON.parse(body.toString('utf8')) as { Records: unknown[] };
        forwarded.push(json.Records.length);
        if (remaining > 0 && json.Records.length > 1) {
          remaining--;
          throttled = json.Records.map((_, i) => i % 2 === 1);
          json.Records = json.Records.filter((_, i) => !throttled![i]);
          body = Buffer.from(JSON.stringify(json));
        }
      }
      const headers = { ...req.headers, 'content-length': String(body.length) };
      const upstream = httpRequest(`${target}${req.url ?? '/'}`, { method: req.method, headers }, (up) => {
        const answer: Buffer[] = [];
        up.on('data', (c: Buffer) => answer.push(c));
        up.on('end', () => {
          let out = Buffer.concat(answer);
          if (throttled && up.statusCode === 200) {
            const json = JSON.parse(out.toString('utf8')) as { Records: unknown[]; FailedRecordCount: number };
            const written = [...json.Records];
            json.Records = throttled.map((t) =>
              t ? { ErrorCode: 'ProvisionedThroughputExceededException', ErrorMessage: 'Rate exceeded for shard' } : written.shift(),
            );
            json.FailedRecordCount = throttled.filter(Boolean).length;
            out = Buffer.from(JSON.stringify(json));
          }
          res.writeHead(up.statusCode ?? 500, { ...up.headers, 'content-length': String(out.length) });
          res.end(out);
        });
      });
      upstream.on('error', () => res.destroy());
      upstream.end(body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server, forwarded };
}

void describe('KinesisAdmin.putRecords partial failures (throttling proxy → kinesalite)', { timeout: 30_000 }, () => {
  let stop: (() => Promise<void>) | undefined;
  let target = '';
  before(async () => {
    const emulator = await startKinesalite();
    stop = () => emulator.stop();
    target = emulator.endpoint;
  });
  after(async () => stop?.());

  void it('resends only the failed entries until all are written, each exactly once', async () => {
    const proxy = await startThrottlingProxy(target, 2);
    const client = createKinesisClient({ region: TEST_REGION, endpoint: proxy.endpoint, credentials: TEST_CREDENTIALS });
    try {
      const admin = new KinesisAdmin(client);
      const api = new KinesisApi(client);
      const name = uniqueName('kapi-throttle');
      await admin.createStream(name, 1);
      await admin.waitForStreamActive({ streamName: name }, ACTIVE_TIMEOUT);
      const retries: number[] = [];
      const input = Array.from({ length: 8 }, (_, i) => ({ partitionKey: `k${i}`, data: enc(`r${i}`) }));
      const results = await admin.putRecords({ streamName: name }, input, { baseMillis: 5, onRetry: (pending) => retries.push(pending) });
      // 8 sent, 4 withheld → 4 resent, 2 withheld → 2 resent, all written
      assert.deepEqual(proxy.forwarded, [8, 4, 2]);
      assert.deepEqual(retries, [4, 2]);
      const iterator = await api.getShardIterator({ streamName: name }, 'shardId-000000000000', { type: 'TRIM_HORIZON' });
      const { records } = await drain(api, iterator);
      assert.deepEqual(records.map((r) => text(r.data)).sort(), input.map((r) => text(r.data)).sort());
      const bySeq = new Map(records.map((r) => [r.sequenceNumber, text(r.data)]));
      results.forEach((r, i) => assert.equal(bySeq.get(r.sequenceNumber), `r${i}`, 'result lines up with its input'));
    } finally {
      client.destroy();
      await new Promise<void>((resolve) => proxy.server.close(() => resolve()));
    }
  });

  void it('gives up after maxAttempts with a retriable DependencyError naming the entry error', async () => {
    const proxy = await startThrottlingProxy(target, 100);
    const client = createKinesisClient({ region: TEST_REGION, endpoint: proxy.endpoint, credentials: TEST_CREDENTIALS });
    try {
      const admin = new KinesisAdmin(client);
      const name = uniqueName('kapi-throttle');
      await admin.createStream(name, 1);
      await admin.waitForStreamActive({ streamName: name }, ACTIVE_TIMEOUT);
      const input = Array.from({ length: 8 }, (_, i) => ({ partitionKey: `k${i}`, data: enc(`r${i}`) }));
      const error = await expectError(admin.putRecords({ streamName: name }, input, { maxAttempts: 3, baseMillis: 1 }), DependencyError, {
        code: 'KCL_DEPENDENCY',
        retriable: true,
      });
      assert.match(error.message, /ProvisionedThroughputExceededException/);
      assert.deepEqual(proxy.forwarded, [8, 4, 2]);
    } finally {
      client.destroy();
      await new Promise<void>((resolve) => proxy.server.close(() => resolve()));
    }
  });
});

void describe('KinesisApi network failures', { timeout: 30_000 }, () => {
  void it('a refused connection is a retriable NetworkError', async () => {
    // a port that was free a moment ago and has nobody listening
    const probe = createNetServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const port = (probe.address() as AddressInfo).port;
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    for (const host of ['127.0.0.1', 'localhost']) {
      const client = createKinesisClient({ region: TEST_REGION, endpoint: `http://${host}:${port}`, credentials: TEST_CREDENTIALS });
      try {
        const api = new KinesisApi(client);
        const error = await expectError(api.describeStreamSummary({ streamName: 'anything' }), NetworkError, { code: 'KCL_NETWORK', retriable: true });
        assert.match(error.message, /^Kinesis\.DescribeStreamSummary\(anything\) failed/);
        await expectError(api.getRecords('AAAA', 10), NetworkError, { code: 'KCL_NETWORK', retriable: true });
      } finally {
        client.destroy();
      }
    }
  });

  void it('a server that never answers fails after requestTimeoutMillis with a retriable AwsCallTimeoutError naming the call', async () => {
    const sockets = new Set<Socket>();
    const silent = createNetServer((socket) => {
      sockets.add(socket);
      socket.on('error', () => undefined);
      socket.resume(); // read the request, never answer
    });
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const client = createKinesisClient({
      region: TEST_REGION,
      endpoint: `http://127.0.0.1:${(silent.address() as AddressInfo).port}`,
      credentials: TEST_CREDENTIALS,
    });
    try {
      const api = new KinesisApi(client, { requestTimeoutMillis: 300 });
      const started = performance.now();
      const error = await expectError(api.listShards({ streamName: 'anything' }), AwsCallTimeoutError, { code: 'KCL_TIMEOUT', retriable: true });
      const elapsed = performance.now() - started;
      assert.ok(elapsed >= 290 && elapsed < 3_000, `took ${Math.round(elapsed)} ms`);
      assert.equal(error.operation, 'Kinesis.ListShards(anything)');
      assert.equal(error.timeoutMillis, 300);

      // a caller's signal aborts too
      const controller = new AbortController();
      const pending = new KinesisApi(client).getRecords('AAAA', 10, undefined, { signal: controller.signal });
      setTimeout(() => controller.abort(), 50);
      await expectError(pending, NetworkError, { code: 'KCL_NETWORK', retriable: true });
    } finally {
      client.destroy();
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => silent.close(() => resolve()));
    }
  });
});
