import type { Registry } from 'prom-client';
import type { CloudWatchApi, CloudWatchClient } from '../aws/cloudwatch-api.js';
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
      // The SDK's CloudWatch client is loaded (and built) at the first publish, not when ts-kcl is imported.
      let built: CloudWatchClient | undefined;
      let api: Promise<CloudWatchApi> | undefined;
      const load = async (): Promise<CloudWatchApi> => {
        const { CloudWatchApi, createCloudWatchClient } = await import('../aws/cloudwatch-api.js');
        const client = context.cloudWatchClient ?? (built = createCloudWatchClient({ region: context.region, credentials: context.credentials, endpoint: context.endpoint }));
        return new CloudWatchApi(client);
      };
      return new CloudWatchMetrics({
        api: { putMetricData: async (...a: Parameters<CloudWatchApi['putMetricData']>) => (await (api ??= load())).putMetricData(...a) },
        namespace: m.namespace,
        bufferMillis: m.bufferMillis,
        maxQueueSize: m.maxQueueSize,
        logger: context.logger,
        onClose: () => built?.destroy(),
      });
    }
  }
}
