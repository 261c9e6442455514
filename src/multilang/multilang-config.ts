import { ConfigError, Scheduler, type EndpointOptions, type LeaseOptions, type SchedulerOptions } from '../index.js';
import { isCredentialsProviderKey, readCredentialsProvider, type CredentialsSetting } from './credentials-provider.js';
import { IGNORED_KEYS, IGNORED_PREFIXES } from './ignored-keys.js';
import { booleanValue, enumValue, epochSecondsValue, integerValue, stringValue, urlValue } from './property-values.js';

/** Settings of the daemon itself (not of the Scheduler). */
export interface MultiLangDaemonSettings {
  /** `executableName` as written. */
  executableName: string;
  /** `executableName` split on spaces (as Java's `split(" +")`): file and arguments, no shell. */
  command: string[];
  /** `timeoutInSeconds`: longest wait for each message of a child; undefined waits for ever (as Java). */
  timeoutInSeconds: number | undefined;
  /**
   * `shutdownGraceMillis`: on SIGTERM/SIGINT, how long every shard gets for `shutdownRequested` before the
   * leases are released regardless. Java's field defaults to 0; ts-kcl waits 30 s unless told otherwise.
   */
  shutdownGraceMillis: number;
  /** `processingLanguage` (Java appends it to the user agent; logged here). */
  processingLanguage: string | undefined;
}

export interface ConfigWarning {
  key: string;
  /** `unknown`: no such key in the Java daemon either; `ignored`: a Java key without effect in ts-kcl. */
  kind: 'unknown' | 'ignored';
  message: string;
}

export interface MultiLangConfig {
  /** Scheduler options, already validated (everything but `processorFactory` and `logger`). */
  scheduler: Omit<SchedulerOptions, 'processorFactory'>;
  daemon: MultiLangDaemonSettings;
  credentials: CredentialsSetting;
  warnings: ConfigWarning[];
  /** Facts worth one startup log line each (retrieval mode choice, credentials, endpoints from env). */
  notes: string[];
}

interface Draft {
  top: Record<string, unknown>;
  leases: LeaseOptions;
  endpoints: EndpointOptions;
  polling: { maxRecords?: number; idleTimeBetweenReadsMillis?: number };
  fanout: { consumerName?: string; consumerArn?: string };
  retrievalMode: 'DEFAULT' | 'POLLING' | 'FANOUT';
  pollingKeys: string[];
  initial?: 'LATEST' | 'TRIM_HORIZON';
  atTimestamp?: Date;
  otherRegions: [string, string][];
  daemon: Partial<MultiLangDaemonSettings>;
  credentials: CredentialsSetting;
  /** Scheduler option path → the properties key it came from, to name the key in errors. */
  origin: Map<string, string>;
}

type Apply = (d: Draft, key: string, value: string) => void;

const top = (path: string, read: (key: string, value: string) => unknown): Apply => (d, key, value) => {
  d.top[path] = read(key, value);
  d.origin.set(path, key);
};
const lease = (field: keyof LeaseOptions, read: (key: string, value: string) => unknown = integerValue): Apply => (d, key, value) => {
  (d.leases as Record<string, unknown>)[field] = read(key, value);
  d.origin.set(`leases.${field}`, key);
};
const polling = (field: 'maxRecords' | 'idleTimeBetweenReadsMillis'): Apply => (d, key, value) => {
  d.polling[field] = integerValue(key, value);
  d.pollingKeys.push(key);
  d.origin.set(`retrieval.${field}`, key);
};
const fanout = (field: 'consumerName' | 'consumerArn'): Apply => (d, key, value) => {
  d.fanout[field] = stringValue(key, value);
  d.origin.set(`retrieval.${field}`, key);
};
const endpoint = (field: keyof EndpointOptions): Apply => (d, key, value) => {
  d.endpoints[field] = urlValue(key, value);
  d.origin.set(`endpoints.${field}`, key);
};

/** The keys ts-kcl maps onto Scheduler options or daemon settings. */
const KEYS: Record<string, Apply> = {
  executableName: (d, key, value) => {
    d.daemon.executableName = stringValue(key, value);
    d.daemon.command = d.daemon.executableName.split(/ +/);
  },
  applicationName: top('applicationName', stringValue),
  streamName: top('streamName', stringValue),
  streamArn: (d, key, value) => {
    if (value.trim() !== '') top('streamArn', stringValue)(d, key, value); // blank: ignored, as Java
  },
  regionName: top('region', stringValue),
  dynamoDBRegionName: (d, key, value) => void d.otherRegions.push([key, stringValue(key, value)]),
  cloudWatchRegionName: (d, key, value) => void d.otherRegions.push([key, stringValue(key, value)]),
  workerId: top('workerId', stringValue),
  tableName: (d, key, value) => {
    d.leases.tableName = stringValue(key, value);
    d.origin.set('leases.tableName', key);
  },
  failoverTimeMillis: lease('failoverTimeMillis'),
  maxLeasesForWorker: lease('maxLeasesForWorker'),
  maxLeasesToStealAtOneTime: lease('maxLeasesToStealAtOneTime'),
  initialLeaseTableReadCapacity: lease('readCapacity'),
  initialLeaseTableWriteCapacity: lease('writeCapacity'),
  cleanupLeasesUponShardCompletion: lease('cleanupLeasesUponShardCompletion', booleanValue),
  isGracefulLeaseHandoffEnabled: lease('gracefulHandoff', booleanValue),
  gracefulLeaseHandoffTimeoutMillis: lease('gracefulHandoffTimeoutMillis'),
  shardSyncIntervalMillis: top('shardSyncIntervalMillis', integerValue),
  parentShardPollIntervalMillis: top('parentShardPollIntervalMillis', integerValue),
  callProcessRecordsEvenForEmptyRecordList: top('callProcessRecordsEvenForEmptyRecordList', booleanValue),
  initialPositionInStream: (d, key, value) => {
    if (value.trim().toUpperCase() === 'AT_TIMESTAMP') {
      throw new ConfigError(key, 'AT_TIMESTAMP needs a time: set initialPositionInStreamExtended to epoch seconds instead');
    }
    d.initial = enumValue(key, value, ['TRIM_HORIZON', 'LATEST'] as const);
    d.origin.set('initialPosition', key);
  },
  initialPositionInStreamExtended: (d, key, value) => {
    d.atTimestamp = epochSecondsValue(key, value);
    d.origin.set('initialPosition', key);
    d.origin.set('initialPosition.timestamp', key);
  },
  maxRecords: polling('maxRecords'),
  idleTimeBetweenReadsInMillis: polling('idleTimeBetweenReadsMillis'),
  retrievalMode: (d, key, value) => {
    d.retrievalMode = enumValue(key, value, ['DEFAULT', 'POLLING', 'FANOUT']);
    d.origin.set('retrieval.mode', key);
  },
  consumerName: fanout('consumerName'),
  consumerArn: fanout('consumerArn'),
  kinesisEndpoint: endpoint('kinesis'),
  dynamoDBEndpoint: endpoint('dynamodb'),
  dynamoDbEndpoint: endpoint('dynamodb'),
  timeoutInSeconds: (d, key, value) => void (d.daemon.timeoutInSeconds = integerValue(key, value, 1)),
  shutdownGraceMillis: (d, key, value) => void (d.daemon.shutdownGraceMillis = integerValue(key, value, 0)),
  processingLanguage: (d, key, value) => void (d.daemon.processingLanguage = value.trim()),
};

/** Polling keys Java counts when `retrievalMode=DEFAULT` picks POLLING over FANOUT. */
const JAVA_POLLING_KEYS = new Set(['maxRecords', 'idleTimeBetweenReadsInMillis', 'retryGetRecordsInSeconds', 'maxGetRecordsThreadPool']);

/**
 * Maps a MultiLangDaemon properties file onto `SchedulerOptions` and the daemon's own settings. Unknown keys
 * and Java keys without effect come back as warnings; a bad or missing value throws a `ConfigError` whose
 * `key` is the properties key. Endpoints may also come from `AWS_ENDPOINT_URL_KINESIS`,
 * `AWS_ENDPOINT_URL_DYNAMODB` or `AWS_ENDPOINT_URL` (the keys win).
 */
export function toMultiLangConfig(properties: ReadonlyMap<string, string>, env: NodeJS.ProcessEnv = process.env): MultiLangConfig {
  const d: Draft = {
    top: {}, leases: {}, endpoints: {}, polling: {}, fanout: {}, retrievalMode: 'DEFAULT', pollingKeys: [],
    otherRegions: [], daemon: {}, credentials: { notes: [] }, origin: new Map(),
  };
  const warnings: ConfigWarning[] = [];
  const notes: string[] = [];
  for (const [key, value] of properties) {
    const apply = KEYS[key];
    const ignored = IGNORED_KEYS[key];
    const prefix = IGNORED_PREFIXES.find(([p]) => key === p || key.startsWith(`${p}.`));
    if (apply) {
      apply(d, key, value);
    } else if (isCredentialsProviderKey(key)) {
      readCredentialsProvider(key, value, d.credentials);
    } else if (ignored) {
      ignored[0](key, value);
      if (JAVA_POLLING_KEYS.has(key)) d.pollingKeys.push(key);
      warnings.push({ key, kind: 'ignored', message: `"${key}" has no effect in ts-kcl: ${ignored[1]}` });
    } else if (prefix) {
      warnings.push({ key, kind: 'ignored', message: `"${key}" has no effect in ts-kcl: ${prefix[1]}` });
    } else {
      warnings.push({ key, kind: 'unknown', message: `unknown key "${key}" (ignored)` });
    }
  }

  if (!d.daemon.command) throw new ConfigError('executableName', 'is required: the command that runs your record processor');
  if (d.top.applicationName === undefined) throw new ConfigError('applicationName', 'is required');
  if (d.top.streamName === undefined && d.top.streamArn === undefined) {
    throw new ConfigError('streamName', 'streamName or streamArn is required (streamArn wins when both are set)');
  }
  if (d.top.streamArn !== undefined) delete d.top.streamName; // the ARN wins, as in Java
  for (const [key, region] of d.otherRegions) {
    if (region !== (d.top.region ?? env.AWS_REGION ?? env.AWS_DEFAULT_REGION)) {
      warnings.push({ key, kind: 'ignored', message: `"${key}" has no effect in ts-kcl: every client uses regionName` });
    }
  }

  const initialPosition = d.atTimestamp ? { timestamp: d.atTimestamp } : d.initial;
  const retrieval = resolveRetrieval(d, notes);
  readEndpointEnv(d, env, notes);
  notes.push(...d.credentials.notes);
  if (d.credentials.notes.length === 0) notes.push('credentials: the SDK default chain (no AwsCredentialsProvider key)');

  const scheduler: Omit<SchedulerOptions, 'processorFactory'> = {
    ...(d.top as Pick<SchedulerOptions, 'applicationName'>),
    ...(initialPosition ? { initialPosition } : {}),
    retrieval,
    leases: d.leases,
    endpoints: d.endpoints,
    ...(d.credentials.static ? { credentials: d.credentials.static } : {}),
  };
  validate(scheduler, d.origin);
  const daemon: MultiLangDaemonSettings = {
    executableName: d.daemon.executableName!,
    command: d.daemon.command,
    timeoutInSeconds: d.daemon.timeoutInSeconds,
    shutdownGraceMillis: d.daemon.shutdownGraceMillis ?? 30_000,
    processingLanguage: d.daemon.processingLanguage,
  };
  return { scheduler, daemon, credentials: d.credentials, warnings, notes };
}

function resolveRetrieval(d: Draft, notes: string[]): SchedulerOptions['retrieval'] {
  let mode = d.retrievalMode;
  if (mode === 'DEFAULT') {
    // Java's RetrievalMode.DEFAULT: POLLING when any polling key is set, else FANOUT.
    mode = d.pollingKeys.length > 0 ? 'POLLING' : 'FANOUT';
    notes.push(`retrievalMode DEFAULT → ${mode} (${d.pollingKeys.length > 0 ? `polling keys set: ${d.pollingKeys.join(', ')}` : 'no polling keys set'}), as the Java daemon decides`);
  }
  return mode === 'POLLING' ? { mode: 'polling', ...d.polling } : { mode: 'fanout', ...d.fanout };
}

function readEndpointEnv(d: Draft, env: NodeJS.ProcessEnv, notes: string[]): void {
  if (env.AWS_IGNORE_CONFIGURED_ENDPOINT_URLS?.toLowerCase() === 'true') return;
  const pick = (field: 'kinesis' | 'dynamodb', specific: string): void => {
    if (d.endpoints[field] !== undefined) return;
    const name = env[specific] ? specific : env.AWS_ENDPOINT_URL ? 'AWS_ENDPOINT_URL' : undefined;
    if (name === undefined) return;
    d.endpoints[field] = urlValue(name, env[name]!);
    d.origin.set(`endpoints.${field}`, name);
    notes.push(`${field} endpoint ${d.endpoints[field]} from ${name}`);
  };
  pick('kinesis', 'AWS_ENDPOINT_URL_KINESIS');
  pick('dynamodb', 'AWS_ENDPOINT_URL_DYNAMODB');
}

/** Lets the library validate every value, then names the properties key in its error. */
function validate(options: Omit<SchedulerOptions, 'processorFactory'>, origin: Map<string, string>): void {
  try {
    new Scheduler({ ...options, processorFactory: unusedFactory });
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    const key = origin.get(error.key) ?? error.key;
    const detail = error.message.replace(`Invalid option "${error.key}": `, '');
    throw new ConfigError(key, key === error.key ? detail : `${detail} (as ${error.key})`);
  }
}

const unusedFactory: SchedulerOptions['processorFactory'] = () => {
  throw new Error('validation only');
};
