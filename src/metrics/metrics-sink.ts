/**
 * The one small interface every metrics backend implements (CloudWatch, Prometheus, none, or your own).
 * A leaf: it imports nothing, so any layer may emit and nobody depends on a backend.
 */

/** Java KCL's `MetricsLevel`: `NONE` emits nothing, `SUMMARY` the headline metrics, `DETAILED` everything. */
export type MetricsLevel = 'NONE' | 'SUMMARY' | 'DETAILED';

/** The level a single metric belongs to (it is emitted when the configured level is at least this). */
export type MetricLevel = 'SUMMARY' | 'DETAILED';

/**
 * How a value aggregates:
 * - `count`: adds up (records processed, bytes, leases lost) — a Prometheus counter;
 * - `gauge`: the latest value wins (leases held, `MillisBehindLatest`) — a Prometheus gauge;
 * - `timing`: a duration in milliseconds — a Prometheus histogram in seconds;
 * - `success`: 1 (success) or 0 (failure) of one call — a Prometheus counter with an `outcome` label.
 * CloudWatch keeps a statistic set (count, sum, min, max) of each, as Java KCL does.
 */
export type MetricKind = 'count' | 'gauge' | 'timing' | 'success';

/** CloudWatch standard units used by ts-kcl. */
export type MetricUnit = 'Count' | 'Bytes' | 'Milliseconds';

/**
 * The dimensions of a datum. `Operation` is always present (Java KCL's names: `ProcessTask`, `RenewAllLeases`,
 * `TakeLeases`, ...); per-shard metrics add `ShardId`, per-worker metrics `WorkerIdentifier`.
 */
export interface MetricDimensions {
  readonly Operation: string;
  readonly ShardId?: string;
  readonly WorkerIdentifier?: string;
  readonly StreamId?: string;
}

/** One observation. Names are Java KCL's (`RecordsProcessed`, `KinesisDataFetcher.getRecords.Time`, ...). */
export interface MetricDatum {
  readonly name: string;
  readonly kind: MetricKind;
  readonly value: number;
  readonly unit: MetricUnit;
  readonly dimensions: MetricDimensions;
  /** Epoch milliseconds (wall clock). */
  readonly timestamp: number;
}

/**
 * A metrics backend. `record` is called on the hot path: it must be synchronous, cheap and must never throw
 * (a backend that fails to publish logs it and carries on). Level filtering happens before the sink.
 */
export interface MetricsSink {
  record(datum: MetricDatum): void;
  /**
   * The worker stopped holding this shard: drop its last-value series (gauges) so a scrape does not keep
   * reporting a shard another worker now owns. Optional.
   */
  forgetShard?(shardId: string): void;
  /** Publishes what is buffered (CloudWatch). Never rejects. Optional. */
  flush?(): Promise<void>;
  /** Final flush and release of resources, at scheduler shutdown. Never rejects. Optional. */
  close?(): Promise<void>;
}

/** True for an object that can be used as a `MetricsSink`. */
export function isMetricsSink(value: unknown): value is MetricsSink {
  return typeof value === 'object' && value !== null && typeof (value as { record?: unknown }).record === 'function';
}
