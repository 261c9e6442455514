// The `timeouts` option: defaults derived from the lease timing, validation naming the dotted key.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { resolveOptions } from '../../src/config/resolve-options.js';
import { ConfigError } from '../../src/errors.js';
import type { SchedulerOptions } from '../../src/index.js';

const base: SchedulerOptions = {
  applicationName: 'app',
  streamName: 'stream',
  processorFactory: () => ({ initialize: () => undefined, processRecords: () => undefined, leaseLost: () => undefined, shardEnded: () => undefined, shutdownRequested: () => undefined }),
};

function failsOn(options: SchedulerOptions, key: string): void {
  assert.throws(() => resolveOptions(options), (e: unknown) => e instanceof ConfigError && e.key === key, key);
}

describe('timeouts option', () => {
  it('defaults: lease calls well under the renewal interval, Kinesis reads and listings 10 s, scans 30 s, admin 60 s', () => {
    const r = resolveOptions(base);
    assert.deepEqual(r.timeouts, {
      leaseCallMillis: 2000,
      leaseScanMillis: 30_000,
      tableAdminMillis: 60_000,
      kinesisReadMillis: 10_000,
      kinesisListMillis: 10_000,
      fanOutRegistrationMillis: 30_000,
    });
    assert.ok(r.timeouts.leaseCallMillis < r.leases.renewIntervalMillis);
  });

  it('the lease-call default follows the failover time: at least 1 s, never above the failover time', () => {
    assert.equal(resolveOptions({ ...base, leases: { failoverTimeMillis: 1500 } }).timeouts.leaseCallMillis, 1000);
    assert.equal(resolveOptions({ ...base, leases: { failoverTimeMillis: 600 } }).timeouts.leaseCallMillis, 600);
    assert.equal(resolveOptions({ ...base, leases: { failoverTimeMillis: 60_000 } }).timeouts.leaseCallMillis, 12_000);
  });

  it('takes given values and rejects bad ones naming the key', () => {
    const r = resolveOptions({ ...base, timeouts: { leaseCallMillis: 1000, kinesisReadMillis: 500, fanOutRegistrationMillis: 5000 } });
    assert.equal(r.timeouts.leaseCallMillis, 1000);
    assert.equal(r.timeouts.kinesisReadMillis, 500);
    assert.equal(r.timeouts.fanOutRegistrationMillis, 5000);
    failsOn({ ...base, timeouts: { leaseCallMillis: 10_001 } }, 'timeouts.leaseCallMillis'); // above the failover time
    failsOn({ ...base, timeouts: { kinesisReadMillis: 10 } }, 'timeouts.kinesisReadMillis');
    failsOn({ ...base, timeouts: { leaseScanMillis: 1.5 } }, 'timeouts.leaseScanMillis');
    failsOn({ ...base, timeouts: { nope: 1 } as never }, 'timeouts.nope');
    failsOn({ ...base, timeouts: 5 as never }, 'timeouts');
  });

  it('retrieval.maxGetRecordsCallsPerSecond: 5 by default, validated', () => {
    const r = resolveOptions(base);
    assert.equal(r.retrieval.mode === 'polling' && r.retrieval.maxGetRecordsCallsPerSecond, 5);
    const two = resolveOptions({ ...base, retrieval: { mode: 'polling', maxGetRecordsCallsPerSecond: 2.5 } });
    assert.equal(two.retrieval.mode === 'polling' && two.retrieval.maxGetRecordsCallsPerSecond, 2.5);
    failsOn({ ...base, retrieval: { mode: 'polling', maxGetRecordsCallsPerSecond: 0 } }, 'retrieval.maxGetRecordsCallsPerSecond');
  });
});
