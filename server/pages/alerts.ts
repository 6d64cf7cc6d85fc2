/**
 * The Alerts pages: the list, one alert, the rules; their forms call the same actions as the
 * API (acknowledge, silence, end a silence, change a rule) and show a refusal as a page.
 */
import { Hono, type MiddlewareHandler } from 'hono';
import type { Sql } from '../db/connect.ts';
import {
  acknowledgeAlert,
  CreateSilence,
  createSilence,
  deleteOverride,
  expireSilence,
  listRules,
  OverrideScope,
  putOverride,
  updateRule,
} from '../alerts/actions.ts';
import { getAlert, listAlerts, listSilences } from '../alerts/alerts.ts';
import { AlertParams } from '../alerts/routes.ts';
import { RULES_BY_ID } from '../alerts/rules.ts';
import { AppError } from '../errors.ts';
import { actorOf, refusal } from '../http/actions.ts';
import { parseOr400, query as nonEmpty } from '../http/validate.ts';
import { listSourcesDetailed } from '../queries/sources.ts';
import { alertDetailPage, alertsPage, rulesPage } from '../../web/pages/alerts.ts';
import {
  notFound,
  type PageEnv,
  positiveInt,
  requireAdminPage,
  requireCsrf,
  viewerOf,
} from './guard.ts';

const DONE: Record<string, string> = {
  acknowledged: 'Acknowledged.',
  silenced: 'Silenced.',
  ended: 'Silence ended.',
};

/** A form's value of a rule parameter in the type of its default (lists: comma-separated). */
function formParam(def: unknown, v: string): unknown {
  if (Array.isArray(def)) return v.split(',').map((s) => s.trim()).filter(Boolean);
  if (typeof def === 'number') return v.trim() !== '' && Number.isFinite(Number(v)) ? Number(v) : v;
  return v;
}

export function alertPageRoutes(sql: Sql, auth: MiddlewareHandler<PageEnv>) {
  const app = new Hono<PageEnv>();

  app.get('/alerts', auth, async (c) => {
    let q;
    try {
      q = parseOr400(AlertParams, nonEmpty(c.req.query()), 'invalid_query');
    } catch (err) {
      const e = refusal(err);
      return notFound(c, {
        title: 'Not a filter',
        message: e.message,
        back: { href: '/alerts', label: 'All open alerts' },
      }, e.status);
    }
    const [answer, rules, sources, silences] = await Promise.all([
      listAlerts(sql, q),
      listRules(sql),
      listSourcesDetailed(sql),
      listSilences(sql),
    ]);
    return c.html(alertsPage(viewerOf(c), {
      filters: {
        state: q.state,
        severity: q.severity,
        rule: q.rule,
        source: q.source ? String(q.source) : undefined,
      },
      items: answer.items,
      total: answer.total,
      rules: rules.map((r) => ({ id: r.id, name: r.name })),
      sources: sources.map((s) => ({ id: s.id, name: s.name })),
      silences: silences.items,
      done: DONE[c.req.query('done') ?? ''],
    }));
  });

  app.get('/alerts/:id', auth, async (c) => {
    const id = positiveInt(c.req.param('id'));
    const alert = id ? await getAlert(sql, id) : null;
    if (!alert) {
      return notFound(c, {
        title: 'Alert not found',
        message: `No alert ${c.req.param('id')}.`,
        back: { href: '/alerts', label: 'All alerts' },
      });
    }
    return c.html(alertDetailPage(viewerOf(c), alert));
  });

  // The same action as POST /api/v1/alerts/:id/ack.
  app.post('/alerts/:id/ack', auth, requireAdminPage(), requireCsrf(), async (c) => {
    const id = positiveInt(c.req.param('id'));
    try {
      if (!id) throw new AppError('not_found', `no alert ${c.req.param('id')}`);
      const form = await c.req.parseBody();
      const note = String(form.note ?? '').trim();
      if (!note) {
        throw new AppError('invalid_body', 'note: say what is being done', {
          issues: [{ path: 'note', message: 'say what is being done' }],
        });
      }
      await acknowledgeAlert(sql, id, note.slice(0, 2000), actorOf(c));
      return c.redirect(`/alerts/${id}?done=acknowledged`, 303);
    } catch (err) {
      const e = refusal(err);
      return notFound(c, {
        title: e.status === 404 ? 'Alert not found' : 'Cannot acknowledge',
        message: e.message,
        back: { href: id ? `/alerts/${id}` : '/alerts', label: 'Back to the alert' },
      }, e.status);
    }
  });

  // The same action as POST /api/v1/silences.
  app.post('/silences', auth, requireAdminPage(), requireCsrf(), async (c) => {
    const form = await c.req.parseBody();
    const back = typeof form.back === 'string' && /^\/alerts(\/\d+)?$/.test(form.back)
      ? form.back
      : '/alerts';
    try {
      const text = (
        k: string,
      ) => (typeof form[k] === 'string' && form[k] !== '' ? String(form[k]) : undefined);
      const minutes = text('durationMinutes');
      const body = parseOr400(CreateSilence, {
        ruleId: text('ruleId'),
        sourceId: text('sourceId') ? Number(text('sourceId')) : undefined,
        objectKind: text('objectKind'),
        objectKey: text('objectKey'),
        durationMinutes: minutes ? Number(minutes) : undefined,
        endsAt: text('endsAt'),
        maintenance: form.maintenance === 'true',
        comment: text('comment') ?? '',
      }, 'invalid_body');
      await createSilence(sql, body, actorOf(c));
      return c.redirect(`${back}?done=silenced`, 303);
    } catch (err) {
      const e = refusal(err);
      return notFound(c, {
        title: 'Cannot silence',
        message: e.message,
        back: { href: back, label: 'Back' },
      }, e.status);
    }
  });

  // The same action as DELETE /api/v1/silences/:id.
  app.post('/silences/:id/expire', auth, requireAdminPage(), requireCsrf(), async (c) => {
    try {
      const id = positiveInt(c.req.param('id'));
      if (!id) throw new AppError('not_found', `no silence ${c.req.param('id')}`);
      await expireSilence(sql, id, actorOf(c));
      return c.redirect('/alerts?done=ended', 303);
    } catch (err) {
      const e = refusal(err);
      return notFound(c, {
        title: 'Cannot end the silence',
        message: e.message,
        back: { href: '/alerts', label: 'Alerts' },
      }, e.status);
    }
  });

  app.get('/alert-rules', auth, async (c) => {
    const done = c.req.query('done') === 'saved' ? 'Saved.' : undefined;
    return c.html(rulesPage(viewerOf(c), await listRules(sql), { done }));
  });

  // The same action as PUT /api/v1/alert-rules/:id; a refusal shows the rules with the reason.
  app.post('/alert-rules/:id', auth, requireAdminPage(), requireCsrf(), async (c) => {
    const id = c.req.param('id');
    const def = RULES_BY_ID.get(id);
    if (!def) {
      return notFound(c, {
        title: 'Rule not found',
        message: `No rule ${id}.`,
        back: { href: '/alert-rules', label: 'Rules' },
      });
    }
    const form = await c.req.parseBody();
    const params: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(form)) {
      if (k.startsWith('p.') && typeof v === 'string') {
        params[k.slice(2)] = formParam(def.defaults[k.slice(2)], v);
      }
    }
    const severity = String(form.severity ?? '');
    try {
      await updateRule(sql, id, {
        enabled: form.enabled === 'true',
        severity: (['critical', 'warning', 'info'] as const).find((s) => s === severity),
        params,
      }, actorOf(c));
      return c.redirect(`/alert-rules?done=saved#rule-${id}`, 303);
    } catch (err) {
      const e = refusal(err);
      return c.html(
        rulesPage(viewerOf(c), await listRules(sql), { error: `${def.name}: ${e.message}` }),
        e.status,
      );
    }
  });

  // The same actions as PUT / DELETE /api/v1/alert-rules/:id/overrides/:kind/:value.
  app.post('/alert-rules/:id/overrides', auth, requireAdminPage(), requireCsrf(), async (c) => {
    const id = c.req.param('id');
    const form = await c.req.parseBody();
    try {
      const scope = parseOr400(
        OverrideScope,
        { id, kind: form.kind, value: String(form.value ?? '').trim() },
        'invalid_body',
      );
      const def = RULES_BY_ID.get(id);
      if (!def) throw new AppError('not_found', `no rule ${id}`);
      const params: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(form)) {
        // A blank field: as the rule.
        if (k.startsWith('p.') && typeof v === 'string' && v.trim() !== '') {
          params[k.slice(2)] = formParam(def.defaults[k.slice(2)], v);
        }
      }
      const enabled = form.enabled === 'true' ? true : form.enabled === 'false' ? false : null;
      await putOverride(sql, scope, { enabled, params }, actorOf(c));
      return c.redirect(`/alert-rules?done=saved#rule-${id}`, 303);
    } catch (err) {
      const e = refusal(err);
      return c.html(
        rulesPage(viewerOf(c), await listRules(sql), { error: `${id}: ${e.message}` }),
        e.status,
      );
    }
  });

  app.post(
    '/alert-rules/:id/overrides/delete',
    auth,
    requireAdminPage(),
    requireCsrf(),
    async (c) => {
      const id = c.req.param('id');
      const form = await c.req.parseBody();
      try {
        const scope = parseOr400(
          OverrideScope,
          { id, kind: form.kind, value: form.value },
          'invalid_body',
        );
        await deleteOverride(sql, scope, actorOf(c));
        return c.redirect(`/alert-rules?done=saved#rule-${id}`, 303);
      } catch (err) {
        const e = refusal(err);
        return c.html(
          rulesPage(viewerOf(c), await listRules(sql), { error: `${id}: ${e.message}` }),
          e.status,
        );
      }
    },
  );

  return app;
}
