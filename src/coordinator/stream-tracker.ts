import { resolveStreamConfigs, type ResolvedOptions, type ResolvedStreamConfig, type ResolvedStreams } from '../config/resolve-options.js';
import type { LeaseStore } from '../leases/lease-store.js';
import { parseLeaseKey } from '../leases/lease-key.js';
import { PeriodicTask } from '../util/periodic-task.js';
import type { StreamContext } from './stream-context.js';

/** What changed between the streams consumed now (by config key) and a new list. */
export interface StreamDiff {
  added: ResolvedStreamConfig[];
  removed: string[];
}

/** Streams of `next` not yet consumed, and consumed streams no longer in `next`, both by config key. */
export function diffStreams(current: Iterable<string>, next: readonly ResolvedStreamConfig[]): StreamDiff {
  const have = new Set(current);
  const want = new Set(next.map((s) => s.key));
  return { added: next.filter((s) => !have.has(s.key)), removed: [...have].filter((k) => !want.has(k)) };
}

export interface StreamTrackerDeps {
  options: Readonly<ResolvedOptions>;
  streams: ResolvedStreams;
  /** The whole lease table (not the filtered view): deletion must see the leases of removed streams. */
  rawStore: LeaseStore;
  createContext(config: ResolvedStreamConfig): Promise<StreamContext>;
  /** A new stream: sync its shards into leases. */
  added(context: StreamContext): Promise<void>;
  /** A stream left the list: stop its consumers and release their leases. */
  removed(context: StreamContext): Promise<void>;
  onTaskError(task: 'stream-tracker', error: unknown): void;
}

/**
 * Multi-stream: keeps the set of consumed streams in line with `streams` (Java KCL's `StreamTracker` handling).
 * A fixed list is read once at start; a function is polled every `streamTrackerIntervalMillis`. Streams that appear
 * get a {@link StreamContext}; streams that disappear are stopped, and with `formerStreamLeasesDeletionDelayMillis`
 * their leases are deleted that long afterwards (unless the stream came back).
 */
export class StreamTracker {
  private readonly byKey = new Map<string, StreamContext>();
  private readonly byId = new Map<string, StreamContext>();
  /** Removed streams, by stream id, with the time their leases may be deleted. */
  private readonly pendingDeletion = new Map<string, { at: number }>();
  private readonly task: PeriodicTask<'stream-tracker'> | undefined;

  constructor(private readonly deps: StreamTrackerDeps) {
    if (deps.streams.tracker !== undefined) {
      this.task = new PeriodicTask('stream-tracker', deps.streams.trackerIntervalMillis, async () => {
        await this.poll(false);
      }, deps.options.clock, (task, error) =>
        deps.onTaskError(task, error),
      );
    }
  }

  /** The context of a stream id (`account:stream:creationEpoch`), while it is consumed. */
  get(id: string): StreamContext | undefined {
    return this.byId.get(id);
  }

  contexts(): StreamContext[] {
    return [...this.byId.values()];
  }

  /** Ids of the streams consumed now. */
  activeIds(): ReadonlySet<string> {
    return new Set(this.byId.keys());
  }

  /** Removed streams whose leases wait for deletion. */
  get pendingDeletions(): number {
    return this.pendingDeletion.size;
  }

  /** First poll (a stream of a fixed list that cannot be described fails the start), then the periodic polls. */
  async start(): Promise<void> {
    await this.poll(this.deps.streams.tracker === undefined);
    this.task?.start(false);
  }

  async stop(): Promise<void> {
    await this.task?.stop();
  }

  /** One round: read the list, add and remove streams, delete the leases of streams removed long enough ago. */
  async poll(strict = false): Promise<StreamDiff> {
    const { streams, options } = this.deps;
    const list = streams.list ?? resolveStreamConfigs(await streams.tracker!(), 'streams()', options.initialPosition);
    const diff = diffStreams(this.byKey.keys(), list);
    for (const config of diff.added) {
      let context: StreamContext;
      try {
        context = await this.deps.createContext(config);
      } catch (error) {
        if (strict) throw error;
        options.logger.warn({ stream: config.key, err: error }, 'cannot consume stream yet; trying again at the next poll');
        this.deps.onTaskError('stream-tracker', error);
        continue;
      }
      this.byKey.set(config.key, context);
      this.byId.set(context.id, context);
      this.pendingDeletion.delete(context.id);
      options.logger.info({ stream: context.streamName, streamId: context.id }, 'consuming stream');
      await this.deps.added(context);
    }
    for (const key of diff.removed) {
      const context = this.byKey.get(key)!;
      this.byKey.delete(key);
      this.byId.delete(context.id);
      const delay = streams.formerStreamLeasesDeletionDelayMillis;
      options.logger.info({ stream: context.streamName, streamId: context.id, deleteLeasesAfterMillis: delay }, 'stream removed; stopping its shards');
      await this.deps.removed(context);
      if (delay !== undefined) this.pendingDeletion.set(context.id, { at: options.clock.now() + delay });
    }
    await this.deleteFormerStreamLeases();
    return diff;
  }

  private async deleteFormerStreamLeases(): Promise<void> {
    const now = this.deps.options.clock.now();
    const due = [...this.pendingDeletion].filter(([id, p]) => p.at <= now && !this.byId.has(id));
    if (due.length === 0) return;
    const { leases } = await this.deps.rawStore.listLeases();
    for (const [id] of due) {
      const keys = leases.filter((l) => parseLeaseKey(l.leaseKey).streamId === id).map((l) => l.leaseKey);
      for (const key of keys) await this.deps.rawStore.deleteLease(key);
      this.pendingDeletion.delete(id);
      this.deps.options.logger.info({ streamId: id, deleted: keys.length }, 'deleted the leases of a former stream');
    }
  }
}
