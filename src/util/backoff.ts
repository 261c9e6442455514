/** Capped exponential backoff with full jitter (AWS architecture blog's "full jitter" variant). */
export interface BackoffOptions {
  /** First delay ceiling in ms. */
  baseMillis: number;
  /** Largest delay ceiling in ms. */
  maxMillis: number;
}

/**
 * Delay before retry number `attempt` (0-based): uniform in [0, min(max, base·2^attempt)].
 * `random` is injectable so tests are deterministic.
 */
export function backoffDelay(attempt: number, options: BackoffOptions, random: () => number = Math.random): number {
  const ceiling = Math.min(options.maxMillis, options.baseMillis * 2 ** Math.min(attempt, 30));
  return Math.floor(random() * ceiling);
}
