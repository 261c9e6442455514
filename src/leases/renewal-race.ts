// A renewal and its twin (sent when the first one's answer is late) race; the first success counts.
import type { LeaseWriteResult } from './lease-store.js';

export interface SentRenewal {
  sentAt: number;
  call: Promise<LeaseWriteResult>;
}

export type RenewalOutcome = { result: LeaseWriteResult; sentAt: number } | { error: unknown };

/**
 * The first successful renewal among `calls`; when none succeeds, once all settled: a failed condition if any (our
 * own twin may have landed first — the caller re-reads), else the last error.
 */
export function firstRenewal(calls: readonly SentRenewal[]): Promise<RenewalOutcome> {
  return new Promise((resolve) => {
    let pending = calls.length;
    let conflict: RenewalOutcome | undefined;
    let failure: RenewalOutcome | undefined;
    for (const { call, sentAt } of calls) {
      call.then(
        (result) => {
          if (result.ok) resolve({ result, sentAt });
          else conflict ??= { result, sentAt };
        },
        (error: unknown) => void (failure = { error }),
      ).finally(() => {
        if (--pending === 0) resolve(conflict ?? failure!);
      });
    }
  });
}
