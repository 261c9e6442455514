import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { KinesisClient, type KinesisClientConfig } from '@aws-sdk/client-kinesis';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { withoutNodeVersionWarning } from './sdk-node-warning.js';

/** Static credentials; when absent the SDK's default provider chain is used. */
export interface StaticCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

export interface ClientSettings {
  region?: string | undefined;
  /** Custom endpoint (local emulator). With an endpoint the client uses HTTP/1.1 keep-alive, see below. */
  endpoint?: string | undefined;
  credentials?: StaticCredentials | undefined;
  /** Max sockets per client; one worker may poll 100+ shards at once. */
  maxSockets?: number | undefined;
  /** Request handler to use instead of the default (e.g. `createFanOutHttp2Handler()` for subscriptions). */
  requestHandler?: KinesisRequestHandler | undefined;
}

/** A request handler the Kinesis client accepts (`NodeHttpHandler`, `NodeHttp2Handler`, ...). */
export type KinesisRequestHandler = NonNullable<KinesisClientConfig['requestHandler']>;

/**
 * The SDK's HTTP/1.1 handler with keep-alive. The Kinesis client's default HTTP/2 handler opens and
 * GOAWAYs a session per request, which kinesalite rejects and kinesis-local trips over; HTTP/1.1 is
 * also what the DynamoDB client uses anyway. Against AWS without an endpoint, Kinesis keeps HTTP/2
 * (SubscribeToShard needs it).
 */
export function http1Handler(maxSockets = 256, timeouts: HandlerTimeouts = {}): NodeHttpHandler {
  return new NodeHttpHandler({
    httpAgent: new HttpAgent({ keepAlive: true, maxSockets }),
    httpsAgent: new HttpsAgent({ keepAlive: true, maxSockets }),
    // Backstops under the library's per-call deadlines (an abort signal per call, see call-deadline.ts): a
    // connection that cannot be opened, or a socket silent this long, fails the request instead of hanging it.
    connectionTimeout: timeouts.connectionTimeoutMillis ?? 5_000,
    socketTimeout: timeouts.socketTimeoutMillis ?? 60_000,
    ...(timeouts.requestTimeoutMillis !== undefined ? { requestTimeout: timeouts.requestTimeoutMillis, throwOnRequestTimeout: true } : {}),
  });
}

/** The request handler's own timeouts (backstops; the per-call deadlines are the library's `timeouts` options). */
export interface HandlerTimeouts {
  /** Opening a connection. @defaultValue 5000 */
  connectionTimeoutMillis?: number;
  /** A socket with no activity. @defaultValue 60000 */
  socketTimeoutMillis?: number;
  /** A whole request (never for subscriptions, which stream for minutes). @defaultValue none */
  requestTimeoutMillis?: number;
}

/** Java KCL's DynamoDB call timeout: the outermost bound of any one DynamoDB request. */
const DYNAMODB_REQUEST_TIMEOUT_MILLIS = 60_000;

function common(settings: ClientSettings): Record<string, unknown> {
  return {
    region: settings.region ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? 'us-east-1',
    ...(settings.endpoint ? { endpoint: settings.endpoint } : {}),
    ...(settings.credentials ? { credentials: settings.credentials } : {}),
    // The library has its own retrier that knows about leases and shutdown; keep the SDK's short.
    maxAttempts: 2,
  };
}

export function createKinesisClient(settings: ClientSettings): KinesisClient {
  return withoutNodeVersionWarning(() => new KinesisClient({
    ...common(settings),
    ...(settings.requestHandler
      ? { requestHandler: settings.requestHandler }
      : settings.endpoint
        ? { requestHandler: http1Handler(settings.maxSockets) }
        : {}),
  }));
}

/**
 * A Kinesis client with `base`'s region, credentials and endpoint but another request handler: the subscription
 * client of enhanced fan-out when the application injected its own client.
 */
export function deriveKinesisClient(base: KinesisClient, requestHandler: KinesisRequestHandler): KinesisClient {
  return withoutNodeVersionWarning(() => new KinesisClient({
    region: base.config.region,
    credentials: base.config.credentials,
    ...(base.config.endpoint ? { endpoint: base.config.endpoint } : {}),
    maxAttempts: 2,
    requestHandler,
  }));
}

export function createDynamoDbClient(settings: ClientSettings): DynamoDBClient {
  return withoutNodeVersionWarning(
    () =>
      new DynamoDBClient({
        ...common(settings),
        requestHandler: http1Handler(settings.maxSockets, { requestTimeoutMillis: DYNAMODB_REQUEST_TIMEOUT_MILLIS }),
      }),
  );
}

export type { KinesisClient, DynamoDBClient };
