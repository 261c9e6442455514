import type { MetricDatum, MetricDimensions } from './metrics-sink.js';

/** Java KCL dimension → Prometheus label. Other dimensions are not exported to Prometheus. */
export const PROMETHEUS_LABELS: Readonly<Record<keyof MetricDimensions, string>> = {
  Operation: 'operation',
  ShardId: 'shard_id',
  WorkerIdentifier: 'worker_id',
  StreamId: 'stream_id',
};
export const PROMETHEUS_LABEL_NAMES = Object.values(PROMETHEUS_LABELS);

/** `KinesisDataFetcher.getRecords` → `kinesis_data_fetcher_get_records`; `MillisBehindLatest` → `millis_behind_latest`. */
export function snakeCase(name: string): string {
  return name
    .split('.')
    .filter((part) => part.length > 0)
    .map((part) =>
      part
        .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
        .replace(/([A-Z]+)([A-Z][a-z])/g, '$1_$2')
        .replace(/[^A-Za-z0-9_]/g, '_')
        .toLowerCase(),
    )
    .join('_');
}

export interface PrometheusSeriesName {
  /** Full metric name, with the prefix and the type suffix. */
  name: string;
  type: 'counter' | 'gauge' | 'histogram';
  help: string;
}

/**
 * How a Java KCL metric appears in Prometheus (prefix `kcl_` by default):
 * - `count` → counter `<prefix><snake>_total` (`RecordsProcessed` → `kcl_records_processed_total`);
 * - `gauge` → gauge `<prefix><snake>` (`MillisBehindLatest` → `kcl_millis_behind_latest`);
 * - `timing` (`X.Time`) → histogram in seconds `<prefix><snake X>_duration_seconds`
 *   (`RecordProcessor.processRecords.Time` → `kcl_record_processor_process_records_duration_seconds`);
 * - `success` (`X.Success`) → counter `<prefix><snake X>_calls_total` with label `outcome="success"|"failure"`.
 * A bare `Time` / `Success` takes the operation's name (`RenewAllLeases` → `kcl_renew_all_leases_duration_seconds`).
 */
export function prometheusName(datum: Pick<MetricDatum, 'name' | 'kind' | 'dimensions'>, prefix: string): PrometheusSeriesName {
  const help = `ts-kcl metric ${datum.name} (Java KCL name)`;
  switch (datum.kind) {
    case 'count':
      return { name: `${prefix}${snakeCase(datum.name)}_total`, type: 'counter', help };
    case 'gauge':
      return { name: `${prefix}${snakeCase(datum.name)}`, type: 'gauge', help };
    case 'timing':
      return { name: `${prefix}${base(datum, 'Time')}_duration_seconds`, type: 'histogram', help: `${help}, in seconds` };
    case 'success':
      return { name: `${prefix}${base(datum, 'Success')}_calls_total`, type: 'counter', help: `${help}: calls by outcome` };
  }
}

function base(datum: Pick<MetricDatum, 'name' | 'dimensions'>, suffix: string): string {
  const name = datum.name === suffix ? datum.dimensions.Operation : datum.name.endsWith(`.${suffix}`) ? datum.name.slice(0, -suffix.length - 1) : datum.name;
  return snakeCase(name);
}

/** The datum's dimensions as Prometheus labels (known dimensions only). */
export function prometheusLabels(dimensions: MetricDimensions): Record<string, string> {
  const labels: Record<string, string> = {};
  for (const [dimension, label] of Object.entries(PROMETHEUS_LABELS) as [keyof MetricDimensions, string][]) {
    const value = dimensions[dimension];
    if (value !== undefined && value !== '') labels[label] = value;
  }
  return labels;
}
