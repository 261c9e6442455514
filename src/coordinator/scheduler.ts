import { EventEmitter } from 'node:events';
import { createDynamoDbClient, createKinesisClient, type DynamoDBClient, type KinesisClient } from '../aws/clients.js';
import { DynamoDbApi } from '../aws/dynamodb-api.js';
import { KinesisApi } from '../aws/kinesis-api.js';
import type { ExtendedSequenceNumber } from '../checkpoint/extended-sequence-number.js';
import type { SchedulerOptions } from '../config/options.js';
import { resolveOptions, type ResolvedOptions } from '../config/resolve-options.js';
import { InvalidStateError } from '../errors.js';
import { DynamoDbLeaseStore } from '../leases/dynamodb-lease-store.js';
import { shardIdOf, type Lease } from '../leases/lease.js';
import { LeaseCoordinator } from '../leases/lease-coordinator.js';
import type { LeaseStore } from '../leases/lease-store.js';
import { streamIdentifierOfLease } from '../leases/multi-stream.js';
import { ShardConsumer, type RecordsSource } from '../lifecycle/shard-consumer.js';
import type { ChildShardInfo, ShardRecordProcessorFactory } from '../processor/types.js';
import { PollingFetcher } from '../retrieval/polling-fetcher.js';
import { PeriodicTask } from '../util/periodic-task.js';
import { schedulerProcessorFactory } from './processing-bridge.js';
import { retry } from '../util/retry.js';
import type { SchedulerEvents } from './scheduler-events.js';
import { SchedulerObservability } from './scheduler-observability.js';
import { createStreamContext, leaseTableView, type StreamContext } from './stream-context.js';
import { StreamTracker } from './stream-tracker.js';

interface RunningConsumer {
  consumer: ShardConsumer;
  stream: StreamContext;
  token: string;
  done: Promise<void>;
}

/**
 * The worker: keeps the lease table in sync with the stream's shards, takes and renews leases with the
 * rest of the fleet, and runs one `ShardConsumer` per held lease. See SPEC §1. With `streams` it consumes several
 * streams with one lease table (per-stream state in `StreamContext`s, kept by a `StreamTracker`).
 */
export class Scheduler extends EventEmitter<SchedulerEvents> {
  readonly options: Readonly<ResolvedOptions>;
  /** Metrics, health and readiness, and the HTTP endpoint (`options.metrics`, `options.http`). */
  readonly observability: SchedulerObservability;
  private kinesisClient: KinesisClient | undefined;
  private dynamoClient: DynamoDBClient | undefined;
  private kinesis: KinesisApi | undefined;
  private store: LeaseStore | undefined;
  private coordinator: LeaseCoordinator | undefined;
  private shardSyncTask: PeriodicTask | undefined;
  private cleanupTask: PeriodicTask | undefined;
  /** The one stream of a single-stream application. */
  private single: StreamContext | undefined;
  /** Multi-stream: the consumed streams. */
  private tracker: StreamTracker | undefined;
  /** Removed streams whose fan-out shares an application-supplied request handler: closed only at shutdown. */
  private readonly retired: StreamContext[] = [];
  private readonly consumers = new Map<string, RunningConsumer>();
  /** Consecutive `'release'` give-ups per lease, for the retake backoff. */
  private readonly releaseFailures = new Map<string, number>();
  private started = false;
  private stopped = false;
  /** `processorFactory`, wrapped for `processing`, or the `recordHandler` adapter. */
  private readonly processorFactory: ShardRecordProcessorFactory;

  constructor(options: SchedulerOptions) {
    super();
    this.options = resolveOptions(options);
    this.observability = new SchedulerObservability(this, this.options);
    this.processorFactory = schedulerProcessorFactory(this, this.options, () => this.kinesisClient!, this.observability.metrics);
  }

  get workerId(): string {
    return this.options.workerId;
  }

  /** Lease keys this worker currently runs consumers for. */
  get heldLeaseKeys(): string[] {
    return [...this.consumers.keys()];
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
    const log = o.logger;
    const settings = { region: o.region, credentials: o.credentials };
    this.kinesisClient = o.kinesisClient ?? createKinesisClient({ ...settings, endpoint: o.endpoints.kinesis });
    this.dynamoClient = o.dynamoDbClient ?? createDynamoDbClient({ ...settings, endpoint: o.endpoints.dynamodb });
    this.kinesis = new KinesisApi(this.kinesisClient);
    const rawStore = this.observability.instrumentLeaseStore(new DynamoDbLeaseStore(new DynamoDbApi(this.dynamoClient), o.leases.tableName, {
      consistentReads: o.leases.consistentReads,
      clock: o.clock,
    }));
    const store = leaseTableView(rawStore, o.streams !== undefined, (id) => this.tracker?.get(id) !== undefined, log);
    this.store = store;
    const deps = { options: o, kinesis: this.kinesis, kinesisClient: this.kinesisClient, store, onTaskError: (t: string, e: unknown) => this.taskError(t, e) };
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
        this.single = await createStreamContext(deps, { key: '', stream, initialPosition: o.initialPosition }, false, retrying);
        await createTable();
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

    const coordinator = new LeaseCoordinator(store, {
      workerId: o.workerId,
      failoverTimeMillis: o.leases.failoverTimeMillis,
      renewIntervalMillis: o.leases.renewIntervalMillis,
      takerIntervalMillis: o.leases.takerIntervalMillis,
      maxLeasesForWorker: o.leases.maxLeasesForWorker,
      maxLeasesToStealAtOneTime: o.leases.maxLeasesToStealAtOneTime,
      gracefulHandoff: o.leases.gracefulHandoff,
      gracefulHandoffTimeoutMillis: o.leases.gracefulHandoffTimeoutMillis,
      clock: o.clock,
      logger: log.child({ component: 'leases' }),
    });
    this.coordinator = coordinator;
    this.observability.attachLeaseCoordinator(coordinator);
    coordinator.on('acquired', ({ lease, concurrencyToken, stolen }) => {
      this.emit('leaseAcquired', { leaseKey: lease.leaseKey, shardId: shardIdOf(lease), stolen });
      this.startConsumer(lease, concurrencyToken);
    });
    coordinator.on('lost', ({ leaseKey, reason }) => {
      this.emit('leaseLost', { leaseKey, shardId: shardIdOf({ leaseKey }), reason });
      this.consumers.get(leaseKey)?.consumer.leaseLost();
    });
    coordinator.on('handoffStarted', ({ lease, from }) => {
      this.emit('handoffStarted', { leaseKey: lease.leaseKey, shardId: shardIdOf(lease), from });
    });
    coordinator.on('handoffRequested', ({ leaseKey, newOwner }) => this.handOff(leaseKey, newOwner));
    coordinator.on('error', ({ task, error }) => this.taskError(task, error));

    await coordinator.runTaker().catch((error: unknown) => this.taskError('take-leases', error));
    coordinator.start();
    this.shardSyncTask.start(false);
    if (o.leases.cleanupLeasesUponShardCompletion) this.cleanupTask.start(false);
    log.info({ workerId: o.workerId, table: o.leases.tableName, streams: this.streamNames }, 'worker started');
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
    const running = [...this.consumers.values()].filter((r) => r.stream === context);
    for (const r of running) r.consumer.requestShutdown();
    let timer: NodeJS.Timeout | undefined;
    const timedOut = await Promise.race([
      Promise.all(running.map((r) => r.done)).then(() => false),
      new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(true), this.options.leases.gracefulHandoffTimeoutMillis))),
    ]);
    clearTimeout(timer);
    if (timedOut) {
      // A processor that does not return: its lease is released below, so its later checkpoints fail (fenced).
      for (const [key, r] of this.consumers) {
        if (r.stream !== context) continue;
        this.options.logger.warn({ stream: context.streamName, leaseKey: key }, 'shard of a removed stream still running after the timeout; releasing its lease');
        r.consumer.leaseLost();
        this.consumers.delete(key);
      }
    }
    const renewer = this.coordinator?.renewer;
    for (const key of renewer?.heldKeys() ?? []) {
      if (key.startsWith(context.leaseKeyPrefix) && !this.consumers.has(key)) await renewer!.release(key);
    }
    const r = this.options.retrieval;
    if (r.mode === 'fanout' && r.requestHandler !== undefined) this.retired.push(context);
    else await context.fanOut?.shutdown();
  }

  private startConsumer(lease: Lease, token: string): void {
    const o = this.options;
    const existing = this.consumers.get(lease.leaseKey);
    if (existing) existing.consumer.leaseLost(); // re-acquired under a new token: the old run must end
    const coordinator = this.coordinator!;
    const stream = this.streamOf(lease);
    if (stream === undefined) {
      // Its stream was removed between the taker's scan and now.
      void coordinator.renewer.release(lease.leaseKey, token).catch((error: unknown) => this.taskError('release', error));
      return;
    }
    const shardId = shardIdOf(lease);
    const logger = o.logger.child(this.tracker ? { stream: stream.streamName, shardId } : { shardId });
    const consumer = new ShardConsumer({
      shardId,
      streamName: stream.streamName,
      lease,
      processor: this.observability.instrumentProcessor(this.processorFactory({ shardId, streamName: stream.streamName }), shardId),
      onProcessingError: o.onProcessingError,
      callProcessRecordsEvenForEmptyRecordList: o.callProcessRecordsEvenForEmptyRecordList,
      parentShardPollIntervalMillis: o.parentShardPollIntervalMillis,
      clock: o.clock,
      logger,
      hooks: {
        parentsFinished: (l) => this.parentsFinished(l),
        writeCheckpoint: async (update) => {
          await coordinator.renewer.updateCheckpoint(lease.leaseKey, token, update);
        },
        createSource: (checkpoint) => this.createSource(stream, lease, checkpoint, logger),
        onShardEnd: (children) => this.onShardEnd(stream, lease.leaseKey, children),
        onProcessingError: (error, info) => this.emit('processingError', { shardId, ...info, error }),
      },
    });
    const entry: RunningConsumer = { consumer, stream, token, done: Promise.resolve() };
    entry.done = consumer.run().then(async (result) => {
      if (this.consumers.get(lease.leaseKey) === entry) this.consumers.delete(lease.leaseKey);
      this.emit('shardConsumerStopped', { leaseKey: lease.leaseKey, shardId, reason: result.reason, recordsDelivered: consumer.delivered });
      if (coordinator.renewer.isHandingOff(lease.leaseKey)) {
        await this.finishHandoff(lease.leaseKey);
      } else if (result.releaseLease || result.reason === 'REQUESTED') {
        if (result.releaseLease) this.backOffReleased(lease.leaseKey);
        await coordinator.renewer.release(lease.leaseKey, token);
      }
      if (!result.releaseLease && consumer.delivered > 0) this.releaseFailures.delete(lease.leaseKey);
      // SHARD_END: keep holding the finished lease (as Java KCL does) so nobody re-runs it; cleanup deletes it.
    });
    this.consumers.set(lease.leaseKey, entry);
  }

  /**
   * `onProcessingError: 'release'` gave a shard up: this worker does not take it back for 1 s, 2 s, 4 s … (at most
   * 60 s) after consecutive failures, so a shard whose records keep failing is retried with backoff here while
   * other workers may take it at once. A run that delivers records resets the count.
   */
  private backOffReleased(leaseKey: string): void {
    const failures = (this.releaseFailures.get(leaseKey) ?? 0) + 1;
    this.releaseFailures.set(leaseKey, failures);
    this.coordinator!.taker.coolDown(leaseKey, Math.min(60_000, 1000 * 2 ** (failures - 1)));
  }

  /**
   * Another worker stole a lease of ours gracefully: the shard's processor gets `shutdownRequested` (it checkpoints),
   * the consumer stops, and only then is the transfer completed. After `gracefulHandoffTimeoutMillis` the consumer
   * is stopped as on lease loss and the transfer completed anyway.
   */
  private handOff(leaseKey: string, newOwner: string): void {
    const shardId = shardIdOf({ leaseKey });
    this.emit('handoffRequested', { leaseKey, shardId, to: newOwner });
    const running = this.consumers.get(leaseKey);
    if (running === undefined) {
      void this.finishHandoff(leaseKey);
      return;
    }
    running.consumer.requestShutdown();
    const timer = setTimeout(() => {
      if (this.consumers.get(leaseKey) === running) {
        this.options.logger.warn({ shardId, to: newOwner }, 'shutdownRequested took longer than the handoff timeout; stopping the shard');
        running.consumer.leaseLost();
      }
    }, this.options.leases.gracefulHandoffTimeoutMillis);
    timer.unref();
    void running.done.finally(() => clearTimeout(timer));
  }

  private async finishHandoff(leaseKey: string): Promise<void> {
    const handedOver = await this.coordinator!.renewer.finishHandoff(leaseKey);
    this.emit('handoffCompleted', { leaseKey, shardId: shardIdOf({ leaseKey }), written: handedOver });
  }

  private createSource(stream: StreamContext, lease: Lease, checkpoint: ExtendedSequenceNumber, logger: ResolvedOptions['logger']): RecordsSource {
    const o = this.options;
    if (o.retrieval.mode === 'fanout') {
      return stream.fanOut!.createSource({ shardId: shardIdOf(lease), hashKeyRange: lease.hashKeyRange }, checkpoint, logger);
    }
    const initial = stream.initialPosition;
    return new PollingFetcher({
      kinesis: this.kinesis!,
      stream: stream.stream,
      shardId: shardIdOf(lease),
      checkpoint,
      ...(typeof initial === 'object' ? { initialTimestamp: initial.timestamp } : {}),
      maxRecords: o.retrieval.maxRecords,
      idleTimeBetweenReadsMillis: o.retrieval.idleTimeBetweenReadsMillis,
      maxPrefetchBatches: o.retrieval.maxPrefetchBatches,
      maxPrefetchBytes: o.retrieval.maxPrefetchBytes,
      hashKeyRange: lease.hashKeyRange,
      filterOffRangeSubRecords: o.retrieval.filterOffRangeSubRecords,
      onFetch: this.observability.fetchListener(shardIdOf(lease)),
      clock: o.clock,
      logger,
    });
  }

  private async parentsFinished(lease: Lease): Promise<boolean> {
    for (const parent of lease.parentShardIds) {
      const prefix = lease.leaseKey.slice(0, lease.leaseKey.length - shardIdOf(lease).length);
      const parentLease = await this.store!.getLease(prefix + parent, { consistentRead: true });
      if (parentLease !== undefined && parentLease.checkpoint.sequenceNumber !== 'SHARD_END') return false;
    }
    return true;
  }

  /** Child leases and `childShardIds` on the parent, before the processor's `shardEnded`. */
  private async onShardEnd(stream: StreamContext, leaseKey: string, children: ChildShardInfo[] | undefined): Promise<void> {
    const shardId = shardIdOf({ leaseKey });
    const childShardIds = await stream.shardEndHandler.prepare(leaseKey, shardId, children);
    this.emit('shardEnded', { leaseKey, shardId, childShardIds });
  }

  /** Deletes the finished leases this worker holds once their children have started (Java's cleanup manager). */
  private async cleanUpFinishedLeases(): Promise<void> {
    const renewer = this.coordinator!.renewer;
    for (const key of renewer.heldKeys()) {
      const held = renewer.get(key);
      if (held === undefined || held.lease.checkpoint.sequenceNumber !== 'SHARD_END' || this.consumers.has(key)) continue;
      await this.streamOf(held.lease)?.cleaner.cleanUp(held.lease, () => renewer.forget(key));
    }
  }

  private taskError(task: string, error: unknown): void {
    this.emit('taskError', { task, error });
  }

  private withRetry<T>(fn: () => Promise<T>): Promise<T> {
    return retry(fn, { maxAttempts: 8, baseMillis: 200, maxMillis: 5000, clock: this.options.clock });
  }

  /**
   * Graceful: stop taking leases, call `shutdownRequested` on every shard while its lease is still held
   * (the processor checkpoints), then release the leases. Resolves `true` when every shard finished within
   * `timeoutMillis`; the rest are stopped as in `shutdown()`.
   */
  async startGracefulShutdown(timeoutMillis = 30_000): Promise<boolean> {
    if (!this.started || this.stopped) return true;
    this.observability.stopping();
    await this.coordinator?.stopTaking();
    await this.tracker?.stop();
    await this.shardSyncTask?.stop();
    await this.cleanupTask?.stop();
    const running = [...this.consumers.values()];
    for (const r of running) r.consumer.requestShutdown();
    let timer: NodeJS.Timeout | undefined;
    const finished = await Promise.race([
      Promise.all(running.map((r) => r.done)).then(() => true),
      new Promise<boolean>((resolve) => {
        timer = setTimeout(() => resolve(false), timeoutMillis);
      }),
    ]);
    clearTimeout(timer);
    await this.shutdownInternal(true);
    return finished;
  }

  /** Stops at once: consumers get `leaseLost`, held leases are released so others take them immediately. */
  async shutdown(): Promise<void> {
    await this.shutdownInternal(false);
  }

  private async shutdownInternal(graceful: boolean): Promise<void> {
    if (!this.started || this.stopped) return;
    this.stopped = true;
    this.observability.stopping();
    await this.coordinator?.stopTaking();
    await this.tracker?.stop();
    await this.shardSyncTask?.stop();
    await this.cleanupTask?.stop();
    for (const r of this.consumers.values()) r.consumer.leaseLost();
    // A processor call that never returns must not hang shutdown: wait at most the failover time (others may take
    // the leases by then anyway), then release; checkpoints of the hung call fail, fenced by the released lease.
    let timer: NodeJS.Timeout | undefined;
    const allDone = Promise.all([...this.consumers.values()].map((r) => r.done)).then(() => true);
    const finished = await Promise.race([
      allDone,
      new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), this.options.leases.failoverTimeMillis))),
    ]);
    clearTimeout(timer);
    if (!finished) this.options.logger.warn({ shards: [...this.consumers.keys()] }, 'processor calls still running at shutdown; releasing their leases anyway');
    await this.coordinator?.stop();
    await this.coordinator?.releaseAll();
    for (const context of [...this.streamContexts(), ...this.retired]) await context.fanOut?.shutdown();
    if (!this.options.kinesisClient) this.kinesisClient?.destroy();
    if (!this.options.dynamoDbClient) this.dynamoClient?.destroy();
    await this.observability.stop();
    this.options.logger.info({ workerId: this.options.workerId, graceful }, 'worker stopped');
    this.emit('shutdown', { graceful });
  }
}
