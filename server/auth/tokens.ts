/**
 * API tokens: random values shown once, stored as SHA-256 hashes, with a role.
 * Data access only; HTTP concerns live in ./middleware.ts.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { Sql } from '../db/connect.ts';

export const ROLES = ['admin', 'viewer', 'agent', 'metrics'] as const;
export type Role = (typeof ROLES)[number];

export type TokenInfo = { id: number; name: string; role: Role };

/** SHA-256 of a token or session value; what the database keeps. */
export function hashSecret(value: string): Buffer {
  return createHash('sha256').update(value, 'utf8').digest();
}

/** A new random token value: `vml_` + 32 random bytes, base64url. */
export function newTokenValue(): string {
  return `vml_${randomBytes(32).toString('base64url')}`;
}

/** Stores a token (hashed) and returns its id with the plain value, which is never stored. */
export async function createToken(
  sql: Sql,
  options: { name: string; role: Role; expiresAt?: Date | null; value?: string },
): Promise<{ id: number; token: string }> {
  const token = options.value ?? newTokenValue();
  const [row] = await sql`
    insert into api_tokens (name, role, token_hash, prefix, expires_at)
    values (${options.name}, ${options.role}, ${hashSecret(token)}, ${token.slice(0, 10)}, ${options.expiresAt ?? null})
    returning id`;
  return { id: row.id as number, token };
}

/** The live (not revoked, not expired) token with this value, or null. Touches last_used_at. */
export async function verifyToken(sql: Sql, token: string): Promise<TokenInfo | null> {
  if (!token || token.length > 200) return null;
  // last_used_at is written at most once a minute per token, to keep reads cheap.
  const rows = await sql`
    with hit as (
      select id, name, role, last_used_at from api_tokens
      where token_hash = ${hashSecret(token)}
        and revoked_at is null and (expires_at is null or expires_at > now())
    ), touch as (
      update api_tokens t set last_used_at = now() from hit
      where t.id = hit.id and (hit.last_used_at is null or hit.last_used_at < now() - interval '1 minute')
    )
    select id, name, role from hit`;
  return rows.length ? { id: rows[0].id, name: rows[0].name, role: rows[0].role } : null;
}

/** Whether a token with exactly this value exists and is live. */
export async function tokenExists(sql: Sql, token: string): Promise<boolean> {
  return (await verifyToken(sql, token)) !== null;
}

/** Ensures a live token with this value exists (used for VMLEDGER_ADMIN_TOKEN and the demo agent). */
export async function ensureToken(sql: Sql, options: { name: string; role: Role; value: string }): Promise<number> {
  const [row] = await sql`
    insert into api_tokens (name, role, token_hash, prefix)
    values (${options.name}, ${options.role}, ${hashSecret(options.value)}, ${options.value.slice(0, 10)})
    on conflict (token_hash) do update set revoked_at = null, role = excluded.role
    returning id`;
  return row.id as number;
}

/** Whether any live admin token exists. */
export async function hasAdminToken(sql: Sql): Promise<boolean> {
  const rows = await sql`
    select 1 from api_tokens
    where role = 'admin' and revoked_at is null and (expires_at is null or expires_at > now()) limit 1`;
  return rows.length > 0;
}
