import { endpointsFromEnv } from './endpoint-env.js';
import { createKinesisClient as createClient, type KinesisClient, type StaticCredentials } from './clients.js';

export interface AppKinesisClientOptions {
  /** @defaultValue AWS_REGION / AWS_DEFAULT_REGION, else 'us-east-1' */
  region?: string;
  /** @defaultValue AWS_ENDPOINT_URL_KINESIS, else AWS_ENDPOINT_URL, else the regional endpoint */
  endpoint?: string;
  /** @defaultValue the AWS SDK's default credential chain */
  credentials?: StaticCredentials;
}

/**
 * A Kinesis client for the application's own calls (a producer, stream setup) made the way the Scheduler makes
 * its own: the endpoint from `endpoint` or the SDK's `AWS_ENDPOINT_URL_KINESIS` / `AWS_ENDPOINT_URL`, and with an
 * endpoint HTTP/1.1 keep-alive — kinesalite and kinesis-local fail the SDK's default HTTP/2 handler with
 * `ERR_HTTP2_ERROR: Protocol error`. Without an endpoint it is a plain SDK client (HTTP/2 against AWS).
 */
export function createKinesisClient(options: AppKinesisClientOptions = {}): KinesisClient {
  return createClient({ region: options.region, credentials: options.credentials, endpoint: options.endpoint ?? endpointsFromEnv().kinesis });
}
