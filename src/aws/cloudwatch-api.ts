import { CloudWatchClient, PutMetricDataCommand, type MetricDatum as SdkMetricDatum, type StandardUnit } from '@aws-sdk/client-cloudwatch';
import { http1Handler, type ClientSettings } from './clients.js';
import { mapAwsError } from './map-error.js';
import { withoutNodeVersionWarning } from './sdk-node-warning.js';

/** One CloudWatch datum as a statistic set (what a buffered publisher sends), in SDK-free types. */
export interface CloudWatchDatum {
  metricName: string;
  /** Name → value; at most 30 per datum. */
  dimensions: Readonly<Record<string, string>>;
  timestamp: Date;
  unit: 'Count' | 'Bytes' | 'Milliseconds';
  sampleCount: number;
  sum: number;
  minimum: number;
  maximum: number;
}

export { PUT_METRIC_DATA_MAX_BYTES, PUT_METRIC_DATA_MAX_DATUMS } from './cloudwatch-limits.js';

/** Creates a CloudWatch client; with an `endpoint` (a local endpoint in tests) it uses HTTP/1.1 keep-alive. */
export function createCloudWatchClient(settings: ClientSettings): CloudWatchClient {
  return withoutNodeVersionWarning(() => new CloudWatchClient({
    region: settings.region ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? 'us-east-1',
    ...(settings.endpoint ? { endpoint: settings.endpoint, requestHandler: http1Handler(8) } : {}),
    ...(settings.credentials ? { credentials: settings.credentials } : {}),
    maxAttempts: 2,
  }));
}

/**
 * The one CloudWatch call ts-kcl makes. Failures are `KclError`s (see `mapAwsError`); a call that gets no answer
 * within `timeoutMillis` is aborted, so a hanging endpoint never holds up a flush (or shutdown) for long.
 */
export class CloudWatchApi {
  constructor(
    private readonly client: CloudWatchClient,
    private readonly timeoutMillis = 5_000,
  ) {}

  async putMetricData(namespace: string, data: readonly CloudWatchDatum[]): Promise<void> {
    const metricData: SdkMetricDatum[] = data.map((d) => ({
      MetricName: d.metricName,
      Dimensions: Object.entries(d.dimensions).map(([Name, Value]) => ({ Name, Value })),
      Timestamp: d.timestamp,
      Unit: d.unit satisfies StandardUnit,
      StatisticValues: { SampleCount: d.sampleCount, Sum: d.sum, Minimum: d.minimum, Maximum: d.maximum },
    }));
    try {
      await this.client.send(new PutMetricDataCommand({ Namespace: namespace, MetricData: metricData }), {
        abortSignal: AbortSignal.timeout(this.timeoutMillis),
      });
    } catch (error) {
      throw mapAwsError(error, `CloudWatch.PutMetricData(${namespace}, ${data.length} datums)`);
    }
  }

  destroy(): void {
    this.client.destroy();
  }
}

export type { CloudWatchClient };
