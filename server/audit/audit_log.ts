/** The audit log: admin actions and authentication failures. Data access only. */
import type { JSONValue } from 'postgres';
import { z } from 'zod';
import type { Sql } from '../db/connect.ts';
import { log } from '../log.ts';

/** Who does an action: a token (API) or the token a page session logged in with. */
export type Actor = { id: number | null; name: string | null; ip?: string | null };

export type AuditEntry = {
  action: string;
  actorId?: number | null;
  actorName?: string | null;
  target?: string | null;
  ip?: string | null;
  detail?: Record<string, unknown>;
};

/** Appends an entry. Never throws: an audit write must not fail the action it records. */
export async function audit(sql: Sql, e: AuditEntry): Promise<void> {
  try {
    await sql`
      insert into audit_log (actor_id, actor_name, action, target, ip, detail)
      values (${e.actorId ?? null}, ${e.actorName ?? null}, ${e.action}, ${e.target ?? null}, ${
      e.ip ?? null
    }, ${sql.json((e.detail ?? {}) as JSONValue)})`;
  } catch (err) {
    log.error('audit write failed', { action: e.action, error: err as Error });
  }
}

/** Appends what `actor` did to `target` (the one audit row of an action, whichever way it came). */
export function auditAction(sql: Sql, actor: Actor, action: string, target: string, detail = {}) {
  return audit(sql, {
    action,
    actorId: actor.id,
    actorName: actor.name,
    ip: actor.ip,
    target,
    detail,
  });
}

export const AuditRow = z.object({
  id: z.number().int(),
  at: z.string(),
  actorId: z.number().int().nullable(),
  actorName: z.string().nullable(),
  action: z.string(),
  target: z.string().nullable(),
  ip: z.string().nullable(),
  detail: z.unknown(),
});
export type AuditRow = z.infer<typeof AuditRow>;

/** Newest first, keyset-paged by id. */
export async function listAudit(sql: Sql, q: { limit: number; before?: number; action?: string }) {
  const action = q.action ? sql`and action = ${q.action}` : sql``;
  const rows = await sql`
    select id, at, actor_id as "actorId", actor_name as "actorName", action, target, ip, detail
    from audit_log where true ${q.before ? sql`and id < ${q.before}` : sql``} ${action}
    order by id desc limit ${q.limit + 1}`;
  const [{ total }] = await sql`select count(*)::int as total from audit_log where true ${action}`;
  const page = rows.slice(0, q.limit);
  return {
    items: page.map((r) =>
      ({ ...r, id: Number(r.id), at: new Date(r.at).toISOString() }) as AuditRow
    ),
    total: total as number,
    next: rows.length > q.limit ? String(page[page.length - 1].id) : null,
  };
}
