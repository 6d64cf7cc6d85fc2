/** Admin pages: tokens (create and revoke through CSRF-protected forms), agents, jobs, audit log. */
import { type Context, Hono, type MiddlewareHandler } from 'hono';
import { listAudit } from '../audit/audit_log.ts';
import { CreateToken, createTokenAction, revokeTokenAction } from '../auth/token_actions.ts';
import { listTokens } from '../auth/tokens.ts';
import { listSessions } from '../auth/sessions.ts';
import { endSessionAction, endSessionsOfAction } from '../auth/session_actions.ts';
import { sessionsPage } from '../../web/pages/sessions.ts';
import { actorOf, refusal } from '../http/actions.ts';
import { IdParams } from '../http/api_doc.ts';
import { parseOr400 } from '../http/validate.ts';
import type { AppError } from '../errors.ts';
import type { Sql } from '../db/connect.ts';
import type { Jobs } from '../jobs/boss.ts';
import { listAgents } from '../agents/agent_list.ts';
import { agentsPage, auditPage, type TokenFlash, tokensPage } from '../../web/pages/admin.ts';
import { type PageEnv, positiveInt, requireAdminPage, requireCsrf, viewerOf } from './guard.ts';
import { channelPageRoutes } from './channels.ts';
import { ratePageRoutes } from './rates.ts';
import { jobPageRoutes } from './jobs.ts';

/** `jobs`: the job runner, when this server has one (needed to retry failed jobs). */
export function adminRoutes(sql: Sql, auth: MiddlewareHandler<PageEnv>, jobs?: Jobs) {
  const app = new Hono<PageEnv>();
  const admin = requireAdminPage();

  const tokens = async (
    c: Context<PageEnv>,
    flash: TokenFlash,
    status: 200 | AppError['status'] = 200,
  ) =>
    c.html(
      tokensPage(viewerOf(c), {
        tokens: await listTokens(sql),
        ownTokenId: c.get('session')!.id,
        flash,
      }),
      status,
    );

  const sessions = async (
    c: Context<PageEnv>,
    o: { flash?: string; error?: string } = {},
    status: 200 | AppError['status'] = 200,
  ) =>
    c.html(
      sessionsPage(viewerOf(c), {
        sessions: await listSessions(sql),
        ownSid: c.get('session')!.sid,
        ...o,
      }),
      status,
    );

  // Sessions: the list, end one, end all of one person's (the same actions as the API's).
  app.get('/admin/sessions', auth, admin, (c) => sessions(c));
  app.post('/admin/sessions/:id/end', auth, admin, requireCsrf(), async (c) => {
    try {
      const { id } = parseOr400(IdParams, c.req.param(), 'invalid_path');
      await endSessionAction(sql, id, actorOf(c));
      return sessions(c, { flash: 'Session ended.' });
    } catch (err) {
      const e = refusal(err);
      return sessions(c, { error: e.message }, e.status);
    }
  });
  app.post('/admin/principals/:id/sessions/end', auth, admin, requireCsrf(), async (c) => {
    try {
      const { id } = parseOr400(IdParams, c.req.param(), 'invalid_path');
      const r = await endSessionsOfAction(sql, id, actorOf(c));
      return sessions(c, { flash: `${r.ended} sessions ended.` });
    } catch (err) {
      const e = refusal(err);
      return sessions(c, { error: e.message }, e.status);
    }
  });

  app.get(
    '/admin',
    auth,
    admin,
    (c) => tokens(c, c.req.query('revoked') ? { revoked: c.req.query('revoked') } : {}),
  );

  // Create and revoke: the same actions as POST /api/v1/tokens and DELETE /api/v1/tokens/:id.
  app.post('/admin/tokens', auth, admin, requireCsrf(), async (c) => {
    const form = await c.req.parseBody();
    const text = (v: unknown) => (typeof v === 'string' ? v.trim() : undefined);
    const days = text(form.days);
    const sources = text(form.sources);
    const scope = text(form.scope);
    try {
      const created = await createTokenAction(
        sql,
        parseOr400(CreateToken, {
          name: form.name,
          role: text(form.role),
          expiresInDays: days ? (/^\d+(\.\d+)?$/.test(days) ? Number(days) : days) : undefined,
          sources: sources ? sources.split(/[\s,]+/).filter(Boolean) : undefined,
          scope: scope ? scope.split(/[\s,]+/).filter(Boolean) : undefined,
        }, 'invalid_body'),
        actorOf(c),
      );
      // The value is shown in this response only; it is never stored or shown again.
      c.header('cache-control', 'no-store');
      return tokens(c, { created });
    } catch (err) {
      const e = refusal(err);
      return tokens(c, { error: e.message }, e.status);
    }
  });

  app.post('/admin/tokens/:id/revoke', auth, admin, requireCsrf(), async (c) => {
    try {
      const { id } = parseOr400(IdParams, c.req.param(), 'invalid_path');
      const { name } = await revokeTokenAction(sql, id, actorOf(c));
      return c.redirect(`/admin?revoked=${encodeURIComponent(name)}`, 303);
    } catch (err) {
      const e = refusal(err);
      return tokens(c, { error: e.message }, e.status);
    }
  });

  app.get(
    '/admin/agents',
    auth,
    admin,
    async (c) => c.html(agentsPage(viewerOf(c), { agents: await listAgents(sql) })),
  );

  app.route('/', jobPageRoutes(sql, auth, admin, jobs));
  app.route('/', channelPageRoutes(sql, auth, admin, jobs));
  app.route('/', ratePageRoutes(sql, auth, admin));

  app.get('/admin/audit', auth, admin, async (c) => {
    const before = positiveInt(c.req.query('before'));
    const r = await listAudit(sql, { limit: 100, before: before ?? undefined });
    return c.html(auditPage(viewerOf(c), { rows: r.items, total: r.total, next: r.next }));
  });

  return app;
}
