import { ConfigError } from '../errors.js';

/**
 * The validators every resolver of config/ shares. Each takes the raw value and the option's dotted key, returns the
 * value (or the fallback when it is `undefined`) and throws a `ConfigError` naming the key otherwise.
 */

export type Bag = Record<string, unknown>;

/** A short, secret-free description of a bad value for error messages (strings are cut at 60 characters). */
export function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'string') return `"${value.slice(0, 60)}"`;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return typeof value;
}

/** An options object (`{}` when undefined) whose keys are all in `allowed` (or accepted by `ignored`). */
export function objectAt(value: unknown, key: string, allowed: readonly string[], ignored?: (k: string) => boolean): Bag {
  if (value === undefined) return {};
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new ConfigError(key, `expected an object, got ${describe(value)}`);
  }
  for (const k of Object.keys(value)) {
    if (!allowed.includes(k) && !ignored?.(k)) {
      throw new ConfigError(key ? `${key}.${k}` : k, `unknown option (known: ${allowed.join(', ')})`);
    }
  }
  return value as Bag;
}

export function str(value: unknown, key: string, pattern?: RegExp, hint?: string): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || value.length === 0) throw new ConfigError(key, `expected a non-empty string, got ${describe(value)}`);
  if (pattern && !pattern.test(value)) throw new ConfigError(key, `${describe(value)} is not valid${hint ? `: ${hint}` : ''}`);
  return value;
}

/** An integer in [min, max]; `Infinity` passes only when `max` is `Infinity`. */
export function int(value: unknown, key: string, fallback: number, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (value === undefined) return fallback;
  const ok = typeof value === 'number' && (Number.isInteger(value) || value === Number.POSITIVE_INFINITY);
  if (!ok || value < min || value > max) {
    const range = max === Number.MAX_SAFE_INTEGER ? `≥ ${min}` : `between ${min} and ${max}`;
    throw new ConfigError(key, `expected an integer ${range}, got ${describe(value)}`);
  }
  return value;
}

export function bool(value: unknown, key: string, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean') throw new ConfigError(key, `expected true or false, got ${describe(value)}`);
  return value;
}

export function oneOf<T extends string>(value: unknown, key: string, allowed: readonly T[], fallback: T): T {
  if (value === undefined) return fallback;
  if (typeof value !== 'string' || !allowed.includes(value as T)) {
    throw new ConfigError(key, `expected one of ${allowed.map((a) => `'${a}'`).join(', ')}, got ${describe(value)}`);
  }
  return value as T;
}
