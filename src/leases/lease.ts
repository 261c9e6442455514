/**
 * The lease model: one item of the lease table (SPEC §2), as Java KCL 2.x/3.x writes it.
 * Checkpoints are kept as plain strings here; ordering and sentinels live in `checkpoint/`.
 */

/** A stored checkpoint: a sequence number or a sentinel (`TRIM_HORIZON`, `LATEST`, `AT_TIMESTAMP`, `SHARD_END`). */
export interface StoredCheckpoint {
  sequenceNumber: string;
  subSequenceNumber: number;
}

/** Inclusive hash-key range of a shard, as decimal strings (0 … 2^128−1). */
export interface HashKeyRange {
  startingHashKey: string;
  endingHashKey: string;
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
  if (lease.shardId !== undefined) return lease.shardId;
  const i = lease.leaseKey.lastIndexOf(':');
  return i < 0 ? lease.leaseKey : lease.leaseKey.slice(i + 1);
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
