// The CLI's logger is the library's built-in one (src/util/stderr-logger.ts).
export { createStderrLogger, LOG_LEVELS, type LogLevel } from '../util/stderr-logger.js';
