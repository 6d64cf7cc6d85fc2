/**
 * Whether an error means "the database cannot be reached right now" (PostgreSQL stopped,
 * restarting, refusing connections, or the connection dropped), as opposed to a fault in a
 * statement. Such requests answer 503 `db_unavailable` with Retry-After (server/http/errors.ts)
 * and /healthz says why; postgres.js reconnects by itself once PostgreSQL is back.
 */

/** Node socket errors of a connection that could not be made or was cut. */
const SOCKET_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
]);

/** postgres.js's own codes for a connection that ended, was closed or never came up. */
const CLIENT_CODES = new Set([
  'CONNECTION_CLOSED',
  'CONNECTION_ENDED',
  'CONNECTION_DESTROYED',
  'CONNECT_TIMEOUT',
]);

/**
 * SQLSTATEs of a server that is going away or not yet there: class 08 (connection
 * exception), 57P01-57P03 (admin/crash shutdown, cannot connect now), 53300 (too many
 * connections).
 */
function unavailableState(code: string): boolean {
  return code.startsWith('08') || code === '57P01' || code === '57P02' || code === '57P03' ||
    code === '53300';
}

/** The reason, in a few words, when `err` means the database is unreachable; else null. */
export function databaseUnavailableReason(err: unknown): string | null {
  if (!err || typeof err !== 'object') return null;
  const e = err as { code?: unknown; message?: unknown; errors?: unknown };
  const code = typeof e.code === 'string' ? e.code : '';
  const message = typeof e.message === 'string' ? e.message : '';
  if (SOCKET_CODES.has(code)) return `cannot connect to PostgreSQL (${code})`;
  if (CLIENT_CODES.has(code)) return `PostgreSQL connection lost (${code})`;
  if (/^[0-9A-Z]{5}$/.test(code) && unavailableState(code)) {
    return `PostgreSQL unavailable (${code}: ${message})`;
  }
  if (message.startsWith('could not connect to PostgreSQL')) return message;
  // Node's AggregateError (several addresses tried, each refused).
  if (Array.isArray(e.errors) && e.errors.length > 0) {
    return databaseUnavailableReason(e.errors[0]);
  }
  return null;
}

/** Seconds a client should wait before trying again while the database is unavailable. */
export const DB_RETRY_AFTER_SECONDS = 5;

/**
 * postgres.js 3.4.9 can write to a connection whose socket it has already dropped, from a
 * setImmediate of its own (connection.js `nextWrite`: "Cannot read properties of null
 * (reading 'write')"), when PostgreSQL goes away in the middle of an ingest's COPY. Thrown
 * from a timer, that would end the whole server; the queries of that connection are already
 * failed with CONNECTION_CLOSED, so this one error is logged and the process goes on. Any
 * other uncaught exception still ends the process as Node would (stack on stderr, exit 1).
 * tests/drills/db_outage.test.ts found it (a PostgreSQL restart during a burst of ingests).
 */
export function isPostgresDroppedSocketWrite(err: unknown): boolean {
  return err instanceof TypeError &&
    /reading 'write'/.test(err.message) &&
    /postgres[\\/]src[\\/]connection\.js/.test(err.stack ?? '');
}

let guarded = false;

/** Installs the process handler described at isPostgresDroppedSocketWrite (once). */
export function surviveDroppedSocketWrites(onSurvived: (err: Error) => void): void {
  if (guarded) return;
  guarded = true;
  process.on('uncaughtException', (err) => {
    if (isPostgresDroppedSocketWrite(err)) {
      onSurvived(err);
      return;
    }
    process.stderr.write(`${err?.stack ?? String(err)}\n`);
    process.exit(1);
  });
}
