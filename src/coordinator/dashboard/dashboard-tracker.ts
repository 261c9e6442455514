import type { LeaseState, LeaseTableStatus } from '../lease-table-status.js';
import { findProblems, lagMillis, shardKey, unfinishedParents, type DashboardProblem } from './dashboard-problems.js';
import { layoutShards, type ShardPlacement } from './shard-layout.js';

/** One change of a lease seen between two reads of the table. */
export interface OwnershipEvent {
  /** Increases by one per event, for the page to tell new events from known ones. */
  seq: number;
  /** Epoch milliseconds of the read that saw it. */
  at: number;
  leaseKey: string;
  shardId: string;
  /**
   * `created`/`removed`: the lease appeared/disappeared; `assigned`: an unowned lease got an owner; `moved`: the
   * owner changed (expired and taken, stolen, or a handoff completed); `released`: the owner let go;
   * `handoff`: a graceful handoff began; `finished`: the checkpoint reached SHARD_END.
   */
  kind: 'created' | 'assigned' | 'moved' | 'released' | 'handoff' | 'finished' | 'removed';
  from: string | null;
  to: string | null;
}

/** Everything the page shows, from one read plus what the tracker remembers. */
export interface DashboardView {
  status: LeaseTableStatus;
  /** One per lease, in `status.leases` order. */
  layout: ShardPlacement[];
  /** Epoch milliseconds each lease's counter was last seen moving (or first seen). */
  counterSince: Record<string, number>;
  /** The latest events, oldest first (at most `maxEvents`). */
  events: OwnershipEvent[];
  problems: DashboardProblem[];
  /** When the tracker started (events before it are unknown). */
  trackingSince: number;
  refreshMillis: number;
  staleAfterMillis: number;
  /** When the lag shown was measured (epoch ms); `null` when not measured yet or not at all. */
  lagMeasuredAt: number | null;
}

export interface DashboardTrackerOptions {
  refreshMillis: number;
  staleAfterMillis: number;
  /** @defaultValue 500 */
  maxEvents?: number;
}

interface Seen {
  owner: string | null;
  state: LeaseState;
  counter: number;
}

/**
 * Turns successive reads of the lease table into what the dashboard shows over time: the ownership timeline,
 * when each counter last moved, how long children have waited, lag trends, and the problems judged on them.
 * Pure: the caller passes each read and its time.
 */
export class DashboardTracker {
  private readonly seen = new Map<string, Seen>();
  private readonly counterSince = new Map<string, number>();
  private readonly waitingSince = new Map<string, number>();
  private readonly lagHistory = new Map<string, number[]>();
  private readonly events: OwnershipEvent[] = [];
  private seq = 0;
  private first = true;
  private trackingSince: number | undefined;

  constructor(private readonly options: DashboardTrackerOptions) {}

  /** Feeds one read; `lagMeasuredAt` is set when this read carries a new lag measurement. */
  update(status: LeaseTableStatus, now: number, lagMeasuredAt: number | null, newLag: boolean): DashboardView {
    this.trackingSince ??= now;
    const present = new Set<string>();
    const byShard = new Map(status.leases.map((l) => [shardKey(l.stream, l.shardId), l]));
    for (const l of status.leases) {
      present.add(l.leaseKey);
      const prev = this.seen.get(l.leaseKey);
      if (prev === undefined || prev.counter !== l.counter) this.counterSince.set(l.leaseKey, now);
      if (!this.first) this.diff(l.leaseKey, l.shardId, prev, l, now);
      this.seen.set(l.leaseKey, { owner: l.owner, state: l.state, counter: l.counter });
      if (unfinishedParents(l, byShard).length > 0) {
        if (!this.waitingSince.has(l.leaseKey)) this.waitingSince.set(l.leaseKey, now);
      } else {
        this.waitingSince.delete(l.leaseKey);
      }
      const lag = lagMillis(l);
      if (newLag && lag !== null) {
        const h = this.lagHistory.get(l.leaseKey) ?? [];
        h.push(lag);
        if (h.length > 4) h.shift();
        this.lagHistory.set(l.leaseKey, h);
      }
    }
    for (const [key, prev] of this.seen) {
      if (present.has(key)) continue;
      this.push({ at: now, leaseKey: key, shardId: key.slice(key.lastIndexOf(':') + 1), kind: 'removed', from: prev.owner, to: null });
      this.seen.delete(key);
      this.counterSince.delete(key);
      this.waitingSince.delete(key);
      this.lagHistory.delete(key);
    }
    this.first = false;
    const problems = findProblems({
      status,
      now,
      staleAfterMillis: this.options.staleAfterMillis,
      counterSince: this.counterSince,
      waitingSince: this.waitingSince,
      lagHistory: this.lagHistory,
    });
    return {
      status,
      layout: layoutShards(status.leases),
      counterSince: Object.fromEntries(this.counterSince),
      events: [...this.events],
      problems,
      trackingSince: this.trackingSince,
      refreshMillis: this.options.refreshMillis,
      staleAfterMillis: this.options.staleAfterMillis,
      lagMeasuredAt,
    };
  }

  private diff(leaseKey: string, shardId: string, prev: Seen | undefined, now: { owner: string | null; state: LeaseState; handoff: { from: string } | null }, at: number): void {
    const base = { at, leaseKey, shardId };
    if (prev === undefined) {
      this.push({ ...base, kind: 'created', from: null, to: now.owner });
      return;
    }
    if (prev.state !== 'finished' && now.state === 'finished') this.push({ ...base, kind: 'finished', from: prev.owner, to: now.owner });
    if (prev.state !== 'handoff' && now.state === 'handoff') {
      this.push({ ...base, kind: 'handoff', from: now.handoff?.from ?? prev.owner, to: now.owner });
      return;
    }
    if (prev.owner === now.owner) return;
    const kind = prev.owner === null ? 'assigned' : now.owner === null ? 'released' : 'moved';
    this.push({ ...base, kind, from: prev.owner, to: now.owner });
  }

  private push(event: Omit<OwnershipEvent, 'seq'>): void {
    this.events.push({ seq: ++this.seq, ...event });
    const max = this.options.maxEvents ?? 500;
    if (this.events.length > max) this.events.splice(0, this.events.length - max);
  }
}
