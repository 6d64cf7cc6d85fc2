/**
 * Notification routes: which rules (one, or every rule) at or above which severity go to
 * which channel, how long a group waits for more of its events, and how often an alert
 * still firing is told again.
 */
import { z } from 'zod';
import type { Sql } from '../db/connect.ts';
import { iso } from '../db/connect.ts';
import { AppError } from '../errors.ts';

export const SEVERITIES = ['info', 'warning', 'critical'] as const;

export const RouteBody = z.strictObject({
  channelId: z.number().int().min(1).max(2 ** 53),
  ruleId: z.string().min(1).max(100).nullable().default(null)
    .describe('one rule, or null for every rule'),
  minSeverity: z.enum(SEVERITIES).default('info'),
  groupWaitSeconds: z.number().int().min(0).max(3600).default(30)
    .describe('events of one group arriving this soon after a message of it wait and go together'),
  repeatSeconds: z.number().int().min(60).max(604_800).default(14_400)
    .describe('an alert still firing is notified again after this long'),
  enabled: z.boolean().default(true),
});
export type RouteBody = z.infer<typeof RouteBody>;

export const RouteView = z.object({
  id: z.number().int(),
  channelId: z.number().int(),
  channelName: z.string(),
  ruleId: z.string().nullable(),
  minSeverity: z.enum(SEVERITIES),
  groupWaitSeconds: z.number().int(),
  repeatSeconds: z.number().int(),
  enabled: z.boolean(),
  createdAt: z.string(),
});
export type RouteView = z.infer<typeof RouteView>;

type Row = Record<string, unknown>;
const view = (r: Row): RouteView => ({
  id: Number(r.id),
  channelId: Number(r.channel_id),
  channelName: r.channel_name as string,
  ruleId: (r.rule_id as string | null) ?? null,
  minSeverity: r.min_severity as RouteView['minSeverity'],
  groupWaitSeconds: r.group_wait_seconds as number,
  repeatSeconds: r.repeat_seconds as number,
  enabled: r.enabled as boolean,
  createdAt: iso(r.created_at)!,
});

/** Every route (of one channel when given). */
export async function listRoutes(sql: Sql, channelId?: number): Promise<RouteView[]> {
  const rows = await sql`
    select r.*, c.name as channel_name
    from notification_routes r join notification_channels c on c.id = r.channel_id
    ${channelId ? sql`where r.channel_id = ${channelId}` : sql``}
    order by c.name, r.id`;
  return rows.map(view);
}

async function one(sql: Sql, id: number): Promise<RouteView> {
  const [r] = await sql`
    select r.*, c.name as channel_name
    from notification_routes r join notification_channels c on c.id = r.channel_id
    where r.id = ${id}`;
  if (!r) throw new AppError('not_found', `no route ${id}`);
  return view(r);
}

/** The channel and rule must exist: invalid_body naming the field otherwise. */
async function checkRefs(sql: Sql, b: RouteBody) {
  const [c] = await sql`select 1 from notification_channels where id = ${b.channelId}`;
  if (!c) throw refused('channelId', `no channel ${b.channelId}`);
  if (b.ruleId != null) {
    const [r] = await sql`select 1 from alert_rules where id = ${b.ruleId}`;
    if (!r) throw refused('ruleId', `no alert rule ${JSON.stringify(b.ruleId)}`);
  }
}

function refused(path: string, message: string) {
  return new AppError('invalid_body', `${path}: ${message}`, { issues: [{ path, message }] });
}

/** Adds a route. */
export async function insertRoute(sql: Sql, b: RouteBody): Promise<RouteView> {
  await checkRefs(sql, b);
  const [r] = await sql`
    insert into notification_routes
      (channel_id, rule_id, min_severity, group_wait_seconds, repeat_seconds, enabled)
    values (${b.channelId}, ${b.ruleId}, ${b.minSeverity}, ${b.groupWaitSeconds},
            ${b.repeatSeconds}, ${b.enabled})
    returning id`;
  return one(sql, Number(r.id));
}

/** Replaces a route's settings; not_found without it. */
export async function updateRoute(sql: Sql, id: number, b: RouteBody): Promise<RouteView> {
  await one(sql, id);
  await checkRefs(sql, b);
  await sql`
    update notification_routes set channel_id = ${b.channelId}, rule_id = ${b.ruleId},
      min_severity = ${b.minSeverity}, group_wait_seconds = ${b.groupWaitSeconds},
      repeat_seconds = ${b.repeatSeconds}, enabled = ${b.enabled}
    where id = ${id}`;
  return one(sql, id);
}

/** Deletes a route; not_found without it. */
export async function deleteRoute(sql: Sql, id: number): Promise<RouteView> {
  const r = await one(sql, id);
  await sql`delete from notification_routes where id = ${id}`;
  return r;
}
