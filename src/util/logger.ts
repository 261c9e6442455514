/**
 * The logger shape ts-kcl needs: pino's (and most Node loggers') level methods plus `child`.
 * Messages are (object, message) like pino; nothing here ever receives credentials or payloads.
 */
export interface Logger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
  child(bindings: Record<string, unknown>): Logger;
}

/** Quiet default: the library says nothing unless given a logger. */
export const silentLogger: Logger = {
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
  child: () => silentLogger,
};
