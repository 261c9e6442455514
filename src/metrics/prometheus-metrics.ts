import { createRequire } from 'node:module';
import type * as PromClientModule from 'prom-client';
import type { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { MetricDatum, MetricsSink } from './metrics-sink.js';
import { PROMETHEUS_LABEL_NAMES, prometheusLabels, prometheusName } from './prometheus-names.js';

export interface PrometheusMetricsOptions {
  /**
   * The registry to register into. Each scheduler gets its own by default — never prom-client's global one, so
   * two schedulers in one process do not collide. Pass one to merge ts-kcl's metrics into your own endpoint.
   * @defaultValue a new `Registry`
   */
  registry?: Registry;
  /** @defaultValue 'kcl_' */
  prefix?: string;
  /** Histogram buckets of durations, in seconds. */
  buckets?: number[];
}

const DEFAULT_BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

type AnyMetric = Counter<string> | Gauge<string> | Histogram<string>;
type PromClient = typeof PromClientModule;

let promClient: PromClient | undefined;
/**
 * prom-client is loaded when the first `PrometheusMetrics` is made, not when ts-kcl is imported (most workers never
 * use it). It is a CommonJS package: `require` loads the same module instance an `import` would.
 */
function loadPromClient(): PromClient {
  promClient ??= createRequire(import.meta.url)('prom-client') as PromClient;
  return promClient;
}

/**
 * The Prometheus backend (prom-client). Metric names follow `prometheusName` (e.g. `kcl_records_processed_total`,
 * `kcl_millis_behind_latest`, `kcl_kinesis_data_fetcher_get_records_duration_seconds`), with the labels
 * `operation`, `shard_id`, `worker_id` (and `stream_id`) from Java KCL's dimensions. `text()` renders the
 * exposition format; the scheduler's HTTP endpoint serves it on `/metrics`.
 */
export class PrometheusMetrics implements MetricsSink {
  readonly registry: Registry;
  private readonly prefix: string;
  private readonly buckets: number[];
  private readonly metrics = new Map<string, AnyMetric>();

  constructor(options: PrometheusMetricsOptions = {}) {
    this.registry = options.registry ?? new (loadPromClient().Registry)();
    this.prefix = options.prefix ?? 'kcl_';
    this.buckets = options.buckets ?? DEFAULT_BUCKETS;
  }

  record(d: MetricDatum): void {
    const labels = prometheusLabels(d.dimensions);
    switch (d.kind) {
      case 'count':
        if (d.value > 0) (this.metric(d) as Counter<string>).inc(labels, d.value);
        else if (d.value === 0) (this.metric(d) as Counter<string>).inc(labels, 0);
        return;
      case 'gauge':
        (this.metric(d) as Gauge<string>).set(labels, d.value);
        return;
      case 'timing':
        (this.metric(d) as Histogram<string>).observe(labels, d.value / 1000);
        return;
      case 'success':
        (this.metric(d) as Counter<string>).inc({ ...labels, outcome: d.value > 0 ? 'success' : 'failure' }, 1);
        return;
    }
  }

  /** Drops the last-value series (gauges) of a shard this worker no longer holds; counters keep counting. */
  forgetShard(shardId: string): void {
    for (const metric of this.metrics.values()) {
      if (!(metric instanceof loadPromClient().Gauge)) continue;
      void metric.get().then((snapshot) => {
        for (const v of snapshot.values) {
          if (v.labels.shard_id === shardId) metric.remove(v.labels as Record<string, string>);
        }
      });
    }
  }

  /** The registry in the Prometheus text exposition format. */
  text(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  private metric(d: MetricDatum): AnyMetric {
    const { name, type, help } = prometheusName(d, this.prefix);
    const known = this.metrics.get(name);
    if (known !== undefined) return known;
    const labelNames = d.kind === 'success' ? [...PROMETHEUS_LABEL_NAMES, 'outcome'] : PROMETHEUS_LABEL_NAMES;
    // A registry shared with another scheduler may already have it.
    const shared = this.registry.getSingleMetric(name) as AnyMetric | undefined;
    const registers = [this.registry];
    const { Counter, Gauge, Histogram } = loadPromClient();
    const metric =
      shared ??
      (type === 'counter'
        ? new Counter({ name, help, labelNames, registers })
        : type === 'gauge'
          ? new Gauge({ name, help, labelNames, registers })
          : new Histogram({ name, help, labelNames, buckets: this.buckets, registers }));
    this.metrics.set(name, metric);
    return metric;
  }
}
