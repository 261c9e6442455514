// Fan-out test helpers: a request handler wrapper that can cut every open subscription (a forced end of the
// underlying streams, as a network failure would), and the trust settings for kinesis-local's TLS port.
import { readFileSync } from 'node:fs';
import { PassThrough, Readable } from 'node:stream';
import { createRequire } from 'node:module';
import type { SecureClientSessionOptions } from 'node:http2';
import assert from 'node:assert/strict';
import { Scheduler } from '../../src/index.js';
import { createDynamoDbClient, type KinesisClient, type KinesisRequestHandler } from '../../src/aws/clients.js';
import { TEST_CREDENTIALS, TEST_REGION, uniqueName } from './emulators.js';
import { createStream, DeliveryLog, kinesisAdmin, produce, waitFor } from './scenario.js';

const require = createRequire(import.meta.url);

/**
 * Trusts kinesis-local's self-signed certificate on one handler only (no global NODE_TLS_REJECT_UNAUTHORIZED):
 * the certificate itself is the CA; it names no host (CN=Unknown), so only the host-name check is skipped.
 */
export function kinesisLocalTls(): SecureClientSessionOptions {
  const file = require.resolve('kinesis-local/server.json');
  const { server } = JSON.parse(readFileSync(file, 'utf8')) as { server: { cert: string } };
  return { ca: server.cert, checkServerIdentity: () => undefined };
}

interface Destroyable {
  destroy(error?: Error): void;
  once(event: 'close', listener: () => void): unknown;
}

type Handle = (request: unknown, options?: { isEventStream?: boolean }) => Promise<{ response: { body?: unknown } }>;

/**
 * Wraps a request handler; remembers the response body of every event-stream request (a subscription) until it
 * closes. `cutSubscriptions()` destroys them all: each subscriber sees its stream fail and must resubscribe.
 */
export class CuttableHandler {
  readonly metadata: unknown;
  /** Event-stream requests answered so far (subscriptions opened). */
  opened = 0;
  private readonly open = new Set<Destroyable>();
  private readonly valves = new Map<Readable, PassThrough>();

  /** `stallable`: pass subscription bodies through a valve so that `stallSubscriptions()` works (hides `body.session`). */
  constructor(
    private readonly inner: KinesisRequestHandler,
    private readonly options: { stallable?: boolean } = {},
  ) {
    this.metadata = (inner as { metadata?: unknown }).metadata;
  }

  get openSubscriptions(): number {
    return this.open.size;
  }

  async handle(request: unknown, options: { isEventStream?: boolean } = {}): Promise<{ response: { body?: unknown } }> {
    const inner = this.inner as unknown as { handle: Handle };
    const result = await inner.handle(request, options);
    if (options.isEventStream === true) {
      this.opened++;
      const raw = result.response.body;
      if (this.options.stallable === true && raw instanceof Readable) {
        // Passed through a valve so that `stallSubscriptions()` can silence the stream while it stays open.
        const valve = new PassThrough();
        raw.pipe(valve);
        raw.on('error', (e) => valve.destroy(e));
        raw.on('close', () => valve.destroy());
        valve.on('close', () => {
          this.valves.delete(raw);
          raw.destroy();
        });
        this.valves.set(raw, valve);
        result.response.body = valve;
      }
      const body = result.response.body as Destroyable | undefined;
      if (body !== undefined) {
        this.open.add(body);
        body.once('close', () => this.open.delete(body));
      }
    }
    return result;
  }

  /**
   * Stops the flow of every open subscription stream without closing it (a silent, half-dead connection: no event,
   * not even the heartbeat); returns how many. Subscriptions opened later flow normally.
   */
  stallSubscriptions(): number {
    for (const [raw, valve] of this.valves) {
      raw.unpipe(valve);
      raw.pause();
    }
    const n = this.valves.size;
    this.valves.clear();
    return n;
  }

  /** Destroys every open subscription stream; returns how many. */
  cutSubscriptions(): number {
    const n = this.open.size;
    for (const body of [...this.open]) body.destroy(Object.assign(new Error('cut by the test'), { code: 'ECONNRESET' }));
    this.open.clear();
    return n;
  }

  updateHttpClientConfig(key: never, value: never): void {
    (this.inner as unknown as { updateHttpClientConfig?: (k: never, v: never) => void }).updateHttpClientConfig?.(key, value);
  }

  httpHandlerConfigs(): object {
    return (this.inner as unknown as { httpHandlerConfigs?: () => object }).httpHandlerConfigs?.() ?? {};
  }

  destroy(): void {
    (this.inner as unknown as { destroy?: () => void }).destroy?.();
  }

  /** As the SDK's `requestHandler` option types it. */
  asRequestHandler(): KinesisRequestHandler {
    return this;
  }
}

// ---------------------------------------------------------------------------------------------
// The fleet scenario shared by the HTTP/1.1 and HTTP/2 runs.

export interface FleetScenarioOptions {
  /** Plain-HTTP kinesis-local endpoint (admin: create stream, put records). */
  adminEndpoint: string;
  dynamoEndpoint: string;
  /** Per worker: the control-plane Kinesis client and the handler that carries its subscriptions. */
  transport: () => { kinesisClient: KinesisClient; subscriptions: CuttableHandler };
  label: string;
}

export interface FleetScenarioResult {
  produced: number;
  delivered: number;
  duplicatesAfterBalance: number;
  cut: number;
  resubscribed: number;
  seconds: number;
}

/**
 * 3 in-process workers, 4 shards, fan-out: records before and while running; once the leases are spread, every
 * subscription is cut (each must resubscribe after its continuation number); then one worker shuts down
 * (its shards move to the others). Checks: everything delivered, per-shard order, no duplicates after balance.
 */
export async function fleetScenario(o: FleetScenarioOptions): Promise<FleetScenarioResult> {
  const started = Date.now();
  const admin = kinesisAdmin(o.adminEndpoint);
  const streamName = await createStream(admin, 4, `fanout-${o.label}`);
  const produced = await produce(admin, streamName, 100);
  const app = uniqueName(`fanout-${o.label}`);
  const log = new DeliveryLog();
  const handlers: CuttableHandler[] = [];
  const workers = ['w1', 'w2', 'w3'].map((workerId) => {
    const { kinesisClient, subscriptions } = o.transport();
    handlers.push(subscriptions);
    return new Scheduler({
      applicationName: app,
      streamName,
      workerId,
      initialPosition: 'TRIM_HORIZON',
      kinesisClient,
      dynamoDbClient: createDynamoDbClient({ region: TEST_REGION, endpoint: o.dynamoEndpoint, credentials: TEST_CREDENTIALS }),
      leases: { failoverTimeMillis: 3000 },
      retrieval: { mode: 'fanout', requestHandler: subscriptions.asRequestHandler(), subscriptionIdleTimeoutMillis: 10_000 },
      processorFactory: log.factory(workerId),
    });
  });
  let producing = true;
  let producer: Promise<void> = Promise.resolve();
  try {
    await Promise.all(workers.map((w) => w.start()));
    await waitFor(() => log.uniqueKeys().size === produced.length, 30_000, `the first ${produced.length} records (${o.label})`);
    const held = (): number => workers.reduce((n, w) => n + w.heldLeaseKeys.length, 0);
    // All four held (a worker's start-up discovery leaves a lease free for one taker round), each by one of the three.
    await waitFor(() => workers.every((w) => w.heldLeaseKeys.length >= 1) && held() === 4, 30_000, 'leases spread over the 3 workers');
    const balancedAt = log.deliveries.length;

    producer = (async () => {
      let i = produced.length;
      while (producing) {
        produced.push(...(await produce(admin, streamName, 10, i)));
        i += 10;
        await new Promise((r) => setTimeout(r, 100));
      }
    })();
    await new Promise((r) => setTimeout(r, 2000));
    // Cut when every shard's subscription is open (a newly taken lease subscribes after its processor's initialize).
    await waitFor(() => handlers.reduce((n, h) => n + h.openSubscriptions, 0) >= 4, 20_000, 'a subscription open on every shard');
    const openedBefore = handlers.reduce((n, h) => n + h.opened, 0);
    const cut = handlers.reduce((n, h) => n + h.cutSubscriptions(), 0);
    await waitFor(() => handlers.reduce((n, h) => n + h.opened, 0) >= openedBefore + cut, 20_000, `${cut} subscriptions reopened`);
    const resubscribed = handlers.reduce((n, h) => n + h.opened, 0) - openedBefore;
    await new Promise((r) => setTimeout(r, 1500));
    await workers[2]!.startGracefulShutdown();
    await waitFor(() => workers[0]!.heldLeaseKeys.length + workers[1]!.heldLeaseKeys.length === 4, 20_000, "w3's shards taken over");
    await new Promise((r) => setTimeout(r, 1500));
    producing = false;
    await producer;
    await waitFor(() => log.uniqueKeys().size === produced.length, 30_000, `all ${produced.length} records (${o.label})`);

    assert.deepEqual(log.orderViolations(), [], 'per-shard order within every worker run');
    const perShard = new Map<string, string[]>();
    for (const p of produced) perShard.set(p.shardId, [...(perShard.get(p.shardId) ?? []), p.key]);
    for (const [shardId, keys] of perShard) {
      const seen = [...new Set(log.deliveries.filter((d) => d.shardId === shardId).map((d) => d.key))];
      assert.deepEqual(seen, keys, `order of ${shardId}`);
    }
    const after = log.deliveries.slice(balancedAt).map((d) => d.key);
    const duplicatesAfterBalance = after.length - new Set(after).size;
    assert.equal(duplicatesAfterBalance, 0, 'no duplicates from resubscribing or the graceful hand-over');
    assert.ok(cut >= 4, `every shard had an open subscription to cut (cut ${cut})`);
    return { produced: produced.length, delivered: log.deliveries.length, duplicatesAfterBalance, cut, resubscribed, seconds: (Date.now() - started) / 1000 };
  } finally {
    producing = false;
    await producer.catch(() => undefined);
    await Promise.all(workers.map((w) => w.shutdown()));
  }
}
