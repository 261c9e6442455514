import type { KinesisApi } from '../aws/kinesis-api.js';
import type { ShardFilter, StreamRef, Shard } from '../aws/kinesis-types.js';
import type { LeaseStore } from '../leases/lease-store.js';
import type { Logger } from '../util/logger.js';
import { leasesToCreate, type StartSentinel } from './lease-creation.js';

export interface ShardSyncResult {
  shards: number;
  created: string[];
}

/**
 * Shard sync: lists the stream's shards and creates the missing leases with conditional puts, so
 * several workers may sync at once without a leader (a lost race is simply "already there").
 */
export class ShardSyncer {
  constructor(
    private readonly kinesis: Pick<KinesisApi, 'listShards'>,
    private readonly store: LeaseStore,
    private readonly stream: StreamRef,
    private readonly initial: StartSentinel,
    private readonly initialTimestamp: Date | undefined,
    private readonly logger: Logger,
  ) {}

  async sync(): Promise<ShardSyncResult> {
    const { leases } = await this.store.listLeases();
    const existing = new Set(leases.map((l) => l.leaseKey));
    const shards = await this.listShards(existing.size === 0);
    const toCreate = leasesToCreate(shards, existing, this.initial);
    const created: string[] = [];
    await Promise.all(
      toCreate.map(async (lease) => {
        if (await this.store.createLeaseIfNotExists(lease)) created.push(lease.leaseKey);
      }),
    );
    if (created.length > 0) this.logger.info({ created: created.length, shards: shards.length }, 'created leases for shards');
    return { shards: shards.length, created };
  }

  /** On an empty table the service's ShardFilter narrows the listing; emulators that ignore it are fine too. */
  private listShards(emptyTable: boolean): Promise<Shard[]> {
    if (!emptyTable) return this.kinesis.listShards(this.stream);
    let shardFilter: ShardFilter;
    if (this.initial === 'LATEST') shardFilter = { type: 'AT_LATEST' };
    else if (this.initial === 'AT_TIMESTAMP' && this.initialTimestamp) shardFilter = { type: 'AT_TIMESTAMP', timestamp: this.initialTimestamp };
    else shardFilter = { type: 'AT_TRIM_HORIZON' };
    return this.kinesis.listShards(this.stream, { shardFilter });
  }
}
