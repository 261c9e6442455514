// Prometheus metrics and Kubernetes health probes from the worker's own HTTP endpoint:
//   GET /metrics  Prometheus text (kcl_records_processed_total, kcl_millis_behind_latest, kcl_current_leases, ...)
//   GET /healthz  liveness: the event loop is responsive and leases are being renewed
//   GET /readyz   readiness: started and not shutting down
// Metric names follow Java KCL's (RecordsProcessed → kcl_records_processed_total), so dashboards translate.
//
//   STREAM_NAME=orders HTTP_PORT=9464 npx tsx examples/prometheus-metrics.ts
//   curl localhost:9464/metrics
import { Scheduler, type ProcessRecordsInput, type ShardEndedInput, type ShardRecordProcessor, type ShutdownRequestedInput } from '../src/index.js';
import { applicationName, connection, streamName } from './connection.js';

class Processor implements ShardRecordProcessor {
  initialize() {}
  async processRecords({ checkpointer }: ProcessRecordsInput) {
    await checkpointer.checkpoint();
  }
  leaseLost() {}
  async shardEnded({ checkpointer }: ShardEndedInput) {
    await checkpointer.checkpoint();
  }
  async shutdownRequested({ checkpointer }: ShutdownRequestedInput) {
    await checkpointer.checkpoint();
  }
}

const scheduler = new Scheduler({
  applicationName,
  streamName,
  processorFactory: () => new Processor(),
  initialPosition: 'TRIM_HORIZON',
  // SUMMARY: records, bytes, lag, leases; 'DETAILED' (the default) adds per-call timings.
  metrics: { backend: 'prometheus', level: 'SUMMARY' },
  // Port 0 picks a free port. To serve ts-kcl's metrics from your own /metrics instead, pass
  // `metrics.registry` (a prom-client Registry) and leave `http` out.
  http: { port: Number(process.env.HTTP_PORT ?? 9464), host: process.env.HTTP_HOST ?? '0.0.0.0' },
  ...connection(),
});

await scheduler.start();
const address = scheduler.observability.httpAddress!;
console.log(`metrics on http://127.0.0.1:${address.port}/metrics, probes on /healthz and /readyz`);

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => void scheduler.startGracefulShutdown().then((clean) => process.exit(clean ? 0 : 1)));
}
