import type { EventEmitter } from 'node:events';
import type { Logger } from '../util/logger.js';

type AnyListener = (...args: unknown[]) => unknown;

/**
 * Makes `emitter.emit` call each listener on its own: a listener that throws (or returns a promise that rejects) is
 * logged and reported through `onError`, never propagates into the library's code that emitted, never stops the
 * other listeners, and never becomes an unhandled rejection. The library changes its own state before emitting, so
 * a failing listener can at worst miss an event — it cannot leave a lease without a consumer or stall a shutdown.
 */
export function isolateListeners(emitter: EventEmitter, logger: Logger, onError?: (event: string | symbol, error: unknown) => void): void {
  const failed = (event: string | symbol, error: unknown): void => {
    logger.error({ event: String(event), err: error }, 'event listener failed; the worker goes on');
    try {
      onError?.(event, error);
    } catch {
      // reporting must not fail the emit either
    }
  };
  const emit = function (this: EventEmitter, event: string | symbol, ...args: unknown[]): boolean {
    // rawListeners: `once` wrappers remove themselves when called, as with the stock emit.
    const listeners = emitter.rawListeners(event) as AnyListener[];
    for (const listener of listeners) {
      try {
        const result = listener.apply(emitter, args);
        if (result !== null && typeof result === 'object' && typeof (result as PromiseLike<unknown>).then === 'function') {
          (result as PromiseLike<unknown>).then(undefined, (error: unknown) => failed(event, error));
        }
      } catch (error) {
        failed(event, error);
      }
    }
    return listeners.length > 0;
  };
  (emitter as unknown as { emit: typeof emit }).emit = emit;
}
