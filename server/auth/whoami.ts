/**
 * `GET /api/v1/whoami`: who the presented token is — name, role, and for an agent token the
 * sources it may post for (bound by an admin with `--sources kind:id`, or claimed by its
 * first capture). `vmledger-agent check` calls it to prove the server is reachable and the
 * token valid, before any capture is sent.
 */
import { Hono } from 'hono';
import { z } from 'zod';
import type { Sql } from '../db/connect.ts';
import type { ApiDoc } from '../http/api_doc.ts';
import type { AuthVariables } from './middleware.ts';
import { ROLES } from './tokens.ts';

export const WhoAmI = z.object({
  id: z.number().int(),
  name: z.string(),
  role: z.string(),
  /** Sources ("kind:id") an admin bound the token to; null: any source it claims first. */
  allowedSources: z.array(z.string()).nullable(),
  /** Sources this token owns (it posted for them first, or an admin bound them). */
  sources: z.array(
    z.object({ id: z.number().int(), kind: z.string(), externalId: z.string(), name: z.string() }),
  ),
});
export type WhoAmI = z.infer<typeof WhoAmI>;

export function whoamiRoutes(sql: Sql, doc: ApiDoc) {
  const app = new Hono<{ Variables: AuthVariables }>();
  doc.define(app, {
    method: 'get',
    path: '/whoami',
    operationId: 'whoami',
    tag: 'Meta',
    roles: [...ROLES],
    summary:
      "The presented token: name, role, and the sources it is bound to (agents' `check` calls this)",
    responses: { 200: { description: 'Who the token is', schema: WhoAmI } },
  }, async (c) => {
    const auth = c.get('auth');
    const rows = await sql`
      select id, kind, external_id, name from sources
      where owner_token_id = ${auth.id} order by kind, external_id`;
    const body: WhoAmI = {
      id: auth.id,
      name: auth.name,
      role: auth.role,
      allowedSources: auth.allowedSources ?? null,
      sources: rows.map((r) => ({
        id: r.id as number,
        kind: r.kind as string,
        externalId: r.external_id as string,
        name: r.name as string,
      })),
    };
    c.header('cache-control', 'no-store');
    return c.json(body);
  });
  return app;
}
