/**
 * What an API route and a page handler need around an action (a module both call, e.g.
 * server/auth/token_actions.ts): who acts, for its audit row, and which of its failures
 * are the caller's to show (a page renders them; the API answers them as JSON).
 */
import type { Context } from 'hono';
import type { Actor } from '../audit/audit_log.ts';
import type { AuthVariables } from '../auth/middleware.ts';
import { AppError } from '../errors.ts';
import { clientIp } from './client_ip.ts';

/** The token (API) or session's token (page) doing the request, with the client's address. */
export function actorOf(c: Context<{ Variables: AuthVariables }>): Actor {
  const auth = c.get('auth');
  return { id: auth.id, name: auth.name, ip: clientIp(c) };
}

/**
 * `err` when the page should show it: a 4xx AppError (the caller's mistake) or
 * `jobs_unavailable` (this server runs no job workers); anything else is rethrown (a 500).
 */
export function refusal(err: unknown): AppError {
  if (err instanceof AppError && (err.status < 500 || err.code === 'jobs_unavailable')) return err;
  throw err;
}
