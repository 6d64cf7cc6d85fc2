/**
 * Who a token is (`GET /api/v1/whoami`, declared in auth/routes.ts) — name, role, and for an agent token the
 * sources it may post for (bound by an admin with `--sources kind:id`, or claimed by its
 * first capture). `vmledger-agent check` calls it to prove the server is reachable and the
 * token valid, before any capture is sent.
 */
import { z } from 'zod';
import type { Sql } from '../db/connect.ts';
import type { TokenInfo } from './tokens.ts';

export const WhoAmI = z.object({
  id: z.number().int(),
  name: z.string(),
  role: z.string(),
  /** Sources ("kind:id") an admin bound the token to; null: any source it claims first. */
  allowedSources: z.array(z.string()).nullable(),
  /** A viewer limited to some sources: its selectors (docs/sign-in.md); null: every source. */
  scope: z.array(z.string()).nullable(),
  /** Sources this token owns (it posted for them first, or an admin bound them). */
  sources: z.array(
    z.object({ id: z.number().int(), kind: z.string(), externalId: z.string(), name: z.string() }),
  ),
});
export type WhoAmI = z.infer<typeof WhoAmI>;

/** The token's identity and the sources it owns. */
export async function whoAmI(sql: Sql, token: TokenInfo): Promise<WhoAmI> {
  const rows = await sql<{ id: number; kind: string; external_id: string; name: string }[]>`
    select id, kind, external_id, name from sources
    where owner_token_id = ${token.id} order by kind, external_id`;
  return {
    id: token.id,
    name: token.name,
    role: token.role,
    allowedSources: token.allowedSources ?? null,
    scope: token.scope ?? null,
    sources: rows.map((r) => ({ id: r.id, kind: r.kind, externalId: r.external_id, name: r.name })),
  };
}
