import { ConfigError } from '../errors.js';
import type { DeadLetterFunction } from '../processor/record-handler-types.js';
import { PROCESSING_DEFAULTS } from './option-defaults.js';

/** `processing`, validated, every default filled in. */
export interface ResolvedProcessing {
  maxInFlight: number;
  orderBy: 'partitionKey' | 'none';
  checkpointIntervalMillis: number;
  /** `undefined`: time only. */
  checkpointEveryRecords: number | undefined;
  maxBufferedRecords: number;
  maxBufferedBytes: number;
  /** `Infinity` without a dead-letter destination. */
  maxAttempts: number;
  maxRecordAgeMillis: number | undefined;
  /** `undefined`: retry forever. */
  deadLetter: DeadLetterFunction | { streamName: string } | undefined;
  retryBaseMillis: number;
  retryMaxMillis: number;
  bisectOnError: boolean;
}

const D = PROCESSING_DEFAULTS;
const RECORD_KEYS = ['maxInFlight', 'orderBy', 'checkpointIntervalMillis', 'checkpointEveryRecords', 'maxBufferedRecords', 'maxBufferedBytes'] as const;
const FAILURE_KEYS = ['maxAttempts', 'maxRecordAgeMillis', 'deadLetter', 'retryBaseMillis', 'retryMaxMillis', 'bisectOnError'] as const;
const STREAM_NAME = /^[a-zA-Z0-9_.-]{1,128}$/;

type Bag = Record<string, unknown>;

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'string') return `"${value.slice(0, 60)}"`;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return typeof value;
}

function int(bag: Bag, k: string, fallback: number, min: number, max = Number.MAX_SAFE_INTEGER): number {
  const value = bag[k];
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    const range = max === Number.MAX_SAFE_INTEGER ? `≥ ${min}` : `between ${min} and ${max}`;
    throw new ConfigError(`processing.${k}`, `expected an integer ${range}, got ${describe(value)}`);
  }
  return value;
}

/**
 * Validates `recordHandler` / `processorFactory` / `processing` together (exactly one handler kind; record-only keys
 * only with `recordHandler`; failure limits only with a dead-letter destination). `undefined` when a
 * `processorFactory` is given without `processing` (batches then behave exactly as before).
 */
export function resolveProcessing(input: { recordHandler?: unknown; processorFactory?: unknown; processing?: unknown }): ResolvedProcessing | undefined {
  const { recordHandler, processorFactory, processing } = input;
  if (recordHandler !== undefined && processorFactory !== undefined) {
    throw new ConfigError('recordHandler', 'give either recordHandler or processorFactory, not both');
  }
  if (recordHandler === undefined && typeof processorFactory !== 'function') {
    throw new ConfigError('processorFactory', `expected a function returning a ShardRecordProcessor (or give recordHandler), got ${describe(processorFactory)}`);
  }
  if (recordHandler !== undefined && typeof recordHandler !== 'function') {
    throw new ConfigError('recordHandler', `expected a function (record, context) => Promise<void>, got ${describe(recordHandler)}`);
  }
  if (recordHandler === undefined && processing === undefined) return undefined;
  if (processing !== undefined && (typeof processing !== 'object' || processing === null || Array.isArray(processing))) {
    throw new ConfigError('processing', `expected an object, got ${describe(processing)}`);
  }
  const p = (processing ?? {}) as Bag;
  const allowed: readonly string[] = recordHandler !== undefined ? [...RECORD_KEYS, ...FAILURE_KEYS] : FAILURE_KEYS;
  for (const k of Object.keys(p)) {
    if (allowed.includes(k)) continue;
    if ((RECORD_KEYS as readonly string[]).includes(k)) throw new ConfigError(`processing.${k}`, 'only applies with recordHandler');
    throw new ConfigError(`processing.${k}`, `unknown option (known: ${allowed.join(', ')})`);
  }
  if (p.bisectOnError !== undefined && recordHandler !== undefined) {
    throw new ConfigError('processing.bisectOnError', 'only applies with processorFactory (a record handler fails record by record)');
  }
  const deadLetter = resolveDeadLetter(p.deadLetter);
  if (deadLetter === undefined) {
    for (const k of ['maxAttempts', 'maxRecordAgeMillis'] as const) {
      if (p[k] !== undefined) throw new ConfigError(`processing.${k}`, 'only applies with processing.deadLetter (without one a failing record is retried forever)');
    }
  }
  const maxInFlight = int(p, 'maxInFlight', D.maxInFlight, 1, 10_000);
  const maxBufferedRecords = int(p, 'maxBufferedRecords', Math.max(D.maxBufferedRecords, maxInFlight), 1, 1_000_000);
  if (maxBufferedRecords < maxInFlight) {
    throw new ConfigError('processing.maxBufferedRecords', `must be ≥ processing.maxInFlight (${maxInFlight}), got ${maxBufferedRecords}`);
  }
  const orderBy = p.orderBy ?? D.orderBy;
  if (orderBy !== 'partitionKey' && orderBy !== 'none') {
    throw new ConfigError('processing.orderBy', `expected one of 'partitionKey', 'none', got ${describe(orderBy)}`);
  }
  if (p.bisectOnError !== undefined && typeof p.bisectOnError !== 'boolean') {
    throw new ConfigError('processing.bisectOnError', `expected true or false, got ${describe(p.bisectOnError)}`);
  }
  const retryBaseMillis = int(p, 'retryBaseMillis', D.retryBaseMillis, 1);
  const retryMaxMillis = int(p, 'retryMaxMillis', Math.max(D.retryMaxMillis, retryBaseMillis), 1);
  if (retryMaxMillis < retryBaseMillis) throw new ConfigError('processing.retryMaxMillis', `must be ≥ processing.retryBaseMillis (${retryBaseMillis})`);
  return {
    maxInFlight,
    orderBy,
    checkpointIntervalMillis: int(p, 'checkpointIntervalMillis', D.checkpointIntervalMillis, 10),
    checkpointEveryRecords: p.checkpointEveryRecords === undefined ? undefined : int(p, 'checkpointEveryRecords', 0, 1),
    maxBufferedRecords,
    maxBufferedBytes: int(p, 'maxBufferedBytes', D.maxBufferedBytes, 1024),
    maxAttempts: deadLetter === undefined ? Number.POSITIVE_INFINITY : int(p, 'maxAttempts', 3, 1, 1_000_000),
    maxRecordAgeMillis: p.maxRecordAgeMillis === undefined ? undefined : int(p, 'maxRecordAgeMillis', 0, 1),
    deadLetter,
    retryBaseMillis,
    retryMaxMillis,
    bisectOnError: p.bisectOnError === true,
  };
}

function resolveDeadLetter(value: unknown): ResolvedProcessing['deadLetter'] {
  if (value === undefined || typeof value === 'function') return value as DeadLetterFunction | undefined;
  if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
    const bag = value as Bag;
    for (const k of Object.keys(bag)) {
      if (k !== 'streamName') throw new ConfigError(`processing.deadLetter.${k}`, 'unknown option (known: streamName)');
    }
    const name = bag.streamName;
    if (typeof name !== 'string' || !STREAM_NAME.test(name)) {
      throw new ConfigError('processing.deadLetter.streamName', `expected 1–128 characters of a-z A-Z 0-9 _ . -, got ${describe(name)}`);
    }
    return { streamName: name };
  }
  throw new ConfigError('processing.deadLetter', `expected a function (record, error, info) => Promise<void> or { streamName }, got ${describe(value)}`);
}
