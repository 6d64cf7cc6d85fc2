/**
 * Capture history: every capture received and every daily and monthly rollup stored, with
 * its row count (the registry of what the ledger holds). Not VM snapshots: those belong to
 * a VM.
 */
import { markup } from '../markup.ts';
import { badge, empty, kpi, pageHead, segmented, table, time } from '../components.ts';
import { fmtInt } from '../format.ts';
import { page, type Viewer } from '../layout.ts';

/** The registry's rows of one kind (capture, daily, monthly). */
export type RegistryCount = {
  kind: string;
  snapshots: number;
  rows: number;
  incomplete: number;
  first: string | null;
  last: string | null;
};

/** Where the page lives (`/snapshots`, its old name, redirects here). */
export const CAPTURE_HISTORY = '/capture-history';

export type SnapshotItem = {
  kind: string;
  sourceId: number;
  sourceName: string;
  periodStart: string | null;
  periodEnd: string | null;
  rowCount: number;
  captureId: string | null;
  complete: boolean;
  createdAt: string | null;
};

export function captureHistoryPage(viewer: Viewer, o: {
  counts: RegistryCount[];
  kind: string | null;
  sourceId: number | null;
  sources: { id: number; name: string }[];
  list: { items: SnapshotItem[]; total: number; next: string | null };
}) {
  const url = (kind: string | null, source: number | null, before?: string) => {
    const p = new URLSearchParams();
    if (kind) p.set('kind', kind);
    if (source) p.set('source', String(source));
    if (before) p.set('before', before);
    const s = p.toString();
    return s ? `${CAPTURE_HISTORY}?${s}` : CAPTURE_HISTORY;
  };
  const byKind = new Map(o.counts.map((c) => [c.kind, c]));
  return page({
    title: 'Capture history',
    current: CAPTURE_HISTORY,
    viewer,
    body: markup`${
      pageHead('Capture history', {
        sub: 'Every capture received and every daily and monthly rollup stored, with row counts.',
      })
    }
<section class="cards" aria-label="Counts">
  ${
      (['capture', 'daily', 'monthly'] as const).map((k) => {
        const c = byKind.get(k);
        return kpi(
          k === 'capture' ? 'Captures' : k === 'daily' ? 'Daily rollups' : 'Monthly rollups',
          fmtInt(c?.snapshots ?? 0),
          c
            ? {
              value: 0,
              text: `${fmtInt(c.rows)} rows${c.incomplete ? ` · ${c.incomplete} incomplete` : ''}`,
            }
            : null,
        );
      })
    }
</section>
<div class="toolbar">
  ${
      segmented('Kind', [
        { href: url(null, o.sourceId), label: 'All', current: !o.kind },
        ...(['capture', 'daily', 'monthly'] as const).map((k) => ({
          href: url(k, o.sourceId),
          label: k,
          current: o.kind === k,
        })),
      ])
    }
  ${
      segmented('Source', [
        { href: url(o.kind, null), label: 'All sources', current: !o.sourceId },
        ...o.sources.map((s) => ({
          href: url(o.kind, s.id),
          label: s.name,
          current: s.id === o.sourceId,
        })),
      ])
    }
</div>
<p class="muted small">${fmtInt(o.list.total)} captures and rollups</p>
${
      o.list.items.length === 0 ? empty('No captures or rollups match.') : table(
        'Captures and rollups',
        markup`<th scope="col">Kind</th><th scope="col">Source</th><th scope="col">Period start</th><th scope="col">Period end</th><th scope="col" class="num">Rows</th><th scope="col">Complete</th><th scope="col">Stored</th>`,
        markup`${
          o.list.items.map((r) =>
            markup`<tr><td>${
              badge(r.kind === 'capture' ? 'neutral' : 'info', r.kind)
            }</td><td><a href="/sources/${r.sourceId}">${r.sourceName}</a></td>
        <td>${time(r.periodStart)}</td><td>${time(r.periodEnd)}</td><td class="num">${
              fmtInt(r.rowCount)
            }</td>
        <td>${r.complete ? badge('ok', 'yes') : badge('warn', 'no')}</td><td>${
              time(r.createdAt, { age: true })
            }</td></tr>`
          )
        }`,
      )
    }
${
      o.list.next
        ? markup`<nav class="pager" aria-label="Pages"><a class="button quiet small" href="${
          url(o.kind, o.sourceId)
        }">Newest</a><a class="button small" rel="next" href="${
          url(o.kind, o.sourceId, o.list.next)
        }">Older</a></nav>`
        : ''
    }`,
  });
}
