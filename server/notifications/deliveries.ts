/** The notifications sent or being sent, newest first, with their delivery state. */
import { z } from 'zod';
import type { Sql } from '../db/connect.ts';
import { iso } from '../db/connect.ts';

export const DELIVERY_STATES = ['pending', 'retrying', 'delivered', 'dead'] as const;

export const DeliveryView = z.object({
  id: z.string().describe('the delivery id receivers see (X-Vmledger-Delivery)'),
  channelId: z.number().int(),
  channelName: z.string(),
  channelKind: z.string(),
  kind: z.enum(['fired', 'acknowledged', 'resolved', 'repeat', 'test']),
  ruleId: z.string().nullable(),
  groupKey: z.string().nullable(),
  objects: z.number().int(),
  state: z.enum(DELIVERY_STATES),
  attempts: z.number().int(),
  lastError: z.string().nullable(),
  createdAt: z.string(),
  lastAttemptAt: z.string().nullable(),
  deliveredAt: z.string().nullable(),
});
export type DeliveryView = z.infer<typeof DeliveryView>;

export const DeliveryQuery = z.object({
  state: z.enum(DELIVERY_STATES).optional(),
  channel: z.coerce.number().int().min(1).max(2 ** 31 - 1).optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
});
export type DeliveryQuery = z.infer<typeof DeliveryQuery>;

/** Deliveries by the filters, newest first. */
export async function listDeliveries(sql: Sql, q: DeliveryQuery): Promise<DeliveryView[]> {
  const rows = await sql`
    select n.*, n.id::text as id, c.name as channel_name, c.kind as channel_kind,
      (select count(distinct i.alert_id)::int from notification_items i
       where i.notification_id = n.id) as objects
    from notifications n join notification_channels c on c.id = n.channel_id
    where true
      ${q.state ? sql`and n.state = ${q.state}` : sql``}
      ${q.channel ? sql`and n.channel_id = ${q.channel}` : sql``}
    order by n.created_at desc, n.id
    limit ${q.limit}`;
  return viewsOf(rows);
}

/** One delivery, or null. */
export async function deliveryById(sql: Sql, id: string): Promise<DeliveryView | null> {
  if (!/^[0-9a-f-]{36}$/i.test(id)) return null;
  const rows = await sql`
    select n.*, n.id::text as id, c.name as channel_name, c.kind as channel_kind,
      (select count(distinct i.alert_id)::int from notification_items i
       where i.notification_id = n.id) as objects
    from notifications n join notification_channels c on c.id = n.channel_id
    where n.id = ${id}::uuid`;
  if (!rows.length) return null;
  return viewsOf(rows)[0];
}

function viewsOf(rows: readonly Record<string, unknown>[]): DeliveryView[] {
  return rows.map((r) => ({
    id: r.id as string,
    channelId: Number(r.channel_id),
    channelName: r.channel_name as string,
    channelKind: r.channel_kind as string,
    kind: r.kind as DeliveryView['kind'],
    ruleId: (r.rule_id as string | null) ?? null,
    groupKey: (r.group_key as string | null) ?? null,
    objects: r.objects as number,
    state: r.state as DeliveryView['state'],
    attempts: r.attempts as number,
    lastError: (r.last_error as string | null) ?? null,
    createdAt: iso(r.created_at)!,
    lastAttemptAt: iso(r.last_attempt_at),
    deliveredAt: iso(r.delivered_at),
  }));
}
