import { ExtendedSequenceNumber as ESN } from '../checkpoint/extended-sequence-number.js';
import { ShardCheckpointer, type CheckpointWriter } from '../checkpoint/shard-checkpointer.js';
import type { ProcessingErrorPolicy } from '../config/options.js';
import { InvalidStateError } from '../errors.js';
import type { Lease } from '../leases/lease.js';
import type { ChildShardInfo, ShardRecordProcessor } from '../processor/types.js';
import type { RecordsBatch } from '../retrieval/records-batch.js';
import { backoffDelay } from '../util/backoff.js';
import type { Clock } from '../util/clock.js';
import type { Logger } from '../util/logger.js';

/** Where a consumer is in its life (Java KCL's ConsumerStates, without the thread pools). */
export type ShardConsumerState = 'WAITING_ON_PARENTS' | 'INITIALIZING' | 'PROCESSING' | 'SHUTTING_DOWN' | 'DONE';

/** Why it stopped; when several apply the higher rank wins: LEASE_LOST > SHARD_END > REQUESTED. */
export type ShutdownReason = 'LEASE_LOST' | 'SHARD_END' | 'REQUESTED';
const RANK: Record<ShutdownReason, number> = { LEASE_LOST: 3, SHARD_END: 2, REQUESTED: 1 };

/** The processor call a failure happened in. */
export type ProcessorPhase = 'initialize' | 'processRecords' | 'shardEnded' | 'shutdownRequested' | 'leaseLost';

/** What a fetcher offers the consumer (polling and fan-out alike). */
export interface RecordsSource {
  start(signal: AbortSignal): void;
  next(signal: AbortSignal): Promise<RecordsBatch>;
  stop(): Promise<void>;
}

export interface ShardConsumerHooks {
  /** True when every parent lease is finished (SHARD_END) or gone. */
  parentsFinished(lease: Lease): Promise<boolean>;
  /** Persists a checkpoint through the held lease (fenced). */
  writeCheckpoint: CheckpointWriter;
  /** Builds the records source starting after `checkpoint`. */
  createSource(checkpoint: ESN): RecordsSource;
  /** Shard-end bookkeeping before `shardEnded` (child leases, `childShardIds` on the parent). */
  onShardEnd(childShards: ChildShardInfo[] | undefined): Promise<void>;
  /**
   * Whether the lease is still safely held (renewed recently enough that no other worker may have taken it);
   * awaited before every `processRecords` call (it may wait for a late renewal). `false` stops the consumer as on
   * lease loss. Default: always held.
   */
  leaseHeld?(): boolean | Promise<boolean>;
  /** Reports a processor failure (event + metric). */
  onProcessingError(error: unknown, info: { phase: ProcessorPhase; attempt: number }): void;
}

export interface ShardConsumerOptions {
  shardId: string;
  streamName: string;
  lease: Lease;
  processor: ShardRecordProcessor;
  hooks: ShardConsumerHooks;
  onProcessingError: ProcessingErrorPolicy;
  callProcessRecordsEvenForEmptyRecordList: boolean;
  parentShardPollIntervalMillis: number;
  /** Backoff for retried processor calls. */
  retryBaseMillis?: number;
  retryMaxMillis?: number;
  clock: Clock;
  logger: Logger;
}

export interface ShardConsumerResult {
  reason: ShutdownReason;
  /** `'release'` policy gave up the shard after a processing error: the lease should be released. */
  releaseLease: boolean;
}

class Stop extends Error {}

/**
 * One consumer per held lease: waits on parents, initializes the processor, feeds it batches one at a
 * time (each call awaited before the next), and shuts down for the highest-ranked reason. The lease's
 * loss aborts `signal`; the processor then gets `leaseLost` and nothing else.
 */
export class ShardConsumer {
  private stateValue: ShardConsumerState = 'WAITING_ON_PARENTS';
  private reason: ShutdownReason | undefined;
  private readonly controller = new AbortController();
  private readonly wake = new AbortController();
  private checkpointer: ShardCheckpointer | undefined;
  private releaseLease = false;
  private recordsDelivered = 0;

  constructor(private readonly o: ShardConsumerOptions) {}

  get state(): ShardConsumerState {
    return this.stateValue;
  }

  get delivered(): number {
    return this.recordsDelivered;
  }

  /** Aborted when the lease is lost or the worker stops at once. */
  get signal(): AbortSignal {
    return this.controller.signal;
  }

  /** The lease is gone: stop at the next opportunity and call `leaseLost`. */
  leaseLost(): void {
    this.setReason('LEASE_LOST');
    this.controller.abort(new Stop('lease lost'));
    this.wake.abort();
  }

  /** Graceful: finish the current batch, call `shutdownRequested` (the processor may checkpoint), stop. */
  requestShutdown(): void {
    this.setReason('REQUESTED');
    this.wake.abort();
  }

  private setReason(reason: ShutdownReason): void {
    if (this.reason === undefined || RANK[reason] > RANK[this.reason]) this.reason = reason;
  }

  private stopping(): boolean {
    return this.reason !== undefined;
  }

  /** Runs the whole lifecycle; never rejects. */
  async run(): Promise<ShardConsumerResult> {
    let source: RecordsSource | undefined;
    try {
      if (await this.waitOnParents()) {
        this.stateValue = 'INITIALIZING';
        const checkpoint = ESN.from(this.o.lease.checkpoint);
        if (checkpoint.isShardEnd) {
          this.setReason('SHARD_END'); // finished earlier: nothing to read, shardEnded was already called
        } else if (await this.initialize(checkpoint)) {
          this.stateValue = 'PROCESSING';
          source = this.o.hooks.createSource(checkpoint);
          source.start(this.controller.signal);
          await this.processLoop(source);
        }
      }
    } catch (error) {
      if (!(error instanceof Stop) && !this.controller.signal.aborted) {
        this.o.logger.error({ err: error }, 'shard consumer failed');
        this.setReason('LEASE_LOST');
        this.releaseLease = true;
      }
    } finally {
      await source?.stop();
    }
    this.stateValue = 'SHUTTING_DOWN';
    const reason = this.reason ?? 'LEASE_LOST';
    await this.shutdown(reason);
    this.stateValue = 'DONE';
    return { reason, releaseLease: this.releaseLease };
  }

  private async waitOnParents(): Promise<boolean> {
    if (this.o.lease.parentShardIds.length === 0) return true;
    while (!this.stopping()) {
      try {
        if (await this.o.hooks.parentsFinished(this.o.lease)) return true;
      } catch (error) {
        this.o.logger.warn({ err: error }, 'could not check parent shards; retrying');
      }
      await this.pause(this.o.parentShardPollIntervalMillis);
    }
    return false;
  }

  private async initialize(checkpoint: ESN): Promise<boolean> {
    this.checkpointer = new ShardCheckpointer(this.o.shardId, this.o.hooks.writeCheckpoint, checkpoint);
    const lease = this.o.lease;
    return this.callWithRetry('initialize', () =>
      this.o.processor.initialize({
        shardId: this.o.shardId,
        streamName: this.o.streamName,
        extendedSequenceNumber: checkpoint.toJSON(),
        pendingCheckpointSequenceNumber: lease.pendingCheckpoint ? { ...lease.pendingCheckpoint } : undefined,
        pendingCheckpointState: lease.pendingCheckpointState,
      }),
    );
  }

  private async processLoop(source: RecordsSource): Promise<void> {
    const checkpointer = this.checkpointer!;
    while (!this.stopping()) {
      let batch: RecordsBatch;
      try {
        batch = await source.next(this.wakeOrAbort());
      } catch (error) {
        if (this.stopping()) return;
        throw error;
      }
      const last = batch.records[batch.records.length - 1];
      if (last) checkpointer.advanceLargestPermitted(new ESN(last.sequenceNumber, last.subSequenceNumber));
      if (batch.records.length > 0 || this.o.callProcessRecordsEvenForEmptyRecordList) {
        const delivered = await this.callWithRetry('processRecords', () =>
          this.o.processor.processRecords({
            shardId: this.o.shardId,
            streamName: this.o.streamName,
            records: batch.records,
            checkpointer,
            millisBehindLatest: batch.millisBehindLatest,
            isAtShardEnd: batch.isAtShardEnd,
            childShards: batch.childShards,
            signal: this.controller.signal,
          }),
        );
        if (!delivered) return;
        this.recordsDelivered += batch.records.length;
      }
      if (batch.isAtShardEnd) {
        if (!(await this.prepareShardEnd(batch.childShards))) return;
        checkpointer.markShardEnd();
        this.setReason('SHARD_END');
        return;
      }
    }
  }

  /**
   * Child leases must exist before SHARD_END is written, or children could be lost. Retried with backoff until it
   * works (e.g. a merge child waiting for its other parent's lease) or the consumer stops; each failure is logged.
   */
  private async prepareShardEnd(childShards: ChildShardInfo[] | undefined): Promise<boolean> {
    for (let attempt = 0; !this.stopping(); attempt++) {
      try {
        await this.o.hooks.onShardEnd(childShards);
        return true;
      } catch (error) {
        const delay = backoffDelay(attempt, { baseMillis: this.o.retryBaseMillis ?? 200, maxMillis: this.o.retryMaxMillis ?? 30_000 });
        this.o.logger.warn({ err: error, attempt, delay }, 'shard-end bookkeeping failed (child leases); retrying');
        await this.pause(delay);
      }
    }
    return false;
  }

  private async shutdown(reason: ShutdownReason): Promise<void> {
    const base = { shardId: this.o.shardId, streamName: this.o.streamName };
    const checkpointer = this.checkpointer;
    if (reason === 'LEASE_LOST') {
      if (checkpointer) await this.callOnce('leaseLost', () => this.o.processor.leaseLost(base));
      return;
    }
    if (!checkpointer) return;
    if (reason === 'SHARD_END') {
      // The processor must checkpoint SHARD_END here; if it does not, that is an error and we ask again.
      await this.callWithRetry('shardEnded', async () => {
        await this.o.processor.shardEnded({ ...base, checkpointer });
        if (!checkpointer.lastCheckpointValue.isShardEnd) {
          throw new InvalidStateError(
            `Processor of ${this.o.shardId} did not checkpoint in shardEnded(); call checkpointer.checkpoint() there so children can start`,
          );
        }
      }, { noSkip: true });
      return;
    }
    if (this.o.processor.shutdownRequested) {
      await this.callOnce('shutdownRequested', () => this.o.processor.shutdownRequested!({ ...base, checkpointer }));
    }
  }

  /**
   * Calls the processor, applying `onProcessingError`. Resolves `true` when the call succeeded or was
   * skipped, `false` when the consumer is stopping (lease lost, shutdown) or released the shard.
   */
  private async callWithRetry(phase: ProcessorPhase, call: () => unknown, opts: { noSkip?: boolean } = {}): Promise<boolean> {
    for (let attempt = 0; ; attempt++) {
      if (this.controller.signal.aborted) return false;
      if (phase === 'processRecords' && this.o.hooks.leaseHeld !== undefined && !(await this.o.hooks.leaseHeld())) {
        // Not renewed in time (own clock): another worker may take the shard any moment — no batch goes out.
        this.leaseLost();
        return false;
      }
      if (this.controller.signal.aborted) return false; // stopped while it waited for a late renewal
      try {
        await call();
        return true;
      } catch (error) {
        if (this.controller.signal.aborted) return false;
        this.o.hooks.onProcessingError(error, { phase, attempt });
        const policy = opts.noSkip && this.o.onProcessingError === 'skip' ? 'retry' : this.o.onProcessingError;
        if (policy === 'skip' && phase === 'processRecords') {
          this.o.logger.warn({ err: error, phase }, 'processor failed; skipping the batch (onProcessingError: skip)');
          return true;
        }
        if (policy === 'release') {
          this.o.logger.warn({ err: error, phase }, 'processor failed; releasing the shard (onProcessingError: release)');
          this.releaseLease = true;
          this.setReason('LEASE_LOST');
          return false;
        }
        const delay = backoffDelay(attempt, { baseMillis: this.o.retryBaseMillis ?? 200, maxMillis: this.o.retryMaxMillis ?? 30_000 });
        // The first failure may be transient (warn); a repeated one needs a person (error), with the count and shard.
        const attempts = attempt + 1;
        const line = { err: error, phase, attempts, shardId: this.o.shardId, delay };
        if (attempts === 1) this.o.logger.warn(line, `processor ${phase} failed on ${this.o.shardId}; retrying in ${delay} ms`);
        else this.o.logger.error(line, `processor ${phase} failed ${attempts} times in a row on ${this.o.shardId}; retrying in ${delay} ms`);
        // A graceful shutdown request does not interrupt redelivery: the batch is not checkpointed yet.
        try {
          await this.o.clock.sleep(delay, this.controller.signal);
        } catch {
          return false;
        }
      }
    }
  }

  private async callOnce(phase: ProcessorPhase, call: () => Promise<void> | void): Promise<void> {
    try {
      await call();
    } catch (error) {
      this.o.hooks.onProcessingError(error, { phase, attempt: 0 });
      this.o.logger.warn({ err: error, phase }, `processor ${phase} failed`);
    }
  }

  private wakeOrAbort(): AbortSignal {
    return AbortSignal.any([this.controller.signal, this.wake.signal]);
  }

  private async pause(ms: number): Promise<void> {
    try {
      await this.o.clock.sleep(ms, this.wakeOrAbort());
    } catch {
      // woken by shutdown or lease loss
    }
  }
}
