import type { Registry } from 'prom-client';
import { CloudWatchApi, createCloudWatchClient, type CloudWatchClient } from '../aws/cloudwatch-api.js';
import type { StaticCredentials } from '../aws/clients.js';
import type { Logger } from '../util/logger.js';
import { CloudWatchMetrics } from './cloudwatch-metrics.js';
import type { MetricsLevel, MetricsSink } from './metrics-sink.js';
import { NoopMetrics } from './noop-metrics.js';
import { PrometheusMetrics } from './prometheus-metrics.js';

/** Which backend, with its settings: the `metrics` option as config/ resolves it (config's `ResolvedMetrics`). */
export interface MetricsSinkSettings {
  backend: 'none' | 'cloudwatch' | 'prometheus' | 'custom';
  /** The injected sink when `backend` is `'custom'`. */
  sink: MetricsSink | undefined;
  level: MetricsLevel;
  namespace: string;
  bufferMillis: number;
  maxQueueSize: number;
  registry: Registry | undefined;
}

export interface MetricsSinkContext {
  region: string;
  credentials: StaticCredentials | undefined;
  /** `endpoints.cloudwatch` */
  endpoint: string | undefined;
  /** An injected client (kept open at close: it belongs to the application). */
  cloudWatchClient: CloudWatchClient | undefined;
  logger: Logger;
}

/** The backend the options ask for. A CloudWatch client built here is destroyed when the sink closes. */
export function createMetricsSink(m: MetricsSinkSettings, context: MetricsSinkContext): MetricsSink {
  if (m.level === 'NONE') return new NoopMetrics();
  switch (m.backend) {
    case 'none':
      return new NoopMetrics();
    case 'custom':
      return m.sink!;
    case 'prometheus':
      return new PrometheusMetrics(m.registry ? { registry: m.registry } : {});
    case 'cloudwatch': {
      const client =
        context.cloudWatchClient ?? createCloudWatchClient({ region: context.region, credentials: context.credentials, endpoint: context.endpoint });
      return new CloudWatchMetrics({
        api: new CloudWatchApi(client),
        namespace: m.namespace,
        bufferMillis: m.bufferMillis,
        maxQueueSize: m.maxQueueSize,
        logger: context.logger,
        ...(context.cloudWatchClient ? {} : { onClose: () => client.destroy() }),
      });
    }
  }
}
