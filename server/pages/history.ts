/** Totals over time and the snapshot registry. */
import { Hono, type MiddlewareHandler } from 'hono';
import type { Sql } from '../db/connect.ts';
import { listSnapshots, totalsOverTime } from '../queries/history.ts';
import { registryCounts } from '../queries/pages_history.ts';
import { listSourcesDetailed } from '../queries/sources.ts';
import { CAPTURE_HISTORY, captureHistoryPage } from '../../web/pages/capture_history.ts';
import { TOTALS_SPANS, type TotalsGranularity, totalsPage } from '../../web/pages/totals.ts';
import { asOfParam, type PageEnv, positiveInt, viewerOf } from './guard.ts';

export function historyRoutes(sql: Sql, auth: MiddlewareHandler<PageEnv>) {
  const app = new Hono<PageEnv>();

  app.get('/totals', auth, async (c) => {
    const g: TotalsGranularity = (['capture', 'daily', 'monthly'] as const).find((x) =>
      x === c.req.query('granularity')
    ) ?? 'capture';
    const sources = await listSourcesDetailed(sql);
    const sourceId = positiveInt(c.req.query('source'));
    const scoped = sourceId ? sources.filter((s) => s.id === sourceId) : sources;
    // Anchor at the newest capture in scope, so an idle estate still shows its last weeks.
    const latest = Math.max(
      0,
      ...scoped.map((s) => (s.lastCaptureAt ? Date.parse(s.lastCaptureAt) : 0)),
    );
    // Totals as of a date: the window ends there (or at the newest capture, if that is earlier).
    const asOf = asOfParam(c.req.query('at'));
    const anchor = asOf ? Math.min(asOf.getTime(), latest || asOf.getTime()) : latest || Date.now();
    const to = asOf
      ? new Date(anchor + 1)
      : new Date(g === 'capture' ? anchor + 3600_000 : anchor + 86400_000);
    const from = new Date(to.getTime() - TOTALS_SPANS[g] * 86400_000);
    const [points, perSource] = await Promise.all([
      totalsOverTime(sql, { granularity: g, sourceId: sourceId ?? undefined, from, to }),
      // Per-source lines on the fleet view (a handful of sources only).
      !sourceId && g === 'capture' && sources.length > 1 && sources.length <= 4
        ? Promise.all(
          sources.map(async (s) => ({
            name: s.name,
            points: await totalsOverTime(sql, { granularity: g, sourceId: s.id, from, to }),
          })),
        )
        : [],
    ]);
    // Charts start where the data does when that is later than the window.
    const first = points.length
      ? Date.parse(points[0].at.length === 10 ? `${points[0].at}T00:00:00Z` : points[0].at)
      : from.getTime();
    return c.html(totalsPage(viewerOf(c), {
      granularity: g,
      sourceId,
      sources: sources.map((s) => ({ id: s.id, name: s.name })),
      points,
      perSource,
      from: new Date(Math.max(from.getTime(), first)).toISOString(),
      to: to.toISOString(),
      asOf: asOf ? asOf.toISOString() : null,
    }));
  });

  // The page's old name: links and bookmarks keep working.
  app.get('/snapshots', (c) => {
    const query = new URL(c.req.url).search;
    return c.redirect(CAPTURE_HISTORY + query, 301);
  });

  app.get(CAPTURE_HISTORY, auth, async (c) => {
    const kind = (['capture', 'daily', 'monthly'] as const).find((k) =>
      k === c.req.query('kind')
    ) ?? null;
    const sourceId = positiveInt(c.req.query('source'));
    const [counts, list, sources] = await Promise.all([
      registryCounts(sql, sourceId ?? undefined),
      listSnapshots(sql, {
        kind: kind ?? undefined,
        sourceId: sourceId ?? undefined,
        limit: 100,
        cursor: c.req.query('before'),
      }),
      listSourcesDetailed(sql),
    ]);
    return c.html(
      captureHistoryPage(viewerOf(c), {
        counts,
        kind,
        sourceId,
        sources: sources.map((s) => ({ id: s.id, name: s.name })),
        list,
      }),
    );
  });

  return app;
}
