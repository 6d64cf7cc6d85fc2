/**
 * API tokens: random values shown once, stored as SHA-256 hashes, with a role.
 * Data access only; HTTP concerns live in ./middleware.ts.
 */
import { createHash, randomBytes } from 'node:crypto';
import { z } from 'zod';
import { iso, type Sql } from '../db/connect.ts';

export const ROLES = ['admin', 'viewer', 'agent', 'metrics'] as const;
export type Role = (typeof ROLES)[number];

export type TokenInfo = {
  id: number;
  name: string;
  role: Role;
  /** For agent tokens created for named sources ("kind:id"); null: any source it registers first. */
  allowedSources?: string[] | null;
  /** The local admin token (VMLEDGER_ADMIN_TOKEN or the first start's): the break-glass account. */
  breakGlass?: boolean;
  /** A viewer limited to some sources (./scope.ts selectors); null or absent: every source. */
  scope?: string[] | null;
};

/** SHA-256 of a token or session value; what the database keeps. */
export function hashSecret(value: string): Buffer {
  return createHash('sha256').update(value, 'utf8').digest();
}

/** A new random token value: `vml_` + 32 random bytes, base64url. */
export function newTokenValue(): string {
  return `vml_${randomBytes(32).toString('base64url')}`;
}

/**
 * What lists show of a token (the `prefix` column): never enough to help guess it. A long
 * token (32 characters or more: every generated `vml_` token has 43 random characters after
 * `vml_`) shows its last 4 characters — 24 of its 256 random bits; a shorter one (a
 * VMLEDGER_ADMIN_TOKEN may have as few as 16) shows none. The `vml_` marker is not secret.
 */
export function tokenHint(token: string): string {
  const marker = token.startsWith('vml_') ? 'vml_' : '';
  return token.length >= 32 ? `${marker}…${token.slice(-4)}` : `${marker}…`;
}

/** Stores a token (hashed) and returns its id with the plain value, which is never stored. */
export async function createToken(
  sql: Sql,
  options: {
    name: string;
    role: Role;
    expiresAt?: Date | null;
    value?: string;
    allowedSources?: string[] | null;
    scope?: string[] | null;
    createdBy?: number | null;
    breakGlass?: boolean;
  },
): Promise<{ id: number; token: string }> {
  const token = options.value ?? newTokenValue();
  const [row] = await sql`
    insert into api_tokens (name, role, token_hash, prefix, expires_at, allowed_sources, created_by,
                            break_glass, scope)
    values (${options.name}, ${options.role}, ${hashSecret(token)}, ${tokenHint(token)}, ${
    options.expiresAt ?? null
  },
            ${options.allowedSources ?? null}, ${options.createdBy ?? null}, ${
    options.breakGlass ?? false
  }, ${options.scope ?? null})
    returning id`;
  return { id: row.id as number, token };
}

/** The live (not revoked, not expired) token with this value, or null. Touches last_used_at. */
export async function verifyToken(sql: Sql, token: string): Promise<TokenInfo | null> {
  if (!token || token.length > 200) return null;
  // last_used_at is written at most once a minute per token, to keep reads cheap.
  const rows = await sql`
    with hit as (
      select id, name, role, allowed_sources, break_glass, scope, last_used_at from api_tokens
      where token_hash = ${hashSecret(token)} and kind = 'token'
        and revoked_at is null and (expires_at is null or expires_at > now())
    ), touch as (
      update api_tokens t set last_used_at = now() from hit
      where t.id = hit.id and (hit.last_used_at is null or hit.last_used_at < now() - interval '1 minute')
    )
    select id, name, role, allowed_sources, break_glass, scope from hit`;
  return rows.length
    ? {
      id: rows[0].id,
      name: rows[0].name,
      role: rows[0].role,
      allowedSources: rows[0].allowed_sources,
      breakGlass: rows[0].break_glass,
      scope: rows[0].scope,
    }
    : null;
}

/** Ensures a live token with this value exists (used for VMLEDGER_ADMIN_TOKEN and the demo agent). */
export async function ensureToken(
  sql: Sql,
  options: { name: string; role: Role; value: string; breakGlass?: boolean },
): Promise<number> {
  const [row] = await sql`
    insert into api_tokens (name, role, token_hash, prefix, break_glass)
    values (${options.name}, ${options.role}, ${hashSecret(options.value)}, ${
    tokenHint(options.value)
  }, ${options.breakGlass ?? false})
    on conflict (token_hash) do update
      set revoked_at = null, role = excluded.role, prefix = excluded.prefix,
          break_glass = excluded.break_glass
    returning id`;
  return row.id as number;
}

/** Whether any live admin token exists. */
export async function hasAdminToken(sql: Sql): Promise<boolean> {
  const rows = await sql`
    select 1 from api_tokens
    where role = 'admin' and kind = 'token' and revoked_at is null and (expires_at is null or expires_at > now()) limit 1`;
  return rows.length > 0;
}

export const TokenListItem = z.object({
  id: z.number().int(),
  name: z.string(),
  role: z.enum(ROLES),
  prefix: z.string(),
  createdAt: z.string(),
  expiresAt: z.string().nullable(),
  revokedAt: z.string().nullable(),
  lastUsedAt: z.string().nullable(),
  allowedSources: z.array(z.string()).nullable(),
  scope: z.array(z.string()).nullable(),
  status: z.enum(['active', 'expired', 'revoked']),
});
export type TokenListItem = z.infer<typeof TokenListItem>;

/** Every token (never the values), newest first; not the directory people (./directory_people.ts). */
export async function listTokens(sql: Sql): Promise<TokenListItem[]> {
  const rows = await sql`select * from api_tokens where kind = 'token' order by id desc`;
  return rows.map((r) => ({
    id: r.id,
    name: r.name,
    role: r.role,
    prefix: r.prefix,
    createdAt: iso(r.created_at)!,
    expiresAt: iso(r.expires_at),
    revokedAt: iso(r.revoked_at),
    lastUsedAt: iso(r.last_used_at),
    allowedSources: r.allowed_sources,
    scope: r.scope,
    status: r.revoked_at
      ? 'revoked'
      : r.expires_at && new Date(r.expires_at) <= new Date()
      ? 'expired'
      : 'active',
  }));
}

/** Revokes a token and ends its sessions (one statement); null without such a live token. */
export async function revokeToken(sql: Sql, id: number): Promise<{ name: string } | null> {
  const [row] = await sql`
    with revoked as (
      update api_tokens set revoked_at = now() where id = ${id} and revoked_at is null
      returning id, name
    ), ended as (delete from sessions where token_id in (select id from revoked))
    select name from revoked`;
  return row ? { name: row.name as string } : null;
}
