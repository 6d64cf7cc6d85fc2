/**
 * Rule evaluation: for each enabled rule, one transaction that takes the rule's advisory lock
 * (pg_try_advisory_xact_lock: one evaluator per rule per moment across server nodes; a node
 * that finds it taken skips the rule, the holder is evaluating the same data), computes the
 * set of objects the rule sees with their effective parameters (rule, then source override,
 * then cluster/datastore/tag override), and moves the rule's alerts in one statement:
 *
 *   - no open alert and at the fire level → a new alert, pending (or firing when forMinutes is 0);
 *   - pending that held for forMinutes → firing; pending below the fire level → resolved;
 *   - firing or acknowledged below the clear level, or the object gone → resolved;
 *
 * appending each transition to alert_events. The partial unique index `alerts_one_open`
 * keeps one open alert per (rule, object) whatever happens. Silences are then applied to
 * the rule's open alerts (events silenced / unsilenced). After commit, `alertHooks` run with
 * the new event ids (notifications register there). Data access only: takes `sql`.
 */
import type { JSONValue } from 'postgres';
import type { Sql } from '../db/connect.ts';
import { log } from '../log.ts';
import { installDefaultRules, type RuleDef, RULES, RULES_BY_ID } from './rules.ts';

/** Called after alert events are committed (evaluation, acknowledgement, silences). */
export type AfterEvents = (sql: Sql, eventIds: number[]) => Promise<void>;

/** Other features (notifications) add themselves here; alerts imports none of them. */
export const alertHooks: { afterEvents: AfterEvents[] } = { afterEvents: [] };

/** Runs every hook; a failing hook is logged, never fails the caller (its events are committed). */
export async function afterAlertEvents(sql: Sql, eventIds: number[]): Promise<void> {
  if (eventIds.length === 0) return;
  for (const hook of alertHooks.afterEvents) {
    try {
      await hook(sql, eventIds);
    } catch (err) {
      log.error('after-alert-events hook failed', { error: err as Error });
    }
  }
}

export type EvaluationResult = {
  /** Rules evaluated by this call (a rule another node held, or a disabled one, is not). */
  evaluated: string[];
  /** Rules another evaluator held at the moment. */
  skipped: string[];
  eventIds: number[];
  ms: number;
};

/**
 * Pools whose database has had the default rules installed by this process (rules are only
 * ever added by a release, which restarts it; none is deleted).
 */
const rulesInstalled = new WeakSet<Sql>();

/** Lock namespace of the per-rule advisory locks ('al' 'rt'). */
const LOCK_CLASS = 0x616c7274;

/**
 * Evaluates `rules` (default all; `after`: the rules a capture or a heartbeat can change) as
 * of `now` (default the clock; tests pass explicit times).
 * Disabled rules are evaluated too: they see nothing, so their open alerts resolve.
 */
export async function evaluateAlerts(
  sql: Sql,
  options: { now?: Date; rules?: string[]; after?: 'capture' | 'heartbeat' } = {},
): Promise<EvaluationResult> {
  const started = performance.now();
  const now = options.now ?? new Date();
  if (!rulesInstalled.has(sql)) {
    await installDefaultRules(sql);
    rulesInstalled.add(sql);
  }
  const defs = options.rules
    ? options.rules.map((id) => RULES_BY_ID.get(id)).filter((d): d is RuleDef => !!d)
    : options.after
    ? RULES.filter((r) => r.after === options.after)
    : RULES;
  const result: EvaluationResult = { evaluated: [], skipped: [], eventIds: [], ms: 0 };
  // One transaction for the rules (one commit); each rule under its own lock.
  await sql.begin(async (txn) => {
    const tx = txn as unknown as Sql;
    // The statement joins the rule's objects with its open alerts, both CTEs the planner
    // cannot count: with its guess of one row each it nests loops, quadratic in open alerts
    // (800 open alerts: 0.4 s). Hash joins keep it linear.
    // A rule's statement is the same text every time, prepared on the evaluator's connection:
    // planned once (a generic plan) instead of every time (1-1.7 ms each, more than most of
    // them take to run). Its plan does not hinge on the values: the rule's objects and open
    // alerts are hash-joined whatever their number.
    // In the same round trip: every rule's lock tried (its row read only when got), and
    // whether pg-boss's tables are there (the failed-job rule reads them).
    const locks = await tx`
      select d.id, l.ok, r.severity, r.enabled, r.params,
        to_regclass('pgboss.job') is not null as has_jobs,
        set_config('enable_nestloop', 'off', true) as nestloop,
        set_config('plan_cache_mode', 'force_generic_plan', true) as plan_cache
      from unnest(${defs.map((d) => d.id)}::text[]) with ordinality d(id, n)
      cross join lateral (select pg_try_advisory_xact_lock(${LOCK_CLASS}, hashtext(d.id)) as ok) l
      left join alert_rules r on l.ok and r.id = d.id
      order by d.n`;
    for (const [i, def] of defs.entries()) {
      const lock = locks[i] as unknown as RuleLock;
      const ids = await evaluateRule(tx, def, now, lock);
      if (ids === null) result.skipped.push(def.id);
      else {
        result.evaluated.push(def.id);
        result.eventIds.push(...ids);
      }
    }
    // Silences of the evaluated rules (their locks still held) in one statement.
    if (result.evaluated.length) {
      result.eventIds.push(...await applySilences(tx, now, result.evaluated));
    }
  });
  result.ms = Math.round(performance.now() - started);
  await afterAlertEvents(sql, result.eventIds);
  return result;
}

/** A rule's lock as tried, and its row when got. */
type RuleLock = {
  ok: boolean;
  severity: string | null;
  enabled: boolean | null;
  params: Record<string, unknown> | null;
  has_jobs: boolean;
};

/**
 * One rule, in the caller's transaction, its lock tried; null when another evaluator holds
 * the rule (or it has no row).
 */
async function evaluateRule(tx: Sql, def: RuleDef, now: Date, lock: RuleLock) {
  if (!lock.ok) return null;
  if (!lock.severity) return null;
  const rule = lock;
  const hasJobs = lock.has_jobs;
  const params = { ...def.defaults, ...(rule.params as Record<string, unknown>) };
  const level = (v: string | number) =>
    typeof v === 'number' ? tx`${v}::float8` : tx`(e.p->>${v})::float8`;
  const fire = level(def.fire);
  const clear = level(def.clear);
  const above = def.direction === 'above';
  const candidates = rule.enabled
    ? def.query(tx, { now, params, hasJobs })
    : tx`select * from (${def.query(tx, { now, params, hasJobs })}) c where false`;
  const rows = await tx`
    with c as (${candidates}),
    e as (
      select c.*, ${
    tx.json(params as JSONValue)
  }::jsonb || coalesce(os.params, '{}') || coalesce(ox.params, '{}') as p,
        coalesce(ox.enabled, os.enabled, true) as scope_enabled
      from c
      left join alert_rule_overrides os on os.rule_id = ${def.id} and os.scope_kind = 'source'
        and os.scope_value = c.source_id::text
      left join lateral (
        select o.params, o.enabled from alert_rule_overrides o
        where o.rule_id = ${def.id} and (
          (o.scope_kind = 'datastore' and o.scope_value = c.scope_datastore)
          or (o.scope_kind = 'cluster' and o.scope_value = c.scope_cluster)
          or (o.scope_kind = 'tag' and o.scope_value = any(c.scope_tags)))
        order by case o.scope_kind when 'datastore' then 0 when 'cluster' then 1 else 2 end, o.scope_value
        limit 1
      ) ox on true
    ),
    v as (
      select e.*, coalesce((e.p->>'forMinutes')::float8, 0) as for_minutes,
        coalesce(${above ? tx`e.value >= ${fire}` : tx`e.value <= ${fire}`}, false) as fire,
        coalesce(${above ? tx`e.value >= ${clear}` : tx`e.value <= ${clear}`}, false) as hold
      from e where e.scope_enabled
    ),
    o as (
      select a.id, a.state, a.pending_since, a.object_kind, a.object_key
      from alerts a where a.rule_id = ${def.id} and a.state <> 'resolved'
    ),
    n as (
      select o.id, o.state as old_state,
        case
          when v.object_key is null or not v.hold or (o.state = 'pending' and not v.fire) then 'resolved'
          when o.state = 'pending'
            and o.pending_since + make_interval(secs => v.for_minutes * 60) <= ${now}::timestamptz then 'firing'
          else o.state
        end as new_state,
        v.summary, v.details, v.object_name, v.value
      from o left join v on v.object_kind = o.object_kind and v.object_key = o.object_key
    ),
    upd as (
      -- A state it does not change is left as the row has it now (an acknowledgement that
      -- committed during this evaluation stays).
      update alerts a set state = case when n.new_state = n.old_state then a.state else n.new_state end,
        severity = ${rule.severity},
        fired_at = case when n.new_state = 'firing' and a.fired_at is null then ${now}::timestamptz else a.fired_at end,
        resolved_at = case when n.new_state = 'resolved' then ${now}::timestamptz end,
        summary = coalesce(n.summary, a.summary),
        details = coalesce(n.details, a.details),
        object_name = coalesce(n.object_name, a.object_name),
        last_evaluated_at = ${now}::timestamptz
      from n where a.id = n.id
        -- Only what changed is written: an estate with many open alerts costs no writes.
        and (n.new_state <> n.old_state or a.severity <> ${rule.severity}
          or a.summary is distinct from coalesce(n.summary, a.summary)
          or a.details is distinct from coalesce(n.details, a.details)
          or a.object_name is distinct from coalesce(n.object_name, a.object_name))
      returning a.id, n.old_state, n.new_state, n.value
    ),
    ins as (
      insert into alerts (rule_id, object_kind, object_key, object_name, source_id, group_key, severity,
        state, summary, details, pending_since, fired_at, last_evaluated_at)
      select ${def.id}, v.object_kind, v.object_key, v.object_name, v.source_id, v.group_key, ${rule.severity},
        case when v.for_minutes <= 0 then 'firing' else 'pending' end, v.summary, v.details,
        ${now}::timestamptz, case when v.for_minutes <= 0 then ${now}::timestamptz end, ${now}::timestamptz
      from v
      where v.fire and not exists (
        select 1 from o where o.object_kind = v.object_kind and o.object_key = v.object_key)
      on conflict (rule_id, object_kind, object_key) where state <> 'resolved' do nothing
      returning id, state, object_kind, object_key
    )
    insert into alert_events (alert_id, at, kind, details)
    select id, ${now}::timestamptz, case new_state when 'firing' then 'fired' else new_state end,
      jsonb_build_object('value', value, 'from', old_state)
    from upd where new_state <> old_state
    union all
    select ins.id, ${now}::timestamptz, case ins.state when 'firing' then 'fired' else 'pending' end,
      jsonb_build_object('value', v.value)
    from ins join v on v.object_kind = ins.object_kind and v.object_key = ins.object_key
    returning id`;
  return rows.map((r) => Number(r.id));
}

/**
 * Waits for every rule's lock (in one order), for an action that changes alerts of any rule
 * (silences): evaluators only try the locks, so they skip a rule meanwhile instead of
 * waiting, and no two transactions lock alert rows in opposite orders.
 */
export async function lockAllRules(tx: Sql): Promise<void> {
  for (const r of RULES) await tx`select pg_advisory_xact_lock(${LOCK_CLASS}, hashtext(${r.id}))`;
}

/**
 * Marks open alerts (of the given rules, or all) silenced when an active silence matches them and
 * unsilenced when none does any more; appends the events. Returns their ids.
 */
export async function applySilences(
  sql: Sql,
  now: Date,
  ruleIds?: string[],
): Promise<number[]> {
  const only = ruleIds ? sql`and a.rule_id = any(${ruleIds}::text[])` : sql``;
  const rows = await sql`
    with /* vmledger:alerts */ s as (
      select a.id, exists (
        select 1 from alert_silences s
        where s.starts_at <= ${now}::timestamptz and s.ends_at > ${now}::timestamptz
          and (s.rule_id is null or s.rule_id = a.rule_id)
          and (s.source_id is null or s.source_id = a.source_id)
          and (s.object_kind is null or s.object_kind = a.object_kind)
          and (s.object_key is null or s.object_key = a.object_key)
      ) as silenced
      from alerts a where a.state <> 'resolved' ${only}
    ),
    u as (
      update alerts a set silenced = s.silenced from s
      where a.id = s.id and a.silenced <> s.silenced
      returning a.id, a.silenced
    )
    insert into alert_events (alert_id, at, kind)
    select id, ${now}::timestamptz, case when silenced then 'silenced' else 'unsilenced' end from u
    returning id`;
  return rows.map((r) => Number(r.id));
}
