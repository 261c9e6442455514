import type { ChildShard, Shard } from '../shards/shard.js';
import type { Clock } from '../util/clock.js';
import { abortReason } from '../util/clock.js';

/** A shard as the latest listing saw it. */
export type ShardState =
  | { state: 'open' }
  /** Closed (split, merged): `children` are the shards listed with it as a parent (possibly none yet). */
  | { state: 'closed'; children: ChildShard[] }
  /** Not listed: expired past retention, deleted, or too new for the listing. */
  | { state: 'absent' };

/**
 * ListShards results shared by every fan-out subscriber of one stream, so that asking "is this shard closed?" for
 * hundreds of idle shards costs one ListShards per `ttlMillis`, not one per shard. Concurrent askers share one
 * call. A failed listing is not cached.
 */
export class ShardStateCache {
  private shards: Map<string, Shard> | undefined;
  private fetchedAt = Number.NEGATIVE_INFINITY;
  private inFlight: Promise<Map<string, Shard>> | undefined;

  constructor(
    private readonly listShards: () => Promise<Shard[]>,
    private readonly ttlMillis: number,
    private readonly clock: Clock,
  ) {}

  async get(shardId: string, signal?: AbortSignal): Promise<ShardState> {
    const shards = await this.listing(signal);
    const shard = shards.get(shardId);
    if (shard === undefined) return { state: 'absent' };
    if (shard.sequenceNumberRange.endingSequenceNumber === undefined) return { state: 'open' };
    const children: ChildShard[] = [];
    for (const s of shards.values()) {
      if (s.parentShardId !== shardId && s.adjacentParentShardId !== shardId) continue;
      children.push({
        shardId: s.shardId,
        parentShards: [s.parentShardId, s.adjacentParentShardId].filter((p): p is string => p !== undefined),
        hashKeyRange: { ...s.hashKeyRange },
      });
    }
    return { state: 'closed', children };
  }

  private listing(signal?: AbortSignal): Promise<Map<string, Shard>> {
    if (this.shards !== undefined && this.clock.now() - this.fetchedAt < this.ttlMillis) return Promise.resolve(this.shards);
    this.inFlight ??= this.listShards()
      .then((list) => {
        this.shards = new Map(list.map((s) => [s.shardId, s]));
        this.fetchedAt = this.clock.now();
        return this.shards;
      })
      .finally(() => {
        this.inFlight = undefined;
      });
    const shared = this.inFlight;
    if (signal === undefined) return shared;
    // One asker giving up must not cancel the call the others wait on: only this wait ends.
    return new Promise((resolve, reject) => {
      if (signal.aborted) {
        shared.catch(() => undefined);
        reject(abortReason(signal));
        return;
      }
      const onAbort = (): void => {
        shared.catch(() => undefined);
        reject(abortReason(signal));
      };
      signal.addEventListener('abort', onAbort, { once: true });
      shared.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
    });
  }
}
