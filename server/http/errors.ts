/**
 * The one place errors become HTTP responses (the app's onError). An AppError answers with
 * its catalogued status (server/errors.ts) and `{"error":{"code","message",...details}}`;
 * Hono's HTTPExceptions keep their status; an unreachable database is 503 `db_unavailable`
 * with Retry-After; anything else is a logged 500.
 */
import type { Context } from 'hono';
import { HTTPException } from 'hono/http-exception';
import { AppError } from '../errors.ts';
import { log } from '../log.ts';
import { databaseUnavailableReason, DB_RETRY_AFTER_SECONDS } from '../db/unavailable.ts';

/** The JSON response for an AppError. */
export function errorResponse(err: AppError): Response {
  return new Response(
    JSON.stringify({ error: { code: err.code, message: err.message, ...err.details } }),
    {
      status: err.status,
      headers: { 'content-type': 'application/json; charset=utf-8', ...err.headers },
    },
  );
}

/** The app's onError. */
export function handleError(err: Error, c: Context): Response {
  if (err instanceof AppError) return errorResponse(err);
  if (err instanceof HTTPException) {
    const res = err.getResponse();
    if (res.headers.get('content-type')?.includes('json')) return res;
    return c.json(
      { error: { code: `http_${err.status}`, message: err.message || res.statusText } },
      err.status,
    );
  }
  const unavailable = databaseUnavailableReason(err);
  if (unavailable) {
    // PostgreSQL is down or restarting: the client retries; postgres.js reconnects by itself.
    log.warn('database unavailable', {
      path: c.req.path,
      method: c.req.method,
      reason: unavailable,
    });
    return errorResponse(
      new AppError('db_unavailable', `the database is unavailable: ${unavailable}`, {}, {
        'retry-after': String(DB_RETRY_AFTER_SECONDS),
      }),
    );
  }
  log.error('unhandled error', { path: c.req.path, method: c.req.method, error: err });
  return c.json({ error: { code: 'internal', message: 'internal server error' } }, 500);
}
