/** What `/healthz` reports. `ok` is false when any check fails. */
export interface HealthReport {
  ok: boolean;
  checks: {
    /** The event loop ran every timer within `maxEventLoopDelayMillis` over the last seconds. */
    eventLoop: { ok: boolean; maxDelayMillis: number; limitMillis: number };
    /**
     * Held leases are being renewed: a renewal went through within `failoverTimeMillis` (vacuously true while
     * nothing is held). Checked once the worker is initialized.
     */
    leaseRenewal: { ok: boolean; heldLeases: number; lastSuccessAgoMillis: number | null; limitMillis: number };
    /** The lease table answered (any lease call) within `failoverTimeMillis + takerIntervalMillis`. */
    leaseTable: { ok: boolean; lastSuccessAgoMillis: number | null; limitMillis: number };
  };
}

/** What `/readyz` reports: ready once `start()` finished and until shutdown begins. */
export interface ReadinessReport {
  ready: boolean;
  initialized: boolean;
  shuttingDown: boolean;
  heldLeases: number;
}

export interface WorkerHealthOptions {
  failoverTimeMillis: number;
  takerIntervalMillis: number;
  maxEventLoopDelayMillis: number;
}

/**
 * The worker's liveness and readiness, from facts the scheduler reports (lease calls that went through or
 * failed, start, shutdown). Pure bookkeeping: times are passed in, so tests need no clock.
 */
export class WorkerHealth {
  private initializedAt: number | undefined;
  private shuttingDown = false;
  private lastRenewalOk: number | undefined;
  private lastTableOk: number | undefined;

  constructor(private readonly options: WorkerHealthOptions) {}

  /** `start()` finished: lease checks apply from now on. */
  initialized(now: number): void {
    this.initializedAt = now;
    this.lastRenewalOk ??= now;
    this.lastTableOk ??= now;
  }

  /** Shutdown began (graceful or not): not ready any more. */
  stopping(): void {
    this.shuttingDown = true;
  }

  /** A lease renewal (or take: a fresh write) went through — including a lost race: the table answered. */
  renewalSucceeded(now: number): void {
    this.lastRenewalOk = now;
    this.lastTableOk = now;
  }

  /** Any other lease-table call returned. */
  tableAnswered(now: number): void {
    this.lastTableOk = now;
  }

  report(now: number, eventLoopDelayMillis: number, heldLeases: number): HealthReport {
    const o = this.options;
    const eventLoop = { ok: eventLoopDelayMillis <= o.maxEventLoopDelayMillis, maxDelayMillis: Math.round(eventLoopDelayMillis), limitMillis: o.maxEventLoopDelayMillis };
    const active = this.initializedAt !== undefined && !this.shuttingDown;
    const ago = (t: number | undefined): number | null => (t === undefined ? null : Math.round(now - t));
    const renewalAgo = ago(this.lastRenewalOk);
    const tableAgo = ago(this.lastTableOk);
    const renewalLimit = o.failoverTimeMillis;
    const tableLimit = o.failoverTimeMillis + o.takerIntervalMillis;
    const leaseRenewal = {
      ok: !active || heldLeases === 0 || (renewalAgo !== null && renewalAgo <= renewalLimit),
      heldLeases,
      lastSuccessAgoMillis: renewalAgo,
      limitMillis: renewalLimit,
    };
    const leaseTable = { ok: !active || (tableAgo !== null && tableAgo <= tableLimit), lastSuccessAgoMillis: tableAgo, limitMillis: tableLimit };
    return { ok: eventLoop.ok && leaseRenewal.ok && leaseTable.ok, checks: { eventLoop, leaseRenewal, leaseTable } };
  }

  readiness(heldLeases: number): ReadinessReport {
    const initialized = this.initializedAt !== undefined;
    return { ready: initialized && !this.shuttingDown, initialized, shuttingDown: this.shuttingDown, heldLeases };
  }
}
