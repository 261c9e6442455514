import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Shard } from '../../src/shards/shard.js';
import { resolveOptions, type ResolvedStreamConfig } from '../../src/config/resolve-options.js';
import type { StreamConfig } from '../../src/config/options.js';
import type { StreamContext } from '../../src/coordinator/stream-context.js';
import { leaseTableView } from '../../src/coordinator/stream-context.js';
import { diffStreams, StreamTracker } from '../../src/coordinator/stream-tracker.js';
import { InMemoryLeaseStore } from '../../src/leases/in-memory-lease-store.js';
import { shardIdOf } from '../../src/leases/lease.js';
import {
  accountOfStreamArn,
  isMultiStreamLease,
  parseStreamIdentifier,
  serializeStreamIdentifier,
  streamIdentifierOf,
  streamIdentifierOfLease,
} from '../../src/leases/multi-stream.js';
import { newLeaseForShard } from '../../src/leases/lease-creation.js';
import { leaseKeyOf, parseLeaseKey, siblingLeaseKey } from '../../src/leases/lease-key.js';
import { ShardSyncer } from '../../src/leases/shard-syncer.js';
import { FakeClock } from '../../src/util/clock.js';
import { silentLogger, type Logger } from '../../src/util/logger.js';

const MAX = (2n ** 128n - 1n).toString();
const HALF = (2n ** 127n).toString();
const openShard = (shardId: string, from: string, to: string): Shard => ({
  shardId,
  hashKeyRange: { startingHashKey: from, endingHashKey: to },
  sequenceNumberRange: { startingSequenceNumber: '1' },
});
const twoShards = [openShard('shardId-000000000000', '0', (2n ** 127n - 1n).toString()), openShard('shardId-000000000001', HALF, MAX)];

describe('multi-stream lease keys (Java KCL format)', () => {
  it('serializes and parses account:stream:creationEpoch and builds account:stream:creationEpoch:shardId', () => {
    const id = { accountId: '123456789012', streamName: 'orders', creationEpochSeconds: 1700000000 };
    assert.equal(serializeStreamIdentifier(id), '123456789012:orders:1700000000');
    assert.deepEqual(parseStreamIdentifier('123456789012:orders:1700000000'), id);
    assert.equal(parseStreamIdentifier('orders'), undefined);
    assert.equal(parseStreamIdentifier('12:or:ders:1'), undefined);
    assert.equal(leaseKeyOf(serializeStreamIdentifier(id), 'shardId-000000000001'), '123456789012:orders:1700000000:shardId-000000000001');
    assert.equal(leaseKeyOf('1:a:2', 's'), '1:a:2:s');
  });

  it('builds and parses single- and multi-stream lease keys through one module', () => {
    assert.equal(leaseKeyOf('', 'shardId-000000000001'), 'shardId-000000000001');
    assert.deepEqual(parseLeaseKey('shardId-000000000001'), { streamId: '', shardId: 'shardId-000000000001' });
    assert.deepEqual(parseLeaseKey('123456789012:orders:1700000000:shardId-000000000001'), {
      streamId: '123456789012:orders:1700000000',
      shardId: 'shardId-000000000001',
    });
    for (const key of ['shardId-000000000007', '1:a:2:shardId-000000000007']) {
      const { streamId, shardId } = parseLeaseKey(key);
      assert.equal(leaseKeyOf(streamId, shardId), key);
    }
    assert.equal(siblingLeaseKey('1:a:2:shardId-000000000003', 'shardId-000000000001'), '1:a:2:shardId-000000000001');
    assert.equal(siblingLeaseKey('shardId-000000000003', 'shardId-000000000001'), 'shardId-000000000001');
  });

  it('takes the account from the ARN and the epoch in seconds from the creation time; 000000000000 without an ARN', () => {
    assert.equal(accountOfStreamArn('arn:aws:kinesis:us-east-1:123456789012:stream/orders'), '123456789012');
    assert.equal(accountOfStreamArn('arn:aws-cn:kinesis:cn-north-1:210987654321:stream/x'), '210987654321');
    assert.equal(accountOfStreamArn(''), undefined);
    const created = new Date(1700000000_999);
    assert.deepEqual(streamIdentifierOf({ streamName: 'orders', streamArn: 'arn:aws:kinesis:us-east-1:123456789012:stream/orders', streamCreationTimestamp: created }), {
      accountId: '123456789012',
      streamName: 'orders',
      creationEpochSeconds: 1700000000,
    });
    assert.equal(streamIdentifierOf({ streamName: 'o', streamArn: '', streamCreationTimestamp: created }).accountId, '000000000000');
  });

  it('tells multi-stream leases from single-stream ones by the streamName attribute or the key', () => {
    assert.equal(isMultiStreamLease({ leaseKey: 'shardId-000000000001' }), false);
    assert.equal(isMultiStreamLease({ leaseKey: '1:a:2:shardId-000000000001' }), true);
    assert.equal(isMultiStreamLease({ leaseKey: 'x', streamName: '1:a:2' }), true);
    assert.equal(streamIdentifierOfLease({ leaseKey: '1:a:2:shardId-1' }), '1:a:2');
    assert.equal(streamIdentifierOfLease({ leaseKey: '1:a:2:shardId-1', streamName: '1:a:2' }), '1:a:2');
    assert.equal(streamIdentifierOfLease({ leaseKey: 'shardId-1' }), undefined);
  });

  it('newLeaseForShard with a prefix writes the streamName and shardId attributes; without, neither', () => {
    const lease = newLeaseForShard(twoShards[0]!, 'LATEST', '1:a:2');
    assert.equal(lease.leaseKey, '1:a:2:shardId-000000000000');
    assert.equal(lease.streamName, '1:a:2');
    assert.equal(lease.shardId, 'shardId-000000000000');
    assert.equal(shardIdOf(lease), 'shardId-000000000000');
    const single = newLeaseForShard(twoShards[0]!, 'LATEST');
    assert.equal(single.streamName, undefined);
    assert.equal(single.shardId, undefined);
  });
});

describe('ShardSyncer with a multi-stream prefix', () => {
  it('creates prefixed leases per stream; each stream counts as empty on its own and ignores the others', async () => {
    const store = new InMemoryLeaseStore();
    const clock = new FakeClock();
    const kinesis = { listShards: async () => twoShards };
    const a = new ShardSyncer(kinesis, store, { streamName: 'a' }, { initial: 'TRIM_HORIZON', clock, logger: silentLogger, streamId: '1:a:2' });
    const b = new ShardSyncer(kinesis, store, { streamName: 'b' }, { initial: 'LATEST', clock, logger: silentLogger, streamId: '1:b:3' });
    assert.deepEqual((await a.sync()).created, ['1:a:2:shardId-000000000000', '1:a:2:shardId-000000000001']);
    assert.deepEqual((await b.sync()).created, ['1:b:3:shardId-000000000000', '1:b:3:shardId-000000000001']);
    assert.deepEqual((await a.sync()).created, []);
    const { leases } = await store.listLeases();
    const bLease = leases.find((l) => l.leaseKey === '1:b:3:shardId-000000000001')!;
    assert.equal(bLease.streamName, '1:b:3');
    assert.equal(bLease.shardId, 'shardId-000000000001');
    assert.equal(bLease.checkpoint.sequenceNumber, 'LATEST');
    assert.equal(leases.find((l) => l.leaseKey === '1:a:2:shardId-000000000000')!.checkpoint.sequenceNumber, 'TRIM_HORIZON');
  });
});

describe('lease table view (mixed tables)', () => {
  async function mixedStore(): Promise<InMemoryLeaseStore> {
    const store = new InMemoryLeaseStore();
    await store.createLeaseIfNotExists(newLeaseForShard(twoShards[0]!, 'LATEST'));
    await store.createLeaseIfNotExists(newLeaseForShard(twoShards[0]!, 'LATEST', '1:a:2'));
    await store.createLeaseIfNotExists(newLeaseForShard(twoShards[1]!, 'LATEST', '1:b:3'));
    return store;
  }
  const recording = (): { logger: Logger; warnings: string[] } => {
    const warnings: string[] = [];
    const logger: Logger = { ...silentLogger, warn: (_o: unknown, msg?: string) => void warnings.push(String(msg)), child: () => logger };
    return { logger, warnings };
  };

  it('single-stream: lists only single-stream leases, warns once about the others', async () => {
    const { logger, warnings } = recording();
    const view = leaseTableView(await mixedStore(), false, () => true, logger);
    const first = await view.listLeases();
    assert.deepEqual(first.leases.map((l) => l.leaseKey), ['shardId-000000000000']);
    assert.equal(first.skipped, 2);
    await view.listLeases();
    assert.equal(warnings.length, 1);
    assert.match(warnings[0]!, /multi-stream leases/);
    // keyed operations pass through
    assert.ok(await view.getLease('1:a:2:shardId-000000000000'));
  });

  it('multi-stream: lists only the consumed streams\' leases, warns once about single-stream ones', async () => {
    const { logger, warnings } = recording();
    const consumed = new Set(['1:a:2']);
    const view = leaseTableView(await mixedStore(), true, (id) => consumed.has(id), logger);
    assert.deepEqual((await view.listLeases()).leases.map((l) => l.leaseKey), ['1:a:2:shardId-000000000000']);
    consumed.add('1:b:3');
    assert.deepEqual((await view.listLeases()).leases.map((l) => l.leaseKey).sort(), ['1:a:2:shardId-000000000000', '1:b:3:shardId-000000000001']);
    assert.equal(warnings.length, 1);
    assert.match(warnings[0]!, /single-stream leases/);
  });
});

describe('stream tracker', () => {
  const cfg = (key: string): ResolvedStreamConfig => ({ key, stream: { streamName: key }, initialPosition: 'LATEST' });

  it('diffStreams: added and removed by key', () => {
    assert.deepEqual(diffStreams(['a', 'b'], [cfg('b'), cfg('c')]), { added: [cfg('c')], removed: ['a'] });
    assert.deepEqual(diffStreams([], [cfg('a')]), { added: [cfg('a')], removed: [] });
    assert.deepEqual(diffStreams(['a'], []), { added: [], removed: ['a'] });
    assert.deepEqual(diffStreams(['a'], [cfg('a')]), { added: [], removed: [] });
  });

  function tracker(list: () => StreamConfig[] | Promise<StreamConfig[]>, deletionDelay?: number) {
    const clock = new FakeClock();
    const options = resolveOptions({
      applicationName: 'app',
      streams: list,
      processorFactory: () => ({ initialize() {}, processRecords() {}, leaseLost() {}, shardEnded() {} }),
      clock,
      ...(deletionDelay !== undefined ? { formerStreamLeasesDeletionDelayMillis: deletionDelay } : {}),
    });
    const store = new InMemoryLeaseStore();
    const log: string[] = [];
    const missing = new Set<string>();
    const t = new StreamTracker({
      options,
      streams: options.streams!,
      rawStore: store,
      createContext: async (config) => {
        if (missing.has(config.key)) throw new Error(`no stream ${config.key}`);
        const id = `000000000000:${config.key}:1`;
        return { id, configKey: config.key, streamName: config.key, stream: config.stream, initialPosition: config.initialPosition } as unknown as StreamContext;
      },
      added: async (c) => void log.push(`+${c.streamName}`),
      removed: async (c) => void log.push(`-${c.streamName}`),
      onTaskError: (task) => void log.push(`error:${task}`),
    });
    return { t, store, log, clock, missing };
  }

  it('adds, removes and re-adds streams from the polled function; a failing poll keeps the list', async () => {
    let list: StreamConfig[] = [{ streamName: 'a' }, { streamName: 'b' }];
    let fail = false;
    const { t, log, missing } = tracker(async () => {
      if (fail) throw new Error('tracker down');
      return list;
    });
    await t.start();
    assert.deepEqual(log, ['+a', '+b']);
    assert.deepEqual([...t.activeIds()].sort(), ['000000000000:a:1', '000000000000:b:1']);
    list = [{ streamName: 'b' }, { streamName: 'c' }];
    missing.add('c');
    await t.poll();
    assert.deepEqual(log, ['+a', '+b', 'error:stream-tracker', '-a'], 'c cannot be described yet: retried next time');
    missing.clear();
    await t.poll();
    assert.deepEqual(log.slice(4), ['+c']);
    fail = true;
    await assert.rejects(t.poll(), /tracker down/);
    assert.deepEqual([...t.activeIds()].sort(), ['000000000000:b:1', '000000000000:c:1']);
    fail = false;
    list = [{ streamName: 'a' }];
    await t.poll();
    assert.deepEqual(log.slice(5).sort(), ['+a', '-b', '-c']);
    assert.equal(t.get('000000000000:a:1')?.streamName, 'a');
    await t.stop();
  });

  it('validates what the function returns', async () => {
    const { t } = tracker(() => [{ streamName: 'bad name!' }]);
    await assert.rejects(t.poll(), (e: unknown) => e instanceof Error && /streams\(\)\[0\]\.streamName/.test(e.message));
  });

  it('keeps a removed stream\'s leases by default', async () => {
    let list: StreamConfig[] = [{ streamName: 'a' }];
    const { t, store, clock } = tracker(() => list);
    await t.start();
    await store.createLeaseIfNotExists(newLeaseForShard(twoShards[0]!, 'LATEST', '000000000000:a:1'));
    list = [];
    await t.poll();
    await clock.advance(3_600_000);
    await t.poll();
    assert.equal((await store.listLeases()).leases.length, 1);
    assert.equal(t.pendingDeletions, 0);
    await t.stop();
  });

  it('deletes a removed stream\'s leases after the delay, not before, and not when the stream came back', async () => {
    let list: StreamConfig[] = [{ streamName: 'a' }, { streamName: 'b' }];
    const { t, store, clock } = tracker(() => list, 5000);
    await t.start();
    await store.createLeaseIfNotExists(newLeaseForShard(twoShards[0]!, 'LATEST', '000000000000:a:1'));
    await store.createLeaseIfNotExists(newLeaseForShard(twoShards[1]!, 'LATEST', '000000000000:a:1'));
    await store.createLeaseIfNotExists(newLeaseForShard(twoShards[0]!, 'LATEST', '000000000000:b:1'));
    await store.createLeaseIfNotExists(newLeaseForShard(twoShards[0]!, 'LATEST'));
    list = [];
    await t.poll();
    assert.equal(t.pendingDeletions, 2);
    await clock.advance(4000);
    list = [{ streamName: 'b' }]; // b is back before its delay ran out
    await t.poll();
    assert.equal((await store.listLeases()).leases.length, 4);
    await clock.advance(1000);
    await t.poll();
    assert.deepEqual((await store.listLeases()).leases.map((l) => l.leaseKey).sort(), ['000000000000:b:1:shardId-000000000000', 'shardId-000000000000']);
    assert.equal(t.pendingDeletions, 0);
    await t.stop();
  });
});
