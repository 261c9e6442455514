import type { LeaseStatus, LeaseTableStatus } from '../lease-table-status.js';
import { DashboardTracker, type DashboardView } from './dashboard-tracker.js';

/** What the dashboard reads the table with: `LeaseTableInspector` (the same code as `ts-kcl status`). */
export interface StatusReader {
  read(options?: { lag?: boolean }): Promise<LeaseTableStatus>;
}

export interface DashboardSourceOptions {
  reader: StatusReader;
  /** Whether the reader can measure lag (a stream and Kinesis access). */
  measuresLag: boolean;
  /** The table is read at most once per this interval, however many pages poll. */
  refreshMillis: number;
  /** Lag (2+ Kinesis calls per shard) is measured at most once per this interval; between, the last values are shown. */
  lagRefreshMillis: number;
  /** A held lease whose counter has not moved for this long is reported (the failover time). */
  staleAfterMillis: number;
  /** Epoch milliseconds. @defaultValue Date.now */
  now?: () => number;
}

/**
 * Reads the lease table for the dashboard on demand: nothing is read while no page polls, a read is shared by
 * every page that asks within `refreshMillis`, and lag is measured at most every `lagRefreshMillis` in the
 * background (at 1 000 shards that takes longer than a refresh): the table keeps refreshing meanwhile and the
 * last measurement is carried over, so the JSON keeps the shape of `ts-kcl status --json`.
 */
export class DashboardSource {
  private readonly tracker: DashboardTracker;
  private readonly now: () => number;
  private cached: { view: DashboardView; at: number } | undefined;
  private inflight: Promise<DashboardView> | undefined;
  private lagInflight: Promise<void> | undefined;
  private lag = new Map<string, LeaseStatus['lag']>();
  private lagAt: number | null = null;
  private lagStartedAt: number | null = null;
  private freshLag = false;
  /** Table reads and lag measurements done (for tests and the cost benchmark). */
  reads = 0;
  lagReads = 0;

  constructor(private readonly options: DashboardSourceOptions) {
    this.now = options.now ?? Date.now;
    this.tracker = new DashboardTracker({ refreshMillis: options.refreshMillis, staleAfterMillis: options.staleAfterMillis });
  }

  /** The latest view, read now unless a read younger than `refreshMillis` exists. Rejects when the read fails. */
  view(): Promise<DashboardView> {
    const cached = this.cached;
    // A little early, so a page polling at exactly the refresh interval never gets the same read twice.
    if (cached !== undefined && this.now() - cached.at < this.options.refreshMillis * 0.8) return Promise.resolve(cached.view);
    this.inflight ??= this.refresh().finally(() => (this.inflight = undefined));
    return this.inflight;
  }

  /** Resolves when no lag measurement is running (tests, benchmark). */
  async settled(): Promise<void> {
    await this.lagInflight;
  }

  private startLag(started: number): void {
    if (!this.options.measuresLag || this.lagInflight !== undefined) return;
    if (this.lagStartedAt !== null && started - this.lagStartedAt < this.options.lagRefreshMillis * 0.8) return;
    this.lagStartedAt = started;
    this.lagInflight = this.options.reader
      .read({ lag: true })
      .then((status) => {
        this.lagReads++;
        this.lag = new Map(status.leases.map((l) => [l.leaseKey, l.lag]));
        this.lagAt = started;
        this.freshLag = true;
      })
      // A failed measurement leaves the last one in place; each lease carries its own `{ error }` otherwise.
      .catch(() => undefined)
      .finally(() => (this.lagInflight = undefined));
  }

  private async refresh(): Promise<DashboardView> {
    const started = this.now();
    this.startLag(started);
    const status = await this.options.reader.read({ lag: false });
    this.reads++;
    for (const l of status.leases) {
      const last = this.lag.get(l.leaseKey);
      if (last !== undefined) l.lag = last;
    }
    const view = this.tracker.update(status, this.now(), this.lagAt, this.freshLag);
    this.freshLag = false;
    this.cached = { view, at: started };
    return view;
  }
}
