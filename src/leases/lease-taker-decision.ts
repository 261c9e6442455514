import type { Lease } from './lease.js';

/**
 * What this worker has seen of one lease. Expiry is judged from these local observations only:
 * a lease is expired when its counter has not moved for `failoverTimeMillis` on *our* clock, so hosts
 * need no clock sync (Java KCL's `lastCounterIncrementNanos`).
 */
export interface LeaseObservation {
  counter: number;
  owner: string | undefined;
  /** Local time at which the current counter value was first seen; `-Infinity` for leases first seen unowned. */
  lastChangeAt: number;
}

export type Observations = ReadonlyMap<string, LeaseObservation>;

/** Folds a fresh table scan into the previous observations. Leases no longer listed are forgotten. */
export function observeLeases(previous: Observations, leases: readonly Lease[], now: number): Map<string, LeaseObservation> {
  const next = new Map<string, LeaseObservation>();
  for (const lease of leases) {
    const prev = previous.get(lease.leaseKey);
    let lastChangeAt: number;
    if (prev === undefined) {
      // Unowned: available at once (and "very old"). Owned: give the owner the benefit of the doubt.
      lastChangeAt = lease.leaseOwner === undefined ? Number.NEGATIVE_INFINITY : now;
    } else if (prev.counter !== lease.leaseCounter || prev.owner !== lease.leaseOwner) {
      lastChangeAt = now;
    } else {
      lastChangeAt = prev.lastChangeAt;
    }
    next.set(lease.leaseKey, { counter: lease.leaseCounter, owner: lease.leaseOwner, lastChangeAt });
  }
  return next;
}

export interface TakerInput {
  leases: readonly Lease[];
  observations: Observations;
  now: number;
  workerId: string;
  failoverTimeMillis: number;
  maxLeasesForWorker: number;
  maxLeasesToStealAtOneTime: number;
  /** Leases unrenewed for this many failover times are taken before others. @defaultValue 3 */
  veryOldMultiplier?: number;
  /** Injectable randomness for shuffling (tests pass a deterministic one). */
  random?: () => number;
}

export interface TakerDecision {
  /** Unowned or expired leases to take (conditional on their counter). */
  toTake: Lease[];
  /** Leases to steal from busier workers; re-read before taking. */
  toSteal: Lease[];
  /** Leases per worker this worker aims for. */
  target: number;
  numWorkers: number;
  myCount: number;
  available: number;
  /** How many leases `maxLeasesForWorker` leaves beyond the fleet's reach from this worker's view. */
  spillover: number;
}

/** Whether the lease is free to take: unowned, or its counter unchanged for longer than the failover time. */
export function isAvailable(lease: Lease, observations: Observations, now: number, failoverTimeMillis: number): boolean {
  if (lease.leaseOwner === undefined) return true;
  const seen = observations.get(lease.leaseKey);
  return seen !== undefined && now - seen.lastChangeAt > failoverTimeMillis;
}

function shuffled<T>(items: readonly T[], random: () => number): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

/**
 * The pure taker decision, after Java KCL 2.x's `DynamoDBLeaseTaker` with deliberate changes:
 * - several available leases are taken per round (up to the target);
 * - leases unrenewed for `veryOldMultiplier × failover` are taken *first* but still within the target — Java takes
 *   them all regardless of target, which lets one starting worker grab a whole table;
 * - when nothing is free, every worker above target gives up to half its surplus, `maxLeasesToStealAtOneTime` in
 *   all per round (Java: one victim, one lease per ~20 s). Never from a worker at or below target, except Java's
 *   one-lease rule when short by more than one; so no ping-pong.
 */
export function decideLeasesToTake(input: TakerInput): TakerDecision {
  const random = input.random ?? Math.random;
  const { leases, observations, now, workerId, failoverTimeMillis } = input;
  const veryOldAfter = failoverTimeMillis * (input.veryOldMultiplier ?? 3);

  const available: Lease[] = [];
  const counts = new Map<string, number>([[workerId, 0]]);
  const byOwner = new Map<string, Lease[]>();
  for (const lease of leases) {
    if (isAvailable(lease, observations, now, failoverTimeMillis)) {
      available.push(lease);
    } else {
      const owner = lease.leaseOwner!;
      counts.set(owner, (counts.get(owner) ?? 0) + 1);
      const list = byOwner.get(owner) ?? [];
      list.push(lease);
      byOwner.set(owner, list);
    }
  }

  const numWorkers = counts.size;
  const numLeases = leases.length;
  let target = numWorkers >= numLeases ? 1 : Math.ceil(numLeases / numWorkers);
  let spillover = 0;
  if (target > input.maxLeasesForWorker) {
    spillover = target - input.maxLeasesForWorker;
    target = input.maxLeasesForWorker;
  }
  const myCount = counts.get(workerId) ?? 0;
  const decision: TakerDecision = { toTake: [], toSteal: [], target, numWorkers, myCount, available: available.length, spillover };
  const needed = target - myCount;
  if (needed <= 0 || numLeases === 0) return decision;

  if (available.length > 0) {
    const age = (l: Lease): number => now - (observations.get(l.leaseKey)?.lastChangeAt ?? Number.NEGATIVE_INFINITY);
    const veryOld = shuffled(available.filter((l) => age(l) > veryOldAfter), random);
    const rest = shuffled(available.filter((l) => age(l) <= veryOldAfter), random);
    decision.toTake = [...veryOld, ...rest].slice(0, needed);
    return decision;
  }

  // Nothing free: steal from every worker above target (Java KCL 2.x robs only the single most loaded one, #708).
  const pick = (owner: string, n: number): Lease[] =>
    // Leases in a graceful handoff are already moving; leave them alone.
    shuffled((byOwner.get(owner) ?? []).filter((l) => l.checkpointOwner === undefined), random).slice(0, n);
  let budget = Math.min(needed, input.maxLeasesToStealAtOneTime);
  const victims = [...counts].filter(([owner, count]) => owner !== workerId && count > target).sort((a, b) => b[1] - a[1]);
  for (const [owner, count] of victims) {
    if (budget <= 0) break;
    // At most half of a victim's surplus per thief and round: workers that join together cannot see each other
    // until they hold leases, and halving keeps them from pushing the victim below target between them.
    const stolen = pick(owner, Math.min(budget, Math.ceil((count - target) / 2)));
    decision.toSteal.push(...stolen);
    budget -= stolen.length;
  }
  if (decision.toSteal.length === 0 && needed > 1 && input.maxLeasesToStealAtOneTime > 0) {
    // Everyone is at or below target but we are short by more than one (ceil leaves counts uneven): move one
    // lease from the most loaded worker at target, as Java KCL does. Short by exactly one is balanced: no steal.
    let victim: string | undefined;
    let victimCount = -1;
    for (const [owner, count] of counts) {
      if (owner !== workerId && count > victimCount) [victim, victimCount] = [owner, count];
    }
    if (victim !== undefined && victimCount >= target) decision.toSteal = pick(victim, 1);
  }
  return decision;
}
