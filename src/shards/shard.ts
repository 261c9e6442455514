import type { HashKeyRange } from './hash-key-range.js';

/**
 * The shard model the library speaks everywhere (src/aws maps the SDK's shapes to it). Pure types: every layer
 * from src/aws up may import them.
 */
export interface Shard {
  shardId: string;
  parentShardId?: string;
  adjacentParentShardId?: string;
  hashKeyRange: HashKeyRange;
  /** `endingSequenceNumber` set ⇒ the shard is closed (split, merged or scaled away). */
  sequenceNumberRange: { startingSequenceNumber: string; endingSequenceNumber?: string };
}

/**
 * A child of a shard that has been read to its end, as the last GetRecords on the parent (or a ListShards
 * fallback) describes it. Processors see the same shape as `ChildShardInfo`.
 */
export interface ChildShard {
  shardId: string;
  parentShards: string[];
  hashKeyRange: HashKeyRange;
}

/** Whether the shard still takes writes (no ending sequence number yet). */
export function isOpen(shard: Pick<Shard, 'sequenceNumberRange'>): boolean {
  return shard.sequenceNumberRange.endingSequenceNumber === undefined;
}
