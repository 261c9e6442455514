import { ConfigError } from '../errors.js';
import { silentLogger, type Logger } from '../util/logger.js';
import { SCHEDULER_DEFAULTS } from './option-defaults.js';
import { createStderrLogger, LOG_LEVELS, type LogLevel } from '../util/stderr-logger.js';

/** `logLevel` values: the built-in logger's levels, plus `'silent'`. */
export type LogLevelOption = LogLevel | 'silent';
const LEVEL_OPTIONS: readonly LogLevelOption[] = [...LOG_LEVELS, 'silent'];
/** Environment variable that sets the built-in logger's level (it wins over `logLevel`: operators change it without a deploy). */
export const LOG_LEVEL_ENV = 'TS_KCL_LOG_LEVEL';

const METHODS = ['debug', 'info', 'warn', 'error'] as const;
type Bag = Record<string, unknown>;

/**
 * `logger` and `logLevel` → the logger the library uses:
 * - no `logger`: the built-in stderr logger at `TS_KCL_LOG_LEVEL`, else `logLevel`, else `'warn'` (failures are
 *   visible by default; `'silent'` or `logger: false` turns it off);
 * - `false`: silent;
 * - pino and the like (`child()`): used as is;
 * - `console` and other loggers without `child()`: wrapped, called console-style as `(message, fields)`.
 */
export function resolveLogger(logger: unknown, logLevel: unknown, env: NodeJS.ProcessEnv = process.env): Logger {
  if (logLevel !== undefined && (typeof logLevel !== 'string' || !LEVEL_OPTIONS.includes(logLevel as LogLevelOption))) {
    throw new ConfigError('logLevel', `expected one of ${LEVEL_OPTIONS.map((l) => `'${l}'`).join(', ')}, got ${describe(logLevel)}`);
  }
  if (logger === false) return silentLogger;
  if (logger === undefined || logger === null) {
    const fromEnv = env[LOG_LEVEL_ENV]?.trim().toLowerCase();
    if (fromEnv !== undefined && fromEnv !== '' && !LEVEL_OPTIONS.includes(fromEnv as LogLevelOption)) {
      throw new ConfigError('logLevel', `${LOG_LEVEL_ENV}=${describe(env[LOG_LEVEL_ENV])} is not one of ${LEVEL_OPTIONS.join(', ')}`);
    }
    const level = ((fromEnv || undefined) ?? logLevel ?? SCHEDULER_DEFAULTS.logLevel) as LogLevelOption;
    return level === 'silent' ? silentLogger : createStderrLogger(level);
  }
  if (logLevel !== undefined) throw new ConfigError('logLevel', 'only applies to the built-in logger (set the level on your own logger)');
  if (typeof logger !== 'object' && typeof logger !== 'function') {
    throw new ConfigError('logger', `expected a logger (pino, console, or anything with debug/info/warn/error) or false, got ${describe(logger)}`);
  }
  const missing = METHODS.filter((m) => typeof (logger as Bag)[m] !== 'function');
  if (missing.length > 0) {
    throw new ConfigError('logger', `expected a logger with debug(), info(), warn() and error() (pino, console, …); this one has no ${missing.map((m) => `${m}()`).join(', ')}`);
  }
  if (typeof (logger as Bag).child === 'function') return logger as Logger;
  return consoleStyle(logger as ConsoleLike, {});
}

type ConsoleLike = Record<(typeof METHODS)[number], (...args: unknown[]) => void>;

/** A logger without `child()`: bindings are merged into each line's fields; the message comes first, as with console. */
function consoleStyle(target: ConsoleLike, bindings: Record<string, unknown>): Logger {
  const at = (m: (typeof METHODS)[number]) => (obj: object, msg?: string): void => {
    const fields = { ...bindings, ...(obj as Record<string, unknown>) };
    if (Object.keys(fields).length === 0) target[m](msg ?? '');
    else target[m](msg ?? '', fields);
  };
  return {
    debug: at('debug'),
    info: at('info'),
    warn: at('warn'),
    error: at('error'),
    child: (more) => consoleStyle(target, { ...bindings, ...more }),
  };
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value === 'string') return `"${value.slice(0, 60)}"`;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return typeof value;
}
