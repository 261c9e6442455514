import type { EventEmitter } from 'node:events';
import type { ExtendedSequenceNumber } from '../checkpoint/extended-sequence-number.js';
import type { ResolvedOptions } from '../config/resolve-options.js';
import { isFinished, shardIdOf, type Lease } from '../leases/lease.js';
import { siblingLeaseKey } from '../leases/lease-key.js';
import type { LeaseCoordinator } from '../leases/lease-coordinator.js';
import type { LeaseStore } from '../leases/lease-store.js';
import { ShardConsumer, type RecordsSource } from '../lifecycle/shard-consumer.js';
import type { ChildShardInfo, ShardRecordProcessor } from '../processor/types.js';
import { PollingFetcher } from '../retrieval/polling-fetcher.js';
import type { Logger } from '../util/logger.js';
import type { SchedulerEvents } from './scheduler-events.js';
import type { SchedulerObservability } from './scheduler-observability.js';
import type { SchedulerKinesisApi } from './scheduler-parts.js';
import type { StreamContext } from './stream-context.js';

export interface ShardConsumerFactoryDeps {
  options: Readonly<ResolvedOptions>;
  coordinator: LeaseCoordinator;
  kinesis: SchedulerKinesisApi;
  /** For keyed reads (parents' checkpoints). */
  store: LeaseStore;
  observability: SchedulerObservability;
  /** The stream a lease belongs to, while that stream is consumed. */
  streamOf(lease: Lease): StreamContext | undefined;
  /** The lease's processor (checked); `undefined` when none could be made (the lease was given back). */
  createProcessor(shardId: string, streamName: string, leaseKey: string, token: string): ShardRecordProcessor | undefined;
  /** Multi-stream: log lines name the stream too. */
  multiStream: boolean;
  /** Where `shardEnded` and `processingError` are emitted. */
  events: EventEmitter<SchedulerEvents>;
}

/**
 * Builds the `ShardConsumer` of a lease just acquired: its processor (instrumented), its records source (polling
 * fetcher or fan-out subscription), its checkpoint writer (the coordinator's, fenced by the acquisition's token)
 * and the shard-level hooks (parents finished?, child leases at shard end).
 */
export class ShardConsumerFactory {
  constructor(private readonly deps: ShardConsumerFactoryDeps) {}

  /** `undefined` when the lease's stream is not consumed any more; `null` when no processor could be made (the lease was already given back). */
  build(lease: Lease, token: string): { consumer: ShardConsumer; stream: StreamContext } | undefined | null {
    const { options: o, coordinator, events } = this.deps;
    const stream = this.deps.streamOf(lease);
    if (stream === undefined) return undefined;
    const shardId = shardIdOf(lease);
    const logger = o.logger.child(this.deps.multiStream ? { stream: stream.streamName, shardId } : { shardId });
    const processor = this.deps.createProcessor(shardId, stream.streamName, lease.leaseKey, token);
    if (processor === undefined) return null;
    const consumer = new ShardConsumer({
      shardId,
      streamName: stream.streamName,
      lease,
      processor: this.deps.observability.instrumentProcessor(processor, shardId),
      onProcessingError: o.onProcessingError,
      callProcessRecordsEvenForEmptyRecordList: o.callProcessRecordsEvenForEmptyRecordList,
      parentShardPollIntervalMillis: o.parentShardPollIntervalMillis,
      clock: o.clock,
      logger,
      hooks: {
        parentsFinished: (l) => this.parentsFinished(l),
        writeCheckpoint: coordinator.checkpointWriter(lease.leaseKey, token),
        leaseHeld: () => coordinator.awaitSafeHold(lease.leaseKey, token),
        createSource: (checkpoint) => this.createSource(stream, lease, checkpoint, logger),
        onShardEnd: (children) => this.onShardEnd(stream, lease.leaseKey, children),
        onProcessingError: (error, info) => events.emit('processingError', { shardId, ...info, attempts: info.attempt + 1, error }),
      },
    });
    return { consumer, stream };
  }

  private createSource(stream: StreamContext, lease: Lease, checkpoint: ExtendedSequenceNumber, logger: Logger): RecordsSource {
    const o = this.deps.options;
    if (o.retrieval.mode === 'fanout') {
      return stream.fanOut!.createSource({ shardId: shardIdOf(lease), hashKeyRange: lease.hashKeyRange }, checkpoint, logger);
    }
    const initial = stream.initialPosition;
    return new PollingFetcher({
      kinesis: this.deps.kinesis,
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
      onFetch: this.deps.observability.fetchListener(shardIdOf(lease)),
      maxCallsPerSecond: o.retrieval.maxGetRecordsCallsPerSecond,
      shardState: (shardId, signal) => stream.shardStates.get(shardId, signal),
      clock: o.clock,
      logger,
    });
  }

  private async parentsFinished(lease: Lease): Promise<boolean> {
    for (const parent of lease.parentShardIds) {
      const parentLease = await this.deps.store.getLease(siblingLeaseKey(lease.leaseKey, parent), { consistentRead: true });
      if (parentLease !== undefined && !isFinished(parentLease)) return false;
    }
    return true;
  }

  /** Child leases and `childShardIds` on the parent, before the processor's `shardEnded`. */
  private async onShardEnd(stream: StreamContext, leaseKey: string, children: ChildShardInfo[] | undefined): Promise<void> {
    const shardId = shardIdOf({ leaseKey });
    const childShardIds = await stream.shardEndHandler.prepare(leaseKey, shardId, children);
    this.deps.events.emit('shardEnded', { leaseKey, shardId, childShardIds });
  }
}
