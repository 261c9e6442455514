import type { Clock } from './clock.js';

/** What {@link withTimeout} resolves to: the promise's value, or that time ran out first. */
export type TimeoutOutcome<T> = { timedOut: false; value: T } | { timedOut: true };

/**
 * Races `promise` against `ms` on `clock` (a fake clock in tests). The timer is cancelled as soon as the promise
 * settles, so nothing keeps the process alive afterwards; a rejection of `promise` rejects the result. The promise
 * itself is not cancelled on timeout: the caller decides what to do with work still running.
 */
export async function withTimeout<T>(promise: Promise<T>, ms: number, clock: Clock): Promise<TimeoutOutcome<T>> {
  const timer = new AbortController();
  const expired = clock.sleep(ms, timer.signal).then(
    (): TimeoutOutcome<T> => ({ timedOut: true }),
    // Cancelled because the promise settled first: this branch loses the race anyway.
    (): TimeoutOutcome<T> => ({ timedOut: true }),
  );
  try {
    return await Promise.race([promise.then((value): TimeoutOutcome<T> => ({ timedOut: false, value })), expired]);
  } finally {
    timer.abort();
  }
}
