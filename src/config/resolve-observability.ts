import type { Registry } from 'prom-client';
import { ConfigError } from '../errors.js';
import type { MetricsSinkSettings } from '../metrics/create-metrics-sink.js';
import { isMetricsSink, type MetricsLevel, type MetricsSink } from '../metrics/metrics-sink.js';
import { HTTP_DEFAULTS, keysOf, METRICS_DEFAULTS } from './option-defaults.js';
import { describe, int, objectAt, type Bag } from './validators.js';

/** The `metrics` option with defaults filled in: exactly what the metrics backends are built from. */
export type ResolvedMetrics = MetricsSinkSettings;

export interface ResolvedHttp {
  port: number;
  host: string;
  maxEventLoopDelayMillis: number;
  dashboard: boolean;
}

const METRICS_KEYS = keysOf(METRICS_DEFAULTS);
const HTTP_KEYS = keysOf(HTTP_DEFAULTS);
const LEVELS: readonly MetricsLevel[] = ['NONE', 'SUMMARY', 'DETAILED'];

// CloudWatch namespaces: 1–255 printable ASCII characters, not starting with ':' or 'AWS/'.
const NAMESPACE = /^[\x20-\x39\x3b-\x7e][\x20-\x7e]{0,254}$/;

/** `metrics` option → defaults filled in. */
export function resolveMetrics(value: unknown, applicationName: string): ResolvedMetrics {
  const m = objectAt(value, 'metrics', METRICS_KEYS);
  let backend: ResolvedMetrics['backend'];
  let sink: MetricsSink | undefined;
  if (m.backend === undefined || m.backend === 'none' || m.backend === 'cloudwatch' || m.backend === 'prometheus') {
    backend = m.backend ?? METRICS_DEFAULTS.backend;
  } else if (isMetricsSink(m.backend)) {
    backend = 'custom';
    sink = m.backend;
  } else {
    throw new ConfigError('metrics.backend', `expected 'none', 'cloudwatch', 'prometheus' or a MetricsSink (an object with record()), got ${describe(m.backend)}`);
  }
  if (m.level !== undefined && !LEVELS.includes(m.level as MetricsLevel)) {
    throw new ConfigError('metrics.level', `expected one of 'NONE', 'SUMMARY', 'DETAILED', got ${describe(m.level)}`);
  }
  let namespace = applicationName;
  if (m.namespace !== undefined) {
    if (typeof m.namespace !== 'string' || !NAMESPACE.test(m.namespace) || m.namespace.startsWith('AWS/')) {
      throw new ConfigError('metrics.namespace', `expected 1–255 printable ASCII characters, not starting with ':' or 'AWS/', got ${describe(m.namespace)}`);
    }
    namespace = m.namespace;
  }
  const registry = m.registry;
  if (registry !== undefined) {
    if (typeof registry !== 'object' || registry === null || typeof (registry as Bag).metrics !== 'function' || typeof (registry as Bag).registerMetric !== 'function') {
      throw new ConfigError('metrics.registry', `expected a prom-client Registry, got ${describe(registry)}`);
    }
    if (backend !== 'prometheus') throw new ConfigError('metrics.registry', "only applies to metrics.backend 'prometheus'");
  }
  return {
    backend,
    sink,
    level: (m.level as MetricsLevel | undefined) ?? METRICS_DEFAULTS.level,
    namespace,
    bufferMillis: int(m.bufferMillis, 'metrics.bufferMillis', METRICS_DEFAULTS.bufferMillis, 50, 3_600_000),
    maxQueueSize: int(m.maxQueueSize, 'metrics.maxQueueSize', METRICS_DEFAULTS.maxQueueSize, 1, 1_000_000),
    registry: registry as Registry | undefined,
  };
}

/** `http` option → defaults filled in; `undefined` when off. */
export function resolveHttp(value: unknown, renewIntervalMillis: number): ResolvedHttp | undefined {
  if (value === undefined) return undefined;
  const h = objectAt(value, 'http', HTTP_KEYS);
  if (h.port === undefined) throw new ConfigError('http.port', 'is required (0 picks a free port)');
  const port = int(h.port, 'http.port', 0, 0, 65_535);
  if (h.host !== undefined && (typeof h.host !== 'string' || h.host.length === 0)) {
    throw new ConfigError('http.host', `expected a host name or address, got ${describe(h.host)}`);
  }
  return {
    port,
    host: h.host ?? HTTP_DEFAULTS.host,
    maxEventLoopDelayMillis: int(h.maxEventLoopDelayMillis, 'http.maxEventLoopDelayMillis', renewIntervalMillis, 10, 3_600_000),
    dashboard: dashboardFlag(h.dashboard),
  };
}

function dashboardFlag(value: unknown): boolean {
  if (value === undefined) return false;
  if (typeof value !== 'boolean') throw new ConfigError('http.dashboard', `expected true or false, got ${describe(value)}`);
  return value;
}
