/**
 * From alert events to messages, set-based:
 *
 * 1. `routeEvents` — each fired/acknowledged/resolved event is routed once (a row in
 *    notification_routed, whoever gets there first) into one item per matching route: the
 *    route is enabled, its channel enabled, its rule the alert's (or any), the alert's
 *    severity at least the route's. A silenced alert gets no item. An acknowledgement or
 *    resolution is only told where the firing was.
 * 2. `queueRepeats` — an alert still firing, told on a route longer than its repeat interval
 *    ago, gets a `repeat` item.
 * 3. `flushGroups` — the waiting items of one (route, rule, group key, kind) become ONE
 *    notification (200 VMs of one failed host: one message). A group goes at once unless a
 *    message of it went within the route's group wait; then it waits until its oldest item is
 *    group-wait old, gathering what else arrives. So the first message of an incident is not
 *    delayed, and a burst spread over several evaluations still becomes few messages. The
 *    delivery jobs are inserted in the same transaction as the notifications, so a message is
 *    queued exactly once.
 */
import type { PgBoss } from 'pg-boss';
import type { Sql } from '../db/connect.ts';

/** The kinds of alert event that are notified. */
export const NOTIFIED_KINDS = ['fired', 'acknowledged', 'resolved'];

/** The events the sweep routes if the after-evaluation hook missed them (older ones are history). */
const SWEEP_HORIZON = '1 day';

/**
 * Routes the given events (or, with `'unrouted'`, every notified event of the last day not
 * yet routed) into items; returns how many items were made.
 */
export async function routeEvents(sql: Sql, events: number[] | 'unrouted'): Promise<number> {
  const pick = events === 'unrouted'
    ? sql`e.at > now() - ${SWEEP_HORIZON}::interval`
    : sql`e.id = any(${events}::bigint[])`;
  const [{ n }] = await sql`
    with ev as (
      select e.id, e.alert_id, e.kind from alert_events e
      where ${pick} and e.kind = any(${NOTIFIED_KINDS}::text[])
        and not exists (select 1 from notification_routed r where r.event_id = e.id)
    ), marked as (
      insert into notification_routed (event_id) select id from ev
      on conflict do nothing
      returning event_id
    ), made as (
      insert into notification_items (route_id, alert_id, event_id, kind, rule_id, group_key)
      select ro.id, a.id, ev.id, ev.kind, a.rule_id, a.group_key
      from marked m
      join ev on ev.id = m.event_id
      join alerts a on a.id = ev.alert_id
      join notification_routes ro on ro.enabled
        and (ro.rule_id is null or ro.rule_id = a.rule_id)
        and array_position(array['info', 'warning', 'critical'], a.severity)
          >= array_position(array['info', 'warning', 'critical'], ro.min_severity)
      join notification_channels c on c.id = ro.channel_id and c.enabled
      where not a.silenced
        and (ev.kind = 'fired' or exists (
          select 1 from notification_items x
          where x.route_id = ro.id and x.alert_id = a.id and x.kind in ('fired', 'repeat')))
      on conflict do nothing
      returning 1
    )
    select count(*)::int as n from made`;
  return n;
}

/** Adds a `repeat` item for each alert still firing whose last item on a route is older than the route's repeat interval. */
export async function queueRepeats(sql: Sql): Promise<number> {
  const rows = await sql`
    insert into notification_items (route_id, alert_id, event_id, kind, rule_id, group_key)
    select ro.id, a.id, null, 'repeat', a.rule_id, a.group_key
    from notification_routes ro
    join notification_channels c on c.id = ro.channel_id and c.enabled
    join alerts a on a.state = 'firing' and not a.silenced
      and (ro.rule_id is null or ro.rule_id = a.rule_id)
      and array_position(array['info', 'warning', 'critical'], a.severity)
        >= array_position(array['info', 'warning', 'critical'], ro.min_severity)
    cross join lateral (
      select max(x.created_at) as last from notification_items x
      where x.route_id = ro.id and x.alert_id = a.id
    ) l
    where ro.enabled and l.last < now() - make_interval(secs => ro.repeat_seconds)
    returning 1`;
  return rows.length;
}

/** The queue delivery jobs go to (server/notifications/notify_jobs.ts). */
export const DELIVER_QUEUE = 'notification-deliver';

/**
 * Turns every due group into one notification and queues its delivery, in one transaction
 * (one flusher at a time, across nodes). Returns the new notifications' ids and, when groups
 * are held back, the seconds until the first of them is due.
 */
export async function flushGroups(
  sql: Sql,
  boss: PgBoss,
): Promise<{ made: string[]; nextDueSeconds: number | null }> {
  return await sql.begin(async (tx) => {
    await tx`select pg_advisory_xact_lock(hashtext('vmledger.notifications.flush'))`;
    // Silenced since their event was routed: not told.
    await tx`
      delete from notification_items i using alerts a
      where i.notification_id is null and a.id = i.alert_id and a.silenced`;
    const made = await tx`
      with waiting as (
        select i.route_id, i.rule_id, i.group_key, i.kind, min(i.created_at) as oldest
        from notification_items i where i.notification_id is null
        group by 1, 2, 3, 4
      ), due as (
        select w.*, ro.channel_id from waiting w
        join notification_routes ro on ro.id = w.route_id
        where w.oldest <= now() - make_interval(secs => ro.group_wait_seconds)
          or not exists (
            select 1 from notifications n
            where n.route_id = w.route_id and n.rule_id = w.rule_id
              and n.group_key = w.group_key and n.kind = w.kind
              and n.created_at > now() - make_interval(secs => ro.group_wait_seconds))
      ), made as (
        insert into notifications (channel_id, route_id, rule_id, group_key, kind)
        select channel_id, route_id, rule_id, group_key, kind from due
        returning id, route_id, rule_id, group_key, kind
      ), assigned as (
        update notification_items i set notification_id = m.id
        from made m
        where i.notification_id is null and i.route_id = m.route_id and i.rule_id = m.rule_id
          and i.group_key = m.group_key and i.kind = m.kind
        returning i.id
      )
      select m.id::text as id, (select count(*) from assigned) as n from made m`;
    const ids = made.map((r) => r.id as string);
    if (ids.length) {
      await boss.insert(DELIVER_QUEUE, ids.map((id) => ({ data: { id } })), {
        db: {
          executeSql: async (text: string, values?: unknown[]) => ({
            rows: await tx.unsafe(text, (values ?? []) as never[]),
          }),
        },
      });
    }
    // The statement above saw the items as they were before it: held groups are those left.
    const [held] = await tx`
      select extract(epoch from min(w.oldest + make_interval(secs => ro.group_wait_seconds))
                                - clock_timestamp())::float8 as secs
      from (select route_id, min(created_at) as oldest from notification_items
            where notification_id is null group by route_id) w
      join notification_routes ro on ro.id = w.route_id`;
    const secs = held?.secs as number | null;
    return { made: ids, nextDueSeconds: secs == null ? null : Math.max(0, secs) };
  });
}

/** Queues one delivery job for a notification (a dead one retried, a test). */
export async function queueDelivery(boss: PgBoss, id: string): Promise<void> {
  await boss.send(DELIVER_QUEUE, { id });
}
