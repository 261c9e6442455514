import type { LeaseStatus, LeaseTableStatus } from '../lease-table-status.js';

/** Something an operator should look at, in plain language. */
export interface DashboardProblem {
  kind: 'stalled-lease' | 'waiting-on-parent' | 'above-fair-share' | 'lag-growing' | 'unreadable-items';
  /** The lease concerned, if one. */
  leaseKey?: string;
  /** The worker concerned, if one. */
  workerId?: string;
  message: string;
}

/** What the tracker remembers between reads that the problems are judged on. */
export interface ProblemInputs {
  status: LeaseTableStatus;
  now: number;
  /** A held lease whose counter has not moved for this long is reported (the failover time). */
  staleAfterMillis: number;
  /** When each lease's counter was last seen changing (or first seen). */
  counterSince: ReadonlyMap<string, number>;
  /** Since when each lease has been waiting on an unfinished parent. */
  waitingSince: ReadonlyMap<string, number>;
  /** The latest lag measurements of each lease, oldest first (ms behind). */
  lagHistory: ReadonlyMap<string, readonly number[]>;
}

const seconds = (ms: number): string => (ms < 10_000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.round(ms / 1000)} s`);

/** Key of a shard within its stream (multi-stream tables repeat shard ids across streams). */
export const shardKey = (stream: string | undefined, shardId: string): string => `${stream ?? ''}|${shardId}`;

/** The parents of `lease` that are in the table and not finished; `byShard` is keyed by `shardKey`. */
export function unfinishedParents(lease: LeaseStatus, byShard: ReadonlyMap<string, LeaseStatus>): LeaseStatus[] {
  if (lease.state === 'finished') return [];
  return lease.parents.map((p) => byShard.get(shardKey(lease.stream, p))).filter((p): p is LeaseStatus => p !== undefined && p.state !== 'finished');
}

/** Lag in milliseconds as one number: the larger of behind-the-tip and the age of the oldest waiting record. */
export function lagMillis(lease: LeaseStatus): number | null {
  const lag = lease.lag;
  if (lag === undefined || 'error' in lag) return null;
  const { millisBehindLatest: behind, pendingRecordAgeMillis: pending } = lag;
  if (behind === null && pending === null) return lag.caughtUp ? 0 : null;
  // The larger: an emulator (or a shard just written to) may report 0 behind while a record waits.
  return Math.max(behind ?? 0, pending ?? 0);
}

/**
 * Problems, most serious first: leases whose counter stopped moving (an owner that died or hangs), children
 * waiting on an unfinished parent for longer than the failover time, workers above their fair share (more
 * than ⌈active leases / workers⌉), lag that grew at each of the last three measurements, unreadable items.
 */
export function findProblems(i: ProblemInputs): DashboardProblem[] {
  const out: DashboardProblem[] = [];
  const byShard = new Map(i.status.leases.map((l) => [shardKey(l.stream, l.shardId), l]));
  for (const l of i.status.leases) {
    if (l.owner === null || l.state === 'finished') continue;
    const since = i.counterSince.get(l.leaseKey);
    if (since !== undefined && i.now - since > i.staleAfterMillis) {
      out.push({
        kind: 'stalled-lease',
        leaseKey: l.leaseKey,
        workerId: l.owner,
        message: `The lease of ${l.shardId} (owner ${l.owner}) has not been renewed for ${seconds(i.now - since)}, longer than the failover time (${seconds(i.staleAfterMillis)}): its owner has stopped or cannot reach the table; another worker should take it over.`,
      });
    }
  }
  for (const l of i.status.leases) {
    const since = i.waitingSince.get(l.leaseKey);
    const parents = unfinishedParents(l, byShard);
    if (since === undefined || parents.length === 0 || i.now - since <= i.staleAfterMillis) continue;
    const names = parents.map((p) => `${p.shardId} (${p.owner === null ? 'unassigned' : `owner ${p.owner}`}, checkpoint ${p.checkpoint})`).join(' and ');
    out.push({
      kind: 'waiting-on-parent',
      leaseKey: l.leaseKey,
      message: `${l.shardId} has been waiting ${seconds(i.now - since)} for its parent ${names} to reach SHARD_END before it can be processed.`,
    });
  }
  const active = i.status.leases.filter((l) => l.state !== 'finished');
  const held = new Map<string, number>();
  for (const l of active) if (l.owner !== null) held.set(l.owner, (held.get(l.owner) ?? 0) + 1);
  if (held.size > 1) {
    const fair = Math.ceil(active.length / held.size);
    for (const [workerId, n] of held) {
      if (n > fair) {
        out.push({
          kind: 'above-fair-share',
          workerId,
          message: `Worker ${workerId} holds ${n} leases, above its fair share of ${fair} (${active.length} active leases over ${held.size} workers): the others should take some of them.`,
        });
      }
    }
  }
  for (const l of i.status.leases) {
    const h = i.lagHistory.get(l.leaseKey);
    if (h === undefined || h.length < 3) continue;
    const last = h.slice(-3);
    if (last[0]! < last[1]! && last[1]! < last[2]! && last[2]! >= 1000) {
      out.push({
        kind: 'lag-growing',
        leaseKey: l.leaseKey,
        ...(l.owner !== null ? { workerId: l.owner } : {}),
        message: `${l.shardId} is falling further behind: ${last.map(seconds).join(' → ')} over the last three measurements${l.owner === null ? ' and nobody holds it' : ` (owner ${l.owner})`}.`,
      });
    }
  }
  if (i.status.malformed > 0) {
    out.push({ kind: 'unreadable-items', message: `${i.status.malformed} item(s) in the lease table could not be read as leases.` });
  }
  return out;
}
