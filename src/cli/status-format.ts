import type { LeaseStatus, LeaseTableStatus } from '../index.js';

export interface FormatOptions {
  /** Full sequence numbers instead of `first…last`. */
  wide?: boolean;
  /**
   * Watch mode: milliseconds since each lease's counter was last seen moving; `atLeast` when it has not moved
   * since the first refresh (a counter that stops moving for `failoverTimeMillis` means an expired lease).
   */
  sinceCounterMoved?: ReadonlyMap<string, { millis: number; atLeast: boolean }>;
}

/** `850ms`, `12.3s`, `12m05s`, `3h02m`. */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)}s`;
  const s = Math.floor(ms / 1000);
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

function shorten(sequence: string, wide: boolean): string {
  return wide || sequence.length <= 24 ? sequence : `${sequence.slice(0, 10)}…${sequence.slice(-10)}`;
}

function list(items: readonly string[]): string {
  return items.length === 0 ? '-' : items.join(',');
}

function lagCells(lease: LeaseStatus): [string, string] {
  const lag = lease.lag;
  if (lag === undefined) return ['-', '-'];
  if ('error' in lag) return [`? ${lag.error}`, '?'];
  const pending = lag.caughtUp ? 'caught up' : lag.pendingRecordAgeMillis === null ? 'unknown' : formatDuration(lag.pendingRecordAgeMillis);
  return [pending, lag.millisBehindLatest === null ? '-' : formatDuration(lag.millisBehindLatest)];
}

/**
 * The lease table as an aligned text table, one row per lease, with a summary line:
 * shard, state, owner, counter, checkpoint, parents, children, handoff, oldest pending record, behind tip.
 */
export function formatStatus(status: LeaseTableStatus, options: FormatOptions = {}): string {
  const wide = options.wide ?? false;
  const watch = options.sinceCounterMoved;
  const header = ['SHARD', 'STATE', 'OWNER', 'COUNTER', ...(watch ? ['COUNTER MOVED'] : []), 'CHECKPOINT', 'PARENTS', 'CHILDREN', 'HANDOFF', 'OLDEST PENDING', 'BEHIND TIP'];
  const rows = status.leases.map((l) => {
    const cp = l.checkpointSubSequenceNumber > 0 ? `${shorten(l.checkpoint, wide)}/${l.checkpointSubSequenceNumber}` : shorten(l.checkpoint, wide);
    const pending = l.pendingCheckpoint === null ? '' : ` (pending ${shorten(l.pendingCheckpoint, wide)})`;
    const moved = watch?.get(l.leaseKey);
    return [
      l.stream === undefined ? l.shardId : l.leaseKey,
      l.state,
      l.owner ?? '-',
      String(l.counter),
      ...(watch ? [moved === undefined ? '-' : `${moved.atLeast ? '≥' : ''}${formatDuration(moved.millis)} ago`] : []),
      cp + pending,
      list(l.parents),
      list(l.children),
      l.handoff === null ? '-' : `${l.handoff.from} → ${l.handoff.to ?? '?'}`,
      ...lagCells(l),
    ];
  });
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]): string => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!))).join('  ').trimEnd();
  const unassigned = status.leases.filter((l) => l.state === 'unassigned').length;
  const finished = status.leases.filter((l) => l.state === 'finished').length;
  const workers = status.workers.map((w) => `${w.workerId}: ${w.leases}`).join(', ');
  const summary =
    `Lease table ${status.tableName} at ${status.readAt}: ${status.leases.length} leases, ` +
    `${status.workers.length} workers${workers ? ` (${workers})` : ''}, ${unassigned} unassigned, ${finished} finished` +
    (status.malformed > 0 ? `, ${status.malformed} unreadable items` : '');
  return [summary, '', line(header), ...rows.map(line)].join('\n') + '\n';
}
