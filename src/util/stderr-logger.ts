import { format } from 'node:util';
import type { Logger } from './logger.js';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
const RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };
export const LOG_LEVELS = Object.keys(RANK) as LogLevel[];

/**
 * The CLI's logger, and the library's default when no `logger` is given (at `warn`): one line per message on stderr (stdout stays free), `time LEVEL message {fields}`, with
 * the bindings of `child()` (e.g. the shard id) among the fields. Errors are shown as `name: message`
 * (with `code` when present); the stack only at `debug`.
 */
export function createStderrLogger(level: LogLevel = 'info', write: (line: string) => void = (l) => process.stderr.write(l)): Logger {
  const min = RANK[level];
  const make = (bindings: Record<string, unknown>): Logger => {
    const at = (lvl: LogLevel) => (obj: object, msg?: string): void => {
      if (RANK[lvl] < min) return;
      const fields = { ...bindings, ...(obj as Record<string, unknown>) };
      const shown = Object.entries(fields)
        .filter(([, v]) => v !== undefined)
        .map(([k, v]) => [k, v instanceof Error ? describeError(v, level === 'debug') : v] as const);
      const tail = shown.length > 0 ? ` ${safeJson(Object.fromEntries(shown))}` : '';
      write(`${new Date().toISOString()} ${lvl.toUpperCase().padEnd(5)} ${msg ?? ''}${tail}\n`);
    };
    return {
      debug: at('debug'),
      info: at('info'),
      warn: at('warn'),
      error: at('error'),
      child: (more) => make({ ...bindings, ...more }),
    };
  };
  return make({});
}

function describeError(error: Error, withStack: boolean): string {
  const code = (error as { code?: unknown }).code;
  const head = `${error.name}: ${error.message}${typeof code === 'string' ? ` [${code}]` : ''}`;
  return withStack && error.stack ? `${head}\n${error.stack}` : head;
}

function safeJson(value: unknown): string {
  try {
    return JSON.stringify(value, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v));
  } catch {
    return format('%o', value);
  }
}
