// A synthetic lease table status (as `LeaseTableInspector.read()` returns it) of any size, for the dashboard's
// scale test and benchmark: `n` open shards side by side over the hash-key space, owned round-robin by `workers`.
import type { LeaseStatus, LeaseTableStatus } from '../../src/index.js';

const SPACE = 1n << 128n;

export function syntheticStatus(n: number, workers: number, round = 0): LeaseTableStatus {
  const leases: LeaseStatus[] = [];
  for (let i = 0; i < n; i++) {
    const shardId = `shardId-${String(i).padStart(12, '0')}`;
    // Every round, a few leases move to the next worker (timeline entries).
    const owner = `worker-${(i + (i % 97 === 0 ? round : 0)) % workers}`;
    const lag = ((i * 7919 + round * 131) % 60_000) + (i % 50 === 0 ? round * 1000 : 0);
    leases.push({
      leaseKey: shardId, shardId, stream: undefined, state: 'owned', owner, counter: round * 3 + i,
      checkpoint: `4968080${String(i).padStart(49, '0')}`, checkpointSubSequenceNumber: 0, pendingCheckpoint: null,
      ownerSwitchesSinceCheckpoint: 0, parents: [], children: [], handoff: null,
      hashKeyRange: { startingHashKey: ((SPACE * BigInt(i)) / BigInt(n)).toString(), endingHashKey: ((SPACE * BigInt(i + 1)) / BigInt(n) - 1n).toString() },
      lag: { millisBehindLatest: lag, pendingRecordAgeMillis: lag, caughtUp: false },
    });
  }
  const counts = new Map<string, number>();
  for (const l of leases) counts.set(l.owner!, (counts.get(l.owner!) ?? 0) + 1);
  return { tableName: 'synthetic', readAt: new Date().toISOString(), leases, workers: [...counts].map(([workerId, c]) => ({ workerId, leases: c })), malformed: 0 };
}
