import type { Registry } from 'prom-client';
import { ConfigError } from '../errors.js';
import { isMetricsSink, type MetricsLevel, type MetricsSink } from '../metrics/metrics-sink.js';

export interface ResolvedMetrics {
  backend: 'none' | 'cloudwatch' | 'prometheus' | 'custom';
  /** The injected sink when `backend` is `'custom'`. */
  sink: MetricsSink | undefined;
  level: MetricsLevel;
  namespace: string;
  bufferMillis: number;
  maxQueueSize: number;
  registry: Registry | undefined;
}

export interface ResolvedHttp {
  port: number;
  host: string;
  maxEventLoopDelayMillis: number;
  dashboard: boolean;
}

const METRICS_KEYS = ['backend', 'level', 'namespace', 'bufferMillis', 'maxQueueSize', 'registry'] as const;
const HTTP_KEYS = ['port', 'host', 'maxEventLoopDelayMillis', 'dashboard'] as const;
const LEVELS: readonly MetricsLevel[] = ['NONE', 'SUMMARY', 'DETAILED'];

type Bag = Record<string, unknown>;

function bag(value: unknown, key: string, allowed: readonly string[]): Bag {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new ConfigError(key, `expected an object, got ${describe(value)}`);
  for (const k of Object.keys(value)) {
    if (!allowed.includes(k)) throw new ConfigError(`${key}.${k}`, `unknown option (known: ${allowed.join(', ')})`);
  }
  return value as Bag;
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'string') return `"${value.slice(0, 60)}"`;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return typeof value;
}

function int(value: unknown, key: string, fallback: number, min: number, max: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new ConfigError(key, `expected an integer between ${min} and ${max}, got ${describe(value)}`);
  }
  return value;
}

// CloudWatch namespaces: 1–255 printable ASCII characters, not starting with ':' or 'AWS/'.
const NAMESPACE = /^[\x20-\x39\x3b-\x7e][\x20-\x7e]{0,254}$/;

/** `metrics` option → defaults filled in. */
export function resolveMetrics(value: unknown, applicationName: string): ResolvedMetrics {
  const m = value === undefined ? {} : bag(value, 'metrics', METRICS_KEYS);
  let backend: ResolvedMetrics['backend'];
  let sink: MetricsSink | undefined;
  if (m.backend === undefined || m.backend === 'none' || m.backend === 'cloudwatch' || m.backend === 'prometheus') {
    backend = m.backend ?? 'none';
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
    level: (m.level as MetricsLevel | undefined) ?? 'DETAILED',
    namespace,
    bufferMillis: int(m.bufferMillis, 'metrics.bufferMillis', 10_000, 50, 3_600_000),
    maxQueueSize: int(m.maxQueueSize, 'metrics.maxQueueSize', 10_000, 1, 1_000_000),
    registry: registry as Registry | undefined,
  };
}

/** `http` option → defaults filled in; `undefined` when off. */
export function resolveHttp(value: unknown, renewIntervalMillis: number): ResolvedHttp | undefined {
  if (value === undefined) return undefined;
  const h = bag(value, 'http', HTTP_KEYS);
  if (h.port === undefined) throw new ConfigError('http.port', 'is required (0 picks a free port)');
  const port = int(h.port, 'http.port', 0, 0, 65_535);
  if (h.host !== undefined && (typeof h.host !== 'string' || h.host.length === 0)) {
    throw new ConfigError('http.host', `expected a host name or address, got ${describe(h.host)}`);
  }
  return {
    port,
    host: h.host ?? '0.0.0.0',
    maxEventLoopDelayMillis: int(h.maxEventLoopDelayMillis, 'http.maxEventLoopDelayMillis', renewIntervalMillis, 10, 3_600_000),
    dashboard: dashboardFlag(h.dashboard),
  };
}

function dashboardFlag(value: unknown): boolean {
  if (value === undefined) return false;
  if (typeof value !== 'boolean') throw new ConfigError('http.dashboard', `expected true or false, got ${describe(value)}`);
  return value;
}
