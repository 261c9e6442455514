import { EventEmitter } from 'node:events';
import type { SchedulerOptions } from '../config/options.js';
import { resolveOptions, type ResolvedOptions } from '../config/resolve-options.js';
import { InvalidStateError, type ConfigError } from '../errors.js';
import { isFinished, shardIdOf, type Lease } from '../leases/lease.js';
import { parseLeaseKey } from '../leases/lease-key.js';
import { LeaseCoordinator } from '../leases/lease-coordinator.js';
import { streamIdentifierOfLease } from '../leases/multi-stream.js';
import { checkProcessorShape } from '../lifecycle/processor-shape.js';
import type { ShardRecordProcessor, ShardRecordProcessorFactory } from '../processor/types.js';
import { PeriodicTask } from '../util/periodic-task.js';
import { schedulerProcessorFactory } from './processing-bridge.js';
import { retry } from '../util/retry.js';
import { withTimeout } from '../util/with-timeout.js';
import { ConsumerRegistry } from './consumer-registry.js';
import { isolateListeners } from './isolated-listeners.js';
import type { SchedulerEvents, SchedulerTask } from './scheduler-events.js';
import { SchedulerObservability } from './scheduler-observability.js';
import { awsParts, type SchedulerParts } from './scheduler-parts.js';
import type { KinesisClient } from '../aws/clients.js';
import { ShardConsumerFactory } from './shard-consumer-factory.js';
import { createStreamContext, leaseTableView, type StreamContext } from './stream-context.js';
import { StreamTracker } from './stream-tracker.js';

/**
 * The worker: keeps the lease table in sync with the stream's shards, takes and renews leases with the
 * rest of the fleet (through the `LeaseCoordinator`), and runs one `ShardConsumer` per held lease (kept by the
 * `ConsumerRegistry`). See SPEC §1 and docs/architecture.md. With `streams` it consumes several streams with one
 * lease table (per-stream state in `StreamContext`s, kept by a `StreamTracker`).
 */
export class Scheduler extends EventEmitter<SchedulerEvents> {
  readonly options: Readonly<ResolvedOptions>;
  /** Metrics, health and readiness, and the HTTP endpoint (`options.metrics`, `options.http`). */
  readonly observability: SchedulerObservability;
  private coordinator: LeaseCoordinator | undefined;
  private consumers: ConsumerRegistry | undefined;
  private shardSyncTask: PeriodicTask<'shard-sync'> | undefined;
  private cleanupTask: PeriodicTask<'lease-cleanup'> | undefined;
  /** The one stream of a single-stream application. */
  private single: StreamContext | undefined;
  /** Multi-stream: the consumed streams. */
  private tracker: StreamTracker | undefined;
  /** Removed streams whose fan-out shares an application-supplied request handler: closed only at shutdown. */
  private readonly retired: StreamContext[] = [];
  /** Destroys the SDK clients the library built (not injected ones). */
  private closeClients: () => void = () => undefined;
  private started = false;
  /** The stop sequence, once begun (both shutdowns share it). */
  private stopping: Promise<void> | undefined;
  /** Resolves when the stop sequence begins: a graceful shutdown stops waiting for its shards then. */
  private readonly stopBegun: Promise<false>;
  private markStopBegun: () => void = () => undefined;
  /** A processor of the wrong shape: the worker stops (start() rejects with it when it comes up during start()). */
  private fatalError: ConfigError | undefined;
  private startReturned = false;
  /** `processorFactory`, wrapped for `processing`, or the `recordHandler` adapter. */
  private readonly processorFactory: ShardRecordProcessorFactory;
  /** The Kinesis client of this run (the dead-letter sink writes through it); set by start(). */
  private kinesisClient: KinesisClient | undefined;

  /**
   * @param parts internal: where the AWS-facing parts come from (unit tests pass in-memory ones); not public API.
   */
  constructor(options: SchedulerOptions, /** @internal */ private readonly parts: SchedulerParts = awsParts) {
    super();
    this.stopBegun = new Promise((resolve) => (this.markStopBegun = () => resolve(false)));
    this.options = resolveOptions(options);
    // A throwing or rejecting application listener is logged, never breaks the worker (issue 15 item 7).
    isolateListeners(this, this.options.logger);
    this.observability = new SchedulerObservability(this, this.options);
    this.processorFactory = schedulerProcessorFactory(this, this.options, () => this.kinesisClient!, this.observability.metrics);
  }

  get workerId(): string {
    return this.options.workerId;
  }

  /** Lease keys this worker currently runs consumers for. */
  get heldLeaseKeys(): string[] {
    return this.consumers?.keys() ?? [];
  }

  /** Plain names of the streams consumed now. */
  get streamNames(): string[] {
    return this.streamContexts().map((c) => c.streamName);
  }

  /** Resolves once the table exists, shards are synced and the first taker round ran. */
  async start(): Promise<void> {
    if (this.started) throw new InvalidStateError('Scheduler.start() was already called');
    this.started = true;
    await this.observability.start();
    const o = this.options;
    const kinesis = this.parts.kinesis(o);
    this.kinesisClient = kinesis.value.client;
    const table = this.parts.leaseStore(o);
    this.closeClients = () => {
      kinesis.close();
      table.close();
    };
    const rawStore = this.observability.instrumentLeaseStore(table.value);
    // The table as this application sees it (its own kind of lease, the streams consumed now): scans are filtered,
    // keyed calls pass through. Renewals and checkpoints go to `rawStore` directly.
    const store = leaseTableView(rawStore, o.streams !== undefined, (id) => this.tracker?.get(id) !== undefined, o.logger);
    const deps = { options: o, kinesis: kinesis.value.api, kinesisClient: kinesis.value.client, store, onTaskError: (t: SchedulerTask, e: unknown) => this.taskError(t, e) };
    const retrying = <T>(fn: () => Promise<T>): Promise<T> => this.withRetry(fn);
    const createTable = (): Promise<boolean> =>
      this.withRetry(() =>
        store.createTableIfNotExists({
          billingMode: o.leases.billingMode,
          readCapacity: o.leases.readCapacity,
          writeCapacity: o.leases.writeCapacity,
          activeTimeoutMillis: o.leases.tableActiveTimeoutMillis,
        }),
      );
    try {
      if (o.streams === undefined) {
        const stream = o.streamArn ? { streamArn: o.streamArn } : { streamName: o.streamName! };
        // Independent (Kinesis, DynamoDB): one round trip less before the first record. Both settle before a
        // failure is thrown, so nothing runs on after start() failed.
        const [context, table] = await Promise.allSettled([createStreamContext(deps, { key: '', stream, initialPosition: o.initialPosition }, false, retrying), createTable()]);
        if (context.status === 'rejected') throw context.reason;
        if (table.status === 'rejected') throw table.reason;
        this.single = context.value;
        await this.withRetry(() => this.single!.syncer.sync());
      } else {
        await createTable();
        this.tracker = new StreamTracker({
          options: o,
          streams: o.streams,
          rawStore,
          createContext: (config) => createStreamContext(deps, config, true, retrying),
          added: (context) => this.syncStream(context, true),
          removed: (context) => this.stopStream(context),
          onTaskError: (t, e) => this.taskError(t, e),
        });
        await this.tracker.start();
      }
    } catch (error) {
      this.started = false;
      throw error;
    }
    this.shardSyncTask = new PeriodicTask('shard-sync', o.shardSyncIntervalMillis, async () => {
      for (const context of this.streamContexts()) await this.syncStream(context, false);
    }, o.clock, (task, error) => this.taskError(task, error));
    this.cleanupTask = new PeriodicTask('lease-cleanup', o.leases.cleanupIntervalMillis, () => this.cleanUpFinishedLeases(), o.clock, (task, error) =>
      this.taskError(task, error),
    );

    const coordinator = new LeaseCoordinator(rawStore, {
      workerId: o.workerId,
      failoverTimeMillis: o.leases.failoverTimeMillis,
      renewIntervalMillis: o.leases.renewIntervalMillis,
      takerIntervalMillis: o.leases.takerIntervalMillis,
      discoveryMillis: o.leases.startupDiscoveryMillis,
      maxLeasesForWorker: o.leases.maxLeasesForWorker,
      maxLeasesToStealAtOneTime: o.leases.maxLeasesToStealAtOneTime,
      gracefulHandoff: o.leases.gracefulHandoff,
      gracefulHandoffTimeoutMillis: o.leases.gracefulHandoffTimeoutMillis,
      // The lease store's own deadline: a renewal slower than the renewal interval but within it is still a renewal.
      renewalTimeoutMillis: o.timeouts.leaseCallMillis,
      steadyTakerIntervalMillis: o.leases.steadyTakerIntervalMillis,
      failureWatchers: o.leases.failureWatchers,
      clock: o.clock,
      logger: o.logger.child({ component: 'leases' }),
      listLeases: () => store.listLeases(),
    });
    this.coordinator = coordinator;
    const factory = new ShardConsumerFactory({
      options: o,
      coordinator,
      kinesis: kinesis.value.api,
      store,
      observability: this.observability,
      streamOf: (lease) => this.streamOf(lease),
      createProcessor: (shardId, streamName, leaseKey, token) => this.createProcessor(shardId, streamName, leaseKey, token),
      multiStream: o.streams !== undefined,
      events: this,
    });
    const consumers = new ConsumerRegistry({
      coordinator,
      build: (lease, token) => factory.build(lease, token),
      events: this,
      gracefulHandoffTimeoutMillis: o.leases.gracefulHandoffTimeoutMillis,
      clock: o.clock,
      logger: o.logger,
      onTaskError: (task, error) => this.taskError(task, error),
    });
    this.consumers = consumers;
    this.observability.attachLeaseCoordinator(coordinator);
    coordinator.on('acquired', ({ lease, concurrencyToken, stolen, from }) => {
      const shardId = shardIdOf(lease);
      // The library's own state change first, the application's listeners after.
      consumers.start(lease, concurrencyToken);
      this.emit('leaseAcquired', { leaseKey: lease.leaseKey, shardId, stolen });
      if (stolen) this.emit('leaseStolen', { leaseKey: lease.leaseKey, shardId, from });
    });
    coordinator.on('lost', ({ leaseKey, reason }) => {
      consumers.leaseLost(leaseKey);
      this.emit('leaseLost', { leaseKey, shardId: shardIdOf({ leaseKey }), reason });
    });
    coordinator.on('handoffStarted', ({ lease, from }) => {
      this.emit('handoffStarted', { leaseKey: lease.leaseKey, shardId: shardIdOf(lease), from });
    });
    coordinator.on('handoffRequested', ({ leaseKey, newOwner }) => consumers.handOff(leaseKey, newOwner));
    coordinator.on('error', ({ task, error }) => this.taskError(task, error));

    const firstRound = await coordinator.runTaker().then(
      () => true,
      (error: unknown) => {
        this.taskError('take-leases', error);
        return false;
      },
    );
    if (this.fatalError) {
      await this.stop(false);
      throw this.fatalError;
    }
    this.startReturned = true;
    coordinator.start(!firstRound); // after a first round that ran, the next one comes one taker interval later
    this.shardSyncTask.start(false);
    if (o.leases.cleanupLeasesUponShardCompletion) this.cleanupTask.start(false);
    o.logger.info({ workerId: o.workerId, table: o.leases.tableName, streams: this.streamNames }, 'worker started');
    this.emit('initialized', { workerId: o.workerId });
  }

  private streamContexts(): StreamContext[] {
    return this.tracker?.contexts() ?? (this.single ? [this.single] : []);
  }

  /** The stream a lease belongs to, while it is consumed. */
  private streamOf(lease: Pick<Lease, 'leaseKey' | 'streamName'>): StreamContext | undefined {
    return this.tracker ? this.tracker.get(streamIdentifierOfLease(lease) ?? '') : this.single;
  }

  /** Shard sync of one stream; at start (and for a newly added stream) retried before the first taker round. */
  private async syncStream(context: StreamContext, retried: boolean): Promise<void> {
    await (retried ? this.withRetry(() => context.syncer.sync()) : context.syncer.sync()).catch((error: unknown) => this.taskError('shard-sync', error));
  }

  /**
   * A stream left `streams`: its shards get `shutdownRequested` (they checkpoint), then their leases are released.
   * Shards still running after `gracefulHandoffTimeoutMillis` are stopped as on lease loss.
   */
  private async stopStream(context: StreamContext): Promise<void> {
    const ofStream = (stream: StreamContext): boolean => stream === context;
    const consumers = this.consumers;
    if (consumers && !(await consumers.stop('requested', this.options.leases.gracefulHandoffTimeoutMillis, ofStream))) {
      // A processor that does not return: its lease is released below, so its later checkpoints fail (fenced).
      for (const leaseKey of consumers.abandon(ofStream)) {
        this.options.logger.warn({ stream: context.streamName, leaseKey }, 'shard of a removed stream still running after the timeout; releasing its lease');
      }
    }
    const coordinator = this.coordinator;
    for (const key of coordinator?.heldKeys() ?? []) {
      if (parseLeaseKey(key).streamId === context.id && !consumers?.has(key)) await coordinator!.release(key);
    }
    const r = this.options.retrieval;
    if (r.mode === 'fanout' && r.requestHandler !== undefined) this.retired.push(context);
    else await context.fanOut?.shutdown();
  }

  /**
   * Calls `processorFactory` and checks the processor's shape. A wrong shape is a programming error that every shard
   * would hit: it is reported once (`taskError` with task `processorFactory`, an error log line) and the worker stops
   * — `start()` rejects with the `ConfigError` when the first processor is made during `start()`, as it is whenever
   * a lease is free then. A factory that throws costs only that shard: its lease is released and retaken with backoff.
   */
  private createProcessor(shardId: string, streamName: string, leaseKey: string, token: string): ShardRecordProcessor | undefined {
    const coordinator = this.coordinator!;
    const release = (backOff: boolean): void => {
      void coordinator.release(leaseKey, token, { backOff }).catch((error: unknown) => this.taskError('release', error));
    };
    let made: unknown;
    try {
      made = this.processorFactory({ shardId, streamName });
    } catch (error) {
      this.emit('processingError', { shardId, phase: 'processorFactory', attempt: 0, attempts: 1, error });
      this.options.logger.error({ err: error, shardId }, `processorFactory threw for ${shardId}; releasing the shard`);
      release(true);
      return undefined;
    }
    try {
      return checkProcessorShape(made);
    } catch (error) {
      release(false);
      if (this.fatalError !== undefined) return undefined;
      this.fatalError = error as ConfigError;
      this.options.logger.error({ err: error }, `${(error as Error).message}; stopping the worker`);
      this.taskError('processorFactory', error);
      // During start(), start() itself stops the worker and rejects; later, the worker stops on its own.
      if (this.startReturned) void this.stop(false);
      return undefined;
    }
  }

  /** Deletes the finished leases this worker holds once their children have started (Java's cleanup manager). */
  private async cleanUpFinishedLeases(): Promise<void> {
    const coordinator = this.coordinator!;
    for (const key of coordinator.heldKeys()) {
      const lease = coordinator.heldLease(key);
      if (lease === undefined || !isFinished(lease) || this.consumers?.has(key)) continue;
      await this.streamOf(lease)?.cleaner.cleanUp(lease, () => coordinator.forget(key));
    }
  }

  private taskError(task: SchedulerTask, error: unknown): void {
    this.emit('taskError', { task, error });
  }

  private withRetry<T>(fn: () => Promise<T>): Promise<T> {
    return retry(fn, { maxAttempts: 8, baseMillis: 200, maxMillis: 5000, clock: this.options.clock });
  }

  /**
   * Graceful: stop taking leases, call `shutdownRequested` on every shard while its lease is still held
   * (the processor checkpoints), then release the leases. Resolves `true` when every shard finished within
   * `timeoutMillis`; the rest are stopped as in `shutdown()`. Always resolves within `timeoutMillis` plus the bound
   * of {@link shutdown} plus one renewal interval, even when every AWS call hangs.
   */
  async startGracefulShutdown(timeoutMillis = 30_000): Promise<boolean> {
    if (!this.started || this.stopping !== undefined) return true;
    await this.stopBackgroundWork();
    // `shutdown()` meanwhile cuts the wait short (its consumers get leaseLost).
    const finished = await Promise.race([this.consumers?.stop('requested', timeoutMillis) ?? true, this.stopBegun]);
    await this.stop(true);
    return finished;
  }

  /**
   * Stops at once: consumers get `leaseLost`, held leases are released so others take them immediately.
   * Always resolves within `failoverTimeMillis` (a processor call that does not return) plus five renewal intervals
   * (`failoverTimeMillis / 3 − epsilonMillis` each: background tasks, renewals, releases, fan-out, metrics flush),
   * even when every AWS call hangs: a step that runs out of time is logged and skipped.
   */
  async shutdown(): Promise<void> {
    await this.stop(false);
  }

  /**
   * No new leases, no stream tracking, shard sync or cleanup any more; renewals go on (the leases are still held
   * while consumers finish). The first step of both shutdowns; running it twice is harmless.
   */
  private async stopBackgroundWork(): Promise<void> {
    this.observability.stopping();
    // Each may be waiting on an AWS call that hangs: together bounded by one step.
    await this.bounded('stop background tasks', Promise.all([this.coordinator?.stopTaking(), this.tracker?.stop(), this.shardSyncTask?.stop(), this.cleanupTask?.stop()]));
  }

  /**
   * One shutdown step that may wait on AWS calls, bounded by the renewal interval (see {@link shutdown}): when it
   * does not finish in time the worker logs it and goes on; the work left running is fenced or harmless.
   */
  private async bounded(step: string, work: Promise<unknown> | undefined, whenLate = 'shutdown step still running (an AWS call hangs?); going on'): Promise<void> {
    if (work === undefined) return;
    const guarded = work.catch((error: unknown) => this.options.logger.warn({ step, err: error }, 'shutdown step failed; going on'));
    const stepMillis = this.options.leases.renewIntervalMillis;
    if ((await withTimeout(guarded, stepMillis, this.options.clock)).timedOut) {
      this.options.logger.warn({ step, waitedMillis: stepMillis }, whenLate);
    }
  }

  /** The one stop sequence of both shutdowns; a second call (e.g. `shutdown()` during a graceful one) joins the first. */
  private stop(graceful: boolean): Promise<void> {
    if (!this.started) return Promise.resolve();
    this.markStopBegun();
    this.stopping ??= this.stopNow(graceful);
    return this.stopping;
  }

  private async stopNow(graceful: boolean): Promise<void> {
    await this.stopBackgroundWork();
    // A processor call that never returns must not hang shutdown: wait at most the failover time (others may take
    // the leases by then anyway), then release; checkpoints of the hung call fail, fenced by the released lease.
    const finished = (await this.consumers?.stop('lost', this.options.leases.failoverTimeMillis)) ?? true;
    if (!finished) this.options.logger.warn({ shards: this.consumers?.keys() }, 'processor calls still running at shutdown; releasing their leases anyway');
    await this.bounded('stop lease renewal', this.coordinator?.stop());
    await this.bounded('release leases', this.coordinator?.releaseAll());
    await this.bounded('close fan-out', Promise.all([...this.streamContexts(), ...this.retired].map(async (c) => { await c.fanOut?.shutdown(); })));
    this.closeClients();
    // Only the CloudWatch sink flushes (Prometheus is scraped): say what is lost when it is late.
    await this.bounded('flush metrics', this.observability.stop(), 'could not publish metrics to CloudWatch before shutdown (no answer in time); the last ones are dropped');
    this.options.logger.info({ workerId: this.options.workerId, graceful }, 'worker stopped');
    this.emit('shutdown', { graceful });
  }
}
