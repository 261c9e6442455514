import type { Lease } from '../../../src/leases/lease.js';
import { decideLeasesToTake, isAvailable, type TakerDecision, type TakerInput } from '../../../src/leases/lease-taker-decision.js';

function shuffled<T>(items: readonly T[], random: () => number): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

/**
 * Java KCL 2.x's `DynamoDBLeaseTaker.computeLeasesToTake` / `chooseLeasesToSteal` (reference notes §1.3), for the
 * simulator's baseline: very old leases (unowned ones count as very old) are all taken up to `maxLeasesForWorker`
 * regardless of target; otherwise available leases up to the target; when none is available, at most
 * `maxLeasesToStealAtOneTime` from the single most loaded worker.
 */
export function decideLikeJava2x(input: TakerInput): TakerDecision {
  const random = input.random ?? Math.random;
  const { leases, observations, now, workerId, failoverTimeMillis } = input;
  const available: Lease[] = [];
  const counts = new Map<string, number>([[workerId, 0]]);
  const byOwner = new Map<string, Lease[]>();
  for (const lease of leases) {
    if (isAvailable(lease, observations, now, failoverTimeMillis)) {
      available.push(lease);
    } else {
      const owner = lease.leaseOwner!;
      counts.set(owner, (counts.get(owner) ?? 0) + 1);
      byOwner.set(owner, [...(byOwner.get(owner) ?? []), lease]);
    }
  }
  // Reuse the shared bookkeeping (target, spillover, floor share, worker list) with taking switched off.
  const base = decideLeasesToTake({ ...input, maxLeasesToStealAtOneTime: 0, fairSharePlan: false, discovering: false, watchers: [] });
  const decision: TakerDecision = { ...base, toTake: [], toSteal: [] };
  const myCount = counts.get(workerId) ?? 0;
  const veryOld = available.filter((l) => now - (observations.get(l.leaseKey)?.lastChangeAt ?? Number.NEGATIVE_INFINITY) > 3 * failoverTimeMillis);
  if (veryOld.length > 0) {
    decision.toTake = shuffled(veryOld, random).slice(0, Math.max(0, input.maxLeasesForWorker - myCount));
    return decision;
  }
  const needed = decision.target - myCount;
  if (needed <= 0) return decision;
  if (available.length > 0) {
    decision.toTake = shuffled(available, random).slice(0, needed);
    return decision;
  }
  let most: [string, number] | undefined;
  for (const entry of counts) if (most === undefined || entry[1] > most[1]) most = entry;
  if (most === undefined || most[0] === workerId || most[1] < decision.target) return decision;
  let n = Math.min(needed, most[1] - decision.target);
  if (needed > 1 && n === 0) n = 1;
  n = Math.min(n, input.maxLeasesToStealAtOneTime);
  decision.toSteal = shuffled(byOwner.get(most[0]) ?? [], random).slice(0, n);
  return decision;
}
