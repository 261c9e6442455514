import {
  booleanValue,
  decimalValue,
  durationValue,
  enumValue,
  integerValue,
  listValue,
  stringValue,
  tagsValue,
} from './property-values.js';

/**
 * Keys the Java MultiLangDaemon knows that have no counterpart in ts-kcl. Their values are still checked (a
 * typo'd number fails at startup as in Java), then they are reported once at startup with the reason.
 */
type Check = (key: string, value: string) => unknown;

const bool: Check = booleanValue;
const int: Check = (k, v) => integerValue(k, v, 0);
const decimal: Check = (k, v) => decimalValue(k, v);
const text: Check = stringValue;
const billing: Check = (k, v) => enumValue(k, v, ['PAY_PER_REQUEST', 'PROVISIONED']);

const THREADS = 'ts-kcl has no thread pools (one event loop, one child process per shard)';
const METRICS = 'metrics are not configured from the properties file in ts-kcl';
const KCL3 = 'KCL 3.x worker-utilization lease assignment is not part of ts-kcl (leases are taken and balanced as in KCL 2.x)';
const TUNING = 'ts-kcl has no equivalent setting (its own defaults apply)';

const TABLE_KEYS = (prefix: string): Record<string, [Check, string]> => ({
  [`${prefix}TableName`]: [text, KCL3],
  [`${prefix}BillingMode`]: [billing, KCL3],
  [`${prefix}ReadCapacity`]: [int, KCL3],
  [`${prefix}WriteCapacity`]: [int, KCL3],
  [`${prefix}PointInTimeRecoveryEnabled`]: [bool, KCL3],
  [`${prefix}DeletionProtectionEnabled`]: [bool, KCL3],
  [`${prefix}Tags`]: [tagsValue, KCL3],
});

export const IGNORED_KEYS: Readonly<Record<string, readonly [Check, string]>> = {
  maxActiveThreads: [(k, v) => integerValue(k, v), THREADS],
  maxLeaseRenewalThreads: [int, THREADS],
  maxGetRecordsThreadPool: [int, THREADS],
  ignoreUnexpectedChildShards: [bool, TUNING],
  skipShardSyncAtWorkerInitializationIfLeasesExist: [bool, TUNING],
  validateSequenceNumberBeforeCheckpointing: [bool, 'checkpoints are validated against the delivered range, without a Kinesis call'],
  listShardsBackoffTimeInMillis: [int, TUNING],
  maxListShardsRetryAttempts: [int, TUNING],
  schedulerInitializationBackoffTimeMillis: [int, TUNING],
  taskBackoffTimeMillis: [int, TUNING],
  logWarningForTaskAfterMillis: [int, TUNING],
  retryGetRecordsInSeconds: [int, TUNING],
  millisBehindLatestThresholdForReducedTps: [int, TUNING],
  maxDescribeStreamSummaryRetries: [int, TUNING],
  maxDescribeStreamConsumerRetries: [int, TUNING],
  registerStreamConsumerRetries: [int, TUNING],
  retryBackoffMillis: [int, TUNING],
  shardPrioritization: [text, TUNING],
  leaseTableScanTotalSegments: [int, TUNING],
  enablePriorityLeaseAssignment: [bool, TUNING],
  leaseTableDeletionProtectionEnabled: [bool, 'set deletion protection on the lease table yourself'],
  leaseTablePitrEnabled: [bool, 'set point-in-time recovery on the lease table yourself'],
  metricsBufferTimeMillis: [int, METRICS],
  metricsMaxQueueSize: [int, METRICS],
  metricsLevel: [(k, v) => enumValue(k, v, ['NONE', 'SUMMARY', 'DETAILED']), METRICS],
  metricsEnabledDimensions: [listValue, METRICS],
  clientVersionConfig: [(k, v) => enumValue(k, v, ['CLIENT_VERSION_CONFIG_COMPATIBLE_WITH_2X', 'CLIENT_VERSION_CONFIG_3X']), KCL3],
  leaseAssignmentIntervalMillis: [int, KCL3],
  inMemoryWorkerMetricsCaptureFrequencyMillis: [int, KCL3],
  workerMetricsReporterFreqInMillis: [int, KCL3],
  noOfPersistedMetricsPerWorkerMetrics: [int, KCL3],
  disableWorkerMetrics: [bool, KCL3],
  maxThroughputPerHostKBps: [decimal, KCL3],
  dampeningPercentage: [int, KCL3],
  reBalanceThresholdPercentage: [int, KCL3],
  allowThroughputOvershoot: [bool, KCL3],
  varianceBalancingFrequency: [int, KCL3],
  workerMetricsEMAAlpha: [decimal, KCL3],
  staleWorkerMetricsEntryCleanupDuration: [durationValue, KCL3],
  ...TABLE_KEYS('coordinatorState'),
  ...TABLE_KEYS('workerMetrics'),
};

/** Nested SDK client settings (`kinesisClient.…`): Java builds clients from them; ts-kcl has endpoint keys instead. */
export const IGNORED_PREFIXES: readonly (readonly [string, string])[] = [
  ['kinesisClient', 'SDK client settings are not read from properties; use regionName and kinesisEndpoint'],
  ['dynamoDbClient', 'SDK client settings are not read from properties; use regionName and dynamoDBEndpoint'],
  ['cloudWatchClient', 'SDK client settings are not read from properties'],
];
