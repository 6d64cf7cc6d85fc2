/**
 * Page sessions: a login with a token creates a server-side session; the browser holds
 * only a random id in an HttpOnly cookie. Data access only.
 */
import { randomBytes } from 'node:crypto';
import type { Sql } from '../db/connect.ts';
import { hashSecret, type TokenInfo } from './tokens.ts';

export type Session = TokenInfo & { csrfToken: string; expiresAt: Date };

/** Creates a session for a verified token; returns the cookie value (never stored). */
export async function createSession(
  sql: Sql,
  tokenId: number,
  hours: number,
): Promise<{ id: string; csrfToken: string }> {
  const id = randomBytes(32).toString('base64url');
  const csrfToken = randomBytes(24).toString('base64url');
  await sql`
    insert into sessions (id_hash, token_id, csrf_token, expires_at)
    values (${hashSecret(id)}, ${tokenId}, ${csrfToken}, now() + make_interval(secs => ${
    hours * 3600
  }))`;
  // Expired sessions are swept here rather than by a timer: logins are rare and cheap.
  await sql`delete from sessions where expires_at < now()`;
  return { id, csrfToken };
}

/** The live session for a cookie value, or null (expired, logged out, or token revoked). */
export async function findSession(sql: Sql, id: string): Promise<Session | null> {
  if (!id || id.length > 100) return null;
  const rows = await sql`
    select t.id, t.name, t.role, s.csrf_token, s.expires_at
    from sessions s join api_tokens t on t.id = s.token_id
    where s.id_hash = ${hashSecret(id)} and s.expires_at > now()
      and t.revoked_at is null and (t.expires_at is null or t.expires_at > now())`;
  if (!rows.length) return null;
  const r = rows[0];
  return { id: r.id, name: r.name, role: r.role, csrfToken: r.csrf_token, expiresAt: r.expires_at };
}

/** Ends a session (logout). */
export async function deleteSession(sql: Sql, id: string): Promise<void> {
  await sql`delete from sessions where id_hash = ${hashSecret(id)}`;
}
