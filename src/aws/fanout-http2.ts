import type { ClientHttp2Stream, Http2Session, SecureClientSessionOptions } from 'node:http2';
import { NodeHttp2Handler } from '@smithy/node-http-handler';
import { IllegalArgumentError } from '../errors.js';

/** What `NodeHttp2Handler.handle` takes and returns (the SDK's own types, without naming `@smithy/types`). */
type HandleArgs = Parameters<NodeHttp2Handler['handle']>;
type HandleResult = Awaited<ReturnType<NodeHttp2Handler['handle']>>;

export interface FanOutHttp2HandlerOptions {
  /**
   * Streams (subscriptions, plus the odd control-plane call) one HTTP/2 session carries before the handler opens
   * another. With the default 16, a worker holding 100 shards uses 7 TCP+TLS connections.
   * @defaultValue 16
   */
  maxStreamsPerSession?: number;
  /**
   * Per-stream receive window (HTTP/2 `SETTINGS_INITIAL_WINDOW_SIZE`), which is also what a paused subscription
   * may buffer before the service stops sending on it. Java KCL uses 512 KiB.
   * @defaultValue 524288
   */
  initialWindowSizeBytes?: number;
  /**
   * Every this often a session carrying subscriptions is PINGed; no answer within `pingTimeoutMillis` destroys it,
   * so its subscriptions fail and are re-opened on a new connection instead of waiting on a dead one.
   * 0 turns pings off.
   * @defaultValue 60000
   */
  pingIntervalMillis?: number;
  /** @defaultValue 10000 */
  pingTimeoutMillis?: number;
  /**
   * Extra `http2.connect` options, e.g. `{ ca }` to trust a private CA (tests trust kinesis-local's self-signed
   * certificate this way, on this handler only).
   * @defaultValue {}
   */
  connectOptions?: SecureClientSessionOptions;
}

const DEFAULT_MAX_STREAMS_PER_SESSION = 16;
const DEFAULT_INITIAL_WINDOW = 512 * 1024;
const DEFAULT_PING_INTERVAL = 60_000;
const DEFAULT_PING_TIMEOUT = 10_000;

/**
 * The SDK's HTTP/2 handler (`NodeHttp2Handler`), with SubscribeToShard streams multiplexed on shared, pooled
 * sessions instead of one isolated session each.
 *
 * Why: for an event-stream operation the stock handler opens an isolated session (its own TCP+TLS connection) and
 * sends GOAWAY on it as soon as the response headers arrive, relying on the server to finish the open stream.
 * AWS does; kinesis-local breaks the stream (`ERR_HTTP2_ERROR`). And with one connection per subscription a worker
 * holding 100+ shards keeps 100+ connections.
 *
 * How sessions are shared: every request — subscriptions included — goes through the handler's ordinary session
 * pool (`isEventStream` is cleared, which is the only thing that routes a request to an isolated session).
 * The pool puts at most `maxStreamsPerSession` concurrent streams on a session and opens another when all are
 * full; a session stays open while it carries streams (so nothing is GOAWAYed under a live subscription) and is
 * dropped from the pool when the server sends GOAWAY, errors or closes it. Backpressure stays per subscription:
 * Node replenishes the connection-level window as data arrives but a stream's own window only as the stream is
 * read, so a paused (slow) shard stops the service sending on its stream without stalling the shards sharing its
 * connection. A session carrying subscriptions is PINGed periodically (Java KCL's health check does the same) and
 * destroyed when the PING goes unanswered, which fails its streams over to a fresh connection.
 */
export class FanOutHttp2Handler extends NodeHttp2Handler {
  private readonly pingIntervalMillis: number;
  private readonly pingTimeoutMillis: number;
  private readonly watched = new Map<Http2Session, NodeJS.Timeout>();

  constructor(options: FanOutHttp2HandlerOptions = {}) {
    const maxStreams = options.maxStreamsPerSession ?? DEFAULT_MAX_STREAMS_PER_SESSION;
    if (!Number.isInteger(maxStreams) || maxStreams < 1) {
      throw new IllegalArgumentError(`maxStreamsPerSession must be a positive integer, got ${maxStreams}`);
    }
    const window = options.initialWindowSizeBytes ?? DEFAULT_INITIAL_WINDOW;
    if (!Number.isInteger(window) || window < 65_535 || window > 2 ** 31 - 1) {
      throw new IllegalArgumentError(`initialWindowSizeBytes must be an integer in 65535..2^31-1, got ${window}`);
    }
    const connect = options.connectOptions ?? {};
    super({
      maxConcurrentStreams: maxStreams,
      nodeHttp2ConnectOptions: { ...connect, settings: { initialWindowSize: window, ...connect.settings } },
    });
    this.pingIntervalMillis = options.pingIntervalMillis ?? DEFAULT_PING_INTERVAL;
    this.pingTimeoutMillis = options.pingTimeoutMillis ?? DEFAULT_PING_TIMEOUT;
  }

  override async handle(request: HandleArgs[0], options: HandleArgs[1] = {}): Promise<HandleResult> {
    const eventStream = (options as { isEventStream?: boolean }).isEventStream === true;
    const result = await super.handle(request, { ...options, isEventStream: false });
    if (eventStream) this.watch(result.response.body as ClientHttp2Stream | undefined);
    return result;
  }

  override destroy(): void {
    for (const timer of this.watched.values()) clearInterval(timer);
    this.watched.clear();
    super.destroy();
  }

  /** Sessions currently PINGed (those that carried a subscription and are still open). */
  get watchedSessions(): number {
    return this.watched.size;
  }

  private watch(stream: ClientHttp2Stream | undefined): void {
    const session = stream?.session;
    if (session === undefined || this.pingIntervalMillis <= 0 || this.watched.has(session) || session.destroyed) return;
    const timer = setInterval(() => this.ping(session), this.pingIntervalMillis);
    timer.unref();
    this.watched.set(session, timer);
    session.once('close', () => {
      clearInterval(timer);
      this.watched.delete(session);
    });
  }

  private ping(session: Http2Session): void {
    if (session.destroyed || session.closed) return;
    const deadline = setTimeout(() => {
      // A TimeoutError (retriable NetworkError once mapped) for every stream of the session.
      const error = Object.assign(new Error(`HTTP/2 PING unanswered for ${this.pingTimeoutMillis} ms`), { name: 'TimeoutError', code: 'ERR_HTTP2_PING_TIMEOUT' });
      session.destroy(error);
    }, this.pingTimeoutMillis);
    deadline.unref();
    const sent = session.ping((error) => {
      clearTimeout(deadline);
      // A failed PING (session going away) needs nothing more: the pool drops closing sessions itself.
      void error;
    });
    if (!sent) clearTimeout(deadline);
  }
}

/** The HTTP/2 handler fan-out uses by default against AWS; see {@link FanOutHttp2Handler}. */
export function createFanOutHttp2Handler(options: FanOutHttp2HandlerOptions = {}): FanOutHttp2Handler {
  return new FanOutHttp2Handler(options);
}
