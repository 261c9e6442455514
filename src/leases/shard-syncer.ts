import type { KinesisApi } from '../aws/kinesis-api.js';
import type { ShardFilter, StreamRef } from '../aws/kinesis-types.js';
import { DependencyError } from '../errors.js';
import { hashRangeGaps, type CoverageGap } from '../shards/shard-graph.js';
import type { Shard } from '../shards/shard.js';
import type { Clock } from '../util/clock.js';
import type { Logger } from '../util/logger.js';
import { leasesForEmptyTable, leasesForNonEmptyTable, type StartSentinel } from './lease-creation.js';
import { parseLeaseKey } from './lease-key.js';
import { isFinished, shardIdOf, type Lease } from './lease.js';
import type { LeaseStore } from './lease-store.js';

/** Lease puts in flight at once during a sync. */
const CREATE_CONCURRENCY = 16;

/** @internal `toCreate` in waves (order kept within one): a lease comes in a later wave than every parent of it also created. */
export function leaseGenerations(toCreate: readonly Lease[]): Lease[][] {
  const byShard = new Map(toCreate.map((l) => [shardIdOf(l), l]));
  const waveOf = new Map<string, number>();
  const wave = (lease: Lease): number => {
    const id = shardIdOf(lease);
    let w = waveOf.get(id);
    if (w !== undefined) return w;
    waveOf.set(id, 0); // a (malformed) cycle ends here
    w = 0;
    for (const parent of lease.parentShardIds) {
      const parentLease = byShard.get(parent);
      if (parentLease !== undefined) w = Math.max(w, wave(parentLease) + 1);
    }
    waveOf.set(id, w);
    return w;
  };
  const waves: Lease[][] = [];
  for (const lease of toCreate) (waves[wave(lease)] ??= []).push(lease);
  return waves;
}

export interface ShardSyncResult {
  shards: number;
  created: string[];
  /** Finished leases whose shard is gone from the stream (past retention), deleted. */
  deleted: string[];
  /** Hash-key ranges no unfinished lease covers after this sync (normally none). */
  gaps: CoverageGap[];
}

export interface ShardSyncerOptions {
  initial: StartSentinel;
  initialTimestamp?: Date | undefined;
  clock: Clock;
  logger: Logger;
  /** Listing attempts on an empty table until the shards cover the key space. @defaultValue 3 */
  coverageAttempts?: number;
  /** Audits in a row that must see the same hole before it is reported. @defaultValue 3 */
  holeConfidence?: number;
  onPersistentHole?: (gaps: CoverageGap[]) => void;
  /**
   * Multi-stream: `account:stream:creationEpoch`. Only the table's leases of this stream id belong to the stream;
   * new leases get it in their key (and the `streamName` / `shardId` attributes). @defaultValue '' (single stream)
   */
  streamId?: string;
}

/**
 * Shard sync: lists the stream's shards and creates the missing leases with conditional puts, so several workers
 * may sync at once without a leader (a lost race is simply "already there"). Also removes finished leases of
 * shards that no longer exist and audits that unfinished leases cover the whole hash-key space.
 */
export class ShardSyncer {
  private lastHole = '';
  private holeCount = 0;

  constructor(
    private readonly kinesis: Pick<KinesisApi, 'listShards'>,
    private readonly store: LeaseStore,
    private readonly stream: StreamRef,
    private readonly options: ShardSyncerOptions,
  ) {}

  async sync(): Promise<ShardSyncResult> {
    const leases = await this.streamLeases();
    const leased = new Set(leases.map((l) => shardIdOf(l)));
    const { initial } = this.options;
    let shards: Shard[];
    let toCreate;
    if (leases.length === 0) {
      ({ shards, toCreate } = await this.listCoveringShards());
    } else {
      shards = await this.kinesis.listShards(this.stream);
      toCreate = leasesForNonEmptyTable(shards, leased, initial, this.options.streamId);
    }
    // Parents before children, as Java KCL does, so a concurrent reader of the table sees parents first; the leases
    // of one generation are independent and go together (a 100-shard stream starts in one round trip, not 100).
    const created: string[] = [];
    for (const wave of leaseGenerations(toCreate)) {
      for (let i = 0; i < wave.length; i += CREATE_CONCURRENCY) {
        const chunk = wave.slice(i, i + CREATE_CONCURRENCY);
        const results = await Promise.all(chunk.map((lease) => this.store.createLeaseIfNotExists(lease)));
        chunk.forEach((lease, j) => results[j] && created.push(lease.leaseKey));
      }
    }
    if (created.length > 0) this.options.logger.info({ created, shards: shards.length }, 'created leases for shards');

    const deleted: string[] = [];
    const listed = new Set(shards.map((s) => s.shardId));
    if (leases.length > 0 && shards.length > 0) {
      for (const lease of leases) {
        if (isFinished(lease) && !listed.has(shardIdOf(lease))) {
          await this.store.deleteLease(lease.leaseKey);
          deleted.push(lease.leaseKey);
        }
      }
      if (deleted.length > 0) this.options.logger.info({ deleted }, 'deleted finished leases of shards past retention');
    }
    // The table as this sync leaves it: what it listed, less what it deleted, plus what it put (created now, or
    // already there from a concurrent sync — the same shard either way). No second scan for the audit.
    const gone = new Set(deleted);
    const after = [...leases.filter((l) => !gone.has(l.leaseKey)), ...toCreate];
    const gaps = this.audit(shards, after);
    return { shards: shards.length, created, deleted, gaps };
  }

  /** An empty table starts from the shards of the initial position, which must cover the key space. */
  private async listCoveringShards(): Promise<{ shards: Shard[]; toCreate: ReturnType<typeof leasesForEmptyTable> }> {
    const attempts = this.options.coverageAttempts ?? 3;
    for (let attempt = 1; ; attempt++) {
      const shards = await this.kinesis.listShards(this.stream, { shardFilter: this.shardFilter() });
      const toCreate = leasesForEmptyTable(shards, this.options.initial, this.options.streamId);
      const gaps = hashRangeGaps(toCreate.map((l) => l.hashKeyRange!));
      if (gaps.length === 0) return { shards, toCreate };
      if (attempt >= attempts) {
        throw new DependencyError(
          `ListShards returned shards that do not cover the hash-key space (first gap ${gaps[0]!.from}…${gaps[0]!.to}); will retry`,
          { retriable: true },
        );
      }
      await this.options.clock.sleep(1000);
    }
  }

  /** The leases of this syncer's stream (all of them for a single-stream table). */
  private async streamLeases(): Promise<Lease[]> {
    const { leases } = await this.store.listLeases();
    const streamId = this.options.streamId ?? '';
    return streamId === '' ? leases : leases.filter((l) => parseLeaseKey(l.leaseKey).streamId === streamId);
  }

  private shardFilter(): ShardFilter {
    const { initial, initialTimestamp } = this.options;
    if (initial === 'LATEST') return { type: 'AT_LATEST' };
    if (initial === 'AT_TIMESTAMP' && initialTimestamp) return { type: 'AT_TIMESTAMP', timestamp: initialTimestamp };
    return { type: 'AT_TRIM_HORIZON' };
  }

  /**
   * Unfinished leases (plus the open shards a finished parent's children will cover) must span the key space.
   * A hole seen `holeConfidence` times in a row is reported; the sync that runs every interval repairs what
   * the lease-creation rules can repair.
   */
  private audit(shards: Shard[], leases: Lease[]): CoverageGap[] {
    if (leases.length === 0 || shards.length === 0) return [];
    const rangeOf = new Map(shards.map((s) => [s.shardId, s.hashKeyRange]));
    const ranges = leases
      .filter((l) => !isFinished(l))
      .map((l) => l.hashKeyRange ?? rangeOf.get(shardIdOf(l)))
      .filter((r): r is NonNullable<typeof r> => r !== undefined);
    const gaps = hashRangeGaps(ranges);
    const key = gaps.map((g) => `${g.from}-${g.to}`).join(',');
    if (gaps.length > 0 && key === this.lastHole) this.holeCount++;
    else this.holeCount = gaps.length > 0 ? 1 : 0;
    this.lastHole = key;
    if (this.holeCount >= (this.options.holeConfidence ?? 3)) {
      this.options.logger.warn({ gaps: gaps.map((g) => `${g.from}…${g.to}`) }, 'leases leave part of the hash-key space uncovered');
      this.options.onPersistentHole?.(gaps);
    }
    return gaps;
  }
}
