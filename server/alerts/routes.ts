/** HTTP routes of alerts: the alerts, acknowledging one, silences, rules and their overrides. */
import { Hono } from 'hono';
import { z } from 'zod';
import type { AuthVariables } from '../auth/middleware.ts';
import type { Sql } from '../db/connect.ts';
import { AppError } from '../errors.ts';
import { actorOf } from '../http/actions.ts';
import { type ApiDoc, IdParams, IntId, ListOf } from '../http/api_doc.ts';
import {
  AckBody,
  acknowledgeAlert,
  Acknowledged,
  CreateSilence,
  createSilence,
  deleteOverride,
  expireSilence,
  listRules,
  OverrideScope,
  PutOverride,
  putOverride,
  RuleItem,
  UpdateRule,
  updateRule,
} from './actions.ts';
import {
  ALERT_STATES,
  AlertDetail,
  AlertItem,
  getAlert,
  listAlerts,
  listSilences,
  Silence,
} from './alerts.ts';
import { SEVERITIES } from './rules.ts';

export const AlertParams = z.object({
  state: z.enum(['open', 'all', ...ALERT_STATES]).default('open')
    .describe('open (default: pending, firing, acknowledged), all, or one state'),
  severity: z.enum(SEVERITIES).optional(),
  rule: z.string().max(100).optional(),
  source: IntId.optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(200),
});
export type AlertParams = z.infer<typeof AlertParams>;

const RuleParams = z.object({ id: z.string().min(1).max(100) });

export function alertRoutes(sql: Sql, doc: ApiDoc) {
  const app = new Hono<{ Variables: AuthVariables }>();

  doc.define(app, {
    method: 'get',
    path: '/alerts',
    operationId: 'listAlerts',
    tag: 'Alerts',
    roles: ['viewer'],
    query: AlertParams,
    summary:
      'Alerts: firing first, then pending, acknowledged, resolved (filters: state, severity, rule, source)',
    responses: { 200: { description: 'Matching alerts', schema: ListOf(AlertItem) } },
  }, async (c, { query }) => c.json(await listAlerts(sql, query)));

  doc.define(app, {
    method: 'get',
    path: '/alerts/:id',
    operationId: 'getAlert',
    tag: 'Alerts',
    roles: ['viewer'],
    params: IdParams,
    summary: 'One alert with its timeline (pending, fired, acknowledged, silenced, resolved…)',
    responses: { 200: { description: 'The alert', schema: AlertDetail }, 404: 'No such alert' },
  }, async (c, { params }) => {
    const alert = await getAlert(sql, params.id);
    if (!alert) throw new AppError('not_found', `no alert ${params.id}`);
    return c.json(alert);
  });

  doc.define(
    app,
    {
      method: 'post',
      path: '/alerts/:id/ack',
      operationId: 'acknowledgeAlert',
      tag: 'Alerts',
      roles: ['admin'],
      params: IdParams,
      body: AckBody,
      summary: 'Acknowledge a firing alert with a note (on its timeline and in the audit log)',
      responses: {
        200: { description: 'Acknowledged', schema: Acknowledged },
        404: 'No such alert',
        409: 'The alert is not firing',
      },
    },
    async (c, { params, body }) =>
      c.json(await acknowledgeAlert(sql, params.id, body.note, actorOf(c))),
  );

  doc.define(app, {
    method: 'get',
    path: '/silences',
    operationId: 'listSilences',
    tag: 'Alerts',
    roles: ['viewer'],
    query: z.object({
      all: z.enum(['true', 'false']).default('false').describe('include ended silences'),
    }),
    summary: 'Silences and maintenance windows not yet ended (all=true: every one)',
    responses: { 200: { description: 'Silences', schema: ListOf(Silence) } },
  }, async (c, { query }) => c.json(await listSilences(sql, query.all === 'true')));

  doc.define(app, {
    method: 'post',
    path: '/silences',
    operationId: 'createSilence',
    tag: 'Alerts',
    roles: ['admin'],
    body: CreateSilence,
    summary:
      'Silence alerts matching rule, source and object (absent: any) from startsAt to endsAt',
    responses: { 201: { description: 'Created and applied', schema: Silence } },
  }, async (c, { body }) => c.json(await createSilence(sql, body, actorOf(c)), 201));

  doc.define(app, {
    method: 'delete',
    path: '/silences/:id',
    operationId: 'expireSilence',
    tag: 'Alerts',
    roles: ['admin'],
    params: IdParams,
    summary: 'End a silence now (one not started is removed); its alerts are unsilenced',
    responses: {
      200: { description: 'Ended', schema: Silence },
      404: 'No active or future silence',
    },
  }, async (c, { params }) => c.json(await expireSilence(sql, params.id, actorOf(c))));

  doc.define(app, {
    method: 'get',
    path: '/alert-rules',
    operationId: 'listAlertRules',
    tag: 'Alerts',
    roles: ['viewer'],
    summary: 'The rules with their parameters, defaults and overrides',
    responses: { 200: { description: 'Every rule', schema: ListOf(RuleItem) } },
  }, async (c) => {
    const items = await listRules(sql);
    return c.json({ items, total: items.length, next: null });
  });

  doc.define(app, {
    method: 'put',
    path: '/alert-rules/:id',
    operationId: 'updateAlertRule',
    tag: 'Alerts',
    roles: ['admin'],
    params: RuleParams,
    body: UpdateRule,
    summary: "Change a rule: enabled, severity, parameters (validated with the rule's schema)",
    responses: {
      200: { description: 'The rule as changed', schema: RuleItem },
      404: 'No such rule',
    },
  }, async (c, { params, body }) => c.json(await updateRule(sql, params.id, body, actorOf(c))));

  doc.define(app, {
    method: 'put',
    path: '/alert-rules/:id/overrides/:kind/:value',
    operationId: 'putAlertRuleOverride',
    tag: 'Alerts',
    roles: ['admin'],
    params: OverrideScope,
    body: PutOverride,
    summary: 'Set the parameters of a rule for one source (id), cluster, datastore or tag (name)',
    responses: {
      200: { description: 'The rule with its overrides', schema: RuleItem },
      404: 'No such rule',
    },
  }, async (c, { params, body }) => c.json(await putOverride(sql, params, body, actorOf(c))));

  doc.define(app, {
    method: 'delete',
    path: '/alert-rules/:id/overrides/:kind/:value',
    operationId: 'deleteAlertRuleOverride',
    tag: 'Alerts',
    roles: ['admin'],
    params: OverrideScope,
    summary: 'Remove an override',
    responses: {
      200: { description: 'The rule with its overrides', schema: RuleItem },
      404: 'No such override',
    },
  }, async (c, { params }) => c.json(await deleteOverride(sql, params, actorOf(c))));

  return app;
}
