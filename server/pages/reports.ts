/** Reports: list, download and (admins) generate. */
import { Hono, type MiddlewareHandler } from 'hono';
import { audit } from '../audit/audit_log.ts';
import type { Sql } from '../db/connect.ts';
import type { Jobs } from '../jobs/boss.ts';
import { log } from '../log.ts';
import { generateReport } from '../reports/generate.ts';
import {
  normalisePeriod,
  REPORT_FORMATS,
  REPORT_KINDS,
  type ReportFormat,
  type ReportKind,
  todayIn,
} from '../reports/period.ts';
import { enqueueReport } from '../reports/report_jobs.ts';
import { createReport } from '../reports/report_store.ts';
import { getReportRow, hasReports, listReportRows, reportChunk } from '../queries/pages_reports.ts';
import { notFoundPage } from '../../web/pages/not_found.ts';
import { reportsPage, reportsTable } from '../../web/pages/reports.ts';
import { type PageEnv, requireAdminPage, requireCsrf, viewerOf } from './guard.ts';

/** `jobs`: the server's job runner, when it has one; otherwise reports are generated in this process. */
export function reportRoutes(
  sql: Sql,
  auth: MiddlewareHandler<PageEnv>,
  options: { jobs?: Jobs; tz?: string; retentionDays?: number } = {},
) {
  const app = new Hono<PageEnv>();
  const tz = () => options.jobs?.reportTz ?? options.tz ?? 'UTC';

  const list = async (
    c: Parameters<MiddlewareHandler<PageEnv>>[0],
    extra: { error?: string; requested?: string } = {},
    status: 200 | 400 = 200,
  ) => {
    const installed = await hasReports(sql);
    const reports = installed ? await listReportRows(sql, 200) : [];
    if (c.req.query('part') === 'table' && c.req.header('hx-request')) {
      return c.html(reportsTable(reports));
    }
    return c.html(reportsPage(viewerOf(c), { installed, reports, ...extra }), status);
  };

  app.get('/reports', auth, (c) => list(c, { requested: c.req.query('requested') }));

  // Generate: queued for the report job (or generated in the background here), then listed.
  app.post('/reports', auth, requireAdminPage(), requireCsrf(), async (c) => {
    const s = c.get('session')!;
    const form = await c.req.parseBody();
    const kind = REPORT_KINDS.find((k) => k === form.kind) as ReportKind | undefined;
    const format = (REPORT_FORMATS.find((f) => f === form.format) ?? 'xlsx') as ReportFormat;
    if (!kind) return list(c, { error: `Kind: one of ${REPORT_KINDS.join(', ')}.` }, 400);
    const raw = typeof form.period === 'string' && form.period.trim()
      ? form.period.trim()
      : undefined;
    const p = normalisePeriod(kind, kind === 'inventory' ? undefined : raw, todayIn(tz()));
    if ('error' in p) return list(c, { error: `Period: ${p.error}` }, 400);
    const created = await createReport(sql, {
      kind,
      period: p.period,
      format,
      origin: 'request',
      requestedBy: s.id,
      retentionDays: options.jobs?.reportRetentionDays ?? options.retentionDays,
    });
    await audit(sql, {
      action: 'report.request',
      actorId: s.id,
      actorName: s.name,
      target: `report:${created.id}`,
      detail: { kind, period: p.period, format, via: 'page' },
    });
    if (options.jobs) await enqueueReport(options.jobs, created.id);
    else {generateReport(sql, created.id, { tz: tz() }).catch((err) =>
        log.error('report failed', { id: created.id, error: err as Error })
      );}
    return c.redirect(`/reports?requested=${encodeURIComponent(created.fileName)}`, 303);
  });

  // Streams a ready report's chunks one query at a time.
  app.get('/reports/:id/download', auth, async (c) => {
    const r = (await hasReports(sql)) ? await getReportRow(sql, c.req.param('id')) : null;
    if (!r || r.status !== 'ready') {
      return c.html(
        notFoundPage(viewerOf(c), {
          title: 'Report not available',
          message: 'That report does not exist, has expired or is not ready yet.',
          back: { href: '/reports', label: 'All reports' },
        }),
        404,
      );
    }
    let seq = 0;
    const body = new ReadableStream<Uint8Array>({
      async pull(controller) {
        if (seq >= (r.chunkCount ?? 0)) return controller.close();
        const chunk = await reportChunk(sql, r.id, seq++);
        if (!chunk) {
          return controller.error(new Error(`report ${r.id} is missing chunk ${seq - 1}`));
        }
        controller.enqueue(chunk);
      },
    });
    const headers: Record<string, string> = {
      'content-type': r.contentType,
      'content-disposition': `attachment; filename="${r.fileName.replace(/["\\\r\n]/g, '_')}"`,
    };
    if (r.sizeBytes !== null) headers['content-length'] = String(r.sizeBytes);
    return new Response(body, { headers });
  });

  return app;
}
