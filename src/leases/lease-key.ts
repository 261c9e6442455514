/**
 * The one builder and parser of lease keys. A single-stream lease key is the shard id; a multi-stream one is
 * `account:streamName:creationEpoch:shardId`, the stream id (Java KCL's serialized `StreamIdentifier`) before the
 * shard id. Shard ids and stream names contain no `:`, so the last `:` separates the two.
 */

/** The parts of a lease key; `streamId` is `''` for a single-stream lease. */
export interface LeaseKeyParts {
  streamId: string;
  shardId: string;
}

/** The lease key of `shardId` in the stream `streamId` (`''`: a single-stream application). */
export function leaseKeyOf(streamId: string, shardId: string): string {
  return streamId === '' ? shardId : `${streamId}:${shardId}`;
}

/** Splits a lease key into its stream id (`''` for a single-stream key) and shard id. */
export function parseLeaseKey(leaseKey: string): LeaseKeyParts {
  const i = leaseKey.lastIndexOf(':');
  return i < 0 ? { streamId: '', shardId: leaseKey } : { streamId: leaseKey.slice(0, i), shardId: leaseKey.slice(i + 1) };
}

/** The lease key of another shard of the same stream as `leaseKey` (a parent or a child). */
export function siblingLeaseKey(leaseKey: string, shardId: string): string {
  return leaseKeyOf(parseLeaseKey(leaseKey).streamId, shardId);
}
