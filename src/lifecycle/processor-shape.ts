import { ConfigError } from '../errors.js';
import type { ShardRecordProcessor } from '../processor/types.js';

const REQUIRED = ['initialize', 'processRecords', 'leaseLost', 'shardEnded'] as const;
const NEEDS = 'a ShardRecordProcessor needs initialize(), processRecords(), leaseLost() and shardEnded(); shutdownRequested() is optional';

/**
 * Checks what `processorFactory` returned before any of it is called, so that a processor written in JavaScript
 * with a missing or misspelt method fails once with a `ConfigError` naming the method, not with a `TypeError`
 * about internal field names in a retry loop.
 */
export function checkProcessorShape(value: unknown): ShardRecordProcessor {
  if (typeof value !== 'object' || value === null) {
    throw new ConfigError('processorFactory', `returned ${value === null ? 'null' : typeof value}, not a processor (${NEEDS})`);
  }
  if (typeof (value as { then?: unknown }).then === 'function') {
    throw new ConfigError('processorFactory', `returned a Promise: it must return the processor itself, synchronously (${NEEDS})`);
  }
  const bag = value as Record<string, unknown>;
  const missing = REQUIRED.filter((m) => typeof bag[m] !== 'function');
  if (missing.length > 0) {
    const what = missing.map((m) => (bag[m] === undefined ? `no ${m}()` : `${m} is ${typeof bag[m]}, not a function`)).join(', ');
    throw new ConfigError('processorFactory', `returned a processor with ${what} (${NEEDS})`);
  }
  if (bag.shutdownRequested !== undefined && typeof bag.shutdownRequested !== 'function') {
    throw new ConfigError('processorFactory', `returned a processor whose shutdownRequested is ${typeof bag.shutdownRequested}, not a function`);
  }
  return value as ShardRecordProcessor;
}
