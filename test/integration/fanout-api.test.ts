import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, connect, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import type { Http2Session } from 'node:http2';
import { SubscribeToShardCommand, type SubscribeToShardEventStream } from '@aws-sdk/client-kinesis';
import { createKinesisClient, http1Handler, type KinesisClient } from '../../src/aws/clients.js';
import { sdkDeserializerOf } from '../../src/aws/get-records-deserializer.js';
import { useLeanSubscribeToShard } from '../../src/aws/subscribe-to-shard-deserializer.js';
import { RecordAggregator } from '../../src/retrieval/kpl/aggregator.js';
import { ensureStreamConsumer, FanOutApi, type SubscribeEvent } from '../../src/aws/fanout-api.js';
import { createFanOutHttp2Handler } from '../../src/aws/fanout-http2.js';
import { KinesisApi } from '../../src/aws/kinesis-api.js';
import { KclError, ResourceInUseError, ResourceNotFoundError } from '../../src/errors.js';
import { systemClock } from '../../src/util/clock.js';
import { silentLogger } from '../../src/util/logger.js';
import { startKinesisLocal, stopAll, TEST_CREDENTIALS, TEST_REGION, type KinesisLocalEmulator } from '../support/emulators.js';
import { CuttableHandler, kinesisLocalTls } from '../support/fanout.js';
import { randomBytes, randomInt, seededRandom } from '../support/kpl-fixtures.js';
import { createStream, kinesisAdmin } from '../support/scenario.js';

/** A TCP relay to the emulator that can stop forwarding (a connection that goes dead without a FIN or RST). */
class Relay {
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  frozen = false;

  async start(targetPort: number): Promise<number> {
    this.server = createServer((client) => {
      const upstream = connect(targetPort, '127.0.0.1');
      for (const s of [client, upstream]) {
        this.sockets.add(s);
        s.on('error', () => undefined);
        s.on('close', () => this.sockets.delete(s));
      }
      client.on('data', (d) => {
        if (!this.frozen) upstream.write(d);
      });
      upstream.on('data', (d) => {
        if (!this.frozen) client.write(d);
      });
      client.on('close', () => upstream.destroy());
      upstream.on('close', () => client.destroy());
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    return (this.server.address() as AddressInfo).port;
  }

  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server?.close(() => resolve()) ?? resolve());
  }
}

/** Sessions the subscriptions went through (the h2 response body is the stream; its session is the connection). */
class SessionSpy extends CuttableHandler {
  readonly sessions = new Set<Http2Session>();

  override async handle(request: unknown, options: { isEventStream?: boolean } = {}): Promise<{ response: { body?: unknown } }> {
    const result = await super.handle(request, options);
    const session = (result.response.body as { session?: Http2Session } | undefined)?.session;
    if (options.isEventStream === true && session) this.sessions.add(session);
    return result;
  }
}

async function firstEvents(events: AsyncIterable<SubscribeEvent>, count: number): Promise<SubscribeEvent[]> {
  const out: SubscribeEvent[] = [];
  for await (const e of events) {
    out.push(e);
    if (out.length >= count) break;
  }
  return out;
}

describe('FanOutApi on kinesis-local', () => {
  let kinesis: KinesisLocalEmulator;
  before(async () => {
    kinesis = await startKinesisLocal({ durationsMillis: 400 });
  });
  after(() => stopAll());

  const http1 = () => createKinesisClient({ region: TEST_REGION, endpoint: kinesis.endpoint, credentials: TEST_CREDENTIALS, requestHandler: http1Handler() });

  it('registers a consumer once for concurrent workers, waits for ACTIVE, and deregisters it', async () => {
    const admin = kinesisAdmin(kinesis.endpoint);
    const streamName = await createStream(admin, 1, 'fanout-reg');
    const { streamArn } = await new KinesisApi(http1()).describeStreamSummary({ streamName });
    const apis = [0, 1, 2].map(() => new FanOutApi(http1()));
    const arns = await Promise.all(
      apis.map((api) => ensureStreamConsumer(api, { streamArn, consumerName: 'app', clock: systemClock, logger: silentLogger, pollMillis: 100 })),
    );
    assert.equal(new Set(arns).size, 1, 'one consumer for all');
    const described = await apis[0]!.describeStreamConsumer({ consumerArn: arns[0]! });
    assert.equal(described.status, 'ACTIVE');
    assert.equal(described.consumerName, 'app');
    // Found, not registered again.
    assert.equal(await ensureStreamConsumer(apis[1]!, { streamArn, consumerName: 'app', clock: systemClock, logger: silentLogger }), arns[0]);

    await apis[0]!.deregisterStreamConsumer({ streamArn, consumerName: 'app' });
    const deadline = Date.now() + 10_000;
    for (;;) {
      try {
        const c = await apis[0]!.describeStreamConsumer({ streamArn, consumerName: 'app' });
        assert.equal(c.status, 'DELETING');
      } catch (error) {
        assert.ok(error instanceof ResourceNotFoundError, String(error));
        break;
      }
      assert.ok(Date.now() < deadline, 'consumer gone within 10 s');
      await new Promise((r) => setTimeout(r, 100));
    }
  });

  it('HTTP/2 + TLS: subscriptions share sessions (maxStreamsPerSession), records arrive, resubscribing after the continuation works', async () => {
    const admin = kinesisAdmin(kinesis.endpoint);
    const streamName = await createStream(admin, 4, 'fanout-h2');
    const control = new KinesisApi(http1());
    const { streamArn } = await control.describeStreamSummary({ streamName });
    const spy = new SessionSpy(createFanOutHttp2Handler({ connectOptions: kinesisLocalTls(), maxStreamsPerSession: 2 }));
    const subscribeClient = createKinesisClient({ region: TEST_REGION, endpoint: kinesis.tlsEndpoint, credentials: TEST_CREDENTIALS, requestHandler: spy.asRequestHandler() });
    const api = new FanOutApi(http1(), { subscribeClient });
    const consumerArn = await ensureStreamConsumer(api, { streamArn, consumerName: 'h2', clock: systemClock, logger: silentLogger, pollMillis: 100 });
    const shards = await control.listShards({ streamName });
    const put = await admin.putRecords({ streamName }, shards.map((s, i) => ({ partitionKey: `k${i}`, data: new TextEncoder().encode(`v${i}`), explicitHashKey: s.hashKeyRange.startingHashKey })));
    const controllers = shards.map(() => new AbortController());
    try {
      const streams = await Promise.all(shards.map((s, i) => api.subscribeToShard(consumerArn, s.shardId, { type: 'TRIM_HORIZON' }, controllers[i]!.signal)));
      assert.equal(spy.sessions.size, 2, '4 subscriptions on 2 sessions of 2 streams each');
      const first = await Promise.all(streams.map((s) => firstEvents(s, 1)));
      first.forEach((events, i) => {
        const e = events[0]!;
        assert.deepEqual(e.records.map((r) => new TextDecoder().decode(r.data)), [`v${i}`]);
        assert.equal(e.records[0]!.sequenceNumber, put.find((p) => p.shardId === shards[i]!.shardId)!.sequenceNumber);
        assert.ok(e.continuationSequenceNumber, 'continuation number');
      });
      // Resubscribe shard 0 after its continuation: nothing is delivered again; a new record is.
      controllers[0]!.abort();
      const after = first[0]![0]!.continuationSequenceNumber!;
      let resubscribed: AsyncIterable<SubscribeEvent> | undefined;
      let inUse = 0;
      const again = new AbortController();
      controllers.push(again);
      while (resubscribed === undefined) {
        try {
          resubscribed = await api.subscribeToShard(consumerArn, shards[0]!.shardId, { type: 'AFTER_SEQUENCE_NUMBER', sequenceNumber: after }, again.signal);
        } catch (error) {
          assert.ok(error instanceof ResourceInUseError, `only ResourceInUse is expected right after an abort, got ${String(error)}`);
          inUse++;
          await new Promise((r) => setTimeout(r, 200));
        }
      }
      console.log(`fan-out api: ResourceInUse answers right after an abort: ${inUse}`);
      await admin.putRecord({ streamName }, { partitionKey: 'x', data: new TextEncoder().encode('later'), explicitHashKey: shards[0]!.hashKeyRange.startingHashKey });
      const seen: string[] = [];
      for await (const e of resubscribed) {
        seen.push(...e.records.map((r) => new TextDecoder().decode(r.data)));
        if (seen.length > 0) break;
      }
      assert.deepEqual(seen, ['later']);
    } finally {
      for (const c of controllers) c.abort();
      subscribeClient.destroy();
    }
  });

  it('lean event-stream decoding yields the SDK’s records on kinesis-local, over HTTP/1.1 and HTTP/2, without falling back', async () => {
    const admin = kinesisAdmin(kinesis.endpoint);
    const streamName = await createStream(admin, 1, 'fanout-lean');
    const control = new KinesisApi(http1());
    const { streamArn } = await control.describeStreamSummary({ streamName });
    const [shard] = await control.listShards({ streamName });
    const random = seededRandom(21);
    const keys = ['a', 'é€', '\u{1F600}', 'k"\\'];
    const inputs = Array.from({ length: 60 }, (_, i) => {
      if (i % 10 === 9) {
        const users = Array.from({ length: 5 }, (_, j) => ({ partitionKey: `u${i}-${j}`, data: randomBytes(random, randomInt(random, 200)) }));
        return RecordAggregator.aggregate(users)[0]!;
      }
      return { partitionKey: keys[i % keys.length]!, data: randomBytes(random, 1 + randomInt(random, 3000)) };
    });
    await admin.putRecords({ streamName }, inputs);
    const h2 = createFanOutHttp2Handler({ connectOptions: kinesisLocalTls() });
    const clients: [string, KinesisClient][] = [
      ['HTTP/1.1', http1()],
      ['HTTP/2', createKinesisClient({ region: TEST_REGION, endpoint: kinesis.tlsEndpoint, credentials: TEST_CREDENTIALS, requestHandler: h2 })],
    ];
    try {
      for (const [protocol, client] of clients) {
        const sdk = sdkDeserializerOf(client)!;
        let fallbacks = 0;
        const counting = ((next: never, context: never) => {
          const handler = sdk(next, context);
          return (args: never) => (fallbacks++, handler(args));
        }) as unknown as typeof sdk;
        const api = new FanOutApi(client);
        // One consumer per path: a consumer holds one subscription per shard at a time.
        const read = async (consumerName: string, lean: boolean): Promise<unknown[]> => {
          const consumerArn = await ensureStreamConsumer(api, { streamArn, consumerName, clock: systemClock, logger: silentLogger, pollMillis: 100 });
          const command = new SubscribeToShardCommand({ ConsumerARN: consumerArn, ShardId: shard!.shardId, StartingPosition: { Type: 'TRIM_HORIZON' } });
          const controller = new AbortController();
          if (lean) useLeanSubscribeToShard(command, counting, controller.signal);
          const records: unknown[] = [];
          try {
            const out = await client.send(command, { abortSignal: controller.signal });
            for await (const member of out.EventStream as AsyncIterable<SubscribeToShardEventStream>) {
              records.push(...(member.SubscribeToShardEvent?.Records ?? []));
              if (records.length >= inputs.length) break;
            }
          } finally {
            controller.abort();
          }
          return records;
        };
        const viaSdk = await read(`sdk-${protocol.replace(/\W/g, '')}`, false);
        const lean = await read(`lean-${protocol.replace(/\W/g, '')}`, true);
        assert.equal(lean.length, inputs.length, protocol);
        assert.deepEqual(lean, viaSdk, protocol);
        assert.equal(fallbacks, 0, `${protocol}: lean path used`);
      }
    } finally {
      for (const [, c] of clients) c.destroy();
    }
  });

  it('HTTP/2: an unanswered PING destroys a dead session and fails its subscriptions (so they can move on)', async () => {
    const admin = kinesisAdmin(kinesis.endpoint);
    const streamName = await createStream(admin, 1, 'fanout-ping');
    const control = new KinesisApi(http1());
    const { streamArn } = await control.describeStreamSummary({ streamName });
    const relay = new Relay();
    const port = await relay.start(Number(new URL(kinesis.tlsEndpoint).port));
    const handler = createFanOutHttp2Handler({ connectOptions: kinesisLocalTls(), pingIntervalMillis: 300, pingTimeoutMillis: 500 });
    const subscribeClient = createKinesisClient({ region: TEST_REGION, endpoint: `https://127.0.0.1:${port}`, credentials: TEST_CREDENTIALS, requestHandler: handler });
    const api = new FanOutApi(http1(), { subscribeClient });
    const controller = new AbortController();
    try {
      const consumerArn = await ensureStreamConsumer(api, { streamArn, consumerName: 'ping', clock: systemClock, logger: silentLogger, pollMillis: 100 });
      const [shard] = await control.listShards({ streamName });
      const events = await api.subscribeToShard(consumerArn, shard!.shardId, { type: 'LATEST' }, controller.signal);
      const iterator = events[Symbol.asyncIterator]();
      await iterator.next();
      await new Promise((r) => setTimeout(r, 1200)); // several PINGs answered: the session lives on
      assert.equal(handler.watchedSessions, 1);
      assert.equal((await iterator.next()).done, false, 'still delivering');
      relay.frozen = true;
      const started = Date.now();
      await assert.rejects(
        (async () => {
          for (let r = await iterator.next(); !r.done; r = await iterator.next());
          throw new Error('the stream ended instead of failing');
        })(),
        (e: unknown) => e instanceof KclError && e.retriable,
      );
      const took = Date.now() - started;
      assert.ok(took < 3000, `dead session noticed within PING interval + timeout (took ${took} ms)`);
      await new Promise((r) => setTimeout(r, 50));
      assert.equal(handler.watchedSessions, 0);
    } finally {
      controller.abort();
      subscribeClient.destroy();
      await relay.stop();
    }
  });
});
