/**
 * The people who sign in through LDAP or OIDC, kept as principal rows of api_tokens (kind
 * 'ldap' or 'oidc'; migration 0056): every actor reference points there, so they act, are
 * audited and are revoked like a token. Data access only.
 */
import { randomBytes } from 'node:crypto';
import type { Sql } from '../db/connect.ts';
import { hashSecret } from './tokens.ts';

/**
 * The principal of a directory person, created at their first sign-in; their name, role and
 * scope are set again from the directory each time. Null when an admin revoked them (refused).
 */
export async function directoryPrincipal(
  sql: Sql,
  p: {
    kind: 'ldap' | 'oidc';
    subject: string;
    name: string;
    role: 'admin' | 'viewer';
    /** Per-source visibility from their groups (./role_map.ts); null: every source. */
    scope?: string[] | null;
  },
): Promise<{ id: number } | null> {
  // A value no one ever sees: the principal cannot be presented as a token.
  const unusable = hashSecret(randomBytes(32).toString('base64url'));
  const [row] = await sql`
    insert into api_tokens (name, role, token_hash, prefix, kind, subject, scope)
    values (${p.name}, ${p.role}, ${unusable}, ${p.kind}, ${p.kind}, ${p.subject}, ${
    p.scope ?? null
  })
    on conflict (kind, subject) where subject is not null do update
      set name = excluded.name, role = excluded.role, scope = excluded.scope, last_used_at = now()
    returning id, revoked_at`;
  return row.revoked_at ? null : { id: row.id as number };
}
