/** The server's logger (see shared/log.ts for format and redaction). */
import { createLogger, type LogLevel } from '../shared/log.ts';

let sink: ((line: string) => void) | null = null;

export const log = createLogger({
  base: { app: 'server' },
  sink: (line) => (sink ? sink(line) : void process.stderr.write(line + '\n')),
});

/** Sends log lines somewhere else (tests read them); null restores stderr. */
export function setLogSink(fn: ((line: string) => void) | null) {
  sink = fn;
}

/** Sets the lowest level that is written. */
export function setLogLevel(level: LogLevel) {
  log.setLevel(level);
}
