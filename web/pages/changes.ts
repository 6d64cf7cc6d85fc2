/**
 * Changes between two dates: presets (yesterday, last 7 days, last month, custom), the summary
 * first (net growth, counts per kind), then the list in time order, with CSV export.
 */
import { markup } from '../markup.ts';
import { badge, empty, kpi, pageHead, segmented, table, time, type Tone } from '../components.ts';
import { fmtGb, fmtInt, fmtLocalField, fmtNum } from '../format.ts';
import { page, type Viewer } from '../layout.ts';

export type ChangeGroup = Record<string, string | number | null>;

/** One change as the page shows it. */
export type ChangeRow = {
  at: string;
  kind: string;
  sourceId: number;
  sourceName: string;
  vmKey: string;
  vmName: string;
  before: ChangeGroup | null;
  after: ChangeGroup | null;
  detail: string | null;
};

export type ChangesView = {
  from: string;
  to: string;
  summary: {
    counts: Record<string, number>;
    net: { vms: number; vcpu: number; memoryMib: number; provisionedDiskGib: number };
  };
  items: ChangeRow[];
  total: number;
  next: string | null;
};

const KINDS: [string, string, Tone][] = [
  ['created', 'Created', 'ok'],
  ['deleted', 'Deleted', 'bad'],
  ['reappeared', 'Reappeared', 'info'],
  ['resized', 'Resized', 'warn'],
  ['moved', 'Moved', 'neutral'],
  ['renamed', 'Renamed', 'neutral'],
  ['power', 'Power', 'neutral'],
];
const PRESETS: [string, string][] = [
  ['yesterday', 'Yesterday'],
  ['7d', 'Last 7 days'],
  ['month', 'Last month'],
  ['custom', 'Custom'],
];

/** How a creation or deletion is known, in words. */
const DETAIL: Record<string, string> = {
  firstSeen: 'first seen',
  source: 'time from source',
  event: 'by event',
  absence: 'by absence',
};

const signed = (n: number, text: string) => (n > 0 ? `+${text}` : text);
const LABELS: Record<string, string> = {
  vcpu: 'vCPU',
  memoryMib: 'RAM',
  provisionedDiskGib: 'disk',
  host: 'host',
  cluster: 'cluster',
  resourcePool: 'pool',
  folder: 'folder',
  name: 'name',
  powerState: 'power',
};

function value(key: string, v: string | number | null | undefined): string {
  if (v === null || v === undefined) return '–';
  if (key === 'memoryMib') return `${fmtNum(Number(v) / 1024)} GiB`;
  if (key === 'provisionedDiskGib') return fmtGb(Number(v));
  return String(v);
}

/** A change's kind as a badge, with how a creation or deletion is known. */
export function changeKind(r: ChangeRow) {
  const [, label, tone] = KINDS.find(([k]) => k === r.kind) ?? [r.kind, r.kind, 'neutral'];
  return markup`${badge(tone, label)}${
    r.detail ? markup` <span class="muted small">${DETAIL[r.detail] ?? r.detail}</span>` : ''
  }`;
}

/** What changed: "vCPU 2 → 4" for each field that differs; a size for created/deleted. */
export function changeWhat(r: ChangeRow) {
  const b = r.before ?? {};
  const a = r.after ?? {};
  if (!r.before || !r.after) {
    const g = r.after ?? r.before ?? {};
    return Object.keys(g).map((k) => `${LABELS[k] ?? k} ${value(k, g[k])}`).join(' · ');
  }
  return Object.keys(a).filter((k) => a[k] !== b[k]).map((k) =>
    `${LABELS[k] ?? k} ${value(k, b[k])} → ${value(k, a[k])}`
  ).join(' · ');
}

export function changesPage(viewer: Viewer, o: {
  preset: string;
  params: Record<string, string>;
  sources: { id: number; name: string }[];
  answer: ChangesView;
}) {
  const p = o.params;
  // A preset's range moves with the day, so its links keep the preset, not its dates.
  const kept: Record<string, string> = o.preset === 'custom'
    ? { ...p, preset: 'custom' }
    : { ...p, preset: o.preset, from: '', to: '' };
  const url = (base: string, over: Record<string, string | null>) => {
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries({ ...kept, ...over })) if (v) q.set(k, v);
    return `${base}?${q}`;
  };
  const presetUrl = (preset: string) => {
    const q = new URLSearchParams({ preset });
    if (p.source) q.set('source', p.source);
    if (p.vm) q.set('vm', p.vm);
    if (p.kind) q.set('kind', p.kind);
    return `/changes?${q}`;
  };
  const n = o.answer.summary.net;
  const counts = o.answer.summary.counts;
  return page({
    title: 'Changes',
    current: '/changes',
    viewer,
    body: markup`${
      pageHead('Changes', {
        sub:
          markup`What was created, deleted, resized, moved, renamed or powered on/off from <time datetime="${o.answer.from}">${
            o.answer.from.slice(0, 16).replace('T', ' ')
          }</time> to <time datetime="${o.answer.to}">${
            o.answer.to.slice(0, 16).replace('T', ' ')
          }</time> UTC (end excluded).`,
        actions: markup`<a class="button quiet small" href="${
          url('/changes.csv', { cursor: null })
        }" download>Export CSV</a>`,
      })
    }
<div class="toolbar">
  ${
      segmented(
        'Range',
        PRESETS.map(([v, label]) => ({ href: presetUrl(v), label, current: o.preset === v })),
      )
    }
</div>
<form class="toolbar" aria-label="Range and filters" action="/changes" method="get">
  <input type="hidden" name="preset" value="custom">
  ${p.vm ? markup`<input type="hidden" name="vm" value="${p.vm}">` : ''}
  <label for="c-from">From (UTC) <input id="c-from" name="from" type="datetime-local" required value="${
      fmtLocalField(p.from)
    }"></label>
  <label for="c-to">To, excluded (UTC) <input id="c-to" name="to" type="datetime-local" required value="${
      fmtLocalField(p.to)
    }"></label>
  <label for="c-source">Source
    <select id="c-source" name="source">
      <option value="">All sources</option>
      ${
      o.sources.map((s) =>
        markup`<option value="${s.id}"${
          String(s.id) === p.source ? markup` selected` : ''
        }>${s.name}</option>`
      )
    }
    </select>
  </label>
  <label for="c-kind">Kind
    <select id="c-kind" name="kind">
      <option value="">All kinds</option>
      ${
      KINDS.map(([v, label]) =>
        markup`<option value="${v}"${v === p.kind ? markup` selected` : ''}>${label}</option>`
      )
    }
    </select>
  </label>
  <button type="submit">Show</button>
</form>
<section class="cards" aria-label="Net growth" id="net">
  ${kpi('Net VMs', signed(n.vms, fmtInt(n.vms)))}
  ${kpi('Net vCPU', signed(n.vcpu, fmtInt(n.vcpu)))}
  ${kpi('Net RAM', signed(n.memoryMib, `${fmtNum(n.memoryMib / 1024)} GiB`))}
  ${kpi('Net disk', signed(n.provisionedDiskGib, `${fmtNum(n.provisionedDiskGib)} GiB`))}
</section>
<section class="cards" aria-label="Changes per kind" id="counts">
  ${
      KINDS.map(([k, label]) =>
        markup`<a class="card kpi" href="${url('/changes', { kind: k, cursor: null })}"${
          p.kind === k ? markup` aria-current="true"` : ''
        }><div class="label">${label}</div><div class="value">${fmtInt(counts[k] ?? 0)}</div></a>`
      )
    }
</section>
<p class="muted small" id="change-count">${fmtInt(o.answer.total)} changes${
      p.vm
        ? markup` of VM <a href="/vms/${p.source}/${
          encodeURIComponent(p.vm)
        }">${p.vm}</a> · <a href="${url('/changes', { vm: null, cursor: null })}">all VMs</a>`
        : ''
    }${
      p.kind
        ? markup` of kind ${p.kind} · <a href="${
          url('/changes', { kind: null, cursor: null })
        }">all kinds</a>`
        : ''
    }</p>
${
      o.answer.items.length === 0
        ? empty('No changes in this range.', 'Pick a longer range or another source.')
        : table(
          'Changes',
          markup`<th scope="col">Time</th><th scope="col">Change</th><th scope="col">VM</th><th scope="col">Source</th><th scope="col">What</th>`,
          markup`${
            o.answer.items.map((r) =>
              markup`<tr><td>${time(r.at)}</td><td>${
                changeKind(r)
              }</td><td><a href="/vms/${r.sourceId}/${
                encodeURIComponent(r.vmKey)
              }">${r.vmName}</a></td><td>${r.sourceName}</td><td>${changeWhat(r)}</td></tr>`
            )
          }`,
          { id: 'changes-table' },
        )
    }
${
      o.answer.next
        ? markup`<nav class="pager" aria-label="Pages"><a class="button quiet small" href="${
          url('/changes', { cursor: null })
        }">First</a><a class="button small" rel="next" href="${
          url('/changes', { cursor: o.answer.next })
        }">Next</a></nav>`
        : ''
    }`,
  });
}
