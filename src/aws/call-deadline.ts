import { AwsCallTimeoutError } from '../errors.js';
import type { Logger } from '../util/logger.js';
import { mapAwsError } from './map-error.js';

/** Options the SDK's `client.send(command, options)` takes that we use. */
export interface SendOptions {
  abortSignal?: AbortSignal;
}

export interface DeadlineCall {
  /** Names the call in errors and logs, e.g. `DynamoDB.UpdateItem(table)`. */
  operation: string;
  /** Abort the call after this long; undefined = no deadline of ours (only `signal`). */
  timeoutMillis: number | undefined;
  /** The caller's own abort (shutdown, lease lost). */
  signal?: AbortSignal | undefined;
  /** Where a timeout is reported (warn), with the operation and the deadline. */
  logger?: Logger | undefined;
}

/**
 * Runs one SDK call under a deadline and the caller's signal, and turns every failure into a `KclError`
 * (`mapAwsError`). The deadline travels as a per-call `abortSignal`, so it holds for application-injected clients
 * whatever their handler's own timeouts, and the aborted request's socket is destroyed (its connection freed). The
 * call is also raced against the deadline, so a request handler that ignores the signal cannot hold the caller
 * past it. A timeout fails with a retriable `AwsCallTimeoutError` (code `KCL_TIMEOUT`) and one warn log line.
 */
export async function callWithDeadline<O>(call: DeadlineCall, send: (options: SendOptions) => Promise<O>): Promise<O> {
  const { operation, timeoutMillis, signal } = call;
  if (timeoutMillis === undefined && signal === undefined) {
    try {
      return await send({});
    } catch (error) {
      throw mapAwsError(error, operation);
    }
  }
  // One controller per call, linked to the caller's signal and a clearable timer (cheaper than
  // AbortSignal.timeout, whose timers outlive fast calls).
  const controller = new AbortController();
  const onAbort = (): void => controller.abort(signal?.reason);
  if (signal?.aborted) controller.abort(signal.reason);
  else signal?.addEventListener('abort', onAbort, { once: true });
  let timer: NodeJS.Timeout | undefined;
  let timedOut: AwsCallTimeoutError | undefined;
  const deadline =
    timeoutMillis === undefined
      ? undefined
      : new Promise<never>((_, reject) => {
          timer = setTimeout(() => {
            // After a stalled event loop, timers run before the I/O that arrived meanwhile: give an answer already in
            // the socket two loop turns to be read before calling the call hung.
            setImmediate(() =>
              setImmediate(() => {
                if (settled) return;
                timedOut = new AwsCallTimeoutError(operation, timeoutMillis);
                call.logger?.warn({ operation, timeoutMillis }, 'AWS call got no answer within its deadline: aborted');
                controller.abort(timedOut);
                reject(timedOut);
              }),
            );
          }, timeoutMillis);
        });
  let settled = false;
  const pending = send({ abortSignal: controller.signal });
  pending.then(
    () => (settled = true),
    () => (settled = true),
  );
  try {
    return await (deadline === undefined ? pending : Promise.race([pending, deadline]));
  } catch (error) {
    if (timedOut !== undefined) throw timedOut;
    throw mapAwsError(error, operation);
  } finally {
    if (timer !== undefined) clearTimeout(timer);
    signal?.removeEventListener('abort', onAbort);
    pending.catch(() => undefined); // the loser of the race must not become an unhandled rejection
  }
}
