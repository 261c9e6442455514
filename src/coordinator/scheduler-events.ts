import type { LeaseLossReason } from '../leases/lease-renewer.js';
import type { LeaseTask } from '../leases/lease-coordinator.js';
import type { ProcessorPhase, ShutdownReason } from '../lifecycle/shard-consumer.js';

/**
 * The background work a `taskError` names: lease renewal and taking, shard sync, finished-lease cleanup, stream
 * tracking (multi-stream), and releasing a lease whose stream was removed.
 */
export type SchedulerTask = LeaseTask | 'shard-sync' | 'lease-cleanup' | 'stream-tracker' | 'release' | 'processorFactory';

/**
 * Typed events of the `Scheduler` (`scheduler.on('leaseAcquired', (e) => ...)`). A listener that throws (or
 * returns a rejected promise) is logged and otherwise ignored: the worker's own state change happens before the
 * event, whatever the listener does; an `error` listener is optional (unlike a plain EventEmitter, ts-kcl never emits a bare `error`).
 * Listeners run synchronously inside the worker: keep them short (log, count, enqueue).
 *
 * @example Who holds what
 * ```ts
 * scheduler.on('leaseAcquired', ({ shardId, stolen }) => log.info({ shardId, stolen }, 'now processing'));
 * scheduler.on('leaseStolen', ({ shardId, from }) => log.info({ shardId, from }, 'took over from a busier worker'));
 * scheduler.on('leaseLost', ({ shardId, reason }) => log.warn({ shardId, reason }, 'stopped processing'));
 * ```
 * @example Alert on processor failures and background errors
 * ```ts
 * scheduler.on('processingError', ({ shardId, phase, attempt, error }) => {
 *   if (attempt >= 3) alert(`processor of ${shardId} failed ${attempt + 1} times in ${phase}`, error);
 * });
 * scheduler.on('taskError', ({ task, error }) => log.warn({ task, err: error }, 'retrying next round'));
 * ```
 * @example Stop the process when the worker stops
 * ```ts
 * scheduler.on('shutdown', ({ graceful }) => process.exit(graceful ? 0 : 1));
 * ```
 */
export interface SchedulerEvents {
  /** `start()` finished: table ready, first shard sync and first taker round done. */
  initialized: [{ workerId: string }];
  /** This worker took a lease (`stolen`: from another live worker, to balance); its shard consumer starts now. */
  leaseAcquired: [{ leaseKey: string; shardId: string; stolen: boolean }];
  /**
   * This worker stole a lease from a busier live worker (`from`; `undefined` if it could not be told): always
   * right after the same lease's `leaseAcquired` with `stolen: true`. The victim sees `leaseLost` (or a handoff).
   */
  leaseStolen: [{ leaseKey: string; shardId: string; from: string | undefined }];
  /**
   * A held lease stopped being ours and its shard consumer is stopped (the processor gets `leaseLost`).
   * `reason`: `renewal-conflict` (another worker took it), `expired-locally` (renewals failed for
   * `failoverTimeMillis`), `checkpoint-conflict` (a checkpoint found it taken), `released` (we gave it back), `handed-off` (a graceful
   * handoff to the worker that stole it completed).
   */
  leaseLost: [{ leaseKey: string; shardId: string; reason: LeaseLossReason }];
  /** A shard consumer finished (`reason` SHARD_END means the shard was fully processed). */
  shardConsumerStopped: [{ leaseKey: string; shardId: string; reason: ShutdownReason; recordsDelivered: number }];
  /** The shard was read to its end (split or merge); children's leases exist; the processor's `shardEnded` follows. */
  shardEnded: [{ leaseKey: string; shardId: string; childShardIds: string[] }];
  /**
   * The processor threw; what happens next follows `onProcessingError`. `attempt` counts from 0, `attempts` from 1
   * (consecutive failures of this call, as in the log line: the first is logged at `warn`, the next ones at `error`).
   * Also counted in the `ProcessingErrors` metric and gauged in `ConsecutiveProcessingFailures` (`ProcessTask`, `ShardId`).
   */
  processingError: [{ shardId: string; phase: ProcessorPhase | 'processorFactory'; attempt: number; attempts: number; error: unknown }];
  /** A background task (renewal, taking, shard sync) failed; it is retried on its next round. */
  taskError: [{ task: SchedulerTask; error: unknown }];
  /** The worker stopped (`shutdown()` or `startGracefulShutdown()` finished); metrics were flushed. */
  shutdown: [{ graceful: boolean }];
  /** This worker started a graceful handoff of a busier worker's lease toward itself (a steal). */
  handoffStarted: [{ leaseKey: string; shardId: string; from: string | undefined }];
  /** Another worker asked for one of our leases: its processor gets `shutdownRequested`, then it is handed over. */
  handoffRequested: [{ leaseKey: string; shardId: string; to: string }];
  /** We handed a lease over (`written: false` when the table write failed; the new owner then waits for expiry). */
  handoffCompleted: [{ leaseKey: string; shardId: string; written: boolean }];
  /**
   * `processing`: a record (or, for a batch processor, `records` records starting at this position) failed and is
   * tried again after `delayMillis`; `attempt` is the try that failed (1 = the first).
   */
  recordRetried: [{ shardId: string; streamName: string; sequenceNumber: string; subSequenceNumber: number; records: number; attempt: number; delayMillis: number; error: unknown }];
  /** `processing.deadLetter`: a record was handed to the dead-letter destination and counts as done. */
  recordDeadLettered: [{ shardId: string; streamName: string; sequenceNumber: string; subSequenceNumber: number; partitionKey: string; attempts: number; reason: 'maxAttempts' | 'expired'; error: unknown }];
  /** `processing.maxRecordAgeMillis`: a record was older than the limit before a try; it is dead-lettered next. */
  recordExpired: [{ shardId: string; streamName: string; sequenceNumber: string; subSequenceNumber: number; ageMillis: number }];
  /** `recordHandler`: the library checkpointed the shard's low-water mark (or SHARD_END). */
  processingCheckpointed: [{ shardId: string; streamName: string; sequenceNumber: string; subSequenceNumber: number }];
}
