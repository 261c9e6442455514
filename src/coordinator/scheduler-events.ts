import type { LeaseLossReason } from '../leases/lease-renewer.js';
import type { ShutdownReason } from '../lifecycle/shard-consumer.js';

/**
 * Typed events of the `Scheduler` (`scheduler.on('leaseAcquired', (e) => ...)`). Listeners must not
 * throw; an `error` listener is optional (unlike a plain EventEmitter, ts-kcl never emits a bare `error`).
 */
export interface SchedulerEvents {
  /** `start()` finished: table ready, first shard sync and first taker round done. */
  initialized: [{ workerId: string }];
  leaseAcquired: [{ leaseKey: string; shardId: string; stolen: boolean }];
  leaseLost: [{ leaseKey: string; shardId: string; reason: LeaseLossReason }];
  /** A shard consumer finished (`reason` SHARD_END means the shard was fully processed). */
  shardConsumerStopped: [{ leaseKey: string; shardId: string; reason: ShutdownReason; recordsDelivered: number }];
  shardEnded: [{ leaseKey: string; shardId: string; childShardIds: string[] }];
  /** The processor threw; what happens next follows `onProcessingError`. */
  processingError: [{ shardId: string; phase: string; attempt: number; error: unknown }];
  /** A background task (renewal, taking, shard sync) failed; it is retried on its next round. */
  taskError: [{ task: string; error: unknown }];
  shutdown: [{ graceful: boolean }];
  /** This worker started a graceful handoff of a busier worker's lease toward itself (a steal). */
  handoffStarted: [{ leaseKey: string; shardId: string; from: string | undefined }];
  /** Another worker asked for one of our leases: its processor gets `shutdownRequested`, then it is handed over. */
  handoffRequested: [{ leaseKey: string; shardId: string; to: string }];
  /** We handed a lease over (`written: false` when the table write failed; the new owner then waits for expiry). */
  handoffCompleted: [{ leaseKey: string; shardId: string; written: boolean }];
}
