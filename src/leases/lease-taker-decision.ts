import type { Lease } from './lease.js';
import { planFairShare } from './fair-share-plan.js';

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
  /** Local time at which this worker first saw the current state (never `-Infinity`). */
  seenAt?: number;
}

export type Observations = ReadonlyMap<string, LeaseObservation>;

/** Folds a fresh table scan into the previous observations. Leases no longer listed are forgotten. */
export function observeLeases(previous: Observations, leases: readonly Lease[], now: number): Map<string, LeaseObservation> {
  const next = new Map<string, LeaseObservation>();
  for (const lease of leases) {
    const prev = previous.get(lease.leaseKey);
    let lastChangeAt: number;
    const seenAt = now;
    if (prev === undefined) {
      // Unowned: available at once (and "very old"). Owned: give the owner the benefit of the doubt.
      lastChangeAt = lease.leaseOwner === undefined ? Number.NEGATIVE_INFINITY : now;
    } else if (prev.counter !== lease.leaseCounter || prev.owner !== lease.leaseOwner) {
      lastChangeAt = now;
    } else {
      // Unchanged: keep the same object (no allocation per lease and scan; observations are never mutated).
      if (prev.seenAt !== undefined) {
        next.set(lease.leaseKey, prev);
        continue;
      }
      lastChangeAt = prev.lastChangeAt;
    }
    next.set(lease.leaseKey, { counter: lease.leaseCounter, owner: lease.leaseOwner, lastChangeAt, seenAt });
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
  /**
   * This worker has not yet seen the fleet (its first taker interval): take at most one available lease, so the
   * workers that start with it see it before anyone computes a fair share. @defaultValue false
   */
  discovering?: boolean;
  /**
   * Split available leases by the fair-share plan (every worker its own part) instead of each worker taking
   * random ones up to its target. @defaultValue true
   */
  fairSharePlan?: boolean;
  /**
   * The fleet's failure watchers, in id order, when this worker is one of them: once at its share it also takes
   * the available leases planned for others (a dead worker's expired leases at once; unowned ones after
   * `unownedGraceMillis`), since the others scan slowly. Every watcher tries them all, in its own random order:
   * the conditional take settles who gets each, and a watcher that just died leaves nothing behind.
   */
  watchers?: readonly string[];
  /**
   * Unowned leases freed less than this long ago (seen owned, then released) are left this round to workers that
   * are just starting — in a rolling restart the replacements of the workers that released them — and counted in
   * `deferred`. Only for workers past their start; 0 takes them at once. @defaultValue 0
   */
  freshReleaseGraceMillis?: number;
  /**
   * A watcher takes an unowned lease planned for another worker only once it has been free this long (a released
   * lease is left to the worker that replaces its owner first). Expired leases are taken at once. @defaultValue 0
   */
  unownedGraceMillis?: number;
  /**
   * Workers this one has seen for only a short while (starting, so scanning every tick): a watcher leaves the free
   * leases planned for them to them, even past `unownedGraceMillis`. @defaultValue none
   */
  newWorkers?: ReadonlySet<string>;
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
  /** The lower fair share, `floor(leases / workers)` (capped by `maxLeasesForWorker`). */
  floorShare: number;
  /** Leases of this worker's plan left for now by `freshReleaseGraceMillis`: look again next round. */
  deferred: number;
  /** Visible workers (holding at least one unexpired lease, plus this one), in id order. */
  workers: string[];
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
 * - available leases are split by a fair-share plan every worker computes alike (`planFairShare`), so workers
 *   that start together take disjoint leases, each its share; in its first interval a worker takes only one lease,
 *   to become visible (Java: the first worker sees only itself and takes everything);
 * - leases unrenewed for `veryOldMultiplier × failover` are taken *first* when planning is off, still within the
 *   target — Java takes them all regardless of target;
 * - failure watchers (see `watchers`) take what is left available beyond their share, since the others scan slowly;
 * - when nothing is free, every worker above target gives up to half its surplus, `maxLeasesToStealAtOneTime` in
 *   all per round (Java: one victim, one lease per ~20 s); a worker below the lower fair share also takes one lease
 *   from each worker at target. Never from a worker at or below the lower share, so no ping-pong.
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
  const floorShare = Math.min(input.maxLeasesForWorker, Math.floor(numLeases / numWorkers));
  const myCount = counts.get(workerId) ?? 0;
  const decision: TakerDecision = {
    toTake: [],
    toSteal: [],
    target,
    numWorkers,
    myCount,
    available: available.length,
    spillover,
    floorShare,
    deferred: 0,
    workers: [...counts.keys()].sort(),
  };
  if (numLeases === 0) return decision;

  const age = (l: Lease): number => now - (observations.get(l.leaseKey)?.lastChangeAt ?? Number.NEGATIVE_INFINITY);
  if (available.length > 0) {
    if (input.discovering) {
      if (myCount === 0) decision.toTake = shuffled(available, random).slice(0, 1);
      return decision;
    }
    if (input.fairSharePlan ?? true) {
      const plan = planFairShare({
        counts,
        available,
        totalLeases: numLeases,
        maxLeasesForWorker: input.maxLeasesForWorker,
        first: (l) => age(l) > veryOldAfter,
      });
      decision.toTake = plan.get(workerId) ?? [];
      const fresh = input.freshReleaseGraceMillis ?? 0;
      if (fresh > 0) {
        const planned = decision.toTake.length;
        decision.toTake = decision.toTake.filter((l) => l.leaseOwner !== undefined || age(l) >= fresh);
        decision.deferred = planned - decision.toTake.length;
        if (decision.deferred > 0) return decision; // the fleet is changing: no watcher extras, no steals yet
      }
      const watchers = input.watchers ?? [];
      const me = watchers.indexOf(workerId);
      // Only a watcher already at its share before this round: in a fleet that starts together, nobody is.
      if (me >= 0 && myCount >= floorShare - 1) {
        const mine = new Set(decision.toTake.map((l) => l.leaseKey));
        const headroom = input.maxLeasesForWorker - myCount - decision.toTake.length;
        const grace = input.unownedGraceMillis ?? 0;
        // Expired leases only of owners with no live lease left (dead, not merely slow on some renewals).
        // Unowned ones once this watcher has seen them free for the grace (not by their age: a lease never owned is
        // "very old", and in a start-up it is planned for a worker that is still in its discovery round).
        // Nor those planned for a worker that is just starting: it scans every tick and takes them itself.
        const seenFree = (l: Lease): number => now - (observations.get(l.leaseKey)?.seenAt ?? now);
        const newWorkers = input.newWorkers ?? new Set<string>();
        const plannedFor = new Map<string, string>();
        if (newWorkers.size > 0) for (const [owner, planned] of plan) if (newWorkers.has(owner)) for (const l of planned) plannedFor.set(l.leaseKey, owner);
        const orphans = available.filter(
          (l) => !mine.has(l.leaseKey) && (l.leaseOwner !== undefined ? !counts.has(l.leaseOwner) : seenFree(l) >= grace && !plannedFor.has(l.leaseKey)),
        );
        decision.toTake.push(...shuffled(orphans, random).slice(0, Math.max(0, headroom)));
      }
      // The free leases are planned for others and we are still below the lower share (workers joined as others
      // left): steal the rest now rather than wait for those others to scan.
      if (myCount + decision.toTake.length >= floorShare) return decision;
    } else {
      const needed = target - myCount;
      if (needed <= 0) return decision;
      const veryOld = shuffled(available.filter((l) => age(l) > veryOldAfter), random);
      const rest = shuffled(available.filter((l) => age(l) <= veryOldAfter), random);
      decision.toTake = [...veryOld, ...rest].slice(0, needed);
      return decision;
    }
  }

  const needed = target - myCount - decision.toTake.length;
  if (needed <= 0) return decision;
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
  const mine = myCount + decision.toTake.length;
  if (mine < floorShare && budget > 0) {
    // Below the lower fair share while nobody is above target (a worker joining a balanced fleet): one lease from
    // each worker at target — they stay within the balance (target − 1 ≥ floorShare) — up to the budget.
    budget = Math.min(budget, floorShare - mine);
    const atTarget = shuffled(
      [...counts].filter(([owner, count]) => owner !== workerId && count === target && count > floorShare),
      random,
    );
    for (const [owner] of atTarget) {
      if (budget <= 0) break;
      const stolen = pick(owner, 1);
      decision.toSteal.push(...stolen);
      budget -= stolen.length;
    }
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
