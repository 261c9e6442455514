import { hostname } from 'node:os';
import { randomUUID } from 'node:crypto';
import type { KinesisRequestHandler, StaticCredentials } from '../aws/clients.js';
import { ConfigError } from '../errors.js';
import type { Clock } from '../util/clock.js';
import type { Logger } from '../util/logger.js';
import { endpointsFromEnv } from '../aws/endpoint-env.js';
import { resolveLogger } from './resolve-logger.js';
import type { ShardRecordProcessorFactory } from '../processor/types.js';
import {
  ENDPOINT_DEFAULTS,
  FANOUT_DEFAULTS,
  keysOf,
  LEASE_DEFAULTS,
  MAX_DEFAULT_DISCOVERY_MILLIS,
  POLLING_DEFAULTS,
  SCHEDULER_DEFAULTS,
  STREAM_CONFIG_DEFAULTS,
} from './option-defaults.js';
import type { RecordHandler } from '../processor/record-handler-types.js';
import { resolveProcessing, type ResolvedProcessing } from './resolve-processing.js';
import { resolveHttp, resolveMetrics, type ResolvedHttp, type ResolvedMetrics } from './resolve-observability.js';
import { bool, describe, int, objectAt, oneOf, str, type Bag } from './validators.js';
import { resolveTimeouts, type ResolvedTimeouts } from './resolve-timeouts.js';
import type {
  EndpointOptions,
  InitialPosition,
  ProcessingErrorPolicy,
  SchedulerOptions,
  StreamTrackerFunction,
} from './options.js';

export interface ResolvedPolling {
  mode: 'polling';
  maxRecords: number;
  idleTimeBetweenReadsMillis: number;
  maxPrefetchBatches: number;
  maxPrefetchBytes: number;
  filterOffRangeSubRecords: boolean;
  maxGetRecordsCallsPerSecond: number;
}
export interface ResolvedFanOut {
  mode: 'fanout';
  consumerName: string;
  consumerArn: string | undefined;
  deregisterConsumerOnShutdown: boolean;
  /** `undefined`: not set (then: HTTP/2 unless an endpoint or client is given). */
  http2: boolean | undefined;
  requestHandler: KinesisRequestHandler | undefined;
  maxQueuedEvents: number;
  subscriptionIdleTimeoutMillis: number;
  shardEndCheckIntervalMillis: number;
  filterOffRangeSubRecords: boolean;
}
export interface ResolvedLeases {
  tableName: string;
  failoverTimeMillis: number;
  epsilonMillis: number;
  renewIntervalMillis: number;
  takerIntervalMillis: number;
  startupDiscoveryMillis: number;
  maxLeasesForWorker: number;
  maxLeasesToStealAtOneTime: number;
  billingMode: 'PAY_PER_REQUEST' | 'PROVISIONED';
  readCapacity: number;
  writeCapacity: number;
  consistentReads: boolean;
  tableActiveTimeoutMillis: number;
  cleanupLeasesUponShardCompletion: boolean;
  cleanupIntervalMillis: number;
  gracefulHandoff: boolean;
  gracefulHandoffTimeoutMillis: number;
  steadyTakerIntervalMillis: number;
  failureWatchers: number;
}

/** One stream of `streams`, validated. `key` identifies it across tracker polls (the ARN, else the name). */
export interface ResolvedStreamConfig {
  key: string;
  stream: { streamName?: string; streamArn?: string };
  initialPosition: InitialPosition;
}
/** Multi-stream settings; `list` for a fixed list, `tracker` for a polled function. */
export interface ResolvedStreams {
  list: readonly ResolvedStreamConfig[] | undefined;
  tracker: StreamTrackerFunction | undefined;
  trackerIntervalMillis: number;
  /** `undefined`: a removed stream's leases are kept. */
  formerStreamLeasesDeletionDelayMillis: number | undefined;
}

/** Options with every default filled in; frozen. */
export interface ResolvedOptions {
  applicationName: string;
  streamName: string | undefined;
  streamArn: string | undefined;
  /** `undefined`: single stream (`streamName` / `streamArn`). */
  streams: ResolvedStreams | undefined;
  /** `undefined` when `recordHandler` is given. */
  processorFactory: ShardRecordProcessorFactory | undefined;
  recordHandler: RecordHandler | undefined;
  /** `undefined`: a `processorFactory` without `processing` (batches as before). */
  processing: ResolvedProcessing | undefined;
  workerId: string;
  region: string;
  credentials: StaticCredentials | undefined;
  kinesisClient: SchedulerOptions['kinesisClient'];
  dynamoDbClient: SchedulerOptions['dynamoDbClient'];
  cloudWatchClient: SchedulerOptions['cloudWatchClient'];
  endpoints: Readonly<EndpointOptions>;
  initialPosition: InitialPosition;
  retrieval: ResolvedPolling | ResolvedFanOut;
  leases: ResolvedLeases;
  shardSyncIntervalMillis: number;
  parentShardPollIntervalMillis: number;
  onProcessingError: ProcessingErrorPolicy;
  callProcessRecordsEvenForEmptyRecordList: boolean;
  logger: Logger;
  clock: Clock;
  metrics: ResolvedMetrics;
  /** `undefined`: no HTTP endpoint. */
  http: ResolvedHttp | undefined;
  /** Deadlines of the AWS calls. */
  timeouts: ResolvedTimeouts;
}

// The allowed keys of each options object: those of its defaults (option-defaults.ts), never a second list.
const TOP_KEYS = keysOf(SCHEDULER_DEFAULTS);
const LEASE_KEYS = keysOf(LEASE_DEFAULTS);
const POLLING_KEYS = keysOf(POLLING_DEFAULTS);
const FANOUT_KEYS = keysOf(FANOUT_DEFAULTS);
const ENDPOINT_KEYS = keysOf(ENDPOINT_DEFAULTS);
const STREAM_CONFIG_KEYS = keysOf(STREAM_CONFIG_DEFAULTS);

function endpoint(value: unknown, key: string): string | undefined {
  const s = str(value, key);
  if (s === undefined) return undefined;
  try {
    const url = new URL(s);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error('protocol');
  } catch {
    throw new ConfigError(key, `expected an http(s) URL, got ${describe(s)}`);
  }
  return s;
}

function initialPosition(value: unknown, key = 'initialPosition', fallback: InitialPosition = SCHEDULER_DEFAULTS.initialPosition): InitialPosition {
  if (value === undefined) return fallback;
  if (value === 'LATEST' || value === 'TRIM_HORIZON') return value;
  if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
    const bag = objectAt(value, key, ['timestamp']);
    const ts = bag.timestamp;
    if (ts instanceof Date && !Number.isNaN(ts.getTime())) return { timestamp: ts };
    throw new ConfigError(`${key}.timestamp`, `expected a valid Date, got ${describe(ts)}`);
  }
  throw new ConfigError(key, `expected 'LATEST', 'TRIM_HORIZON' or { timestamp: Date }, got ${describe(value)}`);
}

function resolveStreams(o: Bag, fallback: InitialPosition): ResolvedStreams | undefined {
  const value = o.streams;
  if (value === undefined) {
    for (const k of ['streamTrackerIntervalMillis', 'formerStreamLeasesDeletionDelayMillis'] as const) {
      if (o[k] !== undefined) throw new ConfigError(k, 'only applies with streams');
    }
    return undefined;
  }
  const isTracker = typeof value === 'function';
  if (!isTracker && !Array.isArray(value)) {
    throw new ConfigError('streams', `expected an array of { streamName | streamArn, initialPosition? } or a function returning one, got ${describe(value)}`);
  }
  const list = isTracker ? undefined : resolveStreamConfigs(value, 'streams', fallback);
  if (list !== undefined && list.length === 0) throw new ConfigError('streams', 'expected at least one stream');
  return {
    list,
    tracker: isTracker ? (value as StreamTrackerFunction) : undefined,
    trackerIntervalMillis: int(o.streamTrackerIntervalMillis, 'streamTrackerIntervalMillis', SCHEDULER_DEFAULTS.streamTrackerIntervalMillis, 100),
    formerStreamLeasesDeletionDelayMillis:
      o.formerStreamLeasesDeletionDelayMillis === undefined
        ? undefined
        : int(o.formerStreamLeasesDeletionDelayMillis, 'formerStreamLeasesDeletionDelayMillis', 0, 0),
  };
}

/**
 * Validates a list of `streams` entries (at construction, and each answer of a tracker function); `key` names the
 * option in errors. Throws a `ConfigError` for a bad entry or a stream listed twice.
 */
export function resolveStreamConfigs(value: unknown, key: string, fallback: InitialPosition): ResolvedStreamConfig[] {
  if (!Array.isArray(value)) throw new ConfigError(key, `expected an array of { streamName | streamArn, initialPosition? }, got ${describe(value)}`);
  const seen = new Set<string>();
  return value.map((entry: unknown, i) => {
    const k = `${key}[${i}]`;
    const bag = objectAt(entry, k, STREAM_CONFIG_KEYS);
    const name = str(bag.streamName, `${k}.streamName`, STREAM_NAME, '1–128 characters of a-z A-Z 0-9 _ . -');
    const arn = str(bag.streamArn, `${k}.streamArn`, STREAM_ARN, 'expected arn:aws:kinesis:<region>:<account>:stream/<name>');
    if (name === undefined && arn === undefined) throw new ConfigError(`${k}.streamName`, 'one of streamName or streamArn is required');
    const id = arn ?? name!;
    if (seen.has(id)) throw new ConfigError(k, `stream ${id} is listed twice`);
    seen.add(id);
    return { key: id, stream: arn !== undefined ? { streamArn: arn } : { streamName: name! }, initialPosition: initialPosition(bag.initialPosition, `${k}.initialPosition`, fallback) };
  });
}

function requestHandler(value: unknown, key: string): KinesisRequestHandler | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'object' || value === null || typeof (value as Bag).handle !== 'function') {
    throw new ConfigError(key, `expected an AWS SDK request handler (an object with handle()), got ${describe(value)}`);
  }
  return value as KinesisRequestHandler;
}

function sdkClient(value: unknown, key: string): void {
  if (value !== undefined && (typeof value !== 'object' || value === null || typeof (value as Bag).send !== 'function')) {
    throw new ConfigError(key, `expected an AWS SDK v3 client, got ${describe(value)}`);
  }
}

// Kinesis stream names: 1–128 of [a-zA-Z0-9_.-]; DynamoDB table names: 3–255 of the same.
const STREAM_NAME = /^[a-zA-Z0-9_.-]{1,128}$/;
const STREAM_ARN = /^arn:aws[a-z-]*:kinesis:[a-z0-9-]+:\d{12}:stream\/[a-zA-Z0-9_.-]{1,128}$/;
const TABLE_NAME = /^[a-zA-Z0-9_.-]{3,255}$/;

/**
 * Validates `SchedulerOptions` once and fills in every default. Any unknown key or bad value throws a
 * `ConfigError` whose `key` is the option's dotted path (e.g. `leases.failoverTimeMillis`).
 */
export function resolveOptions(input: SchedulerOptions): Readonly<ResolvedOptions> {
  const o = objectAt(input, '', TOP_KEYS);
  const applicationName = str(o.applicationName, 'applicationName', TABLE_NAME, '3–255 characters of a-z A-Z 0-9 _ . -');
  if (applicationName === undefined) throw new ConfigError('applicationName', 'is required');
  const streamName = str(o.streamName, 'streamName', STREAM_NAME, '1–128 characters of a-z A-Z 0-9 _ . -');
  const streamArn = str(o.streamArn, 'streamArn', STREAM_ARN, 'expected arn:aws:kinesis:<region>:<account>:stream/<name>');
  const topInitialPosition = initialPosition(o.initialPosition);
  const streams = resolveStreams(o, topInitialPosition);
  if (streams !== undefined && (streamName !== undefined || streamArn !== undefined)) {
    throw new ConfigError('streams', `excludes ${streamName !== undefined ? 'streamName' : 'streamArn'} (give the stream inside streams)`);
  }
  if (streams === undefined && streamName === undefined && streamArn === undefined) {
    throw new ConfigError('streamName', 'one of streamName, streamArn or streams is required');
  }
  const processing = resolveProcessing(o);
  sdkClient(o.kinesisClient, 'kinesisClient');
  sdkClient(o.dynamoDbClient, 'dynamoDbClient');
  sdkClient(o.cloudWatchClient, 'cloudWatchClient');

  // The AWS SDK annotates a credentials object it has used with `$source` (feature tracking): the same
  // object may well have been given to the application's own SDK clients first.
  const creds = objectAt(o.credentials, 'credentials', ['accessKeyId', 'secretAccessKey', 'sessionToken'], (k) => k.startsWith('$'));
  let credentials: StaticCredentials | undefined;
  if (o.credentials !== undefined) {
    const accessKeyId = str(creds.accessKeyId, 'credentials.accessKeyId');
    const secretAccessKey = str(creds.secretAccessKey, 'credentials.secretAccessKey');
    if (accessKeyId === undefined) throw new ConfigError('credentials.accessKeyId', 'is required');
    if (secretAccessKey === undefined) throw new ConfigError('credentials.secretAccessKey', 'is required');
    const sessionToken = str(creds.sessionToken, 'credentials.sessionToken');
    credentials = { accessKeyId, secretAccessKey, ...(sessionToken ? { sessionToken } : {}) };
  }

  const ep = objectAt(o.endpoints, 'endpoints', ENDPOINT_KEYS);
  // The SDK's AWS_ENDPOINT_URL_* variables fill in what `endpoints` leaves out.
  const endpoints: EndpointOptions = endpointsFromEnv();
  for (const k of ENDPOINT_KEYS) {
    const v = endpoint(ep[k], `endpoints.${k}`);
    if (v !== undefined) endpoints[k] = v;
  }

  const retrieval = resolveRetrieval(o.retrieval, applicationName);
  if (streams !== undefined && retrieval.mode === 'fanout' && retrieval.consumerArn !== undefined) {
    throw new ConfigError('retrieval.consumerArn', 'names one stream\'s consumer; with streams, consumers are found or registered by consumerName');
  }
  const leases = resolveLeases(o.leases, applicationName);

  const logger = resolveLogger(o.logger, o.logLevel);
  const clock = o.clock ?? SCHEDULER_DEFAULTS.clock;
  if (typeof (clock as Bag).now !== 'function' || typeof (clock as Bag).sleep !== 'function') {
    throw new ConfigError('clock', 'expected an object with now() and sleep()');
  }

  const resolved: ResolvedOptions = {
    applicationName,
    streamName,
    streamArn,
    streams,
    processorFactory: o.processorFactory as ShardRecordProcessorFactory | undefined,
    recordHandler: o.recordHandler as RecordHandler | undefined,
    processing,
    workerId:
      str(o.workerId, 'workerId', /^[^\s]{1,256}$/, 'no whitespace, at most 256 characters') ??
      `${hostname()}:${randomUUID().slice(0, 8)}`,
    region: str(o.region, 'region', /^[a-z]{2}(-[a-z]+)+-\d+$/, 'e.g. us-east-1') ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? 'us-east-1',
    credentials,
    kinesisClient: o.kinesisClient as ResolvedOptions['kinesisClient'],
    dynamoDbClient: o.dynamoDbClient as ResolvedOptions['dynamoDbClient'],
    cloudWatchClient: o.cloudWatchClient as ResolvedOptions['cloudWatchClient'],
    endpoints: Object.freeze(endpoints),
    initialPosition: topInitialPosition,
    retrieval,
    leases,
    shardSyncIntervalMillis: int(o.shardSyncIntervalMillis, 'shardSyncIntervalMillis', SCHEDULER_DEFAULTS.shardSyncIntervalMillis, 100),
    parentShardPollIntervalMillis: int(o.parentShardPollIntervalMillis, 'parentShardPollIntervalMillis', SCHEDULER_DEFAULTS.parentShardPollIntervalMillis, 10),
    onProcessingError: oneOf(o.onProcessingError, 'onProcessingError', ['retry', 'skip', 'release'], SCHEDULER_DEFAULTS.onProcessingError),
    callProcessRecordsEvenForEmptyRecordList: bool(o.callProcessRecordsEvenForEmptyRecordList, 'callProcessRecordsEvenForEmptyRecordList', SCHEDULER_DEFAULTS.callProcessRecordsEvenForEmptyRecordList),
    logger,
    clock: clock as Clock,
    metrics: resolveMetrics(o.metrics, applicationName),
    http: resolveHttp(o.http, leases.renewIntervalMillis),
    timeouts: resolveTimeouts(o.timeouts, leases),
  };
  return Object.freeze(resolved);
}

function resolveRetrieval(value: unknown, applicationName: string): ResolvedPolling | ResolvedFanOut {
  const mode = value === undefined ? SCHEDULER_DEFAULTS.retrieval.mode : (objectAt(value, 'retrieval', [...POLLING_KEYS, ...FANOUT_KEYS]).mode ?? SCHEDULER_DEFAULTS.retrieval.mode);
  if (mode === 'fanout') {
    const r = objectAt(value, 'retrieval', FANOUT_KEYS);
    return {
      mode: 'fanout',
      consumerName: str(r.consumerName, 'retrieval.consumerName', STREAM_NAME, '1–128 characters of a-z A-Z 0-9 _ . -') ?? applicationName,
      consumerArn: str(r.consumerArn, 'retrieval.consumerArn', /^arn:aws[a-z-]*:kinesis:.+\/consumer\/.+$/, 'expected a stream consumer ARN'),
      deregisterConsumerOnShutdown: bool(r.deregisterConsumerOnShutdown, 'retrieval.deregisterConsumerOnShutdown', FANOUT_DEFAULTS.deregisterConsumerOnShutdown),
      http2: r.http2 === undefined ? undefined : bool(r.http2, 'retrieval.http2', true),
      requestHandler: requestHandler(r.requestHandler, 'retrieval.requestHandler'),
      maxQueuedEvents: int(r.maxQueuedEvents, 'retrieval.maxQueuedEvents', FANOUT_DEFAULTS.maxQueuedEvents, 1, 1000),
      subscriptionIdleTimeoutMillis: int(r.subscriptionIdleTimeoutMillis, 'retrieval.subscriptionIdleTimeoutMillis', FANOUT_DEFAULTS.subscriptionIdleTimeoutMillis, 100),
      shardEndCheckIntervalMillis: int(r.shardEndCheckIntervalMillis, 'retrieval.shardEndCheckIntervalMillis', FANOUT_DEFAULTS.shardEndCheckIntervalMillis, 100),
      filterOffRangeSubRecords: bool(r.filterOffRangeSubRecords, 'retrieval.filterOffRangeSubRecords', FANOUT_DEFAULTS.filterOffRangeSubRecords),
    };
  }
  if (mode !== 'polling') throw new ConfigError('retrieval.mode', `expected 'polling' or 'fanout', got ${describe(mode)}`);
  const r = objectAt(value, 'retrieval', POLLING_KEYS);
  return {
    mode: 'polling',
    maxRecords: int(r.maxRecords, 'retrieval.maxRecords', POLLING_DEFAULTS.maxRecords, 1, 10_000),
    idleTimeBetweenReadsMillis: int(r.idleTimeBetweenReadsMillis, 'retrieval.idleTimeBetweenReadsMillis', POLLING_DEFAULTS.idleTimeBetweenReadsMillis, 0),
    maxPrefetchBatches: int(r.maxPrefetchBatches, 'retrieval.maxPrefetchBatches', POLLING_DEFAULTS.maxPrefetchBatches, 1, 1000),
    maxPrefetchBytes: int(r.maxPrefetchBytes, 'retrieval.maxPrefetchBytes', POLLING_DEFAULTS.maxPrefetchBytes, 1024),
    filterOffRangeSubRecords: bool(r.filterOffRangeSubRecords, 'retrieval.filterOffRangeSubRecords', POLLING_DEFAULTS.filterOffRangeSubRecords),
    maxGetRecordsCallsPerSecond: rate(r.maxGetRecordsCallsPerSecond, 'retrieval.maxGetRecordsCallsPerSecond', POLLING_DEFAULTS.maxGetRecordsCallsPerSecond),
  };
}

/** A calls-per-second bound: a finite number in (0, 1000]. */
function rate(value: unknown, key: string, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0 || value > 1000) {
    throw new ConfigError(key, `expected a number of calls per second in (0, 1000], got ${describe(value)}`);
  }
  return value;
}

function resolveLeases(value: unknown, applicationName: string): ResolvedLeases {
  const l = objectAt(value, 'leases', LEASE_KEYS);
  const failoverTimeMillis = int(l.failoverTimeMillis, 'leases.failoverTimeMillis', LEASE_DEFAULTS.failoverTimeMillis, 300);
  const epsilonMillis = int(l.epsilonMillis, 'leases.epsilonMillis', LEASE_DEFAULTS.epsilonMillis, 0);
  const renewIntervalMillis = Math.floor(failoverTimeMillis / 3) - epsilonMillis;
  if (renewIntervalMillis < 50) {
    throw new ConfigError('leases.epsilonMillis', `leaves a renewal interval of ${renewIntervalMillis} ms (failoverTimeMillis/3 − epsilonMillis must be ≥ 50)`);
  }
  const takerIntervalMillis = int(l.takerIntervalMillis, 'leases.takerIntervalMillis', Math.max(100, Math.floor(failoverTimeMillis / 5)), 50);
  return {
    tableName: str(l.tableName, 'leases.tableName', TABLE_NAME, '3–255 characters of a-z A-Z 0-9 _ . -') ?? applicationName,
    failoverTimeMillis,
    epsilonMillis,
    renewIntervalMillis,
    takerIntervalMillis,
    startupDiscoveryMillis: int(l.startupDiscoveryMillis, 'leases.startupDiscoveryMillis', takerIntervalMillis <= MAX_DEFAULT_DISCOVERY_MILLIS ? takerIntervalMillis : 0, 0, 600_000),
    maxLeasesForWorker: int(l.maxLeasesForWorker, 'leases.maxLeasesForWorker', LEASE_DEFAULTS.maxLeasesForWorker, 1, Number.POSITIVE_INFINITY),
    maxLeasesToStealAtOneTime: int(l.maxLeasesToStealAtOneTime, 'leases.maxLeasesToStealAtOneTime', LEASE_DEFAULTS.maxLeasesToStealAtOneTime, 0, 1000),
    billingMode: oneOf(l.billingMode, 'leases.billingMode', ['PAY_PER_REQUEST', 'PROVISIONED'], LEASE_DEFAULTS.billingMode),
    readCapacity: int(l.readCapacity, 'leases.readCapacity', LEASE_DEFAULTS.readCapacity, 1),
    writeCapacity: int(l.writeCapacity, 'leases.writeCapacity', LEASE_DEFAULTS.writeCapacity, 1),
    consistentReads: bool(l.consistentReads, 'leases.consistentReads', LEASE_DEFAULTS.consistentReads),
    tableActiveTimeoutMillis: int(l.tableActiveTimeoutMillis, 'leases.tableActiveTimeoutMillis', LEASE_DEFAULTS.tableActiveTimeoutMillis, 1000),
    cleanupLeasesUponShardCompletion: bool(l.cleanupLeasesUponShardCompletion, 'leases.cleanupLeasesUponShardCompletion', LEASE_DEFAULTS.cleanupLeasesUponShardCompletion),
    cleanupIntervalMillis: int(l.cleanupIntervalMillis, 'leases.cleanupIntervalMillis', LEASE_DEFAULTS.cleanupIntervalMillis, 100),
    gracefulHandoff: bool(l.gracefulHandoff, 'leases.gracefulHandoff', LEASE_DEFAULTS.gracefulHandoff),
    gracefulHandoffTimeoutMillis: int(l.gracefulHandoffTimeoutMillis, 'leases.gracefulHandoffTimeoutMillis', LEASE_DEFAULTS.gracefulHandoffTimeoutMillis, 100),
    steadyTakerIntervalMillis: int(
      l.steadyTakerIntervalMillis,
      'leases.steadyTakerIntervalMillis',
      Math.max(takerIntervalMillis, failoverTimeMillis * 6),
      takerIntervalMillis,
    ),
    failureWatchers: int(l.failureWatchers, 'leases.failureWatchers', LEASE_DEFAULTS.failureWatchers, 0, 1000),
  };
}
