/**
 * People's actions on alerts, shared by the pages and the API: acknowledge an alert, create
 * and expire silences, change a rule and its overrides. Each writes its change, the alert's
 * timeline where there is one, and one audit row; bad input is an AppError naming the field,
 * with nothing changed. Data access only: takes `sql`, knows no HTTP.
 */
import type { JSONValue } from 'postgres';
import { z } from 'zod';
import { describeIssues } from '../../shared/issues.ts';
import { type Actor, auditAction } from '../audit/audit_log.ts';
import { iso, type Sql } from '../db/connect.ts';
import { AppError } from '../errors.ts';
import { afterAlertEvents, applySilences, lockAllRules } from './evaluate.ts';
import { type Silence, toSilence } from './alerts.ts';
import { installDefaultRules, type RuleDef, RULES_BY_ID, SEVERITIES } from './rules.ts';

const who = (actor: Actor) => actor.name ?? (actor.id ? `token ${actor.id}` : 'unknown');

export const AckBody = z.strictObject({
  note: z.string().trim().min(1, 'say what is being done').max(2000),
});

export const Acknowledged = z.object({
  id: z.number().int(),
  state: z.literal('acknowledged'),
  acknowledgedAt: z.string(),
  acknowledgedBy: z.string(),
  ackNote: z.string(),
});

/** Acknowledges a firing alert: who and a note, on its timeline and in the audit log. */
export async function acknowledgeAlert(sql: Sql, id: number, note: string, actor: Actor) {
  const by = who(actor);
  const { row, eventId } = await sql.begin(async (txn) => {
    const tx = txn as unknown as Sql;
    const [a] = await tx`select state from alerts where id = ${id} for update`;
    if (!a) throw new AppError('not_found', `no alert ${id}`);
    if (a.state !== 'firing') {
      throw new AppError(
        'alert_not_firing',
        `alert ${id} is ${a.state}: only a firing alert can be acknowledged`,
      );
    }
    const [row] = await tx`
      update alerts set state = 'acknowledged', acknowledged_at = now(), acknowledged_by = ${by},
        ack_note = ${note}
      where id = ${id} returning id, acknowledged_at, acknowledged_by, ack_note`;
    const [ev] = await tx`
      insert into alert_events (alert_id, kind, actor, note) values (${id}, 'acknowledged', ${by}, ${note})
      returning id`;
    return { row, eventId: Number(ev.id) };
  });
  await auditAction(sql, actor, 'alert.acknowledge', `alert:${id}`, { note });
  await afterAlertEvents(sql, [eventId]);
  return {
    id: Number(row.id),
    state: 'acknowledged' as const,
    acknowledgedAt: iso(row.acknowledged_at)!,
    acknowledgedBy: row.acknowledged_by as string,
    ackNote: row.ack_note as string,
  };
}

const Time = z.iso.datetime({ offset: true });

export const CreateSilence = z.strictObject({
  startsAt: Time.optional().describe('default: now'),
  endsAt: Time.optional().describe('the end; or give durationMinutes'),
  durationMinutes: z.number().int().min(1).max(366 * 24 * 60).optional(),
  ruleId: z.string().min(1).max(100).optional(),
  sourceId: z.number().int().min(1).max(2 ** 31 - 1).optional(),
  objectKind: z.enum(['agent', 'source', 'host', 'datastore', 'vm', 'job']).optional(),
  objectKey: z.string().min(1).max(1000).optional(),
  maintenance: z.boolean().default(false),
  comment: z.string().trim().min(1, 'say why').max(2000),
}).superRefine((b, ctx) => {
  if (!b.endsAt && !b.durationMinutes) {
    ctx.addIssue({ code: 'custom', path: ['endsAt'], message: 'give endsAt or durationMinutes' });
  }
  if (b.endsAt && b.durationMinutes) {
    ctx.addIssue({
      code: 'custom',
      path: ['durationMinutes'],
      message: 'give endsAt or durationMinutes, not both',
    });
  }
  if (!b.ruleId && !b.sourceId && !b.objectKind && !b.objectKey) {
    ctx.addIssue({
      code: 'custom',
      path: ['ruleId'],
      message: 'a silence needs a matcher: ruleId, sourceId, objectKind or objectKey',
    });
  }
  if (b.objectKey && !b.objectKind) {
    ctx.addIssue({ code: 'custom', path: ['objectKind'], message: 'required with objectKey' });
  }
});
export type CreateSilence = z.infer<typeof CreateSilence>;

const bodyError = (path: string, message: string) =>
  new AppError('invalid_body', `${path}: ${message}`, { issues: [{ path, message }] });

/** Creates a silence (or maintenance window) and applies it to open alerts at once. */
export async function createSilence(sql: Sql, b: CreateSilence, actor: Actor, now = new Date()) {
  const starts = b.startsAt ? new Date(b.startsAt) : now;
  const ends = b.endsAt
    ? new Date(b.endsAt)
    : new Date(starts.getTime() + b.durationMinutes! * 60_000);
  if (!(ends > starts)) throw bodyError('endsAt', 'must be after startsAt');
  if (!(ends > now)) throw bodyError('endsAt', 'must be in the future');
  if (b.ruleId && !RULES_BY_ID.has(b.ruleId)) throw bodyError('ruleId', `no rule ${b.ruleId}`);
  if (b.sourceId) {
    const [s] = await sql`select 1 from sources where id = ${b.sourceId}`;
    if (!s) throw bodyError('sourceId', `no source ${b.sourceId}`);
  }
  await installDefaultRules(sql);
  const { row, eventIds } = await sql.begin(async (txn) => {
    const tx = txn as unknown as Sql;
    await lockAllRules(tx);
    const [row] = await tx`
      insert into alert_silences (starts_at, ends_at, rule_id, source_id, object_kind, object_key,
        maintenance, comment, created_by)
      values (${starts}, ${ends}, ${b.ruleId ?? null}, ${b.sourceId ?? null}, ${
      b.objectKind ?? null
    },
        ${b.objectKey ?? null}, ${b.maintenance}, ${b.comment}, ${who(actor)})
      returning *`;
    return { row, eventIds: await applySilences(tx, now) };
  });
  const silence = toSilence(row, now);
  await auditAction(sql, actor, 'alert.silence.create', `silence:${silence.id}`, {
    ruleId: silence.ruleId,
    sourceId: silence.sourceId,
    objectKind: silence.objectKind,
    objectKey: silence.objectKey,
    endsAt: silence.endsAt,
  });
  await afterAlertEvents(sql, eventIds);
  return silence;
}

/** Ends a silence now (one not started yet is removed); its alerts are unsilenced at once. */
export async function expireSilence(
  sql: Sql,
  id: number,
  actor: Actor,
  now = new Date(),
): Promise<Silence> {
  const { row, eventIds } = await sql.begin(async (txn) => {
    const tx = txn as unknown as Sql;
    await lockAllRules(tx);
    const [s] = await tx`select * from alert_silences where id = ${id} for update`;
    if (!s || new Date(s.ends_at) <= now) {
      throw new AppError('not_found', `no active or future silence ${id}`);
    }
    const [row] = new Date(s.starts_at) >= now
      ? await tx`delete from alert_silences where id = ${id} returning *`
      : await tx`update alert_silences set ends_at = ${now} where id = ${id} returning *`;
    return { row, eventIds: await applySilences(tx, now) };
  });
  await auditAction(sql, actor, 'alert.silence.expire', `silence:${id}`);
  await afterAlertEvents(sql, eventIds);
  return toSilence(row, now);
}

export const RuleOverride = z.object({
  scopeKind: z.enum(['source', 'cluster', 'datastore', 'tag']),
  scopeValue: z.string(),
  enabled: z.boolean().nullable(),
  params: z.record(z.string(), z.unknown()),
  updatedAt: z.string(),
  updatedBy: z.string().nullable(),
});

export const RuleItem = z.object({
  id: z.string(),
  name: z.string(),
  description: z.string(),
  severity: z.enum(SEVERITIES),
  enabled: z.boolean(),
  params: z.record(z.string(), z.unknown()),
  defaults: z.record(z.string(), z.unknown()),
  direction: z.enum(['above', 'below']),
  updatedAt: z.string(),
  updatedBy: z.string().nullable(),
  overrides: z.array(RuleOverride),
});
export type RuleItem = z.infer<typeof RuleItem>;

/** Every rule with its parameters (defaults filled in) and overrides. */
export async function listRules(sql: Sql): Promise<RuleItem[]> {
  await installDefaultRules(sql);
  const rows = await sql`
    select r.*, coalesce((select jsonb_agg(jsonb_build_object('scopeKind', o.scope_kind,
        'scopeValue', o.scope_value, 'enabled', o.enabled, 'params', o.params,
        'updatedAt', o.updated_at, 'updatedBy', o.updated_by) order by o.scope_kind, o.scope_value)
      from alert_rule_overrides o where o.rule_id = r.id), '[]') as overrides
    from alert_rules r order by r.id`;
  return rows.filter((r) => RULES_BY_ID.has(r.id)).map((r) => {
    const def = RULES_BY_ID.get(r.id)!;
    return {
      id: r.id,
      name: r.name,
      description: r.description,
      severity: r.severity,
      enabled: r.enabled,
      params: { ...def.defaults, ...r.params },
      defaults: def.defaults,
      direction: def.direction,
      updatedAt: iso(r.updated_at)!,
      updatedBy: r.updated_by,
      // deno-lint-ignore no-explicit-any
      overrides: r.overrides.map((o: any) => ({ ...o, updatedAt: iso(o.updatedAt)! })),
    };
  });
}

export const UpdateRule = z.strictObject({
  enabled: z.boolean().optional(),
  severity: z.enum(SEVERITIES).optional(),
  params: z.record(z.string(), z.unknown()).optional()
    .describe("the rule's parameters to change (see GET /alert-rules: keys and defaults per rule)"),
});
export type UpdateRule = z.infer<typeof UpdateRule>;

/** The rule's parameters after `change`, checked with its schema and its levels' order; or 400 naming the field. */
function checkedParams(def: RuleDef, params: Record<string, unknown>, prefix = 'params') {
  const parsed = def.params.safeParse(params);
  if (!parsed.success) {
    const issues = describeIssues(parsed.error).map((i) => ({
      path: i.path && i.path !== '(root)' ? `${prefix}.${i.path}` : prefix,
      message: i.message,
    }));
    throw new AppError('invalid_body', `${issues[0].path}: ${issues[0].message}`, { issues });
  }
  const p = parsed.data as Record<string, number>;
  if (typeof def.fire === 'string' && typeof def.clear === 'string' && def.fire !== def.clear) {
    const [fire, clear] = [p[def.fire], p[def.clear]];
    if (def.direction === 'above' ? clear > fire : clear < fire) {
      const path = `${prefix}.${def.clear}`;
      const message = `must be ${
        def.direction === 'above' ? 'at most' : 'at least'
      } ${def.fire} (${fire}): the clear level is on the safe side of the fire level`;
      throw new AppError('invalid_body', `${path}: ${message}`, { issues: [{ path, message }] });
    }
  }
  return parsed.data as Record<string, unknown>;
}

function ruleOr404(id: string): RuleDef {
  const def = RULES_BY_ID.get(id);
  if (!def) throw new AppError('not_found', `no rule ${id}`);
  return def;
}

/** Changes a rule's enabled flag, severity or parameters (merged over the current ones). */
export async function updateRule(sql: Sql, id: string, change: UpdateRule, actor: Actor) {
  const def = ruleOr404(id);
  await installDefaultRules(sql);
  const [current] = await sql`select params from alert_rules where id = ${id}`;
  const params = checkedParams(def, {
    ...def.defaults,
    ...current.params,
    ...(change.params ?? {}),
  });
  // Every override still has to make sense with the new rule levels.
  const overrides =
    await sql`select scope_kind, scope_value, params from alert_rule_overrides where rule_id = ${id}`;
  for (const o of overrides) {
    checkedParams(
      def,
      { ...params, ...o.params },
      `params (with the ${o.scope_kind} override ${o.scope_value})`,
    );
  }
  await sql`
    update alert_rules set
      enabled = coalesce(${change.enabled ?? null}::boolean, enabled),
      severity = coalesce(${change.severity ?? null}::text, severity),
      params = ${sql.json(params as JSONValue)}, updated_at = now(), updated_by = ${who(actor)}
    where id = ${id}`;
  await auditAction(sql, actor, 'alert.rule.update', `rule:${id}`, change);
  return (await listRules(sql)).find((r) => r.id === id)!;
}

export const PutOverride = z.strictObject({
  enabled: z.boolean().nullable().default(null).describe('null: as the rule'),
  params: z.record(z.string(), z.unknown()).default({})
    .describe("parameters that differ from the rule's here"),
});
export type PutOverride = z.infer<typeof PutOverride>;

export const OverrideScope = z.object({
  id: z.string().min(1).max(100),
  kind: z.enum(['source', 'cluster', 'datastore', 'tag']),
  value: z.string().min(1).max(1000),
});
export type OverrideScope = z.infer<typeof OverrideScope>;

/** Sets the override of a rule for a source (its id), cluster, datastore or tag (by name). */
export async function putOverride(sql: Sql, scope: OverrideScope, body: PutOverride, actor: Actor) {
  const def = ruleOr404(scope.id);
  await installDefaultRules(sql);
  if (scope.kind === 'source') {
    const [s] = /^\d+$/.test(scope.value)
      ? await sql`select 1 from sources where id = ${Number(scope.value)}`
      : [];
    if (!s) {
      throw new AppError(
        'invalid_path',
        `value: no source ${scope.value} (a source override names its id)`,
        {
          issues: [{ path: 'value', message: `no source ${scope.value}` }],
        },
      );
    }
  }
  const unknown = Object.keys(body.params).filter((k) => !(k in def.params.shape));
  if (unknown.length) {
    const path = `params.${unknown[0]}`;
    throw new AppError('invalid_body', `${path}: not a parameter of ${def.id}`, {
      issues: unknown.map((k) => ({
        path: `params.${k}`,
        message: `not a parameter of ${def.id}`,
      })),
    });
  }
  const [rule] = await sql`select params from alert_rules where id = ${scope.id}`;
  checkedParams(def, { ...def.defaults, ...rule.params, ...body.params });
  await sql`
    insert into alert_rule_overrides (rule_id, scope_kind, scope_value, enabled, params, updated_by)
    values (${scope.id}, ${scope.kind}, ${scope.value}, ${body.enabled}, ${
    sql.json(body.params as JSONValue)
  }, ${who(actor)})
    on conflict (rule_id, scope_kind, scope_value) do update set enabled = excluded.enabled,
      params = excluded.params, updated_at = now(), updated_by = excluded.updated_by`;
  await auditAction(sql, actor, 'alert.rule.override', `rule:${scope.id}`, { ...scope, ...body });
  return (await listRules(sql)).find((r) => r.id === scope.id)!;
}

/** Removes an override; not_found when there is none. */
export async function deleteOverride(sql: Sql, scope: OverrideScope, actor: Actor) {
  ruleOr404(scope.id);
  const gone = await sql`
    delete from alert_rule_overrides
    where rule_id = ${scope.id} and scope_kind = ${scope.kind} and scope_value = ${scope.value} returning 1`;
  if (!gone.length) {
    throw new AppError('not_found', `no ${scope.kind} override ${scope.value} of ${scope.id}`);
  }
  await auditAction(sql, actor, 'alert.rule.override.delete', `rule:${scope.id}`, scope);
  return (await listRules(sql)).find((r) => r.id === scope.id)!;
}
