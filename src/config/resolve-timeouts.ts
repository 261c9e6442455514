import { ConfigError } from '../errors.js';
import type { Logger } from '../util/logger.js';
import { keysOf, TIMEOUT_DEFAULTS } from './option-defaults.js';

/** `timeouts` with every default filled in (milliseconds). */
export interface ResolvedTimeouts {
  leaseCallMillis: number;
  leaseScanMillis: number;
  tableAdminMillis: number;
  kinesisReadMillis: number;
  kinesisListMillis: number;
  fanOutRegistrationMillis: number;
}

const TIMEOUT_KEYS = keysOf(TIMEOUT_DEFAULTS);
/** Below this a call cannot even cross a loaded local network. */
const MIN_MILLIS = 50;
const MAX_MILLIS = 600_000;

function millis(value: unknown, key: string, fallback: number, max = MAX_MILLIS): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < MIN_MILLIS || value > max) {
    throw new ConfigError(key, `expected an integer between ${MIN_MILLIS} and ${max} (milliseconds), got ${typeof value === 'number' ? value : typeof value}`);
  }
  return value;
}

/** `timeouts` option → deadlines; the lease-call deadline is checked against (and defaults from) the failover time. */
export function resolveTimeouts(value: unknown, leases: { failoverTimeMillis: number; renewIntervalMillis: number }): ResolvedTimeouts {
  if (value !== undefined && (typeof value !== 'object' || value === null || Array.isArray(value))) {
    throw new ConfigError('timeouts', 'expected an object');
  }
  const t = (value ?? {}) as Record<string, unknown>;
  for (const k of Object.keys(t)) {
    if (!(TIMEOUT_KEYS as readonly string[]).includes(k)) throw new ConfigError(`timeouts.${k}`, `unknown option (known: ${TIMEOUT_KEYS.join(', ')})`);
  }
  const failover = leases.failoverTimeMillis;
  // Well under the renewal interval with the default timing (2000 of 3308 ms). Never below 1 s: a loaded DynamoDB (or
  // an emulator sharing a busy event loop) answers a lease call in hundreds of ms, and a checkpoint that times out is
  // a batch processed again. Never above the failover time, after which the lease is another worker's anyway.
  const leaseDefault = Math.min(failover, Math.max(Math.floor(failover / 5), 1000));
  return {
    leaseCallMillis: millis(t.leaseCallMillis, 'timeouts.leaseCallMillis', leaseDefault, Math.max(MIN_MILLIS, failover)),
    leaseScanMillis: millis(t.leaseScanMillis, 'timeouts.leaseScanMillis', TIMEOUT_DEFAULTS.leaseScanMillis),
    tableAdminMillis: millis(t.tableAdminMillis, 'timeouts.tableAdminMillis', TIMEOUT_DEFAULTS.tableAdminMillis),
    kinesisReadMillis: millis(t.kinesisReadMillis, 'timeouts.kinesisReadMillis', TIMEOUT_DEFAULTS.kinesisReadMillis),
    kinesisListMillis: millis(t.kinesisListMillis, 'timeouts.kinesisListMillis', TIMEOUT_DEFAULTS.kinesisListMillis),
    fanOutRegistrationMillis: millis(t.fanOutRegistrationMillis, 'timeouts.fanOutRegistrationMillis', TIMEOUT_DEFAULTS.fanOutRegistrationMillis),
  };
}

/** The Scheduler's `KinesisApi` deadlines: reads and listings on their own bounds. */
export function kinesisDeadlines(o: { timeouts: ResolvedTimeouts; logger: Logger }): {
  readTimeoutMillis: number;
  listTimeoutMillis: number;
  requestTimeoutMillis: number;
  logger: Logger;
} {
  const t = o.timeouts;
  return { readTimeoutMillis: t.kinesisReadMillis, listTimeoutMillis: t.kinesisListMillis, requestTimeoutMillis: t.kinesisListMillis, logger: o.logger };
}

/** The Scheduler's `DynamoDbApi` deadlines: lease items, scans and table administration. */
export function dynamoDbDeadlines(o: { timeouts: ResolvedTimeouts; logger: Logger }): {
  timeouts: { itemMillis: number; scanMillis: number; adminMillis: number };
  logger: Logger;
} {
  const t = o.timeouts;
  return { timeouts: { itemMillis: t.leaseCallMillis, scanMillis: t.leaseScanMillis, adminMillis: t.tableAdminMillis }, logger: o.logger };
}
