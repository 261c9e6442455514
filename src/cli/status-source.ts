import type { Command } from 'commander';
import { endpointsFromEnv, type LeaseTableInspectorOptions } from '../index.js';

/** The options `ts-kcl status` and `ts-kcl dashboard` both read the lease table (and lag) with. */
export interface SourceOptions {
  table?: string;
  stream?: string;
  lag: boolean;
  region?: string;
  dynamodbEndpoint?: string;
  kinesisEndpoint?: string;
}

/** Adds the table/stream/endpoint options shared by `status` and `dashboard`. */
export function addSourceOptions(command: Command): Command {
  return command
    .option('-t, --table <name>', 'lease table name (default: the application name)')
    .option('-s, --stream <name-or-arn>', 'the stream, to measure each shard’s lag')
    .option('--no-lag', 'do not call Kinesis (lease table only)')
    .option('--region <region>', 'AWS region (default: AWS_REGION, else us-east-1)')
    .option('--dynamodb-endpoint <url>', 'DynamoDB endpoint (local emulators, VPC endpoints; default: AWS_ENDPOINT_URL_DYNAMODB, else AWS_ENDPOINT_URL)')
    .option('--kinesis-endpoint <url>', 'Kinesis endpoint (default: AWS_ENDPOINT_URL_KINESIS, else AWS_ENDPOINT_URL)');
}

/** What `LeaseTableInspector` is built with from those options (lag only with a stream). */
export function inspectorOptions(tableName: string, o: SourceOptions): LeaseTableInspectorOptions {
  const config: LeaseTableInspectorOptions = { tableName, lag: o.lag };
  if (o.region !== undefined) config.region = o.region;
  if (o.stream !== undefined) config.stream = o.stream.startsWith('arn:') ? { streamArn: o.stream } : { streamName: o.stream };
  // As the SDK does: AWS_ENDPOINT_URL_DYNAMODB / _KINESIS, else AWS_ENDPOINT_URL, when no flag names one.
  const fromEnv = endpointsFromEnv();
  const dynamodb = o.dynamodbEndpoint ?? fromEnv.dynamodb;
  const kinesis = o.kinesisEndpoint ?? fromEnv.kinesis;
  if (dynamodb !== undefined || kinesis !== undefined) {
    config.endpoints = { ...(dynamodb !== undefined ? { dynamodb } : {}), ...(kinesis !== undefined ? { kinesis } : {}) };
  }
  if (o.stream === undefined) config.lag = false;
  return config;
}

/** A read error as one line for operators. */
export function describeReadError(error: unknown, tableName: string): string {
  const name = (error as { code?: unknown }).code;
  if (name === 'KCL_RESOURCE_NOT_FOUND') return `lease table ${tableName} not found (${(error as Error).message})`;
  return error instanceof Error ? error.message : String(error);
}
