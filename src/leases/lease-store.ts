import type { MalformedLeaseError } from '../errors.js';
import type { HashKeyRange } from '../shards/hash-key-range.js';
import type { Lease, StoredCheckpoint } from './lease.js';

/**
 * Outcome of a conditional write. A lost race is an ordinary result to branch on, not an exception:
 * `conflict` — the condition did not hold (counter moved, owner changed); `missing` — no such lease.
 * Infrastructure failures (throttling, network) still throw typed `KclError`s.
 */
export type LeaseWriteResult = { ok: true; lease: Lease } | { ok: false; reason: 'conflict' | 'missing' };

export interface ListLeasesResult {
  leases: Lease[];
  /** Items that look like leases but cannot be read; reported, never fatal. */
  malformed: MalformedLeaseError[];
  /** Items of other entity types (KCL 3.x `Leader`, worker metrics...), skipped. */
  skipped: number;
}

export interface CheckpointUpdate {
  checkpoint: StoredCheckpoint;
  /** `null` clears a pending checkpoint; undefined leaves it as is. */
  pendingCheckpoint?: StoredCheckpoint | null;
  /** `null` clears; undefined leaves it. */
  pendingCheckpointState?: Uint8Array | null;
}

export interface LeaseTableOptions {
  billingMode: 'PAY_PER_REQUEST' | 'PROVISIONED';
  readCapacity: number;
  writeCapacity: number;
  /** How long to wait for the table to become ACTIVE. */
  activeTimeoutMillis: number;
}

/**
 * The lease table. Every write that touches ownership or checkpoint is conditional; each returns the
 * lease as stored after the write so callers never guess the new counter.
 */
/** Per-call options of a lease write. */
export interface CallOptions {
  /** The call's own deadline (a store with deadlines uses it instead of its item deadline). */
  timeoutMillis?: number;
}

/** What a renewal may carry besides the counter bump. */
export interface RenewOptions extends CallOptions {
  /** Java KCL 3.x's throughput attribute (written when given). */
  throughputKBps?: number;
}

export interface LeaseStore {
  /** Creates the table if missing and waits until ACTIVE. Resolves `true` when this call created it. */
  createTableIfNotExists(options: LeaseTableOptions): Promise<boolean>;
  /** Fails with a clear error when the table exists with a key schema other than `leaseKey` (S). */
  tableExists(): Promise<boolean>;
  /** Conditional put (`leaseKey` must not exist). `false` when another writer created it first. */
  createLeaseIfNotExists(lease: Lease): Promise<boolean>;
  getLease(leaseKey: string, options?: { consistentRead?: boolean }): Promise<Lease | undefined>;
  /** Paginated scan of every lease. */
  listLeases(): Promise<ListLeasesResult>;
  /** Heartbeat: counter+1 if the counter is still `lease.leaseCounter` (and the owner still `lease.leaseOwner`). */
  renewLease(lease: Lease, update?: RenewOptions): Promise<LeaseWriteResult>;
  /** Takes ownership: owner=`newOwner`, counter+1, ownerSwitches+1 when the owner changes, clears `checkpointOwner`. Conditional on counter. */
  takeLease(lease: Lease, newOwner: string): Promise<LeaseWriteResult>;
  /** Releases: removes the owner and bumps the counter, if `lease.leaseOwner` still owns it. */
  evictLease(lease: Lease): Promise<LeaseWriteResult>;
  /** Writes a checkpoint (counter+1, ownerSwitches=0), conditional on counter and owner. */
  updateCheckpoint(lease: Lease, update: CheckpointUpdate, options?: CallOptions): Promise<LeaseWriteResult>;
  /** Writes shard metadata (children, hash range) without bumping the counter; conditional on existence. */
  updateMetaInfo(leaseKey: string, meta: { childShardIds?: string[]; hashKeyRange?: HashKeyRange }): Promise<LeaseWriteResult>;
  /** Unconditional delete (Java KCL's cleanup). */
  deleteLease(leaseKey: string): Promise<void>;
  /** Graceful handoff, step 1: owner=`newOwner`, checkpointOwner=old owner, if old still owns it and no handoff runs. No counter bump. */
  startHandoff(lease: Lease, newOwner: string): Promise<LeaseWriteResult>;
  /** Graceful handoff, step 2 (by the old owner or on timeout): removes `checkpointOwner`, counter+1. Conditional on counter and checkpointOwner. */
  finishHandoff(lease: Lease): Promise<LeaseWriteResult>;
}
