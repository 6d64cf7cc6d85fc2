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
  return (await readToken(sql, token))?.info ?? null;
}

async function readToken(
  sql: Sql,
  token: string,
): Promise<{ info: TokenInfo; expiresAt: Date | null } | null> {
  if (!token || token.length > 200) return null;
  // last_used_at is written at most once a minute per token, to keep reads cheap.
  const rows = await sql`
    with hit as (
      select id, name, role, allowed_sources, break_glass, scope, expires_at, last_used_at from api_tokens
      where token_hash = ${hashSecret(token)} and kind = 'token'
        and revoked_at is null and (expires_at is null or expires_at > now())
    ), touch as (
      update api_tokens t set last_used_at = now() from hit
      where t.id = hit.id and (hit.last_used_at is null or hit.last_used_at < now() - interval '1 minute')
    )
    select id, name, role, allowed_sources, break_glass, scope, expires_at from hit`;
  return rows.length
    ? {
      info: {
        id: rows[0].id,
        name: rows[0].name,
        role: rows[0].role,
        allowedSources: rows[0].allowed_sources,
        breakGlass: rows[0].break_glass,
        scope: rows[0].scope,
      },
      expiresAt: rows[0].expires_at ? new Date(rows[0].expires_at) : null,
    }
    : null;
}

/**
 * Tokens verified in the last few seconds, so that a client's requests do not each pay a
 * database round trip to check the same token (issue 20). Only live tokens are kept (a
 * failing one is asked again every time: rate limits and audit stay as they were), by the
 * hash of their value, each until the earliest of `ttlMs` after it was read and its own
 * expiry. What takes a token away is seen at once or within a bound:
 *
 * - on this node, `revokeToken` and `ensureToken` empty every cache of the process before
 *   they return (the next request reads the table again);
 * - on every other node, the table's trigger (migration 0066) sends `vmledger_api_tokens` on
 *   any update or delete of a token row, at its commit; each cache listens on its pool and
 *   forgets the token, so another node refuses a revoked token within milliseconds;
 * - entries are trusted only while that listener is connected (it is (re)started lazily,
 *   entries are dropped whenever it reconnects) and for `ttlMs` at most (default 5 s): the
 *   bound on staleness should a notification be lost.
 */
export class TokenCache {
  hits = 0;
  misses = 0;
  private readonly entries = new Map<string, { info: TokenInfo; until: number }>();
  private listening = false;
  /** Grows with every forgetting: a read that overlapped one is not kept. */
  private epoch = 0;
  private starting: Promise<unknown> | null = null;
  private readonly sql: Sql;
  private readonly ttlMs: number;
  private readonly maxEntries: number;

  constructor(sql: Sql, options: { ttlMs?: number; maxEntries?: number } = {}) {
    this.sql = sql;
    this.ttlMs = options.ttlMs ?? 5_000;
    this.maxEntries = options.maxEntries ?? 10_000;
    caches.add(new WeakRef(this));
  }

  /** The live token with this value (as verifyToken), from the cache when it may be. */
  async verify(token: string): Promise<TokenInfo | null> {
    if (!token || token.length > 200) return null;
    if (!this.listening) this.listen();
    // The value's hash (never the value), as a string straight from the digest.
    const key = createHash('sha256').update(token, 'utf8').digest('base64');
    const hit = this.entries.get(key);
    if (hit && this.listening && hit.until > Date.now()) {
      // Least recently used last: when full, the oldest are dropped first.
      this.entries.delete(key);
      this.entries.set(key, hit);
      this.hits++;
      return hit.info;
    }
    this.misses++;
    const wasListening = this.listening;
    const epoch = this.epoch;
    const read = await readToken(this.sql, token);
    // Kept only when the listener was up from before the read to after it and nothing was
    // forgotten meanwhile (a change committed during the read may not be in what it saw).
    if (read && wasListening && this.listening && epoch === this.epoch) {
      if (this.entries.size >= this.maxEntries) {
        this.entries.delete(this.entries.keys().next().value!);
      }
      const until = Math.min(Date.now() + this.ttlMs, read.expiresAt?.getTime() ?? Infinity);
      this.entries.set(key, { info: read.info, until });
    } else if (!read) this.entries.delete(key);
    return read?.info ?? null;
  }

  /** Forgets every token (a local write that may take one away). */
  clear(): void {
    this.epoch++;
    this.entries.clear();
  }

  /** Forgets one token (a notification from any node: it changed or was deleted). */
  forget(id: number): void {
    this.epoch++;
    for (const [key, e] of this.entries) if (e.info.id === id) this.entries.delete(key);
  }

  private listen(): void {
    if (this.starting) return;
    this.starting = this.sql.listen(TOKEN_CHANNEL, (id) => this.forget(Number(id)), () => {
      // Called on every (re)connection: anything sent while it was down was missed.
      this.clear();
      this.listening = true;
    }).catch(() => {
      this.listening = false;
      this.starting = null; // tried again by the next request
    });
  }
}

/** The channel migration 0066's trigger notifies on a change to api_tokens. */
export const TOKEN_CHANNEL = 'vmledger_api_tokens';

const caches = new Set<WeakRef<TokenCache>>();
const byPool = new WeakMap<Sql, TokenCache>();

/** The token cache of a pool (one per pool and process: one listener each). */
export function tokenCache(sql: Sql): TokenCache {
  let cache = byPool.get(sql);
  if (!cache) byPool.set(sql, cache = new TokenCache(sql));
  return cache;
}

/** Empties every token cache of this process (after a write to api_tokens here). */
export function forgetCachedTokens(): void {
  for (const ref of caches) {
    const cache = ref.deref();
    if (cache) cache.clear();
    else caches.delete(ref);
  }
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
  forgetCachedTokens();
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
  forgetCachedTokens();
  return row ? { name: row.name as string } : null;
}
