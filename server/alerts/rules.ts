/**
 * The alert rules: what each watches, its parameters (validated per rule with zod), its
 * defaults, and the set-based query that lists the objects it sees with one number each
 * (`value`). Data access only: takes `sql`, knows no HTTP. docs/alerts.md describes them.
 *
 * Every rule compares `value` with a fire level and a clear level (hysteresis): direction
 * `above` fires at value ≥ fire and holds while value ≥ clear; `below` the mirror. A level is
 * a parameter (by key, overridable per source, cluster, datastore or tag) or a constant
 * (boolean rules: value 1 or 0, fire and clear at 1). `forMinutes` (every rule) is how long
 * the fire condition must hold before a pending alert fires.
 *
 * Each query returns: object_kind, object_key, object_name, source_id, group_key,
 * scope_cluster, scope_datastore, scope_tags (what overrides match), value, summary, details.
 */
import type { Fragment, JSONValue } from 'postgres';
import { z } from 'zod';
import type { Sql } from '../db/connect.ts';

export const SEVERITIES = ['critical', 'warning', 'info'] as const;
export type Severity = (typeof SEVERITIES)[number];

const minutes = z.number().min(0).max(7 * 24 * 60);
const forMinutes = minutes.describe('minutes the fire condition must hold before the alert fires');

/** Context a rule's query reads: the moment evaluated and the rule-level parameters. */
type Ctx = { now: Date; params: Record<string, unknown>; hasJobs: boolean };

export type RuleDef = {
  id: string;
  name: string;
  description: string;
  severity: Severity;
  /** The parameters and their defaults; strict (an unknown key is an error). */
  params: z.ZodObject;
  defaults: Record<string, unknown>;
  direction: 'above' | 'below';
  /**
   * What besides the clock changes its answer: evaluated after each stored capture or each
   * heartbeat (and every minute); without it, every minute only (snapshot age, failed jobs).
   */
  after?: 'capture' | 'heartbeat';
  /** A parameter key, or a constant. */
  fire: string | number;
  clear: string | number;
  /** Objects the rule sees, one value each (see the module comment for the columns). */
  query: (sql: Sql, ctx: Ctx) => Fragment;
};

const noScope = (sql: Sql) =>
  sql`null::text as scope_cluster, null::text as scope_datastore, '{}'::text[] as scope_tags`;

/** Hosts present in their source's newest capture, with their current document. */
const liveHosts = (sql: Sql) =>
  sql`
  select h.source_id, h.host_key, h.name, h.cluster, h.connection_state, o.doc
  from host_inventory h
  join sources s on s.id = h.source_id
  left join site_object_history o on o.source_id = h.source_id and o.kind = 'host'
    and o.object_key = h.host_key and o.valid_to is null
  where s.last_capture_at is null or h.last_seen_at >= s.last_capture_at`;

function hostRule(
  id: string,
  name: string,
  severity: Severity,
  condition: (sql: Sql) => Fragment,
  what: string,
): RuleDef {
  return {
    id,
    name,
    description: `A host (ESXi host, Proxmox node) ${what} in its source's newest capture.`,
    severity,
    after: 'capture',
    params: z.strictObject({ forMinutes }),
    defaults: { forMinutes: 0 },
    direction: 'above',
    fire: 1,
    clear: 1,
    query: (sql) =>
      sql`
      select 'host' as object_kind, h.source_id || ':' || h.host_key as object_key, h.name as object_name,
        h.source_id, 'host:' || h.source_id || ':' || h.name as group_key,
        h.cluster as scope_cluster, null::text as scope_datastore, '{}'::text[] as scope_tags,
        (${condition(sql)})::int::float8 as value,
        format('Host %s %s (%s VMs)', h.name, ${what}::text, v.vms) as summary,
        jsonb_build_object('connectionState', h.connection_state, 'cluster', h.cluster, 'vms', v.vms) as details
      from (${liveHosts(sql)}) h
      -- Only the hosts in the condition: one that is not (value 0) resolves its alert as an
      -- absent one does (fire and clear are both 1), and the VM count is made for these alone
      -- instead of grouping the estate's VMs by host on every evaluation.
      cross join lateral (
        select count(*)::int as vms from vm_inventory v
        where v.source_id = h.source_id and v.host = h.name
      ) v
      where ${condition(sql)}`,
  };
}

export const RULES: RuleDef[] = [
  {
    id: 'agent_silent',
    after: 'heartbeat',
    name: 'Agent silent',
    description: 'No heartbeat from an agent for `minutes` minutes.',
    severity: 'critical',
    params: z.strictObject({ minutes: minutes.min(1), forMinutes }),
    defaults: { minutes: 10, forMinutes: 0 },
    direction: 'above',
    fire: 'minutes',
    clear: 'minutes',
    query: (sql, { now }) =>
      sql`
      select 'agent' as object_kind, a.token_id::text as object_key,
        coalesce(a.hostname, t.name) as object_name,
        (select min(s.id) from sources s where s.owner_token_id = a.token_id) as source_id,
        'agent:' || a.token_id as group_key, ${noScope(sql)},
        extract(epoch from ${now}::timestamptz - a.last_heartbeat_at)::float8 / 60 as value,
        format('Agent %s: no heartbeat since %s', coalesce(a.hostname, t.name),
          to_char(a.last_heartbeat_at at time zone 'UTC', 'YYYY-MM-DD HH24:MI "UTC"')) as summary,
        jsonb_build_object('lastHeartbeatAt', a.last_heartbeat_at) as details
      from agents a join api_tokens t on t.id = a.token_id
      where t.revoked_at is null`,
  },
  {
    id: 'source_stale',
    after: 'capture',
    name: 'Source stale',
    description:
      "No capture from a source for `intervals` × its interval (the agent's next run minus its last, else 60 minutes).",
    severity: 'warning',
    params: z.strictObject({ intervals: z.number().min(1).max(100), forMinutes }),
    defaults: { intervals: 2, forMinutes: 0 },
    direction: 'above',
    fire: 'intervals',
    clear: 'intervals',
    query: (sql, { now }) =>
      sql`
      select 'source' as object_kind, s.id::text as object_key, s.name as object_name, s.id as source_id,
        'source:' || s.id as group_key, ${noScope(sql)},
        extract(epoch from ${now}::timestamptz - s.last_capture_at)::float8 / 60 / i.minutes as value,
        format('Source %s: no capture since %s (interval %s min)', s.name,
          to_char(s.last_capture_at at time zone 'UTC', 'YYYY-MM-DD HH24:MI "UTC"'), round(i.minutes::numeric)) as summary,
        jsonb_build_object('lastCaptureAt', s.last_capture_at, 'intervalMinutes', i.minutes) as details
      from sources s
      left join source_health h on h.source_id = s.id
      cross join lateral (select coalesce(nullif(greatest(extract(epoch from
          (h.health->>'nextRunAt')::timestamptz - (h.health->>'lastRunAt')::timestamptz)::float8 / 60, 0), 0),
          60) as minutes) i
      where s.last_capture_at is not null`,
  },
  {
    id: 'capture_incomplete',
    after: 'capture',
    name: 'Capture incomplete',
    description:
      "A source's last `count` captures in a row were incomplete; clears with a complete one.",
    severity: 'warning',
    params: z.strictObject({ count: z.number().int().min(1).max(1000), forMinutes }),
    defaults: { count: 3, forMinutes: 0 },
    direction: 'above',
    fire: 'count',
    clear: 1,
    query: (sql) =>
      sql`
      select 'source' as object_kind, s.id::text as object_key, s.name as object_name, s.id as source_id,
        'source:' || s.id as group_key, ${noScope(sql)},
        n.n::float8 as value,
        format('Source %s: the last %s captures were incomplete', s.name, n.n) as summary,
        jsonb_build_object('incompleteInARow', n.n) as details
      from sources s
      cross join lateral (
        select count(*) as n from captures c
        where c.source_id = s.id and not c.complete and c.captured_at > coalesce(
          (select max(k.captured_at) from captures k where k.source_id = s.id and k.complete), '-infinity')
      ) n
      where n.n > 0`,
  },
  hostRule(
    'host_disconnected',
    'Host disconnected',
    'critical',
    (sql) => sql`h.connection_state = 'disconnected'`,
    'is disconnected',
  ),
  hostRule(
    'host_not_responding',
    'Host not responding',
    'critical',
    (sql) => sql`h.connection_state = 'notResponding'`,
    'is not responding',
  ),
  hostRule(
    'host_maintenance',
    'Host in maintenance',
    'info',
    (sql) => sql`coalesce((h.doc->>'maintenanceMode')::boolean, false)`,
    'is in maintenance mode',
  ),
  {
    id: 'datastore_used',
    after: 'capture',
    name: 'Datastore used',
    description: 'A datastore is `usedPct` % used or more; clears below `clearPct` % (hysteresis).',
    severity: 'warning',
    params: z.strictObject({
      usedPct: z.number().min(1).max(100),
      clearPct: z.number().min(0).max(100),
      forMinutes,
    }).refine((p) => p.clearPct <= p.usedPct, {
      path: ['clearPct'],
      message: 'must not be above usedPct',
    }),
    defaults: { usedPct: 85, clearPct: 80, forMinutes: 0 },
    direction: 'above',
    fire: 'usedPct',
    clear: 'clearPct',
    query: (sql) =>
      sql`
      select 'datastore' as object_kind, d.source_id || ':' || d.datastore_key as object_key, d.name as object_name,
        d.source_id, 'datastore:' || d.source_id || ':' || d.datastore_key as group_key,
        null::text as scope_cluster, d.name as scope_datastore, '{}'::text[] as scope_tags,
        100 * (1 - d.free_gb / d.capacity_gb) as value,
        format('Datastore %s is %s %% used (%s GiB free of %s)', d.name,
          round((100 * (1 - d.free_gb / d.capacity_gb))::numeric, 1), round(d.free_gb::numeric), round(d.capacity_gb::numeric)) as summary,
        jsonb_build_object('freeGib', d.free_gb, 'capacityGib', d.capacity_gb) as details
      from datastore_inventory d join sources s on s.id = d.source_id
      where d.capacity_gb > 0 and d.free_gb is not null
        and (s.last_capture_at is null or d.last_seen_at >= s.last_capture_at)`,
  },
  {
    id: 'datastore_full_soon',
    after: 'capture',
    name: 'Datastore full soon',
    description:
      'At the trend of the last `historyDays` days (least squares over its free space), a datastore is full within `days` days; clears beyond `clearDays`.',
    severity: 'warning',
    params: z.strictObject({
      days: z.number().min(1).max(3650),
      clearDays: z.number().min(1).max(3650),
      historyDays: z.number().int().min(1).max(365),
      forMinutes,
    }).refine((p) => p.clearDays >= p.days, {
      path: ['clearDays'],
      message: 'must not be below days',
    }),
    defaults: { days: 14, clearDays: 21, historyDays: 7, forMinutes: 0 },
    direction: 'below',
    fire: 'days',
    clear: 'clearDays',
    query: (sql, { now, params }) =>
      sql`
      select 'datastore' as object_kind, d.source_id || ':' || d.datastore_key as object_key, d.name as object_name,
        d.source_id, 'datastore:' || d.source_id || ':' || d.datastore_key as group_key,
        null::text as scope_cluster, d.name as scope_datastore, '{}'::text[] as scope_tags,
        d.free_gb / (-t.slope * 86400) as value,
        format('Datastore %s: full in about %s days at its recent trend', d.name,
          round((d.free_gb / (-t.slope * 86400))::numeric, 1)) as summary,
        jsonb_build_object('freeGib', d.free_gb, 'gibPerDay', round((t.slope * 86400)::numeric, 3)) as details
      from datastore_inventory d join sources s on s.id = d.source_id
      cross join lateral (
        select regr_slope(f.free_gb, extract(epoch from f.snapshot_time)) as slope, count(*) as n
        from datastore_facts f
        where f.source_id = d.source_id and f.datastore_key = d.datastore_key and f.free_gb is not null
          and f.snapshot_time > ${now}::timestamptz - make_interval(days => ${
        Number(params.historyDays)
      }::int)
          and f.snapshot_time <= ${now}::timestamptz
      ) t
      where t.n >= 3 and t.slope < 0 and d.free_gb is not null
        and (s.last_capture_at is null or d.last_seen_at >= s.last_capture_at)`,
  },
  {
    id: 'vm_powered_off',
    after: 'capture',
    name: 'VM powered off unexpectedly',
    description:
      'A production VM (a tag in `tags` or its resource pool in `pools`, case-insensitive) went from powered on to off. The sources report no power events, so every on→off change of such a VM counts; clears when it is on again.',
    severity: 'critical',
    params: z.strictObject({
      tags: z.array(z.string().min(1).max(256)).max(50),
      pools: z.array(z.string().min(1).max(256)).max(50),
      forMinutes,
    }),
    defaults: { tags: ['production'], pools: ['Production'], forMinutes: 0 },
    direction: 'above',
    fire: 1,
    clear: 1,
    query: (sql, { params }) => {
      const tags = (params.tags as string[]).map((t) => t.toLowerCase());
      const pools = (params.pools as string[]).map((t) => t.toLowerCase());
      return sql`
      select 'vm' as object_kind, i.source_id || ':' || i.vm_key as object_key, i.name as object_name,
        i.source_id, 'host:' || i.source_id || ':' || coalesce(i.host, '?') as group_key,
        i.cluster as scope_cluster, null::text as scope_datastore, i.tags as scope_tags,
        1::float8 as value,
        format('VM %s was powered off (host %s)', i.name, coalesce(i.host, 'unknown')) as summary,
        jsonb_build_object('host', i.host, 'poweredOffAt', c.at, 'resourcePool', i.resource_pool) as details
      from vm_inventory i
      cross join lateral (
        select c.at, c.before, c.after from vm_changes c
        where c.source_id = i.source_id and c.vm_key = i.vm_key and c.kind = 'power'
        order by c.at desc limit 1
      ) c
      where i.power_state = 'poweredOff' and not i.is_template
        and c.after->>'powerState' = 'poweredOff' and c.before->>'powerState' = 'poweredOn'
        and (lower(i.resource_pool) = any(${pools}::text[])
             or exists (select 1 from unnest(i.tags) t where lower(t) = any(${tags}::text[])))`;
    },
  },
  {
    id: 'vm_deleted',
    after: 'capture',
    name: 'VM deleted',
    description:
      'A VM was deleted (by an event of its source, or absent from a complete capture) in the last `windowHours` hours.',
    severity: 'info',
    params: z.strictObject({ windowHours: z.number().min(1).max(24 * 90), forMinutes }),
    defaults: { windowHours: 24, forMinutes: 0 },
    direction: 'above',
    fire: 1,
    clear: 1,
    query: (sql, { now, params }) =>
      sql`
      select 'vm' as object_kind, l.source_id || ':' || l.vm_key as object_key, l.name as object_name,
        l.source_id, 'vm_deleted:' || l.source_id as group_key, ${noScope(sql)},
        1::float8 as value,
        format('VM %s was deleted (%s)', l.name, l.deleted_from) as summary,
        jsonb_build_object('deletedAt', l.deleted_at, 'deletedFrom', l.deleted_from) as details
      from vm_lifecycle_base l
      where l.deleted_at > ${now}::timestamptz - make_interval(hours => ${
        Number(params.windowHours)
      }::int)
        and l.deleted_at <= ${now}::timestamptz`,
  },
  {
    id: 'snapshot_old',
    name: 'Old snapshot',
    description: "A VM's oldest snapshot is `days` days old or more.",
    severity: 'warning',
    params: z.strictObject({ days: z.number().min(0.01).max(3650), forMinutes }),
    defaults: { days: 7, forMinutes: 0 },
    direction: 'above',
    fire: 'days',
    clear: 'days',
    query: (sql, { now }) =>
      sql`
      select 'vm' as object_kind, i.source_id || ':' || i.vm_key as object_key, i.name as object_name,
        i.source_id, 'snapshots:' || i.source_id as group_key,
        i.cluster as scope_cluster, null::text as scope_datastore, i.tags as scope_tags,
        extract(epoch from ${now}::timestamptz - o.oldest)::float8 / 86400 as value,
        format('VM %s has a snapshot from %s (%s in all)', i.name,
          to_char(o.oldest at time zone 'UTC', 'YYYY-MM-DD'), o.n) as summary,
        jsonb_build_object('oldestSnapshotAt', o.oldest, 'snapshots', o.n) as details
      from vm_config_history h
      join vm_inventory i on i.source_id = h.source_id and i.vm_key = h.vm_key
      cross join lateral (
        select min((s->>'createdAt')::timestamptz) as oldest, count(*) as n
        from jsonb_array_elements(h.config->'snapshots') s
      ) o
      where h.valid_to is null and h.config ? 'snapshots' and jsonb_typeof(h.config->'snapshots') = 'array'
        and o.oldest is not null`,
  },
  {
    id: 'spool_backlog',
    after: 'heartbeat',
    name: 'Spool backlog',
    description:
      "An agent's spool holds `pending` captures or more not yet delivered; clears below `clearPending`.",
    severity: 'warning',
    params: z.strictObject({
      pending: z.number().int().min(1).max(1_000_000),
      clearPending: z.number().int().min(0).max(1_000_000),
      forMinutes,
    }).refine((p) => p.clearPending <= p.pending, {
      path: ['clearPending'],
      message: 'must not be above pending',
    }),
    defaults: { pending: 24, clearPending: 4, forMinutes: 10 },
    direction: 'above',
    fire: 'pending',
    clear: 'clearPending',
    query: (sql) =>
      sql`
      select 'agent' as object_kind, a.token_id::text as object_key, coalesce(a.hostname, t.name) as object_name,
        (select min(s.id) from sources s where s.owner_token_id = a.token_id) as source_id,
        'agent:' || a.token_id as group_key, ${noScope(sql)},
        coalesce((a.spool->>'pending')::float8, 0) as value,
        format('Agent %s: %s captures waiting in its spool', coalesce(a.hostname, t.name), a.spool->>'pending') as summary,
        jsonb_build_object('spool', a.spool) as details
      from agents a join api_tokens t on t.id = a.token_id
      where t.revoked_at is null`,
  },
  {
    id: 'job_failed',
    name: 'Job failed',
    description:
      'A background job failed (after its retries) in the last `windowHours` hours; clears when the window passes or the job is retried.',
    severity: 'warning',
    params: z.strictObject({ windowHours: z.number().min(1).max(24 * 90), forMinutes }),
    defaults: { windowHours: 24, forMinutes: 0 },
    direction: 'above',
    fire: 1,
    clear: 1,
    query: (sql, { now, params, hasJobs }) =>
      hasJobs
        ? sql`
      select 'job' as object_kind, j.id::text as object_key, j.name as object_name, null::int as source_id,
        'jobs:' || j.name as group_key, ${noScope(sql)},
        1::float8 as value,
        format('Job %s (%s) failed', j.name, j.id) as summary,
        jsonb_build_object('queue', j.name, 'failedAt', j.completed_on, 'error', left(j.output::text, 1000)) as details
      from pgboss.job j
      where j.state = 'failed' and j.completed_on > ${now}::timestamptz - make_interval(hours => ${
          Number(params.windowHours)
        }::int)`
        : sql`
      select null::text as object_kind, null::text as object_key, null::text as object_name, null::int as source_id,
        null::text as group_key, ${
          noScope(sql)
        }, null::float8 as value, null::text as summary, null::jsonb as details
      where false`,
  },
];

export const RULES_BY_ID = new Map(RULES.map((r) => [r.id, r]));

/** Installs the default rules that are missing (never changes an existing rule). */
export async function installDefaultRules(sql: Sql): Promise<void> {
  const rows = RULES.map((r) => ({
    id: r.id,
    name: r.name,
    description: r.description,
    severity: r.severity,
    params: r.defaults,
  }));
  await sql`
    insert into alert_rules (id, name, description, severity, params)
    select id, name, description, severity, params
    from jsonb_to_recordset(${
    sql.json(rows as unknown as JSONValue)
  }) as r(id text, name text, description text, severity text, params jsonb)
    on conflict (id) do nothing`;
}
