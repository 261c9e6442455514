import type { Registry } from 'prom-client';
import type { MetricsLevel, MetricsSink } from '../metrics/metrics-sink.js';

/**
 * Metrics (Java KCL's names and dimensions; see the README's metrics table).
 *
 * @example CloudWatch, as Java KCL publishes them
 * ```ts
 * new Scheduler({ ...options, metrics: { backend: 'cloudwatch', level: 'SUMMARY' } });
 * ```
 * @example Prometheus on the worker's HTTP endpoint
 * ```ts
 * new Scheduler({ ...options, metrics: { backend: 'prometheus' }, http: { port: 9464 } });  // GET :9464/metrics
 * ```
 */
export interface MetricsOptions {
  /**
   * Where metrics go: `'cloudwatch'` (buffered PutMetricData), `'prometheus'` (prom-client, the scheduler's own
   * registry), `'none'`, or any object implementing `MetricsSink`.
   * @defaultValue 'none'
   */
  backend?: 'none' | 'cloudwatch' | 'prometheus' | MetricsSink;
  /**
   * `'SUMMARY'` emits the headline metrics (records and bytes processed, lag, leases held/lost/taken, processing
   * time); `'DETAILED'` adds per-call metrics (GetRecords, single lease writes, initialize/shutdown times);
   * `'NONE'` emits nothing.
   * @defaultValue 'DETAILED' (as Java KCL)
   */
  level?: MetricsLevel;
  /**
   * CloudWatch namespace. Must not start with `AWS/`.
   * @defaultValue the `applicationName`
   */
  namespace?: string;
  /**
   * CloudWatch: how long datums are accumulated (per series, as a statistic set) before they are published.
   * @defaultValue 10000
   */
  bufferMillis?: number;
  /**
   * CloudWatch: distinct series buffered before an early publish (Java KCL's `metricsMaxQueueSize`).
   * @defaultValue 10000
   */
  maxQueueSize?: number;
  /**
   * Prometheus: the prom-client `Registry` to register into. Never prom-client's global registry by default, so two
   * schedulers in one process each have their own; pass one to merge ts-kcl's metrics into your own `/metrics`.
   * @defaultValue a new `Registry` per scheduler
   */
  registry?: Registry;
}

/**
 * The worker's HTTP endpoint, off unless a port is given: `/healthz` (liveness: event loop responsive and leases
 * being renewed), `/readyz` (readiness: started and not shutting down) and `/metrics` (Prometheus text, with
 * `metrics.backend: 'prometheus'`). Made for Kubernetes probes:
 *
 * @example
 * ```yaml
 * livenessProbe:  { httpGet: { path: /healthz, port: 9464 }, periodSeconds: 10 }
 * readinessProbe: { httpGet: { path: /readyz,  port: 9464 } }
 * ```
 */
export interface HttpOptions {
  /** TCP port; `0` picks a free one (see `scheduler.observability.httpAddress`). Required. */
  port: number;
  /**
   * Interface to bind.
   * @defaultValue '0.0.0.0' (probes and scrapers connect from outside the pod)
   */
  host?: string;
  /**
   * `/healthz` fails when a timer ran this much later than asked within the last 10 s: the event loop was blocked
   * (e.g. by CPU-bound processing), which also delays lease renewals.
   * @defaultValue the lease renewal interval (`failoverTimeMillis / 3 − epsilonMillis`)
   */
  maxEventLoopDelayMillis?: number;
  /**
   * Also serve the live lease dashboard on this port: the page at `/dashboard`, `/api/status` (what
   * `ts-kcl status --json` prints) and `/api/dashboard`. It shows the whole lease table and each shard's lag
   * (read only while a page polls: one table scan per 5 s, lag every 15 s), so turn it on only where the port is
   * not reachable by untrusted clients (with the default `host` it listens on every interface).
   * @defaultValue false
   */
  dashboard?: boolean;
}
