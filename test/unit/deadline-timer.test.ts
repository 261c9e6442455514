import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { FakeClock } from '../../src/util/clock.js';
import { DeadlineTimer } from '../../src/util/deadline-timer.js';

describe('DeadlineTimer', () => {
  it('fires once just past the earliest armed deadline; a later arm keeps the earlier one; cancel stops it', async () => {
    const clock = new FakeClock(1000);
    const fired: number[] = [];
    const timer = new DeadlineTimer(clock, () => fired.push(clock.now()));
    timer.arm(1500);
    timer.arm(1800); // later: the 1500 one stays
    await clock.advance(500);
    assert.deepEqual(fired, [], 'not at the deadline itself');
    await clock.advance(1);
    assert.deepEqual(fired, [1501]);
    timer.arm(2000);
    timer.arm(1700); // earlier: replaces the 2000 one
    await clock.advance(500);
    assert.deepEqual(fired, [1501, 1701]);
    timer.arm(2500);
    timer.cancel();
    await clock.advance(1000);
    assert.deepEqual(fired, [1501, 1701]);
  });
});
