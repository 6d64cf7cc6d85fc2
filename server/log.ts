/** The server's logger (see agent/log.ts for format and redaction). */
import { createLogger, type LogLevel } from '../agent/log.ts';

export const log = createLogger({ base: { app: 'server' } });

/** Sets the lowest level that is written. */
export function setLogLevel(level: LogLevel) {
  log.setLevel(level);
}
