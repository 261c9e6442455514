// The public surface of ts-kcl. Everything else is internal and may change.
export { Scheduler } from './coordinator/scheduler.js';
export type { SchedulerEvents } from './coordinator/scheduler-events.js';
export type { MetricsOptions, HttpOptions } from './config/observability-options.js';
export type { TimeoutOptions } from './config/timeout-options.js';
export type { MetricsSink, MetricDatum, MetricDimensions, MetricKind, MetricLevel, MetricsLevel, MetricUnit } from './metrics/metrics-sink.js';
export { Metrics, MetricScope } from './metrics/metrics.js';
export { NoopMetrics } from './metrics/noop-metrics.js';
export { CloudWatchMetrics, type CloudWatchMetricsOptions } from './metrics/cloudwatch-metrics.js';
export { PrometheusMetrics, type PrometheusMetricsOptions } from './metrics/prometheus-metrics.js';
export { prometheusName } from './metrics/prometheus-names.js';
export type { HealthReport, ReadinessReport } from './observability/worker-health.js';
export { LeaseTableInspector } from './coordinator/lease-table-status.js';
export type { LeaseTableInspectorOptions, LeaseTableStatus, LeaseStatus, LeaseState, ShardLag } from './coordinator/lease-table-status.js';
export type {
  SchedulerOptions,
  InitialPosition,
  RetrievalOptions,
  PollingRetrievalOptions,
  FanOutRetrievalOptions,
  LeaseOptions,
  EndpointOptions,
  ProcessingErrorPolicy,
  StreamConfig,
  StreamTrackerFunction,
} from './config/options.js';
export type {
  ShardRecordProcessor,
  ShardRecordProcessorFactory,
  ProcessorContext,
  KinesisClientRecord,
  RecordProcessorCheckpointer,
  PreparedCheckpointer,
  InitializationInput,
  ProcessRecordsInput,
  LeaseLostInput,
  ShardEndedInput,
  ShutdownRequestedInput,
  SequenceNumberPosition,
  ChildShardInfo,
} from './processor/types.js';
export { ExtendedSequenceNumber } from './checkpoint/extended-sequence-number.js';
export { createFanOutHttp2Handler, FanOutHttp2Handler, type FanOutHttp2HandlerOptions } from './aws/fanout-http2.js';
export { RecordAggregator } from './retrieval/kpl/aggregator.js';
export type { UserRecord, AggregatedRecord, RecordAggregatorOptions } from './retrieval/kpl/aggregator.js';
export {
  KclError,
  ConfigError,
  IllegalArgumentError,
  ThrottlingError,
  ExpiredIteratorError,
  ResourceNotFoundError,
  ResourceInUseError,
  ConditionalCheckFailedError,
  NetworkError,
  AwsCallTimeoutError,
  DependencyError,
  ShutdownError,
  InvalidStateError,
  MalformedLeaseError,
  TimeoutError,
} from './errors.js';
export type { Logger } from './util/logger.js';
export { createKinesisClient, type AppKinesisClientOptions } from './aws/app-clients.js';
/** The endpoints the SDK's `AWS_ENDPOINT_URL*` variables name (what `endpoints` falls back to). */
export { endpointsFromEnv } from './aws/endpoint-env.js';
// Record-level processing and the failure pipeline (`recordHandler`, `processing`).
export type { ProcessingOptions } from './config/options.js';
export type { ProcessRecordsResult } from './processor/types.js';
export type { RecordHandler, RecordContext, DeadLetterFunction, DeadLetterInfo, DeadLetterReason, DeadLetterStream } from './processor/record-handler-types.js';
export { deadLetterMessage, type DeadLetterMessage } from './processing/dead-letter.js';
export { DashboardSource, type DashboardSourceOptions, type StatusReader } from './coordinator/dashboard/dashboard-source.js';
export { DashboardRoutes, type DashboardRoutesOptions } from './coordinator/dashboard/dashboard-routes.js';
export type { DashboardView, OwnershipEvent } from './coordinator/dashboard/dashboard-tracker.js';
export type { DashboardProblem } from './coordinator/dashboard/dashboard-problems.js';
export type { ShardPlacement } from './coordinator/dashboard/shard-layout.js';
