/**
 * Reading alerts: the list (firing first), one alert with its timeline, counts for the
 * dashboard and /metrics, and the silences. Data access only: takes `sql`, knows no HTTP.
 */
import { z } from 'zod';
import { iso, type Sql } from '../db/connect.ts';
import { SEVERITIES } from './rules.ts';

export const ALERT_STATES = ['pending', 'firing', 'acknowledged', 'resolved'] as const;

export const AlertItem = z.object({
  id: z.number().int(),
  ruleId: z.string(),
  ruleName: z.string(),
  objectKind: z.string(),
  objectKey: z.string(),
  objectName: z.string(),
  sourceId: z.number().int().nullable(),
  sourceName: z.string().nullable(),
  groupKey: z.string(),
  severity: z.enum(SEVERITIES),
  state: z.enum(ALERT_STATES),
  summary: z.string(),
  details: z.unknown(),
  pendingSince: z.string(),
  firedAt: z.string().nullable(),
  acknowledgedAt: z.string().nullable(),
  acknowledgedBy: z.string().nullable(),
  ackNote: z.string().nullable(),
  resolvedAt: z.string().nullable(),
  silenced: z.boolean(),
  lastEvaluatedAt: z.string(),
});
export type AlertItem = z.infer<typeof AlertItem>;

export const AlertEvent = z.object({
  id: z.number().int(),
  at: z.string(),
  kind: z.string(),
  actor: z.string().nullable(),
  note: z.string().nullable(),
  details: z.unknown(),
});
export type AlertEvent = z.infer<typeof AlertEvent>;

export const AlertDetail = AlertItem.extend({ timeline: z.array(AlertEvent) });
export type AlertDetail = z.infer<typeof AlertDetail>;

export type AlertQuery = {
  /** 'open' (default: pending, firing, acknowledged), 'all', or one state. */
  state?: 'open' | 'all' | (typeof ALERT_STATES)[number];
  severity?: (typeof SEVERITIES)[number];
  rule?: string;
  source?: number;
  limit: number;
};

// deno-lint-ignore no-explicit-any
function toItem(r: any): AlertItem {
  return {
    id: Number(r.id),
    ruleId: r.rule_id,
    ruleName: r.rule_name,
    objectKind: r.object_kind,
    objectKey: r.object_key,
    objectName: r.object_name,
    sourceId: r.source_id,
    sourceName: r.source_name,
    groupKey: r.group_key,
    severity: r.severity,
    state: r.state,
    summary: r.summary,
    details: r.details,
    pendingSince: iso(r.pending_since)!,
    firedAt: iso(r.fired_at),
    acknowledgedAt: iso(r.acknowledged_at),
    acknowledgedBy: r.acknowledged_by,
    ackNote: r.ack_note,
    resolvedAt: iso(r.resolved_at),
    silenced: r.silenced,
    lastEvaluatedAt: iso(r.last_evaluated_at)!,
  };
}

const SELECT = (sql: Sql) =>
  sql`select a.*, r.name as rule_name, s.name as source_name
  from alerts a join alert_rules r on r.id = a.rule_id left join sources s on s.id = a.source_id`;

/** Alerts matching `q`: firing first, then pending, acknowledged, resolved; critical first; newest first. */
export async function listAlerts(sql: Sql, q: AlertQuery) {
  const state = q.state ?? 'open';
  const where = [
    state === 'open'
      ? sql`a.state <> 'resolved'`
      : state === 'all'
      ? sql`true`
      : sql`a.state = ${state}`,
    q.severity ? sql`a.severity = ${q.severity}` : sql`true`,
    q.rule ? sql`a.rule_id = ${q.rule}` : sql`true`,
    q.source ? sql`a.source_id = ${q.source}` : sql`true`,
  ];
  const cond = where.reduce((acc, w) => sql`${acc} and ${w}`);
  const [rows, [{ total }]] = await Promise.all([
    sql`${SELECT(sql)} where ${cond}
      order by case a.state when 'firing' then 0 when 'pending' then 1 when 'acknowledged' then 2 else 3 end,
        case a.severity when 'critical' then 0 when 'warning' then 1 else 2 end,
        coalesce(a.resolved_at, a.fired_at, a.pending_since) desc, a.id desc
      limit ${q.limit}`,
    sql`select count(*)::int as total from alerts a where ${cond}`,
  ]);
  return { items: rows.map(toItem), total: total as number, next: null };
}

/** One alert and its timeline (oldest first), or null. */
export async function getAlert(sql: Sql, id: number): Promise<AlertDetail | null> {
  const [row] = await sql`${SELECT(sql)} where a.id = ${id}`;
  if (!row) return null;
  const events = await sql`
    select id, at, kind, actor, note, details from alert_events where alert_id = ${id} order by at, id`;
  return {
    ...toItem(row),
    timeline: events.map((e) => ({
      id: Number(e.id),
      at: iso(e.at)!,
      kind: e.kind,
      actor: e.actor,
      note: e.note,
      details: e.details,
    })),
  };
}

/** Open alerts by rule, severity and state (the dashboard panel and /metrics). */
export async function openAlertCounts(sql: Sql) {
  const rows = await sql`
    select rule_id, severity, state, count(*)::int as n
    from alerts where state <> 'resolved' group by 1, 2, 3 order by 1, 2, 3`;
  return rows.map((r) => ({
    ruleId: r.rule_id as string,
    severity: r.severity as string,
    state: r.state as string,
    n: r.n as number,
  }));
}

export const Silence = z.object({
  id: z.number().int(),
  startsAt: z.string(),
  endsAt: z.string(),
  ruleId: z.string().nullable(),
  sourceId: z.number().int().nullable(),
  objectKind: z.string().nullable(),
  objectKey: z.string().nullable(),
  maintenance: z.boolean(),
  comment: z.string(),
  createdBy: z.string(),
  createdAt: z.string(),
  active: z.boolean(),
});
export type Silence = z.infer<typeof Silence>;

// deno-lint-ignore no-explicit-any
export function toSilence(r: any, now = new Date()): Silence {
  return {
    id: Number(r.id),
    startsAt: iso(r.starts_at)!,
    endsAt: iso(r.ends_at)!,
    ruleId: r.rule_id,
    sourceId: r.source_id,
    objectKind: r.object_kind,
    objectKey: r.object_key,
    maintenance: r.maintenance,
    comment: r.comment,
    createdBy: r.created_by,
    createdAt: iso(r.created_at)!,
    active: new Date(r.starts_at) <= now && new Date(r.ends_at) > now,
  };
}

/** Silences not yet ended (or every one, newest first, with `all`). */
export async function listSilences(sql: Sql, all = false) {
  const rows = all
    ? await sql`select * from alert_silences order by id desc limit 1000`
    : await sql`select * from alert_silences where ends_at > now() order by starts_at, id`;
  const items = rows.map((r) => toSilence(r));
  return { items, total: items.length, next: null };
}
