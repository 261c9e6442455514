import type { Lease } from './lease.js';
import { parseLeaseKey } from './lease-key.js';
import type { LeaseStore, ListLeasesResult } from './lease-store.js';

/**
 * Java KCL's `StreamIdentifier` in multi-stream mode: `account:streamName:creationEpoch` (epoch in seconds).
 * Multi-stream lease keys are `account:streamName:creationEpoch:shardId` (built and parsed by lease-key.ts), and
 * the lease's `streamName` attribute holds the serialized identifier (Java keeps that name "for legacy reasons").
 */
export interface StreamIdentifier {
  accountId: string;
  streamName: string;
  creationEpochSeconds: number;
}

const IDENTIFIER = /^(\d+):([^:]+):(\d+)$/;
/** Account of streams whose ARN is unknown (emulators without ARNs), as kinesis-local writes it. */
export const DEFAULT_ACCOUNT_ID = '000000000000';

export function serializeStreamIdentifier(id: StreamIdentifier): string {
  return `${id.accountId}:${id.streamName}:${id.creationEpochSeconds}`;
}

/** Parses `account:streamName:creationEpoch`; undefined when it is not one. */
export function parseStreamIdentifier(value: string): StreamIdentifier | undefined {
  const m = IDENTIFIER.exec(value);
  if (m === null) return undefined;
  return { accountId: m[1]!, streamName: m[2]!, creationEpochSeconds: Number(m[3]) };
}

/** The identifier of a stream from DescribeStreamSummary's ARN and creation time. */
export function streamIdentifierOf(summary: { streamName: string; streamArn?: string | undefined; streamCreationTimestamp: Date }): StreamIdentifier {
  return {
    accountId: accountOfStreamArn(summary.streamArn) ?? DEFAULT_ACCOUNT_ID,
    streamName: summary.streamName,
    creationEpochSeconds: Math.floor(summary.streamCreationTimestamp.getTime() / 1000),
  };
}

/** `arn:aws:kinesis:<region>:<account>:stream/<name>` → account. */
export function accountOfStreamArn(arn: string | undefined): string | undefined {
  const m = /^arn:[^:]+:kinesis:[^:]*:(\d+):stream\//.exec(arn ?? '');
  return m?.[1];
}

/** Whether an item of the lease table is a multi-stream lease (has the `streamName` attribute or the key shape). */
export function isMultiStreamLease(lease: Pick<Lease, 'leaseKey' | 'streamName'>): boolean {
  return lease.streamName !== undefined || streamIdentifierOfLease(lease) !== undefined;
}

/** The serialized stream identifier of a multi-stream lease, from the `streamName` attribute or else the key. */
export function streamIdentifierOfLease(lease: Pick<Lease, 'leaseKey' | 'streamName'>): string | undefined {
  if (lease.streamName !== undefined) return lease.streamName;
  const { streamId, shardId } = parseLeaseKey(lease.leaseKey);
  return shardId !== '' && parseStreamIdentifier(streamId) !== undefined ? streamId : undefined;
}

/**
 * A view of a lease table that lists only the leases `accept` keeps; the others count as `skipped`. Single-stream
 * and multi-stream applications see only their own kind of item (Java KCL: switching modes makes the old leases
 * invisible), and a multi-stream application only the streams it currently consumes. Keyed reads and writes pass
 * through: the two kinds of lease key never collide (shard ids contain no `:`).
 */
export function filteredLeaseStore(
  store: LeaseStore,
  accept: (lease: Lease) => boolean,
  onRejected?: (rejected: Lease[]) => void,
): LeaseStore {
  const listLeases = async (): Promise<ListLeasesResult> => {
    const result = await store.listLeases();
    const leases: Lease[] = [];
    const rejected: Lease[] = [];
    for (const lease of result.leases) (accept(lease) ? leases : rejected).push(lease);
    if (rejected.length > 0) onRejected?.(rejected);
    return { leases, malformed: result.malformed, skipped: result.skipped + rejected.length };
  };
  return new Proxy(store, {
    get(target, property) {
      if (property === 'listLeases') return listLeases;
      const value: unknown = Reflect.get(target, property, target);
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
}
