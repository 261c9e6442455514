import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { FakeClock } from '../../src/util/clock.js';
import { retry } from '../../src/util/retry.js';
import { backoffDelay } from '../../src/util/backoff.js';
import { DependencyError, ThrottlingError } from '../../src/errors.js';

describe('backoffDelay', () => {
  it('grows exponentially, is capped, and jitters over the full range', () => {
    const opts = { baseMillis: 100, maxMillis: 1000 };
    assert.equal(backoffDelay(0, opts, () => 0.999999), 99);
    assert.equal(backoffDelay(2, opts, () => 0.999999), 399);
    assert.equal(backoffDelay(10, opts, () => 0.999999), 999);
    assert.equal(backoffDelay(50, opts, () => 0.999999), 999);
    assert.equal(backoffDelay(3, opts, () => 0), 0);
  });
});

describe('retry', () => {
  it('retries retriable errors with backoff on the injected clock until success', async () => {
    const clock = new FakeClock();
    const waits: number[] = [];
    let calls = 0;
    const done = retry(
      async () => {
        calls++;
        if (calls < 4) throw new ThrottlingError('slow down');
        return 'ok';
      },
      { maxAttempts: 10, baseMillis: 100, maxMillis: 250, clock, random: () => 0.5, onRetry: (_e, _a, d) => waits.push(d) },
    );
    await clock.advance(10_000);
    assert.equal(await done, 'ok');
    assert.equal(calls, 4);
    assert.deepEqual(waits, [50, 100, 125]);
  });

  it('does not retry errors that are not retriable', async () => {
    let calls = 0;
    await assert.rejects(
      retry(async () => {
        calls++;
        throw new DependencyError('bad request', { retriable: false });
      }, { maxAttempts: 5, baseMillis: 1, maxMillis: 1 }),
      DependencyError,
    );
    assert.equal(calls, 1);
  });

  it('gives up after maxAttempts with the last error', async () => {
    const clock = new FakeClock();
    let calls = 0;
    const p = retry(async () => {
      calls++;
      throw new ThrottlingError(`attempt ${calls}`);
    }, { maxAttempts: 3, baseMillis: 10, maxMillis: 10, clock });
    const check = assert.rejects(p, (e: unknown) => e instanceof ThrottlingError && e.message === 'attempt 3');
    await clock.advance(1000);
    await check;
    assert.equal(calls, 3);
  });

  it('stops waiting when aborted', async () => {
    const clock = new FakeClock();
    const controller = new AbortController();
    const p = retry(async () => {
      throw new ThrottlingError('x');
    }, { maxAttempts: Infinity, baseMillis: 1000, maxMillis: 1000, clock, signal: controller.signal, random: () => 0.9 });
    const check = assert.rejects(p);
    await clock.advance(0);
    controller.abort(new Error('stopped'));
    await check;
  });
});
