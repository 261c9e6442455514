import { createDynamoDbClient, createKinesisClient, type KinesisClient } from '../aws/clients.js';
import { DynamoDbApi } from '../aws/dynamodb-api.js';
import { KinesisApi } from '../aws/kinesis-api.js';
import type { ResolvedOptions } from '../config/resolve-options.js';
import { dynamoDbDeadlines, kinesisDeadlines } from '../config/resolve-timeouts.js';
import { DynamoDbLeaseStore } from '../leases/dynamodb-lease-store.js';
import type { LeaseStore } from '../leases/lease-store.js';

/** The Kinesis calls a scheduler makes (shard sync, shard end, cleanup, polling, fan-out's own checks). */
export type SchedulerKinesisApi = Pick<KinesisApi, 'describeStreamSummary' | 'listShards' | 'getShardIterator' | 'getRecords'>;

/** A part with what closing it takes (clients the library built are destroyed; injected ones are left alone). */
export interface Owned<T> {
  value: T;
  close(): void;
}

/**
 * @internal What a `Scheduler` builds its AWS-facing parts from. Not part of the public API: unit tests pass an
 * in-memory lease store and a fake Kinesis here (the clock comes from the options), production uses {@link awsParts}.
 */
export interface SchedulerParts {
  /** The Kinesis API; `client` is the SDK client fan-out subscribes through (absent in tests, polling only). */
  kinesis(options: Readonly<ResolvedOptions>): Owned<{ api: SchedulerKinesisApi; client: KinesisClient | undefined }>;
  /** The lease table (before instrumentation and the application's view of it). */
  leaseStore(options: Readonly<ResolvedOptions>): Owned<LeaseStore>;
}

/** The real parts: SDK clients (the application's, when injected) and the DynamoDB lease table. */
export const awsParts: SchedulerParts = {
  kinesis(o) {
    const client = o.kinesisClient ?? createKinesisClient({ region: o.region, credentials: o.credentials, endpoint: o.endpoints.kinesis });
    return { value: { api: new KinesisApi(client, kinesisDeadlines(o)), client }, close: () => (o.kinesisClient ? undefined : client.destroy()) };
  },
  leaseStore(o) {
    const client = o.dynamoDbClient ?? createDynamoDbClient({ region: o.region, credentials: o.credentials, endpoint: o.endpoints.dynamodb });
    const store = new DynamoDbLeaseStore(new DynamoDbApi(client, dynamoDbDeadlines(o)), o.leases.tableName, { consistentReads: o.leases.consistentReads, clock: o.clock });
    return { value: store, close: () => (o.dynamoDbClient ? undefined : client.destroy()) };
  },
};
