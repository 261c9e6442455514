/**
 * One conformance suite for every `LeaseStore` (in memory, dynalite, DynamoDB Local): the same cases, the same
 * expectations. `makeStore` returns a store bound to a fresh table that does not exist yet; every case creates it.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import type { AttributeMap, AttributeValue } from '../../src/aws/dynamodb-api.js';
import { IllegalArgumentError, InvalidStateError, MalformedLeaseError } from '../../src/errors.js';
import type { Lease } from '../../src/leases/lease.js';
import type { LeaseStore, LeaseTableOptions, LeaseWriteResult } from '../../src/leases/lease-store.js';

export interface KeyAttribute {
  attributeName: string;
  keyType: 'HASH' | 'RANGE';
  attributeType: 'S' | 'N' | 'B';
}

/** Raw item access to the store's table, bypassing the serializer (fixtures, malformed items). */
export interface RawItemAccess {
  put(item: AttributeMap): Promise<void>;
  get(leaseKey: string): Promise<AttributeMap | undefined>;
  /** Creates the store's table (which must not exist yet) with the given key schema, and waits until usable. */
  createTable(keySchema: KeyAttribute[]): Promise<void>;
}

export interface StoreUnderTest {
  store: LeaseStore;
  raw?: RawItemAccess;
  /** Scan requests sent so far, for stores that page (lets the suite check that a listing really paged). */
  scanRequests?: () => number;
  cleanup(): Promise<void>;
}

export const TABLE_OPTIONS: LeaseTableOptions = {
  billingMode: 'PAY_PER_REQUEST',
  readCapacity: 10,
  writeCapacity: 10,
  activeTimeoutMillis: 30_000,
};

// -----------------------------------------------------------------------------------------------------------------
// Helpers

const FIXTURE_PATH = new URL('../fixtures/java-kcl-lease-items.json', import.meta.url);

interface FixtureCase {
  case: string;
  item: Record<string, Record<string, unknown>>;
}

/** DynamoDB JSON (as in the fixture, B in base64) → SDK attribute values. */
export function fromDynamoJson(item: Record<string, Record<string, unknown>>): AttributeMap {
  const out: AttributeMap = {};
  for (const [name, value] of Object.entries(item)) {
    if (typeof value.B === 'string') out[name] = { B: new Uint8Array(Buffer.from(value.B, 'base64')) };
    else out[name] = value as unknown as AttributeValue;
  }
  return out;
}

export function loadFixture(): FixtureCase[] {
  return (JSON.parse(readFileSync(FIXTURE_PATH, 'utf8')) as { items: FixtureCase[] }).items;
}

let keySeq = 0;
function uniqueKey(prefix = 'shardId'): string {
  keySeq++;
  return `${prefix}-${String(keySeq).padStart(12, '0')}`;
}

/** A lease with defaults; no explicitly-undefined members, like the ones the stores return. */
export function makeLease(fields: Partial<Lease> & { leaseKey: string }): Lease {
  const lease: Lease = {
    leaseCounter: 0,
    checkpoint: { sequenceNumber: 'TRIM_HORIZON', subSequenceNumber: 0 },
    ownerSwitchesSinceCheckpoint: 0,
    parentShardIds: [],
    childShardIds: [],
    ...fields,
  };
  for (const k of Object.keys(lease) as (keyof Lease)[]) if (lease[k] === undefined) delete lease[k];
  return lease;
}

function expectOk(result: LeaseWriteResult, what: string): Lease {
  if (!result.ok) assert.fail(`${what}: expected ok, got ${result.reason}`);
  return result.lease;
}

function attributeType(v: AttributeValue | undefined): string | undefined {
  if (v === undefined) return undefined;
  return Object.keys(v).find((k) => (v as unknown as Record<string, unknown>)[k] !== undefined);
}

/** Compares two items attribute by attribute: same names, same types, same values (N numerically, sets unordered). */
function assertSameItem(actual: AttributeMap, expected: AttributeMap, context: string): void {
  assert.deepEqual(Object.keys(actual).sort(), Object.keys(expected).sort(), `${context}: attribute names`);
  for (const [name, e] of Object.entries(expected)) {
    const a = actual[name]!;
    assert.equal(attributeType(a), attributeType(e), `${context}: type of ${name}`);
    if (e.N !== undefined) assert.equal(Number(a.N), Number(e.N), `${context}: value of ${name}`);
    else if (e.SS !== undefined) assert.deepEqual([...a.SS!].sort(), [...e.SS].sort(), `${context}: value of ${name}`);
    else if (e.B !== undefined) assert.deepEqual(Buffer.from(a.B!), Buffer.from(e.B), `${context}: value of ${name}`);
    else assert.deepEqual(a, e, `${context}: value of ${name}`);
  }
}

async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array<R>(items.length);
  let next = 0;
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i]!);
    }
  });
  await Promise.all(workers);
  return results;
}

const byKey = (a: Lease, b: Lease): number => (a.leaseKey < b.leaseKey ? -1 : a.leaseKey > b.leaseKey ? 1 : 0);

// -----------------------------------------------------------------------------------------------------------------
// The suite

export function runLeaseStoreConformance(name: string, makeStore: () => Promise<StoreUnderTest>): void {
  /** Runs `fn` against a fresh store whose table has been created (unless `createTable` is false). */
  async function withStore(fn: (sut: StoreUnderTest) => Promise<void>, createTable = true): Promise<void> {
    const sut = await makeStore();
    try {
      if (createTable) await sut.store.createTableIfNotExists(TABLE_OPTIONS);
      await fn(sut);
    } finally {
      await sut.cleanup();
    }
  }

  function needRaw(sut: StoreUnderTest): RawItemAccess {
    assert.ok(sut.raw, 'this case needs raw item access');
    return sut.raw;
  }

  async function created(store: LeaseStore, fields: Partial<Lease> = {}): Promise<Lease> {
    const lease = makeLease({ leaseKey: uniqueKey(), ...fields });
    assert.equal(await store.createLeaseIfNotExists(lease), true);
    return lease;
  }

  void describe(`LeaseStore conformance: ${name}`, () => {
    void describe('table', () => {
      void it('tableExists is false before, createTableIfNotExists creates once and then reports existing', () =>
        withStore(async ({ store }) => {
          assert.equal(await store.tableExists(), false);
          assert.equal(await store.createTableIfNotExists(TABLE_OPTIONS), true);
          assert.equal(await store.tableExists(), true);
          assert.equal(await store.createTableIfNotExists(TABLE_OPTIONS), false);
        }, false));

      void it('concurrent createTableIfNotExists: exactly one reports creating it, both see it ACTIVE', () =>
        withStore(async ({ store }) => {
          const results = await Promise.all([store.createTableIfNotExists(TABLE_OPTIONS), store.createTableIfNotExists(TABLE_OPTIONS)]);
          assert.deepEqual(results.sort(), [false, true]);
          assert.equal(await store.tableExists(), true);
        }, false));

      void it('creates a provisioned table', () =>
        withStore(async ({ store }) => {
          assert.equal(await store.createTableIfNotExists({ ...TABLE_OPTIONS, billingMode: 'PROVISIONED', readCapacity: 5, writeCapacity: 5 }), true);
          assert.equal(await store.createLeaseIfNotExists(makeLease({ leaseKey: uniqueKey() })), true);
        }, false));

      void it('a table with another key schema is refused with InvalidStateError naming the table and the schema', () =>
        withStore(async (sut) => {
          await needRaw(sut).createTable([{ attributeName: 'id', keyType: 'HASH', attributeType: 'S' }]);
          await assert.rejects(sut.store.createTableIfNotExists(TABLE_OPTIONS), (e: unknown) => {
            assert.ok(e instanceof InvalidStateError, String(e));
            assert.match(e.message, /\bid\b.*HASH/);
            assert.match(e.message, /leaseKey/);
            return true;
          });
          await assert.rejects(sut.store.tableExists(), InvalidStateError);
        }, false));

      void it('a table keyed on leaseKey with type N is refused too', () =>
        withStore(async (sut) => {
          await needRaw(sut).createTable([{ attributeName: 'leaseKey', keyType: 'HASH', attributeType: 'N' }]);
          await assert.rejects(sut.store.createTableIfNotExists(TABLE_OPTIONS), InvalidStateError);
        }, false));
    });

    void describe('createLeaseIfNotExists / getLease / deleteLease', () => {
      void it('creates once, reads back equal, second create is false', () =>
        withStore(async ({ store }) => {
          const lease = makeLease({
            leaseKey: uniqueKey(),
            checkpoint: { sequenceNumber: '49650727271153203436487421036563962513357125384373993490', subSequenceNumber: 3 },
            parentShardIds: ['shardId-000000000002', 'shardId-000000000001'],
            hashKeyRange: { startingHashKey: '0', endingHashKey: '340282366920938463463374607431768211455' },
          });
          assert.equal(await store.createLeaseIfNotExists(lease), true);
          assert.equal(await store.createLeaseIfNotExists({ ...lease, leaseOwner: 'other' }), false);
          const read = await store.getLease(lease.leaseKey, { consistentRead: true });
          assert.deepEqual(read, { ...lease, parentShardIds: ['shardId-000000000001', 'shardId-000000000002'] });
        }));

      void it('round-trips every field', () =>
        withStore(async ({ store }) => {
          const lease = makeLease({
            leaseKey: '123456789012:orders:1700000000:shardId-000000000001',
            leaseOwner: 'worker-a',
            leaseCounter: 41,
            checkpoint: { sequenceNumber: '4965', subSequenceNumber: 2 },
            pendingCheckpoint: { sequenceNumber: '4966', subSequenceNumber: 1 },
            pendingCheckpointState: new Uint8Array([0, 1, 2, 255]),
            ownerSwitchesSinceCheckpoint: 3,
            parentShardIds: ['shardId-000000000000'],
            childShardIds: ['shardId-000000000004', 'shardId-000000000005'],
            hashKeyRange: { startingHashKey: '1', endingHashKey: '2' },
            checkpointOwner: 'worker-b',
            throughputKBps: 183.25,
            streamName: '123456789012:orders:1700000000',
            shardId: 'shardId-000000000001',
          });
          assert.equal(await store.createLeaseIfNotExists(lease), true);
          assert.deepEqual(await store.getLease(lease.leaseKey, { consistentRead: true }), lease);
        }));

      void it('concurrent createLeaseIfNotExists of one key: exactly one true', () =>
        withStore(async ({ store }) => {
          const key = uniqueKey();
          const results = await Promise.all(
            Array.from({ length: 8 }, (_, i) => store.createLeaseIfNotExists(makeLease({ leaseKey: key, leaseOwner: `w${i}` }))),
          );
          assert.equal(results.filter(Boolean).length, 1);
          const winner = results.indexOf(true);
          assert.equal((await store.getLease(key, { consistentRead: true }))?.leaseOwner, `w${winner}`);
        }));

      void it('getLease of a missing key is undefined; deleteLease removes and tolerates missing keys', () =>
        withStore(async ({ store }) => {
          assert.equal(await store.getLease('shardId-nope'), undefined);
          const lease = await created(store);
          await store.deleteLease(lease.leaseKey);
          assert.equal(await store.getLease(lease.leaseKey, { consistentRead: true }), undefined);
          await store.deleteLease(lease.leaseKey);
        }));

      void it('returned leases are copies: mutating them changes nothing stored', () =>
        withStore(async ({ store }) => {
          const lease = await created(store, { childShardIds: ['shardId-000000000009'], pendingCheckpointState: new Uint8Array([1, 2]) });
          const read = (await store.getLease(lease.leaseKey, { consistentRead: true }))!;
          read.childShardIds.push('x');
          read.checkpoint.subSequenceNumber = 99;
          read.pendingCheckpointState![0] = 42;
          lease.childShardIds.push('y');
          const again = (await store.getLease(lease.leaseKey, { consistentRead: true }))!;
          assert.deepEqual(again.childShardIds, ['shardId-000000000009']);
          assert.equal(again.checkpoint.subSequenceNumber, 0);
          assert.deepEqual(again.pendingCheckpointState, new Uint8Array([1, 2]));
        }));
    });

    void describe('renewLease', () => {
      void it('bumps the counter by one and keeps everything else', () =>
        withStore(async ({ store }) => {
          const lease = await created(store, { leaseOwner: 'w1', leaseCounter: 7 });
          const renewed = expectOk(await store.renewLease(lease), 'renew');
          assert.deepEqual(renewed, { ...lease, leaseCounter: 8 });
          assert.deepEqual(await store.getLease(lease.leaseKey, { consistentRead: true }), renewed);
          const again = expectOk(await store.renewLease(renewed), 'renew again');
          assert.equal(again.leaseCounter, 9);
        }));

      void it('writes throughputKBps when given', () =>
        withStore(async ({ store }) => {
          const lease = await created(store, { leaseOwner: 'w1' });
          const renewed = expectOk(await store.renewLease(lease, { throughputKBps: 12.5 }), 'renew');
          assert.equal(renewed.throughputKBps, 12.5);
          assert.equal(renewed.leaseCounter, 1);
        }));

      void it('conflict when the counter moved, or the owner changed; missing when gone', () =>
        withStore(async ({ store }) => {
          const lease = await created(store, { leaseOwner: 'w1', leaseCounter: 5 });
          expectOk(await store.renewLease(lease), 'first renew');
          assert.deepEqual(await store.renewLease(lease), { ok: false, reason: 'conflict' });
          const current = (await store.getLease(lease.leaseKey, { consistentRead: true }))!;
          assert.deepEqual(await store.renewLease({ ...current, leaseOwner: 'w2' }), { ok: false, reason: 'conflict' });
          assert.equal((await store.getLease(lease.leaseKey, { consistentRead: true }))!.leaseCounter, 6);
          assert.deepEqual(await store.renewLease(makeLease({ leaseKey: uniqueKey(), leaseOwner: 'w1' })), { ok: false, reason: 'missing' });
        }));

      void it('an unowned lease renews on the counter alone', () =>
        withStore(async ({ store }) => {
          const lease = await created(store);
          assert.equal(expectOk(await store.renewLease(lease), 'renew').leaseCounter, 1);
        }));
    });

    void describe('takeLease', () => {
      void it('takes an unowned lease: owner set, counter+1, owner switches unchanged', () =>
        withStore(async ({ store }) => {
          const lease = await created(store, { leaseCounter: 3, ownerSwitchesSinceCheckpoint: 2 });
          const taken = expectOk(await store.takeLease(lease, 'w1'), 'take');
          assert.deepEqual(taken, { ...lease, leaseOwner: 'w1', leaseCounter: 4 });
          assert.deepEqual(await store.getLease(lease.leaseKey, { consistentRead: true }), taken);
        }));

      void it('taking from another owner counts an owner switch; re-taking one\'s own lease does not', () =>
        withStore(async ({ store }) => {
          const lease = await created(store, { leaseOwner: 'w1', leaseCounter: 10 });
          const stolen = expectOk(await store.takeLease(lease, 'w2'), 'steal');
          assert.equal(stolen.leaseOwner, 'w2');
          assert.equal(stolen.leaseCounter, 11);
          assert.equal(stolen.ownerSwitchesSinceCheckpoint, 1);
          const retaken = expectOk(await store.takeLease(stolen, 'w2'), 'retake');
          assert.equal(retaken.leaseCounter, 12);
          assert.equal(retaken.ownerSwitchesSinceCheckpoint, 1);
          const back = expectOk(await store.takeLease(retaken, 'w1'), 'take back');
          assert.equal(back.ownerSwitchesSinceCheckpoint, 2);
        }));

      void it('clears checkpointOwner (ends a handoff)', () =>
        withStore(async ({ store }) => {
          const lease = await created(store, { leaseOwner: 'new', checkpointOwner: 'old', leaseCounter: 2 });
          const taken = expectOk(await store.takeLease(lease, 'w3'), 'take');
          assert.equal(taken.checkpointOwner, undefined);
          assert.equal('checkpointOwner' in taken, false);
        }));

      void it('conflict on a stale counter, missing when gone', () =>
        withStore(async ({ store }) => {
          const lease = await created(store, { leaseOwner: 'w1' });
          expectOk(await store.renewLease(lease), 'renew');
          assert.deepEqual(await store.takeLease(lease, 'w2'), { ok: false, reason: 'conflict' });
          assert.equal((await store.getLease(lease.leaseKey, { consistentRead: true }))!.leaseOwner, 'w1');
          assert.deepEqual(await store.takeLease(makeLease({ leaseKey: uniqueKey() }), 'w2'), { ok: false, reason: 'missing' });
        }));

      void it('8 concurrent takes of one lease: exactly one wins', () =>
        withStore(async ({ store }) => {
          const lease = await created(store, { leaseOwner: 'dead-worker', leaseCounter: 100 });
          const results = await Promise.all(Array.from({ length: 8 }, (_, i) => store.takeLease(lease, `taker-${i}`)));
          const winners = results.filter((r): r is { ok: true; lease: Lease } => r.ok);
          assert.equal(winners.length, 1);
          assert.ok(results.every((r) => r.ok || r.reason === 'conflict'));
          const stored = (await store.getLease(lease.leaseKey, { consistentRead: true }))!;
          assert.equal(stored.leaseOwner, winners[0]!.lease.leaseOwner);
          assert.equal(stored.leaseCounter, 101);
          assert.equal(stored.ownerSwitchesSinceCheckpoint, 1);
        }));
    });

    void describe('evictLease', () => {
      void it('removes the owner (and checkpointOwner), counter+1', () =>
        withStore(async ({ store }) => {
          const lease = await created(store, { leaseOwner: 'w1', leaseCounter: 4, checkpointOwner: 'w0' });
          const evicted = expectOk(await store.evictLease(lease), 'evict');
          const { leaseOwner: _o, checkpointOwner: _c, ...rest } = lease;
          assert.deepEqual(evicted, { ...rest, leaseCounter: 5 });
          assert.deepEqual(await store.getLease(lease.leaseKey, { consistentRead: true }), evicted);
        }));

      void it('conditional on the owner only: a moved counter does not matter, another owner does', () =>
        withStore(async ({ store }) => {
          const lease = await created(store, { leaseOwner: 'w1' });
          expectOk(await store.renewLease(lease), 'renew');
          assert.deepEqual(await store.evictLease({ ...lease, leaseOwner: 'w2' }), { ok: false, reason: 'conflict' });
          assert.equal(expectOk(await store.evictLease(lease), 'evict with stale counter').leaseCounter, 2);
        }));

      void it('an unowned lease evicts on attribute_not_exists(leaseOwner); missing leases are not created', () =>
        withStore(async ({ store }) => {
          const lease = await created(store);
          assert.equal(expectOk(await store.evictLease(lease), 'evict unowned').leaseCounter, 1);
          const ghost = makeLease({ leaseKey: uniqueKey() });
          assert.deepEqual(await store.evictLease(ghost), { ok: false, reason: 'missing' });
          assert.deepEqual(await store.evictLease({ ...ghost, leaseOwner: 'w1' }), { ok: false, reason: 'missing' });
          assert.equal(await store.getLease(ghost.leaseKey, { consistentRead: true }), undefined);
          // Owned lease, caller thinks unowned → conflict.
          const owned = await created(store, { leaseOwner: 'w1' });
          const { leaseOwner: _o, ...unowned } = owned;
          assert.deepEqual(await store.evictLease(unowned), { ok: false, reason: 'conflict' });
        }));
    });

    void describe('updateCheckpoint', () => {
      void it('writes the checkpoint, resets owner switches, counter+1', () =>
        withStore(async ({ store }) => {
          const lease = await created(store, { leaseOwner: 'w1', leaseCounter: 9, ownerSwitchesSinceCheckpoint: 3 });
          const cp = { sequenceNumber: '49650727271175504181685951659705498231629773745879908386', subSequenceNumber: 41 };
          const updated = expectOk(await store.updateCheckpoint(lease, { checkpoint: cp }), 'checkpoint');
          assert.deepEqual(updated, { ...lease, checkpoint: cp, ownerSwitchesSinceCheckpoint: 0, leaseCounter: 10 });
          assert.deepEqual(await store.getLease(lease.leaseKey, { consistentRead: true }), updated);
        }));

      void it('sets, keeps and clears the pending checkpoint and its state', () =>
        withStore(async ({ store }) => {
          const lease = await created(store, { leaseOwner: 'w1' });
          const pending = { sequenceNumber: '200', subSequenceNumber: 0 };
          const state = new Uint8Array(Buffer.from('{"batch":42}'));
          let l = expectOk(
            await store.updateCheckpoint(lease, { checkpoint: { sequenceNumber: '100', subSequenceNumber: 0 }, pendingCheckpoint: pending, pendingCheckpointState: state }),
            'prepare',
          );
          assert.deepEqual(l.pendingCheckpoint, pending);
          assert.deepEqual(l.pendingCheckpointState, state);
          l = expectOk(await store.updateCheckpoint(l, { checkpoint: { sequenceNumber: '150', subSequenceNumber: 0 } }), 'keep');
          assert.deepEqual(l.pendingCheckpoint, pending);
          assert.deepEqual(l.pendingCheckpointState, state);
          l = expectOk(await store.updateCheckpoint(l, { checkpoint: pending, pendingCheckpoint: null, pendingCheckpointState: null }), 'commit');
          assert.equal('pendingCheckpoint' in l, false);
          assert.equal('pendingCheckpointState' in l, false);
          assert.deepEqual(l.checkpoint, pending);
          assert.equal(l.leaseCounter, 3);
          assert.deepEqual(await store.getLease(lease.leaseKey, { consistentRead: true }), l);
        }));

      void it('conflict on a stale counter or another owner; missing when gone', () =>
        withStore(async ({ store }) => {
          const lease = await created(store, { leaseOwner: 'w1' });
          const cp = { checkpoint: { sequenceNumber: '5', subSequenceNumber: 0 } };
          assert.deepEqual(await store.updateCheckpoint({ ...lease, leaseOwner: 'w2' }, cp), { ok: false, reason: 'conflict' });
          const renewed = expectOk(await store.renewLease(lease), 'renew');
          assert.deepEqual(await store.updateCheckpoint(lease, cp), { ok: false, reason: 'conflict' });
          const stolen = expectOk(await store.takeLease(renewed, 'w2'), 'steal');
          // Counter matches the stolen lease, but the caller still thinks it owns it.
          assert.deepEqual(await store.updateCheckpoint({ ...stolen, leaseOwner: 'w1' }, cp), { ok: false, reason: 'conflict' });
          assert.deepEqual((await store.getLease(lease.leaseKey, { consistentRead: true }))!.checkpoint, lease.checkpoint);
          assert.deepEqual(await store.updateCheckpoint(makeLease({ leaseKey: uniqueKey(), leaseOwner: 'w1' }), cp), { ok: false, reason: 'missing' });
        }));

      void it('writes SHARD_END', () =>
        withStore(async ({ store }) => {
          const lease = await created(store, { leaseOwner: 'w1' });
          const done = expectOk(await store.updateCheckpoint(lease, { checkpoint: { sequenceNumber: 'SHARD_END', subSequenceNumber: 0 } }), 'end');
          assert.equal(done.checkpoint.sequenceNumber, 'SHARD_END');
        }));
    });

    void describe('updateMetaInfo', () => {
      void it('writes children and hash range without bumping the counter', () =>
        withStore(async ({ store }) => {
          const lease = await created(store, { leaseOwner: 'w1', leaseCounter: 6 });
          const withChildren = expectOk(
            await store.updateMetaInfo(lease.leaseKey, { childShardIds: ['shardId-000000000005', 'shardId-000000000004'] }),
            'children',
          );
          assert.deepEqual(withChildren, { ...lease, childShardIds: ['shardId-000000000004', 'shardId-000000000005'] });
          const range = { startingHashKey: '0', endingHashKey: '85070591730234615865843651857942052863' };
          const withRange = expectOk(await store.updateMetaInfo(lease.leaseKey, { hashKeyRange: range }), 'range');
          assert.deepEqual(withRange.hashKeyRange, range);
          assert.equal(withRange.leaseCounter, 6);
          // The counter did not move, so the owner's next renewal still succeeds.
          expectOk(await store.renewLease(lease), 'renew after meta');
        }));

      void it('missing when the lease does not exist (and creates nothing)', () =>
        withStore(async ({ store }) => {
          const key = uniqueKey();
          assert.deepEqual(await store.updateMetaInfo(key, { childShardIds: ['shardId-000000000001'] }), { ok: false, reason: 'missing' });
          assert.equal(await store.getLease(key, { consistentRead: true }), undefined);
        }));
    });

    void describe('graceful handoff', () => {
      void it('startHandoff: owner=new, checkpointOwner=old, no counter bump; finishHandoff clears it, counter+1', () =>
        withStore(async ({ store }) => {
          const lease = await created(store, { leaseOwner: 'old', leaseCounter: 20 });
          const started = expectOk(await store.startHandoff(lease, 'new'), 'start');
          assert.deepEqual(started, { ...lease, leaseOwner: 'new', checkpointOwner: 'old' });
          // A second handoff while one runs is refused.
          assert.deepEqual(await store.startHandoff(lease, 'third'), { ok: false, reason: 'conflict' });
          assert.deepEqual(await store.startHandoff(started, 'third'), { ok: false, reason: 'conflict' });
          const finished = expectOk(await store.finishHandoff(started), 'finish');
          assert.deepEqual(finished, { ...lease, leaseOwner: 'new', leaseCounter: 21 });
          assert.deepEqual(await store.getLease(lease.leaseKey, { consistentRead: true }), finished);
        }));

      void it('startHandoff conflicts on another owner or a moved counter; finishHandoff on a stale counter or another checkpointOwner', () =>
        withStore(async ({ store }) => {
          const lease = await created(store, { leaseOwner: 'old' });
          assert.deepEqual(await store.startHandoff({ ...lease, leaseOwner: 'other' }, 'new'), { ok: false, reason: 'conflict' });
          const renewed = expectOk(await store.renewLease(lease), 'renew');
          assert.deepEqual(await store.startHandoff(lease, 'new'), { ok: false, reason: 'conflict' });
          const started = expectOk(await store.startHandoff(renewed, 'new'), 'start');
          assert.deepEqual(await store.finishHandoff({ ...started, checkpointOwner: 'someone' }), { ok: false, reason: 'conflict' });
          const renewedByNew = expectOk(await store.renewLease(started), 'renew by new owner during handoff');
          assert.equal(renewedByNew.checkpointOwner, 'old');
          assert.deepEqual(await store.finishHandoff(started), { ok: false, reason: 'conflict' });
          expectOk(await store.finishHandoff(renewedByNew), 'finish');
          assert.deepEqual(await store.startHandoff(makeLease({ leaseKey: uniqueKey(), leaseOwner: 'a' }), 'b'), { ok: false, reason: 'missing' });
          assert.deepEqual(
            await store.finishHandoff(makeLease({ leaseKey: uniqueKey(), leaseOwner: 'a', checkpointOwner: 'b' })),
            { ok: false, reason: 'missing' },
          );
        }));

      void it('refuses arguments that cannot express the condition', () =>
        withStore(async ({ store }) => {
          const lease = await created(store);
          await assert.rejects(store.startHandoff(lease, 'new'), IllegalArgumentError);
          await assert.rejects(store.finishHandoff(lease), IllegalArgumentError);
        }));
    });

    void describe('listLeases', () => {
      void it('lists every lease', () =>
        withStore(async ({ store }) => {
          const leases = await Promise.all(Array.from({ length: 5 }, (_, i) => created(store, i % 2 ? { leaseOwner: `w${i}` } : {})));
          const listed = await store.listLeases();
          assert.deepEqual(listed.leases.sort(byKey), leases.sort(byKey));
          assert.deepEqual(listed.malformed, []);
          assert.equal(listed.skipped, 0);
        }));

      void it('more than 1 MB of leases: pages through the table, every lease exactly once', () =>
        withStore(async (sut) => {
          const { store } = sut;
          const count = 1300;
          const state = new Uint8Array(1000).fill(7);
          const keys = Array.from({ length: count }, () => uniqueKey('big'));
          await mapLimit(keys, 16, (leaseKey) =>
            store.createLeaseIfNotExists(makeLease({ leaseKey, pendingCheckpoint: { sequenceNumber: '1', subSequenceNumber: 0 }, pendingCheckpointState: state })),
          );
          const before = sut.scanRequests?.();
          const listed = await store.listLeases();
          if (sut.scanRequests !== undefined) {
            const pages = sut.scanRequests() - before!;
            assert.ok(pages > 1, `expected the scan to need more than one page, took ${pages}`);
          }
          const listedKeys = listed.leases.map((l) => l.leaseKey).sort();
          assert.equal(listedKeys.length, count);
          assert.deepEqual(listedKeys, [...keys].sort());
          assert.equal(new Set(listedKeys).size, count);
          assert.ok(listed.leases.every((l) => l.pendingCheckpointState?.length === 1000));
        }));
    });

    void describe('Java KCL items (fixture)', () => {
      const fixture = loadFixture();
      const expected: Record<number, Lease | 'skipped'> = {
        0: makeLease({
          leaseKey: 'shardId-000000000000',
          hashKeyRange: { startingHashKey: '0', endingHashKey: '85070591730234615865843651857942052863' },
        }),
        1: makeLease({
          leaseKey: 'shardId-000000000001',
          leaseOwner: 'worker-a:3f6c2e7e-0b1d-4e51-9b0e-5a7e2b1c9d10',
          leaseCounter: 1834,
          checkpoint: { sequenceNumber: '49650727271153203436487421036563962513357125384373993490', subSequenceNumber: 0 },
          hashKeyRange: { startingHashKey: '85070591730234615865843651857942052864', endingHashKey: '170141183460469231731687303715884105727' },
        }),
        2: makeLease({
          leaseKey: 'shardId-000000000002',
          leaseOwner: 'worker-b',
          leaseCounter: 77,
          checkpoint: { sequenceNumber: '49650727271175504181685951659705498231629773745879908386', subSequenceNumber: 41 },
        }),
        3: makeLease({
          leaseKey: 'shardId-000000000006',
          parentShardIds: ['shardId-000000000002', 'shardId-000000000003'],
          hashKeyRange: { startingHashKey: '170141183460469231731687303715884105728', endingHashKey: '340282366920938463463374607431768211455' },
        }),
        4: makeLease({
          leaseKey: 'shardId-000000000000',
          leaseOwner: 'worker-a',
          leaseCounter: 4120,
          checkpoint: { sequenceNumber: 'SHARD_END', subSequenceNumber: 0 },
          childShardIds: ['shardId-000000000004', 'shardId-000000000005'],
          hashKeyRange: { startingHashKey: '0', endingHashKey: '85070591730234615865843651857942052863' },
        }),
        5: makeLease({
          leaseKey: 'shardId-000000000003',
          leaseOwner: 'worker-c',
          leaseCounter: 12,
          ownerSwitchesSinceCheckpoint: 1,
          checkpoint: { sequenceNumber: '49650727271197804926884482282847033949902422107385823266', subSequenceNumber: 0 },
          pendingCheckpoint: { sequenceNumber: '49650727271197804926884482282901433949902422107385823266', subSequenceNumber: 0 },
          pendingCheckpointState: new Uint8Array(Buffer.from('{"batch":42}')),
        }),
        6: makeLease({
          leaseKey: 'shardId-000000000007',
          pendingCheckpoint: { sequenceNumber: '49650727271197804926884482282901433949902422107385823266', subSequenceNumber: 0 },
        }),
        7: makeLease({
          leaseKey: 'shardId-000000000008',
          leaseOwner: 'worker-new',
          checkpointOwner: 'worker-old',
          leaseCounter: 905,
          checkpoint: { sequenceNumber: '49650727271220105672082012906051612536178779088601104514', subSequenceNumber: 0 },
          throughputKBps: 183.25,
          hashKeyRange: { startingHashKey: '0', endingHashKey: '340282366920938463463374607431768211455' },
        }),
        8: makeLease({
          leaseKey: '123456789012:orders:1700000000:shardId-000000000001',
          streamName: '123456789012:orders:1700000000',
          shardId: 'shardId-000000000001',
          leaseOwner: 'worker-a',
          leaseCounter: 3,
          checkpoint: { sequenceNumber: 'LATEST', subSequenceNumber: 0 },
        }),
        9: 'skipped',
      };

      void it('the fixture is the one these expectations were written for', () => {
        assert.equal(fixture.length, Object.keys(expected).length);
      });

      fixture.forEach((fc, i) => {
        void it(`reads: ${fc.case}`, () =>
          withStore(async (sut) => {
            const item = fromDynamoJson(fc.item);
            await needRaw(sut).put(item);
            const key = item.leaseKey!.S!;
            const want = expected[i];
            const listed = await sut.store.listLeases();
            assert.deepEqual(listed.malformed, []);
            if (want === 'skipped') {
              assert.deepEqual(listed.leases, []);
              assert.equal(listed.skipped, 1);
              assert.equal(await sut.store.getLease(key, { consistentRead: true }), undefined);
              return;
            }
            assert.equal(listed.skipped, 0);
            assert.deepEqual(listed.leases, [want]);
            assert.deepEqual(await sut.store.getLease(key, { consistentRead: true }), want);
          }));
      });

      void it('lists a table holding all of them at once (3.x Leader skipped, quirk tolerated)', () =>
        withStore(async (sut) => {
          const raw = needRaw(sut);
          // Two fixture items share shardId-000000000000 (before and after a split): keep the later one.
          for (const fc of fixture) await raw.put(fromDynamoJson(fc.item));
          const listed = await sut.store.listLeases();
          assert.equal(listed.skipped, 1);
          assert.deepEqual(listed.malformed, []);
          const want = Object.entries(expected)
            .filter(([i, l]) => l !== 'skipped' && i !== '0')
            .map(([, l]) => l as Lease);
          assert.deepEqual(listed.leases.sort(byKey), want.sort(byKey));
          const merge = listed.leases.find((l) => l.leaseKey === 'shardId-000000000006')!;
          assert.deepEqual(merge.parentShardIds, ['shardId-000000000002', 'shardId-000000000003']);
          const parent = listed.leases.find((l) => l.leaseKey === 'shardId-000000000000')!;
          assert.equal(parent.checkpoint.sequenceNumber, 'SHARD_END');
          assert.deepEqual(parent.childShardIds, ['shardId-000000000004', 'shardId-000000000005']);
        }));

      void it('continues Java-written leases: take, renew, checkpoint on top of the raw items', () =>
        withStore(async (sut) => {
          const raw = needRaw(sut);
          for (const i of [1, 6, 7]) await raw.put(fromDynamoJson(fixture[i]!.item));
          const owned = (await sut.store.getLease('shardId-000000000001', { consistentRead: true }))!;
          const stolen = expectOk(await sut.store.takeLease(owned, 'ts-worker'), 'take Java lease');
          assert.equal(stolen.leaseCounter, 1835);
          assert.equal(stolen.ownerSwitchesSinceCheckpoint, 1);
          const cp = expectOk(await sut.store.updateCheckpoint(stolen, { checkpoint: { sequenceNumber: '49650727271153203436487421036563962513357125384373993491', subSequenceNumber: 0 } }), 'checkpoint');
          assert.equal(cp.ownerSwitchesSinceCheckpoint, 0);
          assert.equal(cp.leaseCounter, 1836);

          const quirk = (await sut.store.getLease('shardId-000000000007', { consistentRead: true }))!;
          const taken = expectOk(await sut.store.takeLease(quirk, 'ts-worker'), 'take quirk lease');
          const prepared = expectOk(
            await sut.store.updateCheckpoint(taken, {
              checkpoint: quirk.checkpoint,
              pendingCheckpoint: { sequenceNumber: '7', subSequenceNumber: 0 },
              pendingCheckpointState: new Uint8Array([9]),
            }),
            'prepare on quirk lease',
          );
          assert.deepEqual(prepared.pendingCheckpointState, new Uint8Array([9]));
          assert.equal(attributeType((await raw.get('shardId-000000000007'))!.pendingCheckpointState), 'B');

          const handoff = (await sut.store.getLease('shardId-000000000008', { consistentRead: true }))!;
          const finished = expectOk(await sut.store.finishHandoff(handoff), 'finish Java handoff');
          assert.equal(finished.leaseOwner, 'worker-new');
          assert.equal(finished.checkpointOwner, undefined);
          assert.equal(finished.leaseCounter, 906);
          // entityType is not ours to drop.
          assert.deepEqual((await raw.get('shardId-000000000008'))!.entityType, { S: 'LEASE' });
        }));

      void it('items we write have the Java shape, attribute by attribute (types S/N/SS/B exactly)', () =>
        withStore(async (sut) => {
          const raw = needRaw(sut);
          for (const [i, want] of Object.entries(expected)) {
            if (want === 'skipped' || i === '6') continue; // 6 is the N quirk, which we never write
            const javaItem = fromDynamoJson(fixture[Number(i)]!.item);
            delete javaItem.entityType; // 3.5 marks leases; 2.x (and we) don't, and both read either
            await sut.store.deleteLease(want.leaseKey);
            assert.equal(await sut.store.createLeaseIfNotExists(want), true);
            assertSameItem((await raw.get(want.leaseKey))!, javaItem, `fixture item ${i}`);
          }
        }));

      void it('items after take / checkpoint / handoff keep the Java types', () =>
        withStore(async (sut) => {
          const raw = needRaw(sut);
          const lease = await created(sut.store, { leaseOwner: 'w1', hashKeyRange: { startingHashKey: '0', endingHashKey: '9' } });
          let l = expectOk(await sut.store.takeLease(lease, 'w2'), 'take');
          l = expectOk(await sut.store.renewLease(l, { throughputKBps: 1.5 }), 'renew');
          l = expectOk(
            await sut.store.updateCheckpoint(l, {
              checkpoint: { sequenceNumber: '11', subSequenceNumber: 0 },
              pendingCheckpoint: { sequenceNumber: '12', subSequenceNumber: 1 },
              pendingCheckpointState: new Uint8Array([1]),
            }),
            'checkpoint',
          );
          l = expectOk(await sut.store.updateMetaInfo(l.leaseKey, { childShardIds: ['shardId-000000000100'] }), 'meta');
          l = expectOk(await sut.store.startHandoff(l, 'w3'), 'handoff');
          const item = (await raw.get(l.leaseKey))!;
          const types = Object.fromEntries(Object.entries(item).map(([k, v]) => [k, attributeType(v)]));
          assert.deepEqual(types, {
            leaseKey: 'S',
            leaseOwner: 'S',
            leaseCounter: 'N',
            ownerSwitchesSinceCheckpoint: 'N',
            checkpoint: 'S',
            checkpointSubSequenceNumber: 'N',
            pendingCheckpoint: 'S',
            pendingCheckpointSubSequenceNumber: 'N',
            pendingCheckpointState: 'B',
            childShardIds: 'SS',
            startingHashKey: 'S',
            endingHashKey: 'S',
            checkpointOwner: 'S',
            throughputKBps: 'N',
          });
        }));
    });

    void describe('malformed items', () => {
      const good = (key: string): AttributeMap => ({
        leaseKey: { S: key },
        leaseCounter: { N: '1' },
        ownerSwitchesSinceCheckpoint: { N: '0' },
        checkpoint: { S: 'TRIM_HORIZON' },
        checkpointSubSequenceNumber: { N: '0' },
      });
      const cases: { title: string; mutate: (item: AttributeMap) => void; attribute: string }[] = [
        { title: 'missing leaseCounter', mutate: (i) => delete i.leaseCounter, attribute: 'leaseCounter' },
        { title: 'leaseCounter stored as S', mutate: (i) => (i.leaseCounter = { S: '5' }), attribute: 'leaseCounter' },
        { title: 'missing checkpoint', mutate: (i) => delete i.checkpoint, attribute: 'checkpoint' },
        { title: 'parentShardId stored as S', mutate: (i) => (i.parentShardId = { S: 'shardId-000000000001' }), attribute: 'parentShardId' },
        { title: 'leaseOwner stored as N', mutate: (i) => (i.leaseOwner = { N: '1' }), attribute: 'leaseOwner' },
      ];
      for (const c of cases) {
        void it(`${c.title}: reported in listLeases().malformed naming lease and attribute; getLease rejects`, () =>
          withStore(async (sut) => {
            const raw = needRaw(sut);
            const badKey = uniqueKey('bad');
            const bad = good(badKey);
            c.mutate(bad);
            await raw.put(bad);
            const goodLease = await created(sut.store, { leaseOwner: 'w1' });
            const listed = await sut.store.listLeases();
            assert.deepEqual(listed.leases, [goodLease]);
            assert.equal(listed.malformed.length, 1);
            const error = listed.malformed[0]!;
            assert.ok(error instanceof MalformedLeaseError);
            assert.equal(error.leaseKey, badKey);
            assert.equal(error.attribute, c.attribute);
            assert.match(error.message, new RegExp(`${badKey}.*${c.attribute}`));
            await assert.rejects(sut.store.getLease(badKey, { consistentRead: true }), (e: unknown) => {
              assert.ok(e instanceof MalformedLeaseError);
              assert.equal(e.leaseKey, badKey);
              assert.equal(e.attribute, c.attribute);
              return true;
            });
          }));
      }

      void it('a fractional N where an integer belongs is malformed', async () => {
        // (DynamoDB itself refuses a non-numeric N; the serializer's unit tests cover that case.)
        await withStore(async (sut) => {
          const raw = needRaw(sut);
          const key = uniqueKey('bad');
          const item = good(key);
          item.ownerSwitchesSinceCheckpoint = { N: '1.5' };
          await raw.put(item);
          await assert.rejects(sut.store.getLease(key, { consistentRead: true }), (e: unknown) => {
            assert.ok(e instanceof MalformedLeaseError);
            assert.equal(e.attribute, 'ownerSwitchesSinceCheckpoint');
            return true;
          });
        });
      });
    });
  });
}
