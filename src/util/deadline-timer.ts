import type { Clock } from './clock.js';

/**
 * One timer for the earliest of many deadlines on an injected clock: `arm(at)` keeps an armed deadline that is not
 * later than `at` (deadlines that only move later need no re-arming); `onDue` runs once the armed deadline has
 * passed (strictly), and is expected to arm the next one.
 */
export class DeadlineTimer {
  private armed: { abort: AbortController; at: number } | undefined;

  constructor(
    private readonly clock: Clock,
    private readonly onDue: () => void,
  ) {}

  arm(at: number): void {
    if (this.armed !== undefined && this.armed.at <= at) return;
    this.armed?.abort.abort();
    const armed = { abort: new AbortController(), at };
    this.armed = armed;
    // +1: due means past the deadline, not at it.
    this.clock.sleep(Math.max(0, at - this.clock.now()) + 1, armed.abort.signal).then(
      () => {
        if (this.armed === armed) this.armed = undefined;
        this.onDue();
      },
      () => undefined,
    );
  }

  cancel(): void {
    this.armed?.abort.abort();
    this.armed = undefined;
  }
}
