/** Reports: generated workbooks and CSV zips, with downloads. */
import { html } from 'hono/html';
import type { ReportRow } from '../../server/queries/pages_reports.ts';
import { badge, empty, pageHead, table, time, type Tone } from '../components.ts';
import { fmtInt } from '../format.ts';
import { page, type Viewer } from '../layout.ts';

const STATUS: Record<string, Tone> = { ready: 'ok', running: 'info', queued: 'neutral', failed: 'bad' };

function size(bytes: number | null): string {
  if (bytes === null) return '–';
  if (bytes < 1024 * 1024) return `${fmtInt(Math.ceil(bytes / 1024))} KB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

export function reportsPage(viewer: Viewer, o: { installed: boolean; reports: ReportRow[] }) {
  return page({
    title: 'Reports',
    current: '/reports',
    viewer,
    body: html`${pageHead('Reports', { sub: 'Daily and monthly chargeback workbooks and inventory exports, generated after aggregation.' })}
${!o.installed
    ? empty('Reports are not set up on this database yet.', 'They arrive with the reports migration and job.')
    : o.reports.length === 0
      ? empty('No reports yet.', 'The report job writes one after each day and month is aggregated.')
      : table('Reports', html`<th scope="col">Kind</th><th scope="col">Period</th><th scope="col">Format</th><th scope="col">Status</th><th scope="col" class="num">Rows</th><th scope="col" class="num">Size</th><th scope="col">Created</th><th scope="col">Expires</th><th scope="col">File</th>`,
        html`${o.reports.map((r) => html`<tr><td>${r.kind}</td><td>${r.period}</td><td>${r.format.toUpperCase()}</td>
          <td>${badge(STATUS[r.status] ?? 'neutral', r.status, r.error ?? undefined)}${r.origin === 'schedule' ? html` ${badge('neutral', 'scheduled')}` : ''}</td>
          <td class="num">${fmtInt(r.rowCount)}</td><td class="num">${size(r.sizeBytes)}</td><td>${time(r.createdAt)}</td><td>${time(r.expiresAt, { age: false })}</td>
          <td>${r.status === 'ready' ? html`<a href="/reports/${r.id}/download" download>${r.fileName}</a>` : r.error ? html`<span class="error">${r.error}</span>` : html`<span class="muted">${r.fileName}</span>`}</td></tr>`)}`)}`,
  });
}
