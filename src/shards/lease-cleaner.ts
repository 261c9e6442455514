import type { KinesisApi } from '../aws/kinesis-api.js';
import type { StreamRef } from '../aws/kinesis-types.js';
import { shardIdOf, type Lease } from '../leases/lease.js';
import type { LeaseStore } from '../leases/lease-store.js';
import type { Logger } from '../util/logger.js';
import { childrenOf } from './shard-graph.js';

const NOT_STARTED = new Set(['TRIM_HORIZON', 'AT_TIMESTAMP']);

/**
 * Deletes finished parent leases (Java KCL's LeaseCleanupManager): a lease at SHARD_END goes once every child
 * lease exists and has started (its checkpoint moved past TRIM_HORIZON / AT_TIMESTAMP) and its own parents'
 * leases are gone. Until then the finished lease is the tombstone that keeps children waiting correctly.
 */
export class LeaseCleaner {
  constructor(
    private readonly kinesis: Pick<KinesisApi, 'listShards'>,
    private readonly store: LeaseStore,
    private readonly stream: StreamRef,
    private readonly logger: Logger,
    private readonly leaseKeyPrefix = '',
  ) {}

  /** Whether `lease` may be deleted now. */
  async isDeletable(lease: Lease): Promise<boolean> {
    if (lease.checkpoint.sequenceNumber !== 'SHARD_END') return false;
    for (const parent of lease.parentShardIds) {
      if (await this.store.getLease(this.leaseKeyPrefix + parent)) return false;
    }
    let children = lease.childShardIds;
    if (children.length === 0) {
      children = childrenOf(shardIdOf(lease), await this.kinesis.listShards(this.stream)).map((s) => s.shardId);
      if (children.length > 0) await this.store.updateMetaInfo(lease.leaseKey, { childShardIds: children });
    }
    for (const child of children) {
      const childLease = await this.store.getLease(this.leaseKeyPrefix + child, { consistentRead: true });
      if (childLease === undefined || NOT_STARTED.has(childLease.checkpoint.sequenceNumber)) return false;
    }
    return true;
  }

  /** Deletes the lease when {@link isDeletable}; resolves `true` when it was deleted. */
  async cleanUp(lease: Lease, beforeDelete: () => void = () => undefined): Promise<boolean> {
    if (!(await this.isDeletable(lease))) return false;
    beforeDelete();
    await this.store.deleteLease(lease.leaseKey);
    this.logger.info({ leaseKey: lease.leaseKey }, 'deleted finished lease: every child has started');
    return true;
  }
}
