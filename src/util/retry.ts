import { backoffDelay, type BackoffOptions } from './backoff.js';
import { systemClock, type Clock } from './clock.js';

export interface RetryOptions extends BackoffOptions {
  /** Total attempts including the first; `Infinity` retries until aborted. */
  maxAttempts: number;
  clock?: Clock;
  signal?: AbortSignal;
  random?: () => number;
  /** Called before each wait, e.g. to log or count retries. */
  onRetry?: (error: unknown, attempt: number, delayMillis: number) => void;
}

/**
 * The one retrier: retries only errors that declare `retriable: true` (our `KclError`s do), with capped
 * exponential backoff and full jitter. Anything else is rethrown at once — retrying a bad request or a
 * lost condition would only hide it. Duck-typed on `retriable` so `util` needs no project imports.
 */
export async function retry<T>(fn: (attempt: number) => Promise<T>, options: RetryOptions): Promise<T> {
  const clock = options.clock ?? systemClock;
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn(attempt);
    } catch (error) {
      if (!isRetriable(error) || attempt + 1 >= options.maxAttempts || options.signal?.aborted) throw error;
      const delay = backoffDelay(attempt, options, options.random);
      options.onRetry?.(error, attempt, delay);
      await clock.sleep(delay, options.signal);
    }
  }
}

export function isRetriable(error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as { retriable?: unknown }).retriable === true;
}
