import type { AttributeMap, AttributeValue } from '../aws/dynamodb-api.js';
import { IllegalArgumentError, InvalidStateError, MalformedLeaseError, ResourceNotFoundError } from '../errors.js';
import type { HashKeyRange } from '../shards/hash-key-range.js';
import type { Lease } from './lease.js';
import { A, b, formatThroughput, fromItem, n, readLeaseItems, s, ss, toItem } from './lease-serializer.js';
import type { CallOptions, CheckpointUpdate, LeaseStore, LeaseTableOptions, LeaseWriteResult, ListLeasesResult, RenewOptions } from './lease-store.js';

/** Names of the `LeaseStore` operations, for fault injection and call counting. */
export type LeaseStoreOperation = {
  [K in keyof LeaseStore]: LeaseStore[K] extends (...args: never[]) => unknown ? K : never;
}[keyof LeaseStore];

export interface InMemoryLeaseStoreOptions {
  /** Whether the table exists from the start (default true: ready for unit tests without createTableIfNotExists). */
  tableExists?: boolean;
}

/** A key attribute of the simulated table (for testing the wrong-key-schema check). */
export interface KeyAttribute {
  attributeName: string;
  keyType: 'HASH' | 'RANGE';
  attributeType: 'S' | 'N' | 'B';
}

type Condition = { eq: [string, AttributeValue] } | { exists: string } | { notExists: string };

interface Update {
  set?: AttributeMap;
  remove?: string[];
  add?: Record<string, number>;
}

const LEASE_KEY_SCHEMA: KeyAttribute[] = [{ attributeName: A.leaseKey, keyType: 'HASH', attributeType: 'S' }];

function cloneValue(v: AttributeValue): AttributeValue {
  if (v.B instanceof Uint8Array) return { B: new Uint8Array(v.B) };
  if (v.SS) return { SS: [...v.SS] };
  if (v.NS) return { NS: [...v.NS] };
  return structuredClone(v);
}

function cloneItem(item: AttributeMap): AttributeMap {
  const copy: AttributeMap = {};
  for (const [k, v] of Object.entries(item)) copy[k] = cloneValue(v);
  return copy;
}

/** DynamoDB equality on scalar values (numbers compared numerically, bytes byte-wise). */
function valueEquals(a: AttributeValue | undefined, b: AttributeValue): boolean {
  if (a === undefined) return false;
  if (b.S !== undefined) return a.S === b.S;
  if (b.N !== undefined) return a.N !== undefined && Number(a.N) === Number(b.N);
  if (b.B !== undefined) return a.B instanceof Uint8Array && Buffer.from(a.B).equals(Buffer.from(b.B));
  return false;
}

/**
 * `LeaseStore` in memory with the DynamoDB store's exact semantics (the same conformance suite runs over both),
 * for unit tests. It keeps items in the DynamoDB attribute form produced by the lease serializer, evaluates the
 * same conditions on them and applies the same SET/REMOVE/ADD updates; callers only ever get fresh copies.
 *
 * Test hooks: {@link failNext} makes the next call of an operation reject, {@link calls} counts calls, and
 * {@link putRawItem} / {@link getRawItem} give raw item access (fixtures in Java KCL's format).
 */
export class InMemoryLeaseStore implements LeaseStore {
  private readonly items = new Map<string, AttributeMap>();
  private keySchema: KeyAttribute[] | undefined;
  private readonly faults = new Map<LeaseStoreOperation, unknown[]>();
  /** Calls per operation, failed ones included. */
  readonly calls: Partial<Record<LeaseStoreOperation, number>> = {};

  constructor(options: InMemoryLeaseStoreOptions = {}) {
    this.keySchema = options.tableExists === false ? undefined : LEASE_KEY_SCHEMA;
  }

  // -------------------------------------------------------------------------------------------------------------
  // Test hooks

  /** The next call of `operation` rejects with `error` (queue several for several calls). */
  failNext(operation: LeaseStoreOperation, error: unknown): void {
    const queue = this.faults.get(operation) ?? [];
    queue.push(error);
    this.faults.set(operation, queue);
  }

  /** Simulates a table created by someone else with the given key schema (drops all items). */
  createRawTable(keySchema: KeyAttribute[]): void {
    this.keySchema = keySchema.map((k) => ({ ...k }));
    this.items.clear();
  }

  /** Puts an item as is (Java-written fixtures, malformed items), like a raw DynamoDB PutItem. */
  putRawItem(item: AttributeMap): void {
    this.requireTable();
    const key = item[A.leaseKey]?.S;
    if (key === undefined) throw new IllegalArgumentError('raw item needs a leaseKey of type S');
    this.items.set(key, cloneItem(item));
  }

  getRawItem(leaseKey: string): AttributeMap | undefined {
    this.requireTable();
    const item = this.items.get(leaseKey);
    return item === undefined ? undefined : cloneItem(item);
  }

  /** Number of items held (leases and others). */
  get size(): number {
    return this.items.size;
  }

  private async enter(operation: LeaseStoreOperation): Promise<void> {
    this.calls[operation] = (this.calls[operation] ?? 0) + 1;
    // Let other callers interleave as they would around a network call.
    await Promise.resolve();
    const queue = this.faults.get(operation);
    if (queue !== undefined && queue.length > 0) {
      const error = queue.shift();
      throw error;
    }
  }

  private requireTable(): void {
    if (this.keySchema === undefined) throw new ResourceNotFoundError('In-memory lease table does not exist (createTableIfNotExists not called)');
  }

  private checkKeySchema(): void {
    const schema = this.keySchema ?? [];
    const [key, ...rest] = schema;
    if (key === undefined || rest.length > 0 || key.attributeName !== A.leaseKey || key.keyType !== 'HASH' || key.attributeType !== 'S') {
      const found = schema.map((k) => `${k.attributeName} (${k.keyType}, ${k.attributeType})`).join(', ');
      throw new InvalidStateError(
        `In-memory lease table exists but is not a lease table: key schema is [${found || 'none'}], expected [leaseKey (HASH, S)].`,
      );
    }
  }

  // -------------------------------------------------------------------------------------------------------------
  // LeaseStore

  async createTableIfNotExists(_options: LeaseTableOptions): Promise<boolean> {
    await this.enter('createTableIfNotExists');
    if (this.keySchema !== undefined) {
      this.checkKeySchema();
      return false;
    }
    this.keySchema = LEASE_KEY_SCHEMA;
    return true;
  }

  async tableExists(): Promise<boolean> {
    await this.enter('tableExists');
    if (this.keySchema === undefined) return false;
    this.checkKeySchema();
    return true;
  }

  async createLeaseIfNotExists(lease: Lease): Promise<boolean> {
    await this.enter('createLeaseIfNotExists');
    this.requireTable();
    const item = toItem(lease);
    if (this.items.has(lease.leaseKey)) return false;
    this.items.set(lease.leaseKey, item);
    return true;
  }

  async getLease(leaseKey: string, _options?: { consistentRead?: boolean }): Promise<Lease | undefined> {
    await this.enter('getLease');
    this.requireTable();
    const item = this.items.get(leaseKey);
    return item === undefined ? undefined : fromItem(item);
  }

  async listLeases(): Promise<ListLeasesResult> {
    await this.enter('listLeases');
    this.requireTable();
    return readLeaseItems(this.items.values());
  }

  async renewLease(lease: Lease, update: RenewOptions = {}): Promise<LeaseWriteResult> {
    await this.enter('renewLease');
    const conditions: Condition[] = [{ eq: [A.leaseCounter, n(lease.leaseCounter)] }];
    if (lease.leaseOwner !== undefined) conditions.push({ eq: [A.leaseOwner, s(lease.leaseOwner)] });
    const set: AttributeMap = { [A.leaseCounter]: n(lease.leaseCounter + 1) };
    if (update.throughputKBps !== undefined) set[A.throughputKBps] = formatThroughput(update.throughputKBps);
    return this.conditionalUpdate(lease.leaseKey, conditions, { set });
  }

  async takeLease(lease: Lease, newOwner: string): Promise<LeaseWriteResult> {
    await this.enter('takeLease');
    const ownerChanges = lease.leaseOwner !== undefined && lease.leaseOwner !== newOwner;
    return this.conditionalUpdate(lease.leaseKey, [{ eq: [A.leaseCounter, n(lease.leaseCounter)] }], {
      set: { [A.leaseOwner]: s(newOwner), [A.leaseCounter]: n(lease.leaseCounter + 1) },
      remove: [A.checkpointOwner],
      ...(ownerChanges ? { add: { [A.ownerSwitchesSinceCheckpoint]: 1 } } : {}),
    });
  }

  async evictLease(lease: Lease): Promise<LeaseWriteResult> {
    await this.enter('evictLease');
    return this.conditionalUpdate(lease.leaseKey, [{ exists: A.leaseKey }, ownerIs(lease.leaseOwner)], {
      remove: [A.leaseOwner, A.checkpointOwner],
      add: { [A.leaseCounter]: 1 },
    });
  }

  async updateCheckpoint(lease: Lease, update: CheckpointUpdate, _options?: CallOptions): Promise<LeaseWriteResult> {
    await this.enter('updateCheckpoint');
    const set: AttributeMap = {
      [A.checkpoint]: s(update.checkpoint.sequenceNumber),
      [A.checkpointSubSequenceNumber]: n(update.checkpoint.subSequenceNumber),
      [A.ownerSwitchesSinceCheckpoint]: n(0),
      [A.leaseCounter]: n(lease.leaseCounter + 1),
    };
    const remove: string[] = [];
    if (update.pendingCheckpoint === null) {
      remove.push(A.pendingCheckpoint, A.pendingCheckpointSubSequenceNumber);
    } else if (update.pendingCheckpoint !== undefined) {
      set[A.pendingCheckpoint] = s(update.pendingCheckpoint.sequenceNumber);
      set[A.pendingCheckpointSubSequenceNumber] = n(update.pendingCheckpoint.subSequenceNumber);
    }
    if (update.pendingCheckpointState === null) remove.push(A.pendingCheckpointState);
    else if (update.pendingCheckpointState !== undefined) set[A.pendingCheckpointState] = b(update.pendingCheckpointState);
    return this.conditionalUpdate(lease.leaseKey, [{ eq: [A.leaseCounter, n(lease.leaseCounter)] }, ownerIs(lease.leaseOwner)], { set, remove });
  }

  async updateMetaInfo(leaseKey: string, meta: { childShardIds?: string[]; hashKeyRange?: HashKeyRange }): Promise<LeaseWriteResult> {
    await this.enter('updateMetaInfo');
    const set: AttributeMap = {};
    const remove: string[] = [];
    if (meta.childShardIds !== undefined) {
      if (meta.childShardIds.length > 0) set[A.childShardIds] = ss(meta.childShardIds);
      else remove.push(A.childShardIds);
    }
    if (meta.hashKeyRange !== undefined) {
      const { startingHashKey, endingHashKey } = meta.hashKeyRange;
      if (!/^\d+$/.test(startingHashKey) || !/^\d+$/.test(endingHashKey)) throw new IllegalArgumentError(`lease ${leaseKey}: hash keys must be decimal strings`);
      set[A.startingHashKey] = s(startingHashKey);
      set[A.endingHashKey] = s(endingHashKey);
    }
    return this.conditionalUpdate(leaseKey, [{ exists: A.leaseKey }], { set, remove });
  }

  async deleteLease(leaseKey: string): Promise<void> {
    await this.enter('deleteLease');
    this.requireTable();
    this.items.delete(leaseKey);
  }

  async startHandoff(lease: Lease, newOwner: string): Promise<LeaseWriteResult> {
    await this.enter('startHandoff');
    if (lease.leaseOwner === undefined) throw new IllegalArgumentError(`lease ${lease.leaseKey}: cannot hand off an unowned lease`);
    return this.conditionalUpdate(
      lease.leaseKey,
      [{ eq: [A.leaseCounter, n(lease.leaseCounter)] }, { eq: [A.leaseOwner, s(lease.leaseOwner)] }, { notExists: A.checkpointOwner }],
      { set: { [A.leaseOwner]: s(newOwner), [A.checkpointOwner]: s(lease.leaseOwner) } },
    );
  }

  async finishHandoff(lease: Lease): Promise<LeaseWriteResult> {
    await this.enter('finishHandoff');
    if (lease.checkpointOwner === undefined) throw new IllegalArgumentError(`lease ${lease.leaseKey}: no handoff in progress (checkpointOwner unset)`);
    return this.conditionalUpdate(
      lease.leaseKey,
      [{ eq: [A.leaseCounter, n(lease.leaseCounter)] }, { eq: [A.checkpointOwner, s(lease.checkpointOwner)] }],
      { set: { [A.leaseCounter]: n(lease.leaseCounter + 1) }, remove: [A.checkpointOwner] },
    );
  }

  /** Evaluates the condition on the stored item and applies the update, like a conditional UpdateItem (ALL_NEW). */
  private conditionalUpdate(leaseKey: string, conditions: Condition[], update: Update): LeaseWriteResult {
    this.requireTable();
    const current = this.items.get(leaseKey);
    const holds = conditions.every((c) => {
      if ('eq' in c) return valueEquals(current?.[c.eq[0]], c.eq[1]);
      if ('exists' in c) return current?.[c.exists] !== undefined;
      return current?.[c.notExists] === undefined;
    });
    if (!holds) return { ok: false, reason: current === undefined ? 'missing' : 'conflict' };

    const next: AttributeMap = current === undefined ? { [A.leaseKey]: s(leaseKey) } : cloneItem(current);
    for (const [k, v] of Object.entries(update.set ?? {})) next[k] = cloneValue(v);
    for (const k of update.remove ?? []) delete next[k];
    for (const [k, delta] of Object.entries(update.add ?? {})) {
      const old = next[k];
      if (old !== undefined && old.N === undefined) throw new MalformedLeaseError(leaseKey, k, 'must be of type N to be incremented');
      next[k] = n((old?.N === undefined ? 0 : Number(old.N)) + delta);
    }
    this.items.set(leaseKey, next);
    const lease = fromItem(next);
    if (lease === undefined) throw new MalformedLeaseError(leaseKey, A.entityType, 'is not LEASE: the item is not a lease');
    return { ok: true, lease };
  }
}

function ownerIs(owner: string | undefined): Condition {
  return owner === undefined ? { notExists: A.leaseOwner } : { eq: [A.leaseOwner, s(owner)] };
}
