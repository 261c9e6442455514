import type { MetricsSink } from './metrics-sink.js';

/** The `none` backend: drops everything (and lets the library skip building datums at all). */
export class NoopMetrics implements MetricsSink {
  record(): void {
    // nothing
  }
}
