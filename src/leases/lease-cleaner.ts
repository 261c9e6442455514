import type { KinesisApi } from '../aws/kinesis-api.js';
import type { StreamRef } from '../aws/kinesis-types.js';
import { childrenOf } from '../shards/shard-graph.js';
import type { Logger } from '../util/logger.js';
import { hasStarted, isFinished, shardIdOf, type Lease } from './lease.js';
import { leaseKeyOf } from './lease-key.js';
import type { LeaseStore } from './lease-store.js';

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
    /** Multi-stream: the stream id in front of the shard id in lease keys. */
    private readonly streamId = '',
  ) {}

  /** Whether `lease` may be deleted now. */
  async isDeletable(lease: Lease): Promise<boolean> {
    if (!isFinished(lease)) return false;
    for (const parent of lease.parentShardIds) {
      if (await this.store.getLease(leaseKeyOf(this.streamId, parent))) return false;
    }
    let children = lease.childShardIds;
    if (children.length === 0) {
      children = childrenOf(shardIdOf(lease), await this.kinesis.listShards(this.stream)).map((s) => s.shardId);
      if (children.length > 0) await this.store.updateMetaInfo(lease.leaseKey, { childShardIds: children });
    }
    for (const child of children) {
      const childLease = await this.store.getLease(leaseKeyOf(this.streamId, child), { consistentRead: true });
      if (childLease === undefined || !hasStarted(childLease)) return false;
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
