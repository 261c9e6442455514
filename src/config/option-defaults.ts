import { systemClock } from '../util/clock.js';
import type { HttpOptions, MetricsOptions } from './observability-options.js';
import type { TimeoutOptions } from './timeout-options.js';
import type {
  EndpointOptions,
  FanOutRetrievalOptions,
  LeaseOptions,
  PollingRetrievalOptions,
  ProcessingOptions,
  SchedulerOptions,
  StreamConfig,
} from './options.js';

/**
 * The one source of option defaults and of the keys each options object allows (the keys of these objects; nothing
 * else lists them). Every key of the options type is here, so a new option is added in options.ts (with its TSDoc and
 * `@defaultValue`) and here, and the resolver reads its default from here. A value of `undefined` means: required,
 * unset by default, or computed from other options in resolve-options.ts (the TSDoc says how). A unit test
 * (test/unit/option-defaults.test.ts) holds these values to the `@defaultValue` tags of options.ts.
 */
export type Defaults<T> = { readonly [K in keyof Required<T>]: T[K] | undefined };

/** The keys an options object allows, from its defaults. */
export function keysOf<T extends object>(defaults: T): readonly (keyof T & string)[] {
  return Object.keys(defaults) as (keyof T & string)[];
}

export const SCHEDULER_DEFAULTS = {
  applicationName: undefined,
  streamName: undefined,
  streamArn: undefined,
  streams: undefined,
  streamTrackerIntervalMillis: 60_000,
  formerStreamLeasesDeletionDelayMillis: undefined,
  processorFactory: undefined,
  workerId: undefined,
  region: undefined,
  credentials: undefined,
  kinesisClient: undefined,
  dynamoDbClient: undefined,
  cloudWatchClient: undefined,
  endpoints: {},
  initialPosition: 'LATEST',
  retrieval: { mode: 'polling' },
  leases: {},
  shardSyncIntervalMillis: 60_000,
  parentShardPollIntervalMillis: 10_000,
  onProcessingError: 'retry',
  callProcessRecordsEvenForEmptyRecordList: false,
  logger: undefined,
  logLevel: 'warn',
  metrics: { backend: 'none' },
  http: undefined,
  clock: systemClock,
  timeouts: {},
  recordHandler: undefined,
  processing: undefined,
} as const satisfies Defaults<SchedulerOptions>;

export const POLLING_DEFAULTS = {
  mode: 'polling',
  maxRecords: 10_000,
  idleTimeBetweenReadsMillis: 1500,
  maxPrefetchBatches: 3,
  maxPrefetchBytes: 8 * 1024 * 1024,
  filterOffRangeSubRecords: false,
  maxGetRecordsCallsPerSecond: 5,
} as const satisfies Defaults<PollingRetrievalOptions>;

export const FANOUT_DEFAULTS = {
  mode: 'fanout',
  consumerName: undefined,
  consumerArn: undefined,
  deregisterConsumerOnShutdown: false,
  http2: undefined,
  requestHandler: undefined,
  maxQueuedEvents: 3,
  subscriptionIdleTimeoutMillis: 30_000,
  shardEndCheckIntervalMillis: 10_000,
  filterOffRangeSubRecords: false,
} as const satisfies Defaults<FanOutRetrievalOptions>;

/** A taker interval above this gets no start-up discovery window by default (a lone worker would wait that long). */
export const MAX_DEFAULT_DISCOVERY_MILLIS = 5000;

export const LEASE_DEFAULTS = {
  tableName: undefined,
  failoverTimeMillis: 10_000,
  epsilonMillis: 25,
  takerIntervalMillis: undefined,
  startupDiscoveryMillis: undefined,
  maxLeasesForWorker: Number.POSITIVE_INFINITY,
  maxLeasesToStealAtOneTime: 8,
  gracefulHandoff: true,
  gracefulHandoffTimeoutMillis: 30_000,
  billingMode: 'PAY_PER_REQUEST',
  readCapacity: 10,
  writeCapacity: 10,
  consistentReads: false,
  cleanupLeasesUponShardCompletion: true,
  cleanupIntervalMillis: 60_000,
  tableActiveTimeoutMillis: 120_000,
  steadyTakerIntervalMillis: undefined,
  failureWatchers: 2,
} as const satisfies Defaults<LeaseOptions>;

export const TIMEOUT_DEFAULTS = {
  leaseCallMillis: undefined,
  leaseScanMillis: 30_000,
  tableAdminMillis: 60_000,
  kinesisReadMillis: 10_000,
  kinesisListMillis: 10_000,
  fanOutRegistrationMillis: 30_000,
} as const satisfies Defaults<TimeoutOptions>;

/** `processing` (resolve-processing.ts; several defaults depend on other keys, as their TSDoc says). */
export const PROCESSING_DEFAULTS = {
  maxInFlight: 1,
  orderBy: 'partitionKey',
  checkpointIntervalMillis: 5000,
  checkpointEveryRecords: undefined,
  maxBufferedRecords: 1000,
  maxBufferedBytes: 16 * 1024 * 1024,
  maxAttempts: undefined,
  maxRecordAgeMillis: undefined,
  deadLetter: undefined,
  retryBaseMillis: 100,
  retryMaxMillis: 30_000,
  bisectOnError: false,
} as const satisfies Defaults<ProcessingOptions>;

export const ENDPOINT_DEFAULTS = {
  kinesis: undefined,
  dynamodb: undefined,
  cloudwatch: undefined,
} as const satisfies Defaults<EndpointOptions>;

export const STREAM_CONFIG_DEFAULTS = {
  streamName: undefined,
  streamArn: undefined,
  initialPosition: undefined,
} as const satisfies Defaults<StreamConfig>;

export const METRICS_DEFAULTS = {
  backend: 'none',
  level: 'DETAILED',
  namespace: undefined,
  bufferMillis: 10_000,
  maxQueueSize: 10_000,
  registry: undefined,
} as const satisfies Defaults<MetricsOptions>;

export const HTTP_DEFAULTS = {
  port: undefined,
  host: '0.0.0.0',
  maxEventLoopDelayMillis: undefined,
  dashboard: false,
} as const satisfies Defaults<HttpOptions>;
