/**
 * Page sessions: a sign-in (token, LDAP or OIDC) creates a server-side session; the browser
 * holds only a random id in an HttpOnly cookie. A session ends at its absolute timeout
 * (expires_at), after idle_seconds without a request, at logout, when its principal is
 * revoked, or when an admin (or the person) ends all of that person's sessions.
 * Data access only.
 */
import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { iso, type Sql } from '../db/connect.ts';
import { hashSecret, type TokenInfo } from './tokens.ts';

export const SIGN_IN_METHODS = ['token', 'ldap', 'oidc'] as const;
export type SignInMethod = (typeof SIGN_IN_METHODS)[number];

export type Session = TokenInfo & {
  csrfToken: string;
  expiresAt: Date;
  method: SignInMethod;
  /** The session's public number (the session list), never the cookie value. */
  sid: number;
};

export type SessionTimeouts = {
  /** Absolute lifetime. */
  hours: number;
  /** Ends after this many minutes without a request; 0 or undefined: no idle timeout. */
  idleMinutes?: number;
};

/** Creates a session for a verified principal; returns the cookie value (never stored). */
export async function createSession(
  sql: Sql,
  tokenId: number,
  hours: number | SessionTimeouts,
  options: { method?: SignInMethod; ip?: string | null; idToken?: string | null } = {},
): Promise<{ id: string; csrfToken: string }> {
  const t = typeof hours === 'number' ? { hours } : hours;
  const id = randomBytes(32).toString('base64url');
  const csrfToken = randomBytes(24).toString('base64url');
  const idle = t.idleMinutes ? Math.round(t.idleMinutes * 60) : null;
  await sql`
    insert into sessions (id_hash, token_id, csrf_token, expires_at, method, ip, idle_seconds, id_token)
    values (${hashSecret(id)}, ${tokenId}, ${csrfToken},
            now() + make_interval(secs => ${t.hours * 3600}),
            ${options.method ?? 'token'}, ${options.ip ?? null}, ${idle}, ${
    options.idToken ?? null
  })`;
  // Expired sessions are swept here rather than by a timer: logins are rare and cheap.
  await sql`
    delete from sessions
    where expires_at < now() or last_seen_at + make_interval(secs => idle_seconds) < now()`;
  return { id, csrfToken };
}

/**
 * The live session for a cookie value, or null (expired, idle too long, logged out, or its
 * principal revoked). Marks it used (at most once a minute).
 */
export async function findSession(sql: Sql, id: string): Promise<Session | null> {
  if (!id || id.length > 100) return null;
  const rows = await sql`
    with hit as (
      select t.id, t.name, t.role, t.scope, s.csrf_token, s.expires_at, s.method, s.sid, s.last_seen_at
      from sessions s join api_tokens t on t.id = s.token_id
      where s.id_hash = ${hashSecret(id)} and s.expires_at > now()
        and (s.idle_seconds is null or s.last_seen_at + make_interval(secs => s.idle_seconds) > now())
        and t.revoked_at is null and (t.expires_at is null or t.expires_at > now())
    ), touch as (
      update sessions s set last_seen_at = now() from hit
      where s.sid = hit.sid and hit.last_seen_at < now() - interval '1 minute'
    )
    select * from hit`;
  if (!rows.length) return null;
  const r = rows[0];
  return {
    id: r.id,
    name: r.name,
    role: r.role,
    scope: r.scope,
    csrfToken: r.csrf_token,
    expiresAt: r.expires_at,
    method: r.method,
    sid: Number(r.sid),
  };
}

/** Ends a session (logout); the ID token of an OpenID Connect session, for the provider's logout. */
export async function deleteSession(sql: Sql, id: string): Promise<{ idToken: string | null }> {
  const [row] = await sql`delete from sessions where id_hash = ${
    hashSecret(id)
  } returning id_token`;
  return { idToken: (row?.id_token as string | null) ?? null };
}

/** Ends one session by its public number; its principal, or null when there is none. */
export async function endSession(
  sql: Sql,
  sid: number,
): Promise<{ principalId: number; name: string } | null> {
  const [row] = await sql`
    with gone as (delete from sessions where sid = ${sid} returning token_id)
    select t.id, t.name from gone join api_tokens t on t.id = gone.token_id`;
  return row ? { principalId: row.id as number, name: row.name as string } : null;
}

/** Ends every session of one principal (logout everywhere); how many ended. */
export async function endSessionsOf(sql: Sql, principalId: number): Promise<number> {
  const rows = await sql`delete from sessions where token_id = ${principalId} returning sid`;
  return rows.length;
}

export const SessionListItem = z.object({
  sid: z.number().int(),
  principalId: z.number().int(),
  name: z.string(),
  role: z.string(),
  method: z.enum(SIGN_IN_METHODS),
  /** The directory DN or OIDC issuer + subject; null for a token. */
  subject: z.string().nullable(),
  ip: z.string().nullable(),
  createdAt: z.string(),
  lastSeenAt: z.string(),
  /** When it ends if used: the earlier of its absolute and its idle timeout. */
  endsAt: z.string(),
});
export type SessionListItem = z.infer<typeof SessionListItem>;

/** Every live session, most recently used first. */
export async function listSessions(sql: Sql): Promise<SessionListItem[]> {
  const rows = await sql`
    select s.sid, t.id as principal_id, t.name, t.role, s.method, t.subject, s.ip, s.created_at,
           s.last_seen_at,
           least(s.expires_at, s.last_seen_at + make_interval(secs => s.idle_seconds)) as ends_at
    from sessions s join api_tokens t on t.id = s.token_id
    where s.expires_at > now()
      and (s.idle_seconds is null or s.last_seen_at + make_interval(secs => s.idle_seconds) > now())
      and t.revoked_at is null
    order by s.last_seen_at desc, s.sid desc`;
  return rows.map((r) => ({
    sid: Number(r.sid),
    principalId: r.principal_id,
    name: r.name,
    role: r.role,
    method: r.method,
    subject: r.subject,
    ip: r.ip,
    createdAt: iso(r.created_at)!,
    lastSeenAt: iso(r.last_seen_at)!,
    endsAt: iso(r.ends_at)!,
  }));
}
