import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ExtendedSequenceNumber as ESN, maxSequenceNumber } from '../../src/checkpoint/extended-sequence-number.js';
import { IllegalArgumentError } from '../../src/errors.js';

const big = '49650727271153203436487421036563962513357125384373993490';
const bigger = '49650727271153203436487421036563962513357125384373993491';

describe('ExtendedSequenceNumber', () => {
  it('orders sentinels and numbers as Java KCL does', () => {
    const ordered = [ESN.AT_TIMESTAMP, ESN.TRIM_HORIZON, ESN.LATEST, new ESN('0'), new ESN('7'), new ESN(big), new ESN(big, 3), new ESN(bigger), ESN.SHARD_END];
    for (let i = 0; i < ordered.length; i++) {
      for (let j = 0; j < ordered.length; j++) {
        assert.equal(ordered[i]!.compareTo(ordered[j]!), Math.sign(i - j), `${ordered[i]!.toString()} vs ${ordered[j]!.toString()}`);
      }
    }
  });

  it('compares as BigInt, not lexically or as float', () => {
    assert.ok(new ESN('9').compareTo(new ESN('10')) < 0);
    // These two differ only beyond float precision.
    assert.ok(new ESN(big).compareTo(new ESN(bigger)) < 0);
    assert.ok(new ESN(big).equals(new ESN(big, 0)));
    assert.ok(!new ESN(big).equals(new ESN(big, 1)));
  });

  it('exposes sentinel and shard-end flags', () => {
    assert.equal(ESN.SHARD_END.isShardEnd, true);
    assert.equal(ESN.LATEST.isSentinel, true);
    assert.equal(new ESN(big).isSentinel, false);
    assert.deepEqual(new ESN(big, 2).toJSON(), { sequenceNumber: big, subSequenceNumber: 2 });
    assert.equal(maxSequenceNumber(new ESN('5'), ESN.SHARD_END), ESN.SHARD_END);
  });

  it('rejects bad strings and sub-sequence numbers with a clear error', () => {
    for (const bad of ['', 'abc', '12a', '-1', '1.5', ' 1', 'trim_horizon', '1'.repeat(129)]) {
      assert.throws(() => new ESN(bad), (e: unknown) => e instanceof IllegalArgumentError && e.code === 'KCL_ILLEGAL_ARGUMENT' && /Invalid sequence number/.test(e.message), bad);
    }
    assert.throws(() => new ESN('1', -1), IllegalArgumentError);
    assert.throws(() => new ESN('1', 1.5), IllegalArgumentError);
    assert.throws(() => new ESN(undefined as unknown as string), IllegalArgumentError);
  });
});
