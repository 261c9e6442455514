import type { MetricDimensions, MetricKind, MetricLevel, MetricsLevel, MetricsSink, MetricUnit } from './metrics-sink.js';
import { NoopMetrics } from './noop-metrics.js';

const NOOP = new NoopMetrics();

/**
 * What the library emits through: a sink plus the configured level, with one scope per operation (and shard).
 * Datums above the configured level never reach the sink, and at `NONE` (or with no backend) nothing is built at
 * all, so instrumentation costs a branch.
 *
 * @example
 * ```ts
 * const scope = metrics.scope({ Operation: 'ProcessTask', ShardId: shardId });
 * scope.count('RecordsProcessed', records.length);
 * scope.success('RecordProcessor.processRecords', true, elapsedMillis);
 * ```
 */
export class Metrics {
  /** Emits nothing. */
  static readonly disabled = new Metrics(NOOP, 'NONE');

  constructor(
    readonly sink: MetricsSink,
    readonly level: MetricsLevel,
    private readonly wallClock: () => number = Date.now,
  ) {}

  /** Whether anything is emitted at all. */
  get enabled(): boolean {
    return this.level !== 'NONE' && !(this.sink instanceof NoopMetrics);
  }

  /** Whether a metric of `level` is emitted (`SUMMARY` ⊂ `DETAILED`). */
  emits(level: MetricLevel): boolean {
    if (!this.enabled) return false;
    return this.level === 'DETAILED' || level === 'SUMMARY';
  }

  scope(dimensions: MetricDimensions): MetricScope {
    return new MetricScope(this, dimensions);
  }

  /** @internal used by scopes */
  emit(name: string, kind: MetricKind, value: number, unit: MetricUnit, dimensions: MetricDimensions, level: MetricLevel): void {
    if (!this.emits(level) || !Number.isFinite(value)) return;
    try {
      this.sink.record({ name, kind, value, unit, dimensions, timestamp: this.wallClock() });
    } catch {
      // A sink must not throw; if one does anyway, processing goes on.
    }
  }

  forgetShard(shardId: string): void {
    try {
      this.sink.forgetShard?.(shardId);
    } catch {
      // as above
    }
  }

  async flush(): Promise<void> {
    await this.sink.flush?.().catch(() => undefined);
  }

  async close(): Promise<void> {
    await this.sink.close?.().catch(() => undefined);
  }
}

/** Emission helpers bound to one set of dimensions. */
export class MetricScope {
  constructor(
    private readonly metrics: Metrics,
    readonly dimensions: MetricDimensions,
  ) {}

  /** Whether a metric of `level` would be emitted (skip expensive computations otherwise). */
  emits(level: MetricLevel): boolean {
    return this.metrics.emits(level);
  }

  /** Adds `value` (records, bytes, leases...). */
  count(name: string, value: number, level: MetricLevel = 'SUMMARY', unit: MetricUnit = 'Count'): void {
    this.metrics.emit(name, 'count', value, unit, this.dimensions, level);
  }

  /** Reports the current value (leases held, lag...). */
  gauge(name: string, value: number, level: MetricLevel = 'SUMMARY', unit: MetricUnit = 'Count'): void {
    this.metrics.emit(name, 'gauge', value, unit, this.dimensions, level);
  }

  /** Reports a duration in milliseconds. */
  timing(name: string, millis: number, level: MetricLevel = 'SUMMARY'): void {
    this.metrics.emit(name, 'timing', millis, 'Milliseconds', this.dimensions, level);
  }

  /** Reports one outcome (`success` kind: 1 or 0), e.g. a bare `Success` of a round without a duration. */
  outcome(name: string, ok: boolean, level: MetricLevel = 'SUMMARY'): void {
    this.metrics.emit(name, 'success', ok ? 1 : 0, 'Count', this.dimensions, level);
  }

  /**
   * Java KCL's `addSuccessAndLatency`: `<prefix>.Success` (1 or 0) and `<prefix>.Time` (ms); plain `Success` and
   * `Time` when `prefix` is empty.
   */
  success(prefix: string, ok: boolean, millis: number, level: MetricLevel = 'SUMMARY'): void {
    const p = prefix === '' ? '' : `${prefix}.`;
    this.metrics.emit(`${p}Success`, 'success', ok ? 1 : 0, 'Count', this.dimensions, level);
    this.metrics.emit(`${p}Time`, 'timing', millis, 'Milliseconds', this.dimensions, level);
  }
}
