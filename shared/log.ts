/**
 * Structured logging shared by agent and server: one JSON object per line on stderr.
 * Secrets are redacted by key name and by token shape before anything is written, so a
 * token or password passed by mistake never reaches a log.
 */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'silent';
export type Logger =
  & Record<Exclude<LogLevel, 'silent'>, (msg: string, fields?: Record<string, unknown>) => void>
  & {
    /** A logger that adds `fields` to every line (e.g. `{source: 'vc1'}`). */
    child(fields: Record<string, unknown>): Logger;
    setLevel(level: LogLevel): void;
  };

const rank: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 99 };
const SECRET_KEY = /token|password|secret|authorization|cookie|session|ticket/i;
const TOKEN_VALUE = /(vml_[A-Za-z0-9_-]{8,}|PVEAPIToken=\S+)/g;

/** Copies `value` with secret-looking keys and token-shaped strings replaced. */
export function redact(value: unknown, depth = 0): unknown {
  if (typeof value === 'string') return value.replace(TOKEN_VALUE, '[redacted]');
  if (value instanceof Error) return { name: value.name, message: redact(value.message) };
  if (!value || typeof value !== 'object' || depth > 4) return value;
  if (Array.isArray(value)) return value.map((v) => redact(v, depth + 1));
  return Object.fromEntries(
    Object.entries(value).map((
      [k, v],
    ) => [k, SECRET_KEY.test(k) ? '[redacted]' : redact(v, depth + 1)]),
  );
}

/** Creates a logger writing through `sink` (stderr by default). */
export function createLogger(
  options: { level?: LogLevel; base?: Record<string, unknown>; sink?: (line: string) => void } = {},
): Logger {
  const state = { level: options.level ?? 'info' };
  const sink = options.sink ?? ((line: string) => void process.stderr.write(line + '\n'));
  const make = (base: Record<string, unknown>): Logger => {
    const write = (level: LogLevel) => (msg: string, fields?: Record<string, unknown>) => {
      if (rank[level] < rank[state.level]) return;
      sink(
        JSON.stringify({
          t: new Date().toISOString(),
          level,
          msg: redact(msg),
          ...(redact({ ...base, ...fields }) as object),
        }),
      );
    };
    return {
      debug: write('debug'),
      info: write('info'),
      warn: write('warn'),
      error: write('error'),
      child: (fields) => make({ ...base, ...fields }),
      setLevel: (level) => {
        state.level = level;
      },
    };
  };
  return make(options.base ?? {});
}
