import type { AttributeMap, AttributeValue, DynamoDbApi, TableInfo } from '../aws/dynamodb-api.js';
import { ConditionalCheckFailedError, IllegalArgumentError, InvalidStateError, MalformedLeaseError, ResourceInUseError } from '../errors.js';
import { systemClock, type Clock } from '../util/clock.js';
import type { HashKeyRange } from '../shards/hash-key-range.js';
import type { Lease } from './lease.js';
import { A, b, formatThroughput, fromItem, keyOf, n, readLeaseItems, s, ss, toItem } from './lease-serializer.js';
import type { CallOptions, CheckpointUpdate, LeaseStore, LeaseTableOptions, LeaseWriteResult, ListLeasesResult, RenewOptions } from './lease-store.js';

export interface DynamoDbLeaseStoreOptions {
  /** Default for `getLease` and the scans of `listLeases` (Java KCL's `consistentReads`, default false). */
  consistentReads?: boolean;
  /** Used while waiting for the table to become ACTIVE. */
  clock?: Clock;
}

/** Collects expression attribute names and values; every attribute goes through `#name` (no reserved-word traps). */
class Expression {
  readonly names: Record<string, string> = {};
  readonly values: AttributeMap = {};
  private next = 0;

  name(attribute: string): string {
    const alias = `#${attribute}`;
    this.names[alias] = attribute;
    return alias;
  }

  value(value: AttributeValue): string {
    const alias = `:v${this.next++}`;
    this.values[alias] = value;
    return alias;
  }

  /** `#attr = :v` */
  eq(attribute: string, value: AttributeValue): string {
    return `${this.name(attribute)} = ${this.value(value)}`;
  }

  exists(attribute: string): string {
    return `attribute_exists(${this.name(attribute)})`;
  }

  notExists(attribute: string): string {
    return `attribute_not_exists(${this.name(attribute)})`;
  }

  /** `#attr = :owner`, or `attribute_not_exists(#attr)` when the expected value is undefined. */
  eqOrAbsent(attribute: string, value: string | undefined): string {
    return value === undefined ? this.notExists(attribute) : this.eq(attribute, s(value));
  }
}

interface UpdateParts {
  set?: string[];
  remove?: string[];
  add?: string[];
}

function updateExpression(parts: UpdateParts): string {
  const clauses: string[] = [];
  if (parts.set?.length) clauses.push(`SET ${parts.set.join(', ')}`);
  if (parts.remove?.length) clauses.push(`REMOVE ${parts.remove.join(', ')}`);
  if (parts.add?.length) clauses.push(`ADD ${parts.add.join(', ')}`);
  return clauses.join(' ');
}

/**
 * The lease table in DynamoDB, in Java KCL 2.x's item format (3.x graceful-handoff attributes included).
 * Every ownership or checkpoint write is an UpdateItem with a condition expression and `ReturnValues: ALL_NEW`,
 * so the lease returned is the one stored. A failed condition becomes `{ ok: false, reason }`: `missing` when a
 * consistent GetItem after the failure finds no item, else `conflict`. Other failures throw typed `KclError`s.
 */
export class DynamoDbLeaseStore implements LeaseStore {
  private readonly consistentReads: boolean;
  private readonly clock: Clock;

  constructor(
    readonly api: DynamoDbApi,
    readonly tableName: string,
    options: DynamoDbLeaseStoreOptions = {},
  ) {
    this.consistentReads = options.consistentReads ?? false;
    this.clock = options.clock ?? systemClock;
  }

  // -------------------------------------------------------------------------------------------------------------
  // Table

  async createTableIfNotExists(options: LeaseTableOptions): Promise<boolean> {
    const existing = await this.api.describeTable(this.tableName);
    if (existing !== undefined) {
      this.checkKeySchema(existing);
      if (existing.status !== 'ACTIVE') await this.api.waitForTableActive(this.tableName, options.activeTimeoutMillis, this.clock);
      return false;
    }
    let created = true;
    try {
      await this.api.createTable({
        tableName: this.tableName,
        keySchema: [{ attributeName: A.leaseKey, keyType: 'HASH', attributeType: 'S' }],
        billingMode: options.billingMode,
        readCapacity: options.readCapacity,
        writeCapacity: options.writeCapacity,
      });
    } catch (error) {
      // Another worker is creating it right now: wait for theirs.
      if (!(error instanceof ResourceInUseError)) throw error;
      created = false;
    }
    const info = await this.api.waitForTableActive(this.tableName, options.activeTimeoutMillis, this.clock);
    this.checkKeySchema(info);
    return created;
  }

  async tableExists(): Promise<boolean> {
    const info = await this.api.describeTable(this.tableName);
    if (info === undefined) return false;
    this.checkKeySchema(info);
    return info.status === 'ACTIVE' || info.status === 'UPDATING';
  }

  private checkKeySchema(info: TableInfo): void {
    const [key, ...rest] = info.keySchema;
    const ok = key !== undefined && rest.length === 0 && key.attributeName === A.leaseKey && key.keyType === 'HASH' && (key.attributeType ?? 'S') === 'S';
    if (!ok) {
      const found = info.keySchema.map((k) => `${k.attributeName} (${k.keyType}${k.attributeType ? `, ${k.attributeType}` : ''})`).join(', ');
      throw new InvalidStateError(
        `DynamoDB table "${this.tableName}" exists but is not a lease table: key schema is [${found || 'none'}], ` +
          `expected [leaseKey (HASH, S)]. Use another table name (leases.tableName) or delete the table.`,
      );
    }
  }

  // -------------------------------------------------------------------------------------------------------------
  // Reads

  async getLease(leaseKey: string, options: { consistentRead?: boolean } = {}): Promise<Lease | undefined> {
    const item = await this.api.getItem(this.tableName, keyOf(leaseKey), { consistentRead: options.consistentRead ?? this.consistentReads });
    return item === undefined ? undefined : fromItem(item);
  }

  async listLeases(): Promise<ListLeasesResult> {
    return readLeaseItems(await this.api.scanAll(this.tableName, { consistentRead: this.consistentReads }));
  }

  // -------------------------------------------------------------------------------------------------------------
  // Writes

  async createLeaseIfNotExists(lease: Lease): Promise<boolean> {
    const x = new Expression();
    try {
      await this.api.putItem({
        tableName: this.tableName,
        item: toItem(lease),
        conditionExpression: x.notExists(A.leaseKey),
        expressionAttributeNames: x.names,
      });
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedError) return false;
      throw error;
    }
  }

  async renewLease(lease: Lease, update: RenewOptions = {}): Promise<LeaseWriteResult> {
    const x = new Expression();
    const condition = [x.eq(A.leaseCounter, n(lease.leaseCounter))];
    if (lease.leaseOwner !== undefined) condition.push(x.eq(A.leaseOwner, s(lease.leaseOwner)));
    const set = [`${x.name(A.leaseCounter)} = ${x.value(n(lease.leaseCounter + 1))}`];
    if (update.throughputKBps !== undefined) set.push(`${x.name(A.throughputKBps)} = ${x.value(formatThroughput(update.throughputKBps))}`);
    return this.conditionalUpdate(lease.leaseKey, x, condition, { set }, update.timeoutMillis);
  }

  async takeLease(lease: Lease, newOwner: string): Promise<LeaseWriteResult> {
    const x = new Expression();
    const condition = [x.eq(A.leaseCounter, n(lease.leaseCounter))];
    const set = [
      `${x.name(A.leaseOwner)} = ${x.value(s(newOwner))}`,
      `${x.name(A.leaseCounter)} = ${x.value(n(lease.leaseCounter + 1))}`,
    ];
    const add = lease.leaseOwner !== undefined && lease.leaseOwner !== newOwner ? [`${x.name(A.ownerSwitchesSinceCheckpoint)} ${x.value(n(1))}`] : [];
    return this.conditionalUpdate(lease.leaseKey, x, condition, { set, remove: [x.name(A.checkpointOwner)], add });
  }

  async evictLease(lease: Lease): Promise<LeaseWriteResult> {
    const x = new Expression();
    const condition = [x.exists(A.leaseKey), x.eqOrAbsent(A.leaseOwner, lease.leaseOwner)];
    return this.conditionalUpdate(lease.leaseKey, x, condition, {
      remove: [x.name(A.leaseOwner), x.name(A.checkpointOwner)],
      add: [`${x.name(A.leaseCounter)} ${x.value(n(1))}`],
    });
  }

  async updateCheckpoint(lease: Lease, update: CheckpointUpdate, options: CallOptions = {}): Promise<LeaseWriteResult> {
    const x = new Expression();
    const condition = [x.eq(A.leaseCounter, n(lease.leaseCounter)), x.eqOrAbsent(A.leaseOwner, lease.leaseOwner)];
    const set = [
      `${x.name(A.checkpoint)} = ${x.value(s(update.checkpoint.sequenceNumber))}`,
      `${x.name(A.checkpointSubSequenceNumber)} = ${x.value(n(update.checkpoint.subSequenceNumber))}`,
      `${x.name(A.ownerSwitchesSinceCheckpoint)} = ${x.value(n(0))}`,
      `${x.name(A.leaseCounter)} = ${x.value(n(lease.leaseCounter + 1))}`,
    ];
    const remove: string[] = [];
    if (update.pendingCheckpoint === null) {
      remove.push(x.name(A.pendingCheckpoint), x.name(A.pendingCheckpointSubSequenceNumber));
    } else if (update.pendingCheckpoint !== undefined) {
      set.push(
        `${x.name(A.pendingCheckpoint)} = ${x.value(s(update.pendingCheckpoint.sequenceNumber))}`,
        `${x.name(A.pendingCheckpointSubSequenceNumber)} = ${x.value(n(update.pendingCheckpoint.subSequenceNumber))}`,
      );
    }
    if (update.pendingCheckpointState === null) remove.push(x.name(A.pendingCheckpointState));
    else if (update.pendingCheckpointState !== undefined) set.push(`${x.name(A.pendingCheckpointState)} = ${x.value(b(update.pendingCheckpointState))}`);
    return this.conditionalUpdate(lease.leaseKey, x, condition, { set, remove }, options.timeoutMillis);
  }

  async updateMetaInfo(leaseKey: string, meta: { childShardIds?: string[]; hashKeyRange?: HashKeyRange }): Promise<LeaseWriteResult> {
    const x = new Expression();
    const set: string[] = [];
    const remove: string[] = [];
    if (meta.childShardIds !== undefined) {
      if (meta.childShardIds.length > 0) set.push(`${x.name(A.childShardIds)} = ${x.value(ss(meta.childShardIds))}`);
      else remove.push(x.name(A.childShardIds));
    }
    if (meta.hashKeyRange !== undefined) {
      const { startingHashKey, endingHashKey } = meta.hashKeyRange;
      if (!/^\d+$/.test(startingHashKey) || !/^\d+$/.test(endingHashKey)) throw new IllegalArgumentError(`lease ${leaseKey}: hash keys must be decimal strings`);
      set.push(`${x.name(A.startingHashKey)} = ${x.value(s(startingHashKey))}`, `${x.name(A.endingHashKey)} = ${x.value(s(endingHashKey))}`);
    }
    if (set.length === 0 && remove.length === 0) {
      const lease = await this.getLease(leaseKey, { consistentRead: true });
      return lease === undefined ? { ok: false, reason: 'missing' } : { ok: true, lease };
    }
    return this.conditionalUpdate(leaseKey, x, [x.exists(A.leaseKey)], { set, remove });
  }

  async deleteLease(leaseKey: string): Promise<void> {
    await this.api.deleteItem({ tableName: this.tableName, key: keyOf(leaseKey) });
  }

  async startHandoff(lease: Lease, newOwner: string): Promise<LeaseWriteResult> {
    if (lease.leaseOwner === undefined) throw new IllegalArgumentError(`lease ${lease.leaseKey}: cannot hand off an unowned lease`);
    const x = new Expression();
    const condition = [x.eq(A.leaseCounter, n(lease.leaseCounter)), x.eq(A.leaseOwner, s(lease.leaseOwner)), x.notExists(A.checkpointOwner)];
    const set = [`${x.name(A.leaseOwner)} = ${x.value(s(newOwner))}`, `${x.name(A.checkpointOwner)} = ${x.value(s(lease.leaseOwner))}`];
    return this.conditionalUpdate(lease.leaseKey, x, condition, { set });
  }

  async finishHandoff(lease: Lease): Promise<LeaseWriteResult> {
    if (lease.checkpointOwner === undefined) throw new IllegalArgumentError(`lease ${lease.leaseKey}: no handoff in progress (checkpointOwner unset)`);
    const x = new Expression();
    const condition = [x.eq(A.leaseCounter, n(lease.leaseCounter)), x.eq(A.checkpointOwner, s(lease.checkpointOwner))];
    return this.conditionalUpdate(lease.leaseKey, x, condition, {
      set: [`${x.name(A.leaseCounter)} = ${x.value(n(lease.leaseCounter + 1))}`],
      remove: [x.name(A.checkpointOwner)],
    });
  }

  /** One conditional UpdateItem returning ALL_NEW; a failed condition becomes `conflict` or `missing`. */
  private async conditionalUpdate(leaseKey: string, x: Expression, condition: string[], parts: UpdateParts, timeoutMillis?: number): Promise<LeaseWriteResult> {
    try {
      const item = await this.api.updateItem({
        ...(timeoutMillis !== undefined ? { timeoutMillis } : {}),
        tableName: this.tableName,
        key: keyOf(leaseKey),
        updateExpression: updateExpression(parts),
        conditionExpression: condition.join(' AND '),
        expressionAttributeNames: x.names,
        expressionAttributeValues: x.values,
      });
      const lease = fromItem(item);
      if (lease === undefined) throw new MalformedLeaseError(leaseKey, A.entityType, 'is not LEASE: the item is not a lease');
      return { ok: true, lease };
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedError)) throw error;
      const current = await this.api.getItem(this.tableName, keyOf(leaseKey), { consistentRead: true });
      return { ok: false, reason: current === undefined ? 'missing' : 'conflict' };
    }
  }
}
