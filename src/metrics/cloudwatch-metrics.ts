import type { CloudWatchApi, CloudWatchDatum } from '../aws/cloudwatch-api.js';
import { PUT_METRIC_DATA_MAX_BYTES, PUT_METRIC_DATA_MAX_DATUMS } from '../aws/cloudwatch-limits.js';
import { silentLogger, type Logger } from '../util/logger.js';
import type { MetricDatum, MetricsSink } from './metrics-sink.js';

export interface CloudWatchMetricsOptions {
  /** Where the datums go (`new CloudWatchApi(client)`). */
  api: Pick<CloudWatchApi, 'putMetricData'>;
  /** CloudWatch namespace (Java KCL: the application name). */
  namespace: string;
  /**
   * How long datums are accumulated before they are published (Java KCL's `metricsBufferTimeMillis`).
   * @defaultValue 10000
   */
  bufferMillis?: number;
  /**
   * Distinct series (name + dimensions) buffered at most; reaching it publishes at once, and new series beyond
   * twice this are dropped until then (Java KCL's `metricsMaxQueueSize`).
   * @defaultValue 10000
   */
  maxQueueSize?: number;
  /** Datums per PutMetricData call (the API allows 1000). */
  maxDatumsPerCall?: number;
  logger?: Logger;
  /** Called once after the final flush (e.g. to destroy a client the scheduler created). */
  onClose?: () => void;
}

interface Accumulated {
  datum: CloudWatchDatum;
}

/**
 * The CloudWatch backend. Datums of the same series (name, unit, dimensions) are accumulated into one statistic set
 * (sample count, sum, min, max) per buffer period, then published with PutMetricData in calls of at most 1000
 * datums and ~1 MB. A failed call is logged at `warn` and its datums are dropped: publishing never blocks or fails
 * record processing, and memory stays bounded. `close()` publishes what is left.
 */
export class CloudWatchMetrics implements MetricsSink {
  private readonly api: Pick<CloudWatchApi, 'putMetricData'>;
  private readonly namespace: string;
  private readonly bufferMillis: number;
  private readonly maxQueueSize: number;
  private readonly maxDatumsPerCall: number;
  private readonly logger: Logger;
  private readonly onClose: (() => void) | undefined;
  private buffer = new Map<string, Accumulated>();
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> = Promise.resolve();
  private closed = false;
  private droppedSinceFlush = 0;
  /** Datums published successfully so far. */
  publishedDatums = 0;
  /** PutMetricData calls that failed (their datums were dropped). */
  failedCalls = 0;

  constructor(options: CloudWatchMetricsOptions) {
    this.api = options.api;
    this.namespace = options.namespace;
    this.bufferMillis = options.bufferMillis ?? 10_000;
    this.maxQueueSize = options.maxQueueSize ?? 10_000;
    this.maxDatumsPerCall = Math.min(options.maxDatumsPerCall ?? PUT_METRIC_DATA_MAX_DATUMS, PUT_METRIC_DATA_MAX_DATUMS);
    this.logger = options.logger ?? silentLogger;
    this.onClose = options.onClose;
  }

  record(d: MetricDatum): void {
    if (this.closed) return;
    const dimensions = cleanDimensions(d.dimensions);
    const key = seriesKey(d.name, d.unit, dimensions);
    const existing = this.buffer.get(key);
    if (existing !== undefined) {
      const s = existing.datum;
      s.sampleCount += 1;
      s.sum += d.value;
      if (d.value < s.minimum) s.minimum = d.value;
      if (d.value > s.maximum) s.maximum = d.value;
      return;
    }
    if (this.buffer.size >= 2 * this.maxQueueSize) {
      this.droppedSinceFlush++;
      return;
    }
    this.buffer.set(key, {
      datum: {
        metricName: d.name,
        dimensions,
        timestamp: new Date(d.timestamp),
        unit: d.unit,
        sampleCount: 1,
        sum: d.value,
        minimum: d.value,
        maximum: d.value,
      },
    });
    this.timer ??= setTimeout(() => void this.flush(), this.bufferMillis).unref();
    if (this.buffer.size === this.maxQueueSize) void this.flush();
  }

  /** Publishes everything buffered now. Never rejects; concurrent calls run one after the other. */
  flush(): Promise<void> {
    const run = this.flushing.then(() => this.publish());
    this.flushing = run;
    return run;
  }

  async close(): Promise<void> {
    if (this.closed) return this.flushing;
    this.closed = true;
    await this.flush();
    this.onClose?.();
  }

  private async publish(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    const data = [...this.buffer.values()].map((a) => a.datum);
    this.buffer = new Map();
    if (this.droppedSinceFlush > 0) {
      this.logger.warn({ dropped: this.droppedSinceFlush, maxQueueSize: this.maxQueueSize }, 'metrics buffer full; some CloudWatch datums were dropped');
      this.droppedSinceFlush = 0;
    }
    for (const batch of batches(data, this.maxDatumsPerCall)) {
      try {
        await this.api.putMetricData(this.namespace, batch);
        this.publishedDatums += batch.length;
      } catch (error) {
        this.failedCalls++;
        this.logger.warn({ err: error, namespace: this.namespace, datums: batch.length }, 'could not publish metrics to CloudWatch; these datums are dropped');
      }
    }
  }
}

/** CloudWatch rejects empty dimension values and more than 30 dimensions: keep what it accepts. */
function cleanDimensions(dimensions: object): Record<string, string> {
  const out: Record<string, string> = {};
  let n = 0;
  for (const [name, value] of Object.entries(dimensions)) {
    if (typeof value !== 'string' || value.length === 0 || n === 30) continue;
    out[name] = value.length > 1024 ? value.slice(0, 1024) : value;
    n++;
  }
  return out;
}

function seriesKey(name: string, unit: string, dimensions: Record<string, string>): string {
  const dims = Object.keys(dimensions)
    .sort()
    .map((k) => `${k}=${dimensions[k]}`)
    .join('\u0001');
  return `${name}\u0000${unit}\u0000${dims}`;
}

/** Splits into PutMetricData calls: at most `maxDatums` datums and well under 1 MB of JSON each. */
export function batches(data: readonly CloudWatchDatum[], maxDatums: number): CloudWatchDatum[][] {
  const budget = PUT_METRIC_DATA_MAX_BYTES * 0.9;
  const out: CloudWatchDatum[][] = [];
  let current: CloudWatchDatum[] = [];
  let bytes = 0;
  for (const d of data) {
    const size = JSON.stringify(d).length + 120; // + the SDK's field names and number formatting
    if (current.length > 0 && (current.length >= maxDatums || bytes + size > budget)) {
      out.push(current);
      current = [];
      bytes = 0;
    }
    current.push(d);
    bytes += size;
  }
  if (current.length > 0) out.push(current);
  return out;
}
