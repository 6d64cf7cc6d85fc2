/** Source pages: the list with poll health and "capture now", and one source's capture history. */
import { Hono, type MiddlewareHandler } from 'hono';
import { captureNow } from '../agents/capture_now.ts';
import type { Sql } from '../db/connect.ts';
import { actorOf, refusal } from '../http/actions.ts';
import { IdParams } from '../http/api_doc.ts';
import { parseOr400 } from '../http/validate.ts';
import { listCaptures } from '../queries/history.ts';
import {
  captureHistory,
  pendingCaptureRequests,
  registryCounts,
} from '../queries/pages_history.ts';
import { getSource, listSourcesDetailed } from '../queries/sources.ts';
import { sourceDetailPage, sourcesPage } from '../../web/pages/sources.ts';
import {
  notFound,
  type PageEnv,
  positiveInt,
  requireAdminPage,
  requireCsrf,
  viewerOf,
} from './guard.ts';

const FLASH: Record<string, string> = {
  requested: 'Capture requested: the agent picks it up with its next heartbeat.',
};

export function sourceRoutes(sql: Sql, auth: MiddlewareHandler<PageEnv>) {
  const app = new Hono<PageEnv>();

  app.get('/sources', auth, async (c) => {
    const [sources, pending] = await Promise.all([
      listSourcesDetailed(sql),
      pendingCaptureRequests(sql),
    ]);
    return c.html(
      sourcesPage(viewerOf(c), {
        sources,
        pending,
        flash: FLASH[c.req.query('done') ?? ''] ?? null,
      }),
    );
  });

  app.get('/sources/:id', auth, async (c) => {
    const id = positiveInt(c.req.param('id'));
    const source = id ? await getSource(sql, id) : null;
    if (!source) {
      return notFound(c, {
        title: 'Source not found',
        message: `There is no source ${c.req.param('id')}.`,
        back: { href: '/sources', label: 'All sources' },
      });
    }
    const to = new Date(
      source.lastCaptureAt ? Date.parse(source.lastCaptureAt) + 3600_000 : Date.now(),
    );
    const from = new Date(to.getTime() - 7 * 86400_000);
    const before = c.req.query('before');
    const [history, captures, registry, pending] = await Promise.all([
      captureHistory(sql, source.id, from, to),
      listCaptures(sql, {
        sourceId: source.id,
        limit: 50,
        cursor: before,
      }),
      registryCounts(sql, source.id),
      pendingCaptureRequests(sql),
    ]);
    const chartFrom = history.length
      ? new Date(Math.max(from.getTime(), Date.parse(history[0].at)))
      : from;
    return c.html(sourceDetailPage(viewerOf(c), {
      source,
      history,
      from: chartFrom.toISOString(),
      to: to.toISOString(),
      captures,
      registry,
      pending: pending.get(source.id) ?? null,
      flash: FLASH[c.req.query('done') ?? ''] ?? null,
    }));
  });

  // "Capture now": the same action as POST /api/v1/sources/:id/capture.
  app.post('/sources/:id/capture', auth, requireAdminPage(), requireCsrf(), async (c) => {
    try {
      const { id } = parseOr400(IdParams, c.req.param(), 'invalid_path');
      await captureNow(sql, id, actorOf(c));
      const back = c.req.header('referer')?.includes(`/sources/${id}`)
        ? `/sources/${id}`
        : '/sources';
      return c.redirect(`${back}?done=requested`, 303);
    } catch (err) {
      const e = refusal(err);
      return notFound(c, {
        title: e.status === 404 ? 'Source not found' : 'Cannot capture',
        message: e.message,
        back: { href: '/sources', label: 'All sources' },
      }, e.status);
    }
  });

  return app;
}
