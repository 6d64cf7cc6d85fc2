/** Reports: generated workbooks and CSV zips, with downloads, and a form to generate one. */
import { markup } from '../markup.ts';
import { badge, csrfField, empty, pageHead, table, time, type Tone } from '../components.ts';
import { fmtInt } from '../format.ts';
import { page, type Viewer } from '../layout.ts';
import { rvtoolsForm, type RvtoolsSourceOption } from '../partials/rvtools_form.ts';

/** A generated report (its file is downloaded by id). */
export type ReportRow = {
  id: string;
  kind: string;
  period: string;
  format: string;
  status: string;
  origin: string;
  fileName: string;
  contentType: string;
  sizeBytes: number | null;
  chunkCount: number | null;
  rowCount: number | null;
  createdAt: string;
  finishedAt: string | null;
  expiresAt: string;
  error: string | null;
};

const STATUS: Record<string, Tone> = {
  ready: 'ok',
  running: 'info',
  queued: 'neutral',
  failed: 'bad',
};

function size(bytes: number | null): string {
  if (bytes === null) return '–';
  if (bytes < 1024 * 1024) return `${fmtInt(Math.ceil(bytes / 1024))} KB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}

/** The list; polls itself every 3 s while a report is queued or running. */
export function reportsTable(reports: ReportRow[]) {
  const busy = reports.some((r) => r.status === 'queued' || r.status === 'running');
  return markup`<div id="reports"${
    busy ? markup` hx-get="/reports?part=table" hx-trigger="every 3s" hx-swap="outerHTML"` : ''
  }>
${
    reports.length === 0
      ? empty(
        'No reports yet.',
        'The report job writes one after each day and month is aggregated; or generate one above.',
      )
      : table(
        'Reports',
        markup`<th scope="col">Kind</th><th scope="col">Period</th><th scope="col">Format</th><th scope="col">Status</th><th scope="col" class="num">Rows</th><th scope="col" class="num">Size</th><th scope="col">Created</th><th scope="col">Expires</th><th scope="col">File</th>`,
        markup`${
          reports.map((r) =>
            markup`<tr><td>${r.kind}</td><td>${r.period}</td><td>${r.format.toUpperCase()}</td>
        <td>${badge(STATUS[r.status] ?? 'neutral', r.status, r.error ?? undefined)}${
              r.origin === 'schedule' ? markup` ${badge('neutral', 'scheduled')}` : ''
            }</td>
        <td class="num">${fmtInt(r.rowCount)}</td><td class="num">${size(r.sizeBytes)}</td><td>${
              time(r.createdAt)
            }</td><td>${time(r.expiresAt)}</td>
        <td>${
              r.status === 'ready'
                ? markup`<a href="/reports/${r.id}/download" download>${r.fileName}</a>`
                : r.error
                ? markup`<span class="error">${r.error}</span>`
                : markup`<span class="muted">${r.fileName}</span>`
            }</td></tr>`
          )
        }`,
      )
  }
</div>`;
}

export function reportsPage(
  viewer: Viewer,
  o: { reports: ReportRow[]; sources?: RvtoolsSourceOption[]; error?: string; requested?: string },
) {
  return page({
    title: 'Reports',
    current: '/reports',
    viewer,
    body: markup`${
      pageHead('Reports', {
        sub:
          'Daily and monthly chargeback workbooks and inventory exports, generated after aggregation.',
      })
    }
${o.error ? markup`<div class="notice danger" role="alert">${o.error}</div>` : ''}
${
      o.requested
        ? markup`<div class="notice success" role="status">Requested ${o.requested}: it appears below when ready.</div>`
        : ''
    }
${
      viewer.role === 'admin'
        ? markup`<section class="card panel" aria-labelledby="gen-h"><h2 id="gen-h">Generate a report</h2>
  <form method="post" action="/reports" class="form-grid">
    ${csrfField(viewer.csrf)}
    <label for="r-kind">Kind<select id="r-kind" name="kind"><option value="monthly">Monthly chargeback</option><option value="daily">Daily chargeback</option><option value="inventory">Inventory now</option><option value="chargeback">Costs (chargeback workbook)</option></select></label>
    <label for="r-period">Period (optional)<input id="r-period" name="period" placeholder="YYYY-MM or YYYY-MM-DD" maxlength="10" aria-describedby="r-period-hint"></label>
    <label for="r-format">Format<select id="r-format" name="format"><option value="xlsx">Excel workbook</option><option value="csv">CSV files (zip)</option></select></label>
    <div><button type="submit">Generate</button></div>
  </form>
  <p class="muted small" id="r-period-hint">Empty period: last month (monthly, costs) or yesterday (daily). Inventory takes no period. Costs: the month's cost lines by owner and tier.</p>
</section>
${rvtoolsForm(viewer.csrf, o.sources ?? [])}`
        : ''
    }
${reportsTable(o.reports)}`,
  });
}
