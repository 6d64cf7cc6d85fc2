/** Reports (list and download) and aggregation benchmarks (runs, chart, parity, plan). */
import { Hono, type MiddlewareHandler } from 'hono';
import type { Sql } from '../db/connect.ts';
import { getBenchGroup, listBenchGroups } from '../queries/pages_benchmarks.ts';
import { getReportRow, hasReports, listReportRows, reportChunk } from '../queries/pages_reports.ts';
import { benchmarkDetailPage, benchmarksPage } from '../../web/pages/benchmarks.ts';
import { notFoundPage } from '../../web/pages/not_found.ts';
import { reportsPage } from '../../web/pages/reports.ts';
import { viewerOf, type PageEnv } from './guard.ts';

export function reportRoutes(sql: Sql, auth: MiddlewareHandler<PageEnv>) {
  const app = new Hono<PageEnv>();

  app.get('/reports', auth, async (c) => {
    const installed = await hasReports(sql);
    return c.html(reportsPage(viewerOf(c), { installed, reports: installed ? await listReportRows(sql, 200) : [] }));
  });

  // Streams a ready report's chunks one query at a time.
  app.get('/reports/:id/download', auth, async (c) => {
    const r = (await hasReports(sql)) ? await getReportRow(sql, c.req.param('id')) : null;
    if (!r || r.status !== 'ready') {
      return c.html(notFoundPage(viewerOf(c), { title: 'Report not available', message: 'That report does not exist, has expired or is not ready yet.', back: { href: '/reports', label: 'All reports' } }), 404);
    }
    let seq = 0;
    const body = new ReadableStream<Uint8Array>({
      async pull(controller) {
        if (seq >= (r.chunkCount ?? 0)) return controller.close();
        const chunk = await reportChunk(sql, r.id, seq++);
        if (!chunk) return controller.error(new Error(`report ${r.id} is missing chunk ${seq - 1}`));
        controller.enqueue(chunk);
      },
    });
    const headers: Record<string, string> = {
      'content-type': r.contentType, 'content-disposition': `attachment; filename="${r.fileName.replace(/["\\\r\n]/g, '_')}"`,
    };
    if (r.sizeBytes !== null) headers['content-length'] = String(r.sizeBytes);
    return new Response(body, { headers });
  });

  app.get('/benchmarks', auth, async (c) => c.html(benchmarksPage(viewerOf(c), { groups: await listBenchGroups(sql, 100) })));

  app.get('/benchmarks/:group', auth, async (c) => {
    const g = await getBenchGroup(sql, c.req.param('group'));
    if (!g) return c.html(notFoundPage(viewerOf(c), { title: 'Benchmark not found', message: 'No benchmark run with that id.', back: { href: '/benchmarks', label: 'All benchmarks' } }), 404);
    return c.html(benchmarkDetailPage(viewerOf(c), g));
  });

  return app;
}
