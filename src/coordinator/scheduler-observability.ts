import type { EventEmitter } from 'node:events';
import type { AddressInfo } from 'node:net';
import type { ResolvedOptions } from '../config/resolve-options.js';
import type { LeaseCoordinator } from '../leases/lease-coordinator.js';
import type { LeaseStore } from '../leases/lease-store.js';
import { createMetricsSink } from '../metrics/create-metrics-sink.js';
import { Metrics, type MetricScope } from '../metrics/metrics.js';
import { PrometheusMetrics } from '../metrics/prometheus-metrics.js';
import { EventLoopMonitor } from '../observability/event-loop-monitor.js';
import { HealthServer } from '../observability/health-server.js';
import { WorkerHealth, type HealthReport, type ReadinessReport } from '../observability/worker-health.js';
import type { ShardRecordProcessor } from '../processor/types.js';
import type { FetchInfo } from '../retrieval/polling-fetcher.js';
import { PeriodicTask } from '../util/periodic-task.js';
import { InstrumentedLeaseStore } from './lease-store-instrumentation.js';
import { dashboardRoutesFor } from './dashboard/scheduler-dashboard.js';
import { instrumentProcessor } from './processor-instrumentation.js';
import type { SchedulerEvents } from './scheduler-events.js';

/**
 * Everything a scheduler reports about itself besides its events: metrics (through the configured backend),
 * health and readiness, and the optional HTTP endpoint. It listens to the scheduler's events and wraps the lease
 * store and processors; the scheduler only calls the few hooks below.
 */
export class SchedulerObservability {
  /** Where the library's metrics go (level-filtered). */
  readonly metrics: Metrics;
  private readonly health: WorkerHealth;
  private readonly eventLoop: EventLoopMonitor;
  private readonly server: HealthServer | undefined;
  private readonly held = new Set<string>();
  private readonly workerScope: { renew: MetricScope; take: MetricScope };
  /** Lease gauges every renewal interval, as Java KCL reports them (only with metrics on). */
  private sampler: PeriodicTask<'lease-metrics'> | undefined;
  private lostSinceSample = 0;
  private stopped = false;

  constructor(
    private readonly scheduler: EventEmitter<SchedulerEvents>,
    private readonly options: Readonly<ResolvedOptions>,
  ) {
    const o = options;
    const sink = createMetricsSink(o.metrics, {
      region: o.region,
      credentials: o.credentials,
      endpoint: o.endpoints.cloudwatch,
      cloudWatchClient: o.cloudWatchClient,
      logger: o.logger.child({ component: 'metrics' }),
    });
    this.metrics = new Metrics(sink, o.metrics.level);
    this.workerScope = {
      renew: this.metrics.scope({ Operation: 'RenewAllLeases', WorkerIdentifier: o.workerId }),
      take: this.metrics.scope({ Operation: 'TakeLeases', WorkerIdentifier: o.workerId }),
    };
    this.health = new WorkerHealth({
      failoverTimeMillis: o.leases.failoverTimeMillis,
      takerIntervalMillis: o.leases.takerIntervalMillis,
      maxEventLoopDelayMillis: o.http?.maxEventLoopDelayMillis ?? o.leases.renewIntervalMillis,
    });
    this.eventLoop = new EventLoopMonitor();
    if (o.http !== undefined) {
      const prometheus = sink instanceof PrometheusMetrics ? sink : undefined;
      this.server = new HealthServer({
        health: () => this.healthReport(),
        readiness: () => this.readiness(),
        metrics: prometheus && (async () => ({ contentType: prometheus.contentType, body: await prometheus.text() })),
        routes: o.http.dashboard ? dashboardRoutesFor(o) : undefined,
      });
    }
    this.subscribe();
  }

  /** The prom-client registry when the Prometheus backend is on. */
  get prometheusRegistry(): PrometheusMetrics['registry'] | undefined {
    return this.metrics.sink instanceof PrometheusMetrics ? this.metrics.sink.registry : undefined;
  }

  /** Where the HTTP endpoint listens (after `start()`), if enabled. */
  get httpAddress(): AddressInfo | undefined {
    return this.server?.address;
  }

  /** The scheduler's clock: health ages and metric durations are measured on it (a fake one in tests). */
  private now(): number {
    return this.options.clock.now();
  }

  /** What `/healthz` answers. */
  healthReport(): HealthReport {
    return this.health.report(this.now(), this.eventLoop.maxDelayMillis(), this.held.size);
  }

  /** What `/readyz` answers. */
  readiness(): ReadinessReport {
    return this.health.readiness(this.held.size);
  }

  /** Hook: at the beginning of `start()` (the endpoint answers probes while the worker starts). */
  async start(): Promise<void> {
    this.eventLoop.start();
    if (this.server && this.server.address === undefined) await this.server.listen(this.options.http!.port, this.options.http!.host);
  }

  /** Hook: wraps the lease store so its calls feed lease metrics and health. */
  instrumentLeaseStore(store: LeaseStore): LeaseStore {
    const observer = {
      renewalAnswered: () => this.health.renewalSucceeded(this.now()),
      tableAnswered: () => this.health.tableAnswered(this.now()),
    };
    return new InstrumentedLeaseStore(store, this.metrics, this.options.workerId, observer, this.options.clock);
  }

  /** Hook: the lease coordinator's take rounds feed `TakeLeases` metrics (the round's view of the fleet). */
  attachLeaseCoordinator(coordinator: LeaseCoordinator): void {
    coordinator.on('takeRound', (round) => {
      const scope = this.workerScope.take;
      const d = round.decision;
      scope.outcome('Success', true);
      if (!scope.emits('DETAILED')) return;
      scope.gauge('NumWorkers', d.numWorkers, 'DETAILED');
      scope.gauge('TotalLeases', round.leases.length, 'DETAILED');
      scope.gauge('ExpiredLeases', d.available, 'DETAILED');
      scope.gauge('NeededLeases', Math.max(0, d.target - d.myCount), 'DETAILED');
      scope.gauge('LeasesToTake', d.toTake.length + d.toSteal.length, 'DETAILED');
      scope.gauge('LeaseSpillover', d.spillover, 'DETAILED');
    });
  }

  /** Hook: the processor of one shard, wrapped for processing metrics (unchanged when metrics are off). */
  instrumentProcessor(processor: ShardRecordProcessor, shardId: string): ShardRecordProcessor {
    if (!this.metrics.enabled) return processor;
    return instrumentProcessor(processor, {
      process: this.metrics.scope({ Operation: 'ProcessTask', ShardId: shardId }),
      initialize: this.metrics.scope({ Operation: 'InitializeTask', ShardId: shardId }),
      shutdown: this.metrics.scope({ Operation: 'ShutdownTask', ShardId: shardId }),
      reportLag: this.options.retrieval.mode === 'fanout',
    }, this.options.clock);
  }

  /** Hook: the polling fetcher's `onFetch` for one shard (`undefined` when metrics are off). */
  fetchListener(shardId: string): ((info: FetchInfo) => void) | undefined {
    if (!this.metrics.enabled) return undefined;
    const scope = this.metrics.scope({ Operation: 'ProcessTask', ShardId: shardId });
    return (info) => {
      scope.success('KinesisDataFetcher.getRecords', true, info.durationMillis, 'DETAILED');
      if (info.millisBehindLatest !== undefined) scope.gauge('MillisBehindLatest', info.millisBehindLatest, 'SUMMARY', 'Milliseconds');
    };
  }

  /** Hook: shutdown began (graceful or not): `/readyz` turns 503. */
  stopping(): void {
    this.health.stopping();
  }

  /** Hook: at the end of shutdown: final metrics flush, endpoint closed. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.health.stopping();
    if (this.sampler !== undefined) {
      await this.sampler.stop();
      this.sampleLeases();
    }
    this.eventLoop.stop();
    await this.metrics.close();
    await this.server?.close();
  }

  private sampleLeases(): void {
    this.workerScope.renew.gauge('CurrentLeases', this.held.size);
    this.workerScope.renew.count('LostLeases', this.lostSinceSample);
    this.lostSinceSample = 0;
  }

  private subscribe(): void {
    const s = this.scheduler;
    s.on('initialized', () => {
      this.health.initialized(this.now());
      if (this.metrics.enabled && !this.stopped) {
        // Java KCL reports these every renewal round (zeros included); so do we, for continuous charts.
        const o = this.options;
        this.sampler = new PeriodicTask('lease-metrics', o.leases.renewIntervalMillis, async () => this.sampleLeases(), o.clock, () => undefined);
        this.sampler.start(false);
      }
    });
    s.on('leaseAcquired', ({ leaseKey, stolen }) => {
      this.held.add(leaseKey);
      // Counted per acquisition, not per taker round: a graceful handoff completes outside the round that began it.
      this.workerScope.take.count('TakenLeases', 1);
      if (stolen) this.workerScope.take.count('StolenLeases', 1, 'DETAILED');
      this.workerScope.renew.gauge('CurrentLeases', this.held.size);
    });
    s.on('leaseLost', ({ leaseKey, shardId, reason }) => {
      this.held.delete(leaseKey);
      if (reason !== 'released') this.lostSinceSample++;
      this.workerScope.renew.gauge('CurrentLeases', this.held.size);
      this.metrics.forgetShard(shardId);
    });
    s.on('processingError', ({ shardId, attempts }) => {
      if (!this.metrics.enabled) return;
      const scope = this.metrics.scope({ Operation: 'ProcessTask', ShardId: shardId });
      scope.count('ProcessingErrors', 1);
      scope.gauge('ConsecutiveProcessingFailures', attempts);
    });
    s.on('taskError', ({ task }) => {
      if (task === 'take-leases') this.workerScope.take.outcome('Success', false);
    });
  }
}
