/** The dashboard: fleet KPIs with change vs yesterday, sources, recent captures, failed jobs; live over SSE. */
import { markup } from '../markup.ts';
import { pageHead } from '../components.ts';
import { page, type Viewer } from '../layout.ts';
import { type DashboardData, dashboardLive } from '../partials/dashboard_live.ts';
import { alertsPanel } from './alerts.ts';

/** `events` is the SSE URL, carrying the capture signal the page was rendered with. */
export function dashboardPage(
  viewer: Viewer,
  data: DashboardData,
  events: string,
  alerts: { severity: string; state: string; n: number }[] = [],
) {
  return page({
    title: 'Dashboard',
    current: '/',
    viewer,
    events,
    body: markup`${
      pageHead('Fleet', {
        actions:
          markup`<span class="live" data-live data-state="idle" role="status" aria-live="polite">Connecting…</span>`,
      })
    }
${alertsPanel(alerts)}
${dashboardLive(data)}`,
  });
}
