/**
 * Lease ⇄ DynamoDB item, attribute for attribute as Java KCL 2.x/3.x writes it (SPEC §2):
 * `leaseKey` S, `leaseOwner` S (absent when unowned), `leaseCounter` N, `ownerSwitchesSinceCheckpoint` N,
 * `checkpoint` S, `checkpointSubSequenceNumber` N, `pendingCheckpoint` S / `pendingCheckpointSubSequenceNumber` N /
 * `pendingCheckpointState` B (only when set), `parentShardId` / `childShardIds` SS (omitted when empty: DynamoDB
 * rejects empty sets), `startingHashKey` / `endingHashKey` S (decimal), `checkpointOwner` S, `throughputKBps` N,
 * `streamName` / `shardId` S (multi-stream).
 */
import type { AttributeMap, AttributeValue } from '../aws/dynamodb-api.js';
import { IllegalArgumentError, MalformedLeaseError } from '../errors.js';
import type { Lease, StoredCheckpoint } from './lease.js';
import type { ListLeasesResult } from './lease-store.js';

/** Attribute names of the lease table (Java KCL's `DynamoDBLeaseSerializer` constants). */
export const A = {
  leaseKey: 'leaseKey',
  leaseOwner: 'leaseOwner',
  leaseCounter: 'leaseCounter',
  ownerSwitchesSinceCheckpoint: 'ownerSwitchesSinceCheckpoint',
  checkpoint: 'checkpoint',
  checkpointSubSequenceNumber: 'checkpointSubSequenceNumber',
  pendingCheckpoint: 'pendingCheckpoint',
  pendingCheckpointSubSequenceNumber: 'pendingCheckpointSubSequenceNumber',
  pendingCheckpointState: 'pendingCheckpointState',
  parentShardId: 'parentShardId',
  childShardIds: 'childShardIds',
  startingHashKey: 'startingHashKey',
  endingHashKey: 'endingHashKey',
  checkpointOwner: 'checkpointOwner',
  throughputKBps: 'throughputKBps',
  streamName: 'streamName',
  shardId: 'shardId',
  entityType: 'entityType',
} as const;

/** Every attribute the serializer reads or writes; anything else in an item is left alone. */
export const LEASE_ATTRIBUTES: ReadonlySet<string> = new Set(Object.values(A));

/** KCL 3.x `entityType` of lease items; items without `entityType` are leases too (2.x). */
export const LEASE_ENTITY_TYPE = 'LEASE';

// ---------------------------------------------------------------------------------------------------------------
// Attribute-value builders (also used for expression values by the store)

export function s(value: string): AttributeValue {
  return { S: value };
}

/** An integer as DynamoDB N. */
export function n(value: number): AttributeValue {
  return { N: formatInteger(value) };
}

/** A string set; callers must not pass an empty set (DynamoDB rejects it). Duplicates are dropped, order sorted. */
export function ss(values: readonly string[]): AttributeValue {
  return { SS: [...new Set(values)].sort() };
}

export function b(value: Uint8Array): AttributeValue {
  return { B: new Uint8Array(value) };
}

function formatInteger(value: number): string {
  if (!Number.isSafeInteger(value)) throw new IllegalArgumentError(`not a safe integer: ${value}`);
  return String(value);
}

/** `throughputKBps` as Java 3.x writes it: a decimal with at most 6 fraction digits. */
export function formatThroughput(value: number): AttributeValue {
  if (!Number.isFinite(value) || value < 0) throw new IllegalArgumentError(`throughputKBps must be finite and ≥ 0, got ${value}`);
  const fixed = value.toFixed(6).replace(/\.?0+$/, '');
  return { N: fixed === '' ? '0' : fixed };
}

const DECIMAL = /^\d+$/;

/** Validates a lease before it is written: rejects what DynamoDB or Java KCL could not read back. */
export function validateLease(lease: Lease): void {
  if (typeof lease.leaseKey !== 'string' || lease.leaseKey.length === 0) throw new IllegalArgumentError('leaseKey must be a non-empty string');
  if (!Number.isSafeInteger(lease.leaseCounter) || lease.leaseCounter < 0) {
    throw new IllegalArgumentError(`lease ${lease.leaseKey}: leaseCounter must be an integer ≥ 0, got ${lease.leaseCounter}`);
  }
  if (lease.hashKeyRange !== undefined) {
    const { startingHashKey, endingHashKey } = lease.hashKeyRange;
    if (!DECIMAL.test(startingHashKey) || !DECIMAL.test(endingHashKey)) {
      throw new IllegalArgumentError(`lease ${lease.leaseKey}: hash keys must be decimal strings`);
    }
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Writing

/** The full item Java KCL would write for `lease` (never the create-path quirk: the state is always B). */
export function toItem(lease: Lease): AttributeMap {
  validateLease(lease);
  const item: AttributeMap = {
    [A.leaseKey]: s(lease.leaseKey),
  };
  if (lease.leaseOwner !== undefined) item[A.leaseOwner] = s(lease.leaseOwner);
  item[A.leaseCounter] = n(lease.leaseCounter);
  item[A.ownerSwitchesSinceCheckpoint] = n(lease.ownerSwitchesSinceCheckpoint);
  item[A.checkpoint] = s(lease.checkpoint.sequenceNumber);
  item[A.checkpointSubSequenceNumber] = n(lease.checkpoint.subSequenceNumber);
  if (lease.pendingCheckpoint !== undefined) {
    item[A.pendingCheckpoint] = s(lease.pendingCheckpoint.sequenceNumber);
    item[A.pendingCheckpointSubSequenceNumber] = n(lease.pendingCheckpoint.subSequenceNumber);
  }
  if (lease.pendingCheckpointState !== undefined) item[A.pendingCheckpointState] = b(lease.pendingCheckpointState);
  if (lease.parentShardIds.length > 0) item[A.parentShardId] = ss(lease.parentShardIds);
  if (lease.childShardIds.length > 0) item[A.childShardIds] = ss(lease.childShardIds);
  if (lease.hashKeyRange !== undefined) {
    item[A.startingHashKey] = s(lease.hashKeyRange.startingHashKey);
    item[A.endingHashKey] = s(lease.hashKeyRange.endingHashKey);
  }
  if (lease.checkpointOwner !== undefined) item[A.checkpointOwner] = s(lease.checkpointOwner);
  if (lease.throughputKBps !== undefined) item[A.throughputKBps] = formatThroughput(lease.throughputKBps);
  if (lease.streamName !== undefined) item[A.streamName] = s(lease.streamName);
  if (lease.shardId !== undefined) item[A.shardId] = s(lease.shardId);
  return item;
}

/** The primary key of a lease item. */
export function keyOf(leaseKey: string): AttributeMap {
  return { [A.leaseKey]: s(leaseKey) };
}

// ---------------------------------------------------------------------------------------------------------------
// Reading

/** The item's `leaseKey` if it is a string, else a placeholder for error messages. */
export function leaseKeyOf(item: AttributeMap): string {
  const v = item[A.leaseKey];
  return v !== undefined && typeof v.S === 'string' ? v.S : '(no leaseKey)';
}

/** Whether the item is a lease: no `entityType` (2.x) or `entityType` = `LEASE` (3.x single-table entities). */
export function isLeaseItem(item: AttributeMap): boolean {
  const type = item[A.entityType];
  if (type === undefined) return true;
  return type.S === LEASE_ENTITY_TYPE;
}

class Reader {
  constructor(
    private readonly item: AttributeMap,
    readonly leaseKey: string,
  ) {}

  private fail(attribute: string, message: string): never {
    throw new MalformedLeaseError(this.leaseKey, attribute, message);
  }

  private typeOf(v: AttributeValue): string {
    return Object.keys(v).find((k) => (v as unknown as Record<string, unknown>)[k] !== undefined) ?? 'nothing';
  }

  string(attribute: string): string | undefined {
    const v = this.item[attribute];
    if (v === undefined) return undefined;
    if (typeof v.S !== 'string') this.fail(attribute, `must be of type S, found ${this.typeOf(v)}`);
    return v.S;
  }

  requiredString(attribute: string): string {
    return this.string(attribute) ?? this.fail(attribute, 'is missing');
  }

  integer(attribute: string): number | undefined {
    const v = this.item[attribute];
    if (v === undefined) return undefined;
    if (typeof v.N !== 'string') this.fail(attribute, `must be of type N, found ${this.typeOf(v)}`);
    const text = v.N.trim();
    const value = Number(text);
    if (!/^-?\d+(\.0*)?$/.test(text) || !Number.isSafeInteger(value)) this.fail(attribute, `must be an integer, found "${v.N}"`);
    return value;
  }

  requiredInteger(attribute: string): number {
    return this.integer(attribute) ?? this.fail(attribute, 'is missing');
  }

  decimal(attribute: string): number | undefined {
    const v = this.item[attribute];
    if (v === undefined) return undefined;
    if (typeof v.N !== 'string') this.fail(attribute, `must be of type N, found ${this.typeOf(v)}`);
    const value = Number(v.N);
    if (v.N.trim() === '' || !Number.isFinite(value)) this.fail(attribute, `must be a number, found "${v.N}"`);
    return value;
  }

  stringSet(attribute: string): string[] {
    const v = this.item[attribute];
    if (v === undefined) return [];
    if (!Array.isArray(v.SS)) this.fail(attribute, `must be of type SS, found ${this.typeOf(v)}`);
    return [...v.SS].sort();
  }

  decimalString(attribute: string): string | undefined {
    const value = this.string(attribute);
    if (value !== undefined && !DECIMAL.test(value)) this.fail(attribute, `must be a decimal string, found "${value}"`);
    return value;
  }

  /** `pendingCheckpointState`: B; N (Java's create-path quirk) reads as absent; anything else is malformed. */
  pendingState(attribute: string): Uint8Array | undefined {
    const v = this.item[attribute];
    if (v === undefined) return undefined;
    if (v.B instanceof Uint8Array) return new Uint8Array(v.B);
    if (typeof v.N === 'string') return undefined;
    return this.fail(attribute, `must be of type B, found ${this.typeOf(v)}`);
  }
}

/**
 * Reads a lease item. Returns undefined for items that are not leases (KCL 3.x `entityType` other than
 * `LEASE`, e.g. the `Leader` entity); throws `MalformedLeaseError` naming the lease and the attribute when a
 * lease item cannot be read (missing `leaseCounter` or `checkpoint`, wrong attribute type, non-numeric N).
 * Lenient where Java is: missing `ownerSwitchesSinceCheckpoint` / sub-sequence numbers read as 0, a half hash
 * range is ignored, and `pendingCheckpointState` stored as N (Java's create-path quirk) reads as absent.
 */
export function fromItem(item: AttributeMap): Lease | undefined {
  if (!isLeaseItem(item)) return undefined;
  const leaseKey = leaseKeyOf(item);
  const r = new Reader(item, leaseKey);
  r.requiredString(A.leaseKey);
  const leaseCounter = r.requiredInteger(A.leaseCounter);
  if (leaseCounter < 0) throw new MalformedLeaseError(leaseKey, A.leaseCounter, `must be ≥ 0, found ${leaseCounter}`);
  const checkpoint: StoredCheckpoint = {
    sequenceNumber: r.requiredString(A.checkpoint),
    subSequenceNumber: r.integer(A.checkpointSubSequenceNumber) ?? 0,
  };
  const pendingSequence = r.string(A.pendingCheckpoint);
  const pendingSub = r.integer(A.pendingCheckpointSubSequenceNumber);
  const pendingCheckpoint =
    pendingSequence !== undefined && pendingSequence !== '' ? { sequenceNumber: pendingSequence, subSequenceNumber: pendingSub ?? 0 } : undefined;
  const startingHashKey = r.decimalString(A.startingHashKey);
  const endingHashKey = r.decimalString(A.endingHashKey);

  const lease: Lease = {
    leaseKey,
    leaseOwner: r.string(A.leaseOwner),
    leaseCounter,
    checkpoint,
    pendingCheckpoint,
    pendingCheckpointState: r.pendingState(A.pendingCheckpointState),
    ownerSwitchesSinceCheckpoint: r.integer(A.ownerSwitchesSinceCheckpoint) ?? 0,
    parentShardIds: r.stringSet(A.parentShardId),
    childShardIds: r.stringSet(A.childShardIds),
    hashKeyRange: startingHashKey !== undefined && endingHashKey !== undefined ? { startingHashKey, endingHashKey } : undefined,
    checkpointOwner: r.string(A.checkpointOwner),
    throughputKBps: r.decimal(A.throughputKBps),
    streamName: r.string(A.streamName),
    shardId: r.string(A.shardId),
  };
  // Keep the object free of explicitly-undefined optional members: deepEqual-friendly and cheap to clone.
  for (const key of Object.keys(lease) as (keyof Lease)[]) {
    if (lease[key] === undefined) delete lease[key];
  }
  return lease;
}

/** Reads scanned items into a listing: leases, malformed items reported (never thrown), other entities counted. */
export function readLeaseItems(items: Iterable<AttributeMap>): ListLeasesResult {
  const result: ListLeasesResult = { leases: [], malformed: [], skipped: 0 };
  for (const item of items) {
    try {
      const lease = fromItem(item);
      if (lease === undefined) result.skipped++;
      else result.leases.push(lease);
    } catch (error) {
      if (!(error instanceof MalformedLeaseError)) throw error;
      result.malformed.push(error);
    }
  }
  return result;
}
