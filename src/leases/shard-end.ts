import type { KinesisApi } from '../aws/kinesis-api.js';
import type { StreamRef } from '../aws/kinesis-types.js';
import { DependencyError } from '../errors.js';
import type { LeaseStore } from './lease-store.js';
import { childrenOf, parentsOf } from '../shards/shard-graph.js';
import type { ChildShard } from '../shards/shard.js';
import type { Logger } from '../util/logger.js';
import { newLeaseForShard } from './lease-creation.js';
import { leaseKeyOf } from './lease-key.js';

/** The other parent of a merge child has no lease yet: wait (shard sync creates it), then retry. */
export class BlockedOnParentError extends DependencyError {
  constructor(message: string) {
    super(message, { retriable: true });
  }
}

/**
 * The bookkeeping at the end of a shard, before the processor's `shardEnded` (Java KCL's ShutdownTask):
 * child leases at TRIM_HORIZON with every parent and the hash range, then `childShardIds` on the parent.
 * Children come from the last GetRecords' `ChildShards`; when absent (kinesalite, a trimmed shard) from ListShards.
 */
export class ShardEndHandler {
  constructor(
    private readonly kinesis: Pick<KinesisApi, 'listShards'>,
    private readonly store: LeaseStore,
    private readonly stream: StreamRef,
    private readonly logger: Logger,
    /** Multi-stream: the stream id (`account:stream:creationEpoch`) in front of the shard id in lease keys. */
    private readonly streamId = '',
  ) {}

  /** Creates the children's leases and records them on the parent. Resolves with the child shard ids. */
  async prepare(parentLeaseKey: string, parentShardId: string, reported: readonly ChildShard[] | undefined): Promise<string[]> {
    const children = reported && reported.length > 0 ? reported : await this.listChildren(parentShardId);
    if (children.length === 0) {
      this.logger.info({ shardId: parentShardId }, 'shard ended without child shards (stream deleted or shard trimmed)');
      return [];
    }
    for (const child of children) {
      const key = leaseKeyOf(this.streamId, child.shardId);
      if (await this.store.getLease(key, { consistentRead: true })) continue;
      // A merge child may only exist once the other parent is tracked too; otherwise the child would find that
      // parent's lease missing, take it for finished, and start before the other parent's records are done.
      for (const other of child.parentShards.filter((p) => p !== parentShardId)) {
        if (!(await this.store.getLease(leaseKeyOf(this.streamId, other), { consistentRead: true }))) {
          throw new BlockedOnParentError(
            `Child ${child.shardId} of ${parentShardId} waits for a lease of its other parent ${other} (created by the next shard sync)`,
          );
        }
      }
      const lease = newLeaseForShard(
        { shardId: child.shardId, hashKeyRange: child.hashKeyRange, parentShardId: child.parentShards[0], adjacentParentShardId: child.parentShards[1] },
        'TRIM_HORIZON',
        this.streamId,
      );
      if (await this.store.createLeaseIfNotExists(lease)) this.logger.info({ shardId: child.shardId, parents: child.parentShards }, 'created child lease');
    }
    const childShardIds = children.map((c) => c.shardId).sort();
    const result = await this.store.updateMetaInfo(parentLeaseKey, { childShardIds });
    if (!result.ok) throw new DependencyError(`Could not record children on lease ${parentLeaseKey}: ${result.reason}`, { retriable: true });
    return childShardIds;
  }

  private async listChildren(parentShardId: string): Promise<ChildShard[]> {
    const shards = await this.kinesis.listShards(this.stream);
    return childrenOf(parentShardId, shards).map((s) => ({ shardId: s.shardId, parentShards: parentsOf(s), hashKeyRange: { ...s.hashKeyRange } }));
  }
}
