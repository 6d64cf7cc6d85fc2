/** The dashboard page, its live region, and the server-sent events that refresh it. */
import { Hono, type MiddlewareHandler } from 'hono';
import { streamSSE } from 'hono/streaming';
import type { Sql } from '../db/connect.ts';
import { fleetSummary } from '../inventory/list_vms.ts';
import { listCaptures } from '../queries/history.ts';
import { failedJobs } from '../jobs/job_queries.ts';
import { fleetChange, hasJobTable } from '../queries/pages_dashboard.ts';
import { listSourcesDetailed } from '../queries/sources.ts';
import { capacityPanel } from '../sites/capacity.ts';
import { openAlertCounts } from '../alerts/alerts.ts';
import { dashboardPage } from '../../web/pages/dashboard.ts';
import { type DashboardData, dashboardLive } from '../../web/partials/dashboard_live.ts';
import { captureFeed, type Signal } from './capture_feed.ts';
import { poolOf } from '../auth/scope.ts';
import { captureSignal } from '../queries/pages_dashboard.ts';
import { asOfParam, type PageEnv, viewerOf } from './guard.ts';

/** Everything the dashboard shows, read in parallel. */
async function dashboardData(sql: Sql, at: Date | null): Promise<DashboardData> {
  const [change, inventory, sources, recent, jobsInstalled, capacity] = await Promise.all([
    fleetChange(sql, at ?? undefined),
    fleetSummary(sql),
    listSourcesDetailed(sql),
    listCaptures(sql, { limit: 8 }),
    hasJobTable(sql),
    capacityPanel(sql),
  ]);
  const failed = jobsInstalled
    ? await failedJobs(sql, { days: 7, limit: 5 })
    : { total: 0, items: [] };
  return {
    change,
    inventory,
    sources,
    recent: recent.items,
    failed: { installed: jobsInstalled, ...failed },
    capacity,
    asOf: at ? at.toISOString() : null,
  };
}

/** `pollMs`: how often the capture signal is read while a browser listens. */
export function dashboardRoutes(sql: Sql, auth: MiddlewareHandler<PageEnv>, pollMs = 2000) {
  const app = new Hono<PageEnv>();
  // The poller is the process's, whoever started it: the pool's, never a request's scope.
  const feed = captureFeed(poolOf(sql), { intervalMs: pollMs });

  app.get('/', auth, async (c) => {
    const data = await dashboardData(sql, asOfParam(c.req.query('at')));
    if (c.req.query('part') === 'live') return c.html(dashboardLive(data));
    const signal = await captureSignal(sql);
    return c.html(
      dashboardPage(
        viewerOf(c),
        data,
        `/events?since=${encodeURIComponent(signal.key)}`,
        await openAlertCounts(sql),
      ),
    );
  });

  // Server-sent events: `capture` whenever a source's latest capture changes.
  app.get('/events', auth, (c) => {
    let last = c.req.query('since') ?? null;
    // The signal is every source's; a viewer limited to some is told only that something came.
    const scoped = !!c.get('auth').scope;
    return streamSSE(c, async (stream) => {
      let closed = false;
      const pending: Signal[] = [];
      let wake: (() => void) | null = null;
      const unsubscribe = feed.subscribe((s) => {
        if (last === null) last = s.key;
        if (s.key === last) return;
        last = s.key;
        pending.push(s);
        wake?.();
      });
      stream.onAbort(() => {
        closed = true;
        wake?.();
      });
      try {
        await stream.writeSSE({ event: 'hello', data: '{}', retry: 3000 });
        while (!closed) {
          // Wait for a signal or 20 s, then send the event or a keep-alive comment.
          await new Promise<void>((resolve) => {
            wake = resolve;
            setTimeout(resolve, 20_000).unref?.();
          });
          wake = null;
          if (closed) break;
          const s = pending.splice(0).pop();
          if (s) {
            await stream.writeSSE({
              event: 'capture',
              data: scoped
                ? '{}'
                : JSON.stringify({ count: s.count, lastCapturedAt: s.lastCapturedAt }),
            });
          } else await stream.write(': keep-alive\n\n');
        }
      } finally {
        unsubscribe();
      }
    });
  });

  return app;
}
