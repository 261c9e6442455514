import { ConfigError } from '../index.js';

/**
 * Typed readers for properties values. Each throws a `ConfigError` naming the *properties key*, so a bad
 * value in a MultiLangDaemon file is reported the way the user wrote it. Values are trimmed first (Java's
 * bean converters trim numbers and enums as well).
 */

const show = (value: string): string => JSON.stringify(value.length > 80 ? `${value.slice(0, 80)}…` : value);

export function stringValue(key: string, value: string): string {
  const v = value.trim();
  if (v === '') throw new ConfigError(key, 'must not be empty');
  return v;
}

export function integerValue(key: string, value: string, min = Number.MIN_SAFE_INTEGER, max = Number.MAX_SAFE_INTEGER): number {
  const v = value.trim();
  const n = /^[+-]?\d{1,16}$/.test(v) ? Number(v) : Number.NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max) {
    const range = max === Number.MAX_SAFE_INTEGER ? (min === Number.MIN_SAFE_INTEGER ? '' : ` ≥ ${min}`) : ` between ${min} and ${max}`;
    throw new ConfigError(key, `expected an integer${range}, got ${show(value)}`);
  }
  return n;
}

export function decimalValue(key: string, value: string, min = 0): number {
  const v = value.trim();
  const n = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(v) ? Number(v) : Number.NaN;
  if (!Number.isFinite(n) || n < min) throw new ConfigError(key, `expected a number ≥ ${min}, got ${show(value)}`);
  return n;
}

const TRUE = new Set(['true', 'yes', 'y', 'on', '1']);
const FALSE = new Set(['false', 'no', 'n', 'off', '0']);

/** Booleans as Apache BeanUtils reads them: true/false, yes/no, y/n, on/off, 1/0, any case. */
export function booleanValue(key: string, value: string): boolean {
  const v = value.trim().toLowerCase();
  if (TRUE.has(v)) return true;
  if (FALSE.has(v)) return false;
  throw new ConfigError(key, `expected true or false, got ${show(value)}`);
}

/** An enum constant, case-insensitive as Java's converters (`valueOf(value.toUpperCase())`). */
export function enumValue<T extends string>(key: string, value: string, allowed: readonly T[]): T {
  const v = value.trim().toUpperCase();
  const found = allowed.find((a) => a.toUpperCase() === v);
  if (found === undefined) throw new ConfigError(key, `expected one of ${allowed.join(', ')}, got ${show(value)}`);
  return found;
}

export function urlValue(key: string, value: string): string {
  const v = value.trim();
  let ok = false;
  try {
    const url = new URL(v);
    ok = url.protocol === 'http:' || url.protocol === 'https:';
  } catch {
    ok = false;
  }
  if (!ok) throw new ConfigError(key, `expected an http(s) URL, got ${show(value)}`);
  return v;
}

/** Seconds since the epoch (Java's `initialPositionInStreamExtended`). */
export function epochSecondsValue(key: string, value: string): Date {
  const seconds = integerValue(key, value, 0);
  return new Date(seconds * 1000);
}

/** A comma-separated list (Java's `String[]` converter); blanks dropped. */
export function listValue(key: string, value: string): string[] {
  const items = value.split(',').map((s) => s.trim()).filter((s) => s !== '');
  if (items.length === 0) throw new ConfigError(key, 'expected a comma-separated list');
  return items;
}

/** An ISO-8601 duration such as `PT1H` or `P1D` (Java's `Duration.parse`). */
export function durationValue(key: string, value: string): string {
  const v = value.trim();
  if (!/^[-+]?P(?:\d+D)?(?:T(?:\d+H)?(?:\d+M)?(?:\d+(?:\.\d+)?S)?)?$/i.test(v) || /^[-+]?PT?$/i.test(v)) {
    throw new ConfigError(key, `expected an ISO-8601 duration such as PT1H, got ${show(value)}`);
  }
  return v;
}

/** `k1=v1,k2=v2` (Java's tag converter). */
export function tagsValue(key: string, value: string): Record<string, string> {
  const tags: Record<string, string> = {};
  for (const pair of listValue(key, value)) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new ConfigError(key, `expected key=value pairs separated by commas, got ${show(pair)}`);
    tags[pair.slice(0, eq).trim()] = pair.slice(eq + 1).trim();
  }
  return tags;
}
