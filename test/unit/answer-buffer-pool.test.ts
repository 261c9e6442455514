import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { AnswerBufferPool } from '../../src/aws/answer-buffer-pool.js';

const MIB = 1024 * 1024;

describe('AnswerBufferPool', () => {
  it('allocates whole MiB and hands a returned buffer out again, the smallest that fits', () => {
    const pool = new AnswerBufferPool(16 * MIB, 30_000);
    const small = pool.take(100_000);
    const large = pool.take(3 * MIB + 1);
    assert.equal(small.byteLength, MIB);
    assert.equal(large.byteLength, 4 * MIB);
    pool.give(large);
    pool.give(small);
    assert.equal(pool.idleBytes, 5 * MIB);
    assert.equal(pool.take(200_000), small, 'the 1-MiB buffer, not the 4-MiB one');
    assert.equal(pool.take(2 * MIB), large);
    assert.equal(pool.idleBytes, 0);
    assert.notEqual(pool.take(MIB), small, 'nothing free: a new buffer');
  });

  it('keeps at most its limit of unused bytes', () => {
    const pool = new AnswerBufferPool(3 * MIB, 30_000);
    const a = pool.take(2 * MIB);
    const b = pool.take(2 * MIB);
    pool.give(a);
    pool.give(b); // would make 4 MiB: dropped
    assert.equal(pool.idleBytes, 2 * MIB);
    assert.equal(pool.take(MIB), a);
    assert.notEqual(pool.take(MIB), b);
    const huge = pool.take(5 * MIB);
    pool.give(huge);
    assert.equal(pool.idleBytes, 0, 'a buffer above the limit is never kept');
  });

  it('lets go of buffers unused for longer than its idle time', () => {
    let now = 1_000;
    const pool = new AnswerBufferPool(16 * MIB, 30_000, () => now);
    const a = pool.take(MIB);
    const b = pool.take(MIB);
    pool.give(a);
    now += 20_000;
    pool.give(b);
    now += 10_000; // a: 30 s unused; b: 10 s
    pool.trim();
    assert.equal(pool.idleBytes, MIB, 'a was dropped, b kept');
    assert.equal(pool.take(MIB), b);
    pool.give(b);
    now += 30_000;
    assert.notEqual(pool.take(MIB), b, 'take() trims first: b had been unused for 30 s');
    assert.equal(pool.idleBytes, 0);
  });
});
