import type { IteratorPosition } from '../aws/kinesis-types.js';
import type { ExtendedSequenceNumber } from '../checkpoint/extended-sequence-number.js';
import { IllegalArgumentError } from '../errors.js';
import type { KinesisClientRecord } from '../processor/types.js';

/** Where reading a shard starts, derived from its checkpoint. */
export interface StartingPosition {
  /** The first shard iterator to ask for; `undefined` ⇒ the checkpoint is SHARD_END and there is nothing to read. */
  iterator: IteratorPosition | undefined;
  /**
   * Set when starting `AT_SEQUENCE_NUMBER` of a checkpoint: records with `ESN(seq, sub) <= filterAtOrBelow` were
   * already processed and must be dropped. Starting *at* (not after) the checkpointed record re-reads it so that
   * the later sub-records of a checkpointed KPL aggregate are not lost.
   */
  filterAtOrBelow?: ExtendedSequenceNumber;
}

/**
 * Checkpoint → first iterator (Java KCL's `IteratorBuilder`): a sequence number → `AT_SEQUENCE_NUMBER` plus a
 * filter at or below it; `TRIM_HORIZON` / `LATEST` → the same; `AT_TIMESTAMP` → `AT_TIMESTAMP(initialTimestamp)`;
 * `SHARD_END` → nothing to read.
 * @throws IllegalArgumentError for an `AT_TIMESTAMP` checkpoint without `initialTimestamp`.
 */
export function startingPosition(checkpoint: ExtendedSequenceNumber, initialTimestamp?: Date): StartingPosition {
  if (!checkpoint.isSentinel) {
    return {
      iterator: { type: 'AT_SEQUENCE_NUMBER', sequenceNumber: checkpoint.sequenceNumber },
      filterAtOrBelow: checkpoint,
    };
  }
  switch (checkpoint.sequenceNumber) {
    case 'TRIM_HORIZON':
      return { iterator: { type: 'TRIM_HORIZON' } };
    case 'LATEST':
      return { iterator: { type: 'LATEST' } };
    case 'AT_TIMESTAMP':
      if (initialTimestamp === undefined || Number.isNaN(initialTimestamp.getTime())) {
        throw new IllegalArgumentError('Checkpoint AT_TIMESTAMP needs a valid initial timestamp (initialPosition: { timestamp })');
      }
      return { iterator: { type: 'AT_TIMESTAMP', timestamp: initialTimestamp } };
    default: // SHARD_END
      return { iterator: undefined };
  }
}

/**
 * Drops the records at or below `checkpoint` (by sequence number, then sub-sequence number). Returns `records`
 * itself when nothing is dropped. Records come in shard order, so once one is above the checkpoint every later
 * record is too: `done` says so, and the caller can stop filtering.
 */
export function filterAfterCheckpoint(
  records: KinesisClientRecord[],
  checkpoint: ExtendedSequenceNumber,
): { records: KinesisClientRecord[]; done: boolean } {
  const checkpointNumber = BigInt(checkpoint.sequenceNumber);
  for (let i = 0; i < records.length; i++) {
    const r = records[i]!;
    const seq = BigInt(r.sequenceNumber);
    if (seq > checkpointNumber || (seq === checkpointNumber && r.subSequenceNumber > checkpoint.subSequenceNumber)) {
      return { records: i === 0 ? records : records.slice(i), done: true };
    }
  }
  return { records: [], done: false };
}
