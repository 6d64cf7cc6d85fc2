/** Source pages: the list with poll health and "capture now", and one source's capture history. */
import { Hono, type MiddlewareHandler } from 'hono';
import { requestCapture } from '../agents/heartbeats.ts';
import { audit } from '../audit/audit_log.ts';
import type { Sql } from '../db/connect.ts';
import { listCaptures } from '../queries/history.ts';
import {
  captureHistory,
  pendingCaptureRequests,
  registryCounts,
} from '../queries/pages_history.ts';
import { getSource, listSourcesDetailed } from '../queries/sources.ts';
import { notFoundPage } from '../../web/pages/not_found.ts';
import { sourceDetailPage, sourcesPage } from '../../web/pages/sources.ts';
import { type PageEnv, positiveInt, requireAdminPage, requireCsrf, viewerOf } from './guard.ts';

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
    const viewer = viewerOf(c);
    const id = positiveInt(c.req.param('id'));
    const source = id ? await getSource(sql, id) : null;
    if (!source) {
      return c.html(
        notFoundPage(viewer, {
          title: 'Source not found',
          message: `There is no source ${c.req.param('id')}.`,
          back: { href: '/sources', label: 'All sources' },
        }),
        404,
      );
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
        before: before && !Number.isNaN(Date.parse(before)) ? before : undefined,
      }),
      registryCounts(sql, source.id),
      pendingCaptureRequests(sql),
    ]);
    const chartFrom = history.length
      ? new Date(Math.max(from.getTime(), Date.parse(history[0].at)))
      : from;
    return c.html(sourceDetailPage(viewer, {
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

  // "Capture now": queued for the source's agent, picked up with its next heartbeat.
  app.post('/sources/:id/capture', auth, requireAdminPage(), requireCsrf(), async (c) => {
    const s = c.get('session')!;
    const id = positiveInt(c.req.param('id'));
    const req = id ? await requestCapture(sql, id, s.id) : null;
    if (!req) {
      return c.html(
        notFoundPage(viewerOf(c), {
          title: 'Source not found',
          message: `There is no source ${c.req.param('id')}.`,
          back: { href: '/sources', label: 'All sources' },
        }),
        404,
      );
    }
    await audit(sql, {
      action: 'capture.request',
      actorId: s.id,
      actorName: s.name,
      target: `source:${id}`,
      detail: { requestId: req.id, via: 'page' },
    });
    const back = c.req.header('referer')?.includes(`/sources/${id}`)
      ? `/sources/${id}`
      : '/sources';
    return c.redirect(`${back}?done=requested`, 303);
  });

  return app;
}
