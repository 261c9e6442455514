// Where the examples connect. By default: AWS, with the SDK's credential chain and region. Set
// KINESIS_ENDPOINT and DYNAMODB_ENDPOINT (e.g. http://127.0.0.1:4567) to run them against local emulators;
// dummy credentials are used then. STREAM_NAME and APPLICATION_NAME pick the stream and the lease table.
import { KinesisClient } from '@aws-sdk/client-kinesis';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import type { SchedulerOptions } from '../src/index.js';

const env = process.env;

export const streamName = env.STREAM_NAME ?? 'ts-kcl-example';
export const applicationName = env.APPLICATION_NAME ?? `${streamName}-consumer`;
export const region = env.AWS_REGION ?? env.AWS_DEFAULT_REGION ?? 'us-east-1';

const local = env.KINESIS_ENDPOINT !== undefined;
const localCredentials = { accessKeyId: 'local', secretAccessKey: 'local' };

/** The connection part of `SchedulerOptions`. */
export function connection(): Pick<SchedulerOptions, 'region' | 'endpoints' | 'credentials'> {
  if (!local) return { region };
  return {
    region,
    endpoints: { kinesis: env.KINESIS_ENDPOINT, dynamodb: env.DYNAMODB_ENDPOINT },
    credentials: localCredentials,
  };
}

/** A Kinesis client for producing records (emulators need HTTP/1.1, AWS is fine with the default). */
export function producerClient(): KinesisClient {
  if (!local) return new KinesisClient({ region });
  return new KinesisClient({
    region,
    endpoint: env.KINESIS_ENDPOINT,
    credentials: localCredentials,
    requestHandler: new NodeHttpHandler(),
  });
}
