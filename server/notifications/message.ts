/**
 * A notification as a message, whatever the channel: what happened (fired, still firing,
 * acknowledged, resolved, a test), to which rule and group, and the alerts it lists. The
 * channels' payloads (payloads.ts, email.ts) are built from this one shape.
 */
import type { Sql } from '../db/connect.ts';
import { iso } from '../db/connect.ts';

export type MessageKind = 'fired' | 'acknowledged' | 'resolved' | 'repeat' | 'test';

export type AlertLine = {
  id: number;
  objectKind: string;
  objectKey: string;
  objectName: string;
  sourceId: number | null;
  severity: string;
  state: string;
  summary: string;
  firedAt: string | null;
  acknowledgedBy: string | null;
  resolvedAt: string | null;
};

export type Message = {
  /** The notification's id: the same on every attempt, so receivers can drop a repeat. */
  deliveryId: string;
  kind: MessageKind;
  ruleId: string | null;
  ruleName: string | null;
  groupKey: string | null;
  /** The highest severity among the alerts ('info' for a test). */
  severity: string;
  title: string;
  alerts: AlertLine[];
  createdAt: string;
};

const LABEL: Record<MessageKind, string> = {
  fired: 'Firing',
  repeat: 'Still firing',
  acknowledged: 'Acknowledged',
  resolved: 'Resolved',
  test: 'Test',
};

/** The title line: "Firing: Host disconnected — esx01" or "… — 200 objects". */
export function titleOf(m: Pick<Message, 'kind' | 'ruleName' | 'alerts'>): string {
  if (m.kind === 'test') return 'Test notification from vmledger';
  const what = m.alerts.length === 1 ? m.alerts[0].objectName : `${m.alerts.length} objects`;
  return `${LABEL[m.kind]}: ${m.ruleName ?? 'alert'} — ${what}`;
}

const RANK = ['info', 'warning', 'critical'];

/** The message of notification `id` (null when it no longer exists). */
export async function messageOf(sql: Sql, id: string): Promise<Message | null> {
  const [n] = await sql`
    select n.id::text, n.kind, n.rule_id, n.group_key, n.created_at, r.name as rule_name
    from notifications n left join alert_rules r on r.id = n.rule_id
    where n.id = ${id}::uuid`;
  if (!n) return null;
  const rows = await sql`
    select distinct on (a.object_name, a.id) a.* from notification_items i
    join alerts a on a.id = i.alert_id
    where i.notification_id = ${id}::uuid
    order by a.object_name, a.id`;
  const alerts: AlertLine[] = rows.map((a) => ({
    id: Number(a.id),
    objectKind: a.object_kind,
    objectKey: a.object_key,
    objectName: a.object_name,
    sourceId: a.source_id ?? null,
    severity: a.severity,
    state: a.state,
    summary: a.summary,
    firedAt: iso(a.fired_at),
    acknowledgedBy: a.acknowledged_by ?? null,
    resolvedAt: iso(a.resolved_at),
  }));
  const severity = alerts.reduce(
    (s, a) => (RANK.indexOf(a.severity) > RANK.indexOf(s) ? a.severity : s),
    'info',
  );
  const kind = n.kind as MessageKind;
  return {
    deliveryId: n.id,
    kind,
    ruleId: n.rule_id ?? null,
    ruleName: n.rule_name ?? null,
    groupKey: n.group_key ?? null,
    severity,
    title: titleOf({ kind, ruleName: n.rule_name, alerts }),
    alerts,
    createdAt: iso(n.created_at)!,
  };
}
