import type { HashKeyRange } from '../shards/hash-key-range.js';
import { parseLeaseKey } from './lease-key.js';

/**
 * The lease model: one item of the lease table (SPEC §2), as Java KCL 2.x/3.x writes it.
 * Checkpoints are kept as plain strings here; ordering and sentinels live in `checkpoint/`.
 */

/** A stored checkpoint: a sequence number or a sentinel (`TRIM_HORIZON`, `LATEST`, `AT_TIMESTAMP`, `SHARD_END`). */
export interface StoredCheckpoint {
  sequenceNumber: string;
  subSequenceNumber: number;
}

export interface Lease {
  /** shardId, or `account:stream:creationEpoch:shardId` for multi-stream applications. */
  leaseKey: string;
  /** Worker holding the lease; undefined when unowned. */
  leaseOwner?: string | undefined;
  /** Bumped by every renew, take and checkpoint; the optimistic lock and the heartbeat. */
  leaseCounter: number;
  checkpoint: StoredCheckpoint;
  pendingCheckpoint?: StoredCheckpoint | undefined;
  /** Application state of a two-phase checkpoint. */
  pendingCheckpointState?: Uint8Array | undefined;
  ownerSwitchesSinceCheckpoint: number;
  /** Stored as the string set `parentShardId` (two entries for a merge child). */
  parentShardIds: string[];
  childShardIds: string[];
  hashKeyRange?: HashKeyRange | undefined;
  /** Present only during a graceful handoff: the previous owner, who still has to checkpoint (KCL 3.x). */
  checkpointOwner?: string | undefined;
  /** Recent throughput in KB/s written on renewal (KCL 3.x). */
  throughputKBps?: number | undefined;
  /** Multi-stream only: serialized stream identifier `account:stream:creationEpoch`. */
  streamName?: string | undefined;
  /** Multi-stream only. */
  shardId?: string | undefined;
}

/** The shard id a lease stands for, in single- and multi-stream tables alike. */
export function shardIdOf(lease: Pick<Lease, 'leaseKey' | 'shardId'>): string {
  return lease.shardId ?? parseLeaseKey(lease.leaseKey).shardId;
}

/** The checkpoint of a shard processed to its end (Java KCL's `SHARD_END` sentinel). */
export const SHARD_END_CHECKPOINT = 'SHARD_END';

/** Whether the lease's shard was processed to its end: its children may start, and the lease may be cleaned up. */
export function isFinished(lease: Pick<Lease, 'checkpoint'>): boolean {
  return lease.checkpoint.sequenceNumber === SHARD_END_CHECKPOINT;
}

/** Whether processing of the lease's shard has begun (its checkpoint moved past TRIM_HORIZON / AT_TIMESTAMP). */
export function hasStarted(lease: Pick<Lease, 'checkpoint'>): boolean {
  const cp = lease.checkpoint.sequenceNumber;
  return cp !== 'TRIM_HORIZON' && cp !== 'AT_TIMESTAMP';
}

/** A copy that can be mutated without touching the original (arrays and bytes included). */
export function cloneLease(lease: Lease): Lease {
  return {
    ...lease,
    checkpoint: { ...lease.checkpoint },
    pendingCheckpoint: lease.pendingCheckpoint ? { ...lease.pendingCheckpoint } : undefined,
    pendingCheckpointState: lease.pendingCheckpointState ? new Uint8Array(lease.pendingCheckpointState) : undefined,
    parentShardIds: [...lease.parentShardIds],
    childShardIds: [...lease.childShardIds],
    hashKeyRange: lease.hashKeyRange ? { ...lease.hashKeyRange } : undefined,
  };
}
