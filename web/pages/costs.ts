/**
 * The Costs page (showback): a month's costs totalled by tier, source, cluster, folder, tag,
 * owner or VM, with the month-over-month change; a group drills down to its VMs, a VM to its
 * page; a CSV of what is shown. The same data as `GET /api/v1/costs`.
 */
import { markup } from '../markup.ts';
import { type Content, empty, pageHead, segmented, table } from '../components.ts';
import { page, type Viewer } from '../layout.ts';

export type CostAmounts = {
  vcpuCost: string;
  ramCost: string;
  diskCost: string;
  vmCost: string;
  total: string;
};
export type CostGroupRow = CostAmounts & {
  key: string;
  label: string;
  currency: string;
  vms: number;
  lines: number;
  previousTotal: string;
  change: string;
  sourceId: number | null;
  vmKey: string | null;
};
export type CostTotalRow = CostAmounts & {
  currency: string;
  vms: number;
  lines: number;
  previousTotal: string;
  change: string;
};
export type CostsView = {
  month: string;
  previousMonth: string;
  groupBy: string;
  filter: { by: string; key: string } | null;
  owner: { ownerFrom: string; ownerName: string };
  groups: CostGroupRow[];
  /** The next page of groups (1,000 a page), null on the last. */
  next: string | null;
  totals: CostTotalRow[];
};

export const COST_GROUP_LABELS: Record<string, string> = {
  tier: 'Tier',
  source: 'Source',
  cluster: 'Cluster',
  folder: 'Folder',
  tag: 'Tag',
  owner: 'Owner',
  vm: 'VM',
};

/** An amount with its currency ("1,234.50 EUR"); exact text, grouped by thousands. */
export function money(v: string, currency?: string): string {
  const neg = v.startsWith('-');
  const [i, f = ''] = (neg ? v.slice(1) : v).split('.');
  const grouped = i.replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  return `${neg ? '−' : ''}${grouped}${f ? `.${f}` : ''}${currency ? ` ${currency}` : ''}`;
}

/** The change as "+12.30 (+4.1 %)"; percent only when there was a previous total. */
function change(row: { change: string; previousTotal: string }): Content {
  const c = Number(row.change);
  const prev = Number(row.previousTotal);
  const pct = prev !== 0
    ? ` (${c >= 0 ? '+' : '−'}${Math.abs((c / prev) * 100).toFixed(1)} %)`
    : '';
  const cls = c > 0 ? 'up' : c < 0 ? 'down' : 'flat';
  const sign = c > 0 ? '+' : '';
  return markup`<span class="delta ${cls}">${sign}${money(row.change)}${pct}</span>`;
}

export function costsPage(
  viewer: Viewer,
  o: { months: string[]; view: CostsView | null; cursor?: string },
) {
  const v = o.view;
  const q = (over: Record<string, string | undefined>) => {
    const p = new URLSearchParams();
    const base: Record<string, string | undefined> = {
      month: v?.month,
      group_by: v?.groupBy,
      filter_by: v?.filter?.by,
      filter: v?.filter?.key,
    };
    for (const [k, val] of Object.entries({ ...base, ...over })) if (val) p.set(k, val);
    return p.toString();
  };
  if (!v) {
    return page({
      title: 'Costs',
      current: '/costs',
      viewer,
      body: markup`${pageHead('Costs')}${
        empty(
          'No month has been costed yet.',
          markup`An admin sets rates and costs a month on <a href="/admin/rates">Admin · Rates</a>.`,
        )
      }`,
    });
  }
  const by = v.groupBy;
  const monthOptions = (o.months.includes(v.month) ? o.months : [v.month, ...o.months]).map((m) =>
    markup`<option value="${m}"${m === v.month ? markup` selected` : ''}>${m}</option>`
  );
  const ownerNote = v.owner.ownerFrom === 'attribute'
    ? `custom attribute "${v.owner.ownerName}"`
    : `tag category "${v.owner.ownerName}"`;
  const head = markup`<th scope="col">${COST_GROUP_LABELS[by]}</th><th scope="col">Currency</th>
<th scope="col" class="num">VMs</th><th scope="col" class="num">vCPU</th><th scope="col" class="num">RAM</th>
<th scope="col" class="num">Disk</th><th scope="col" class="num">VM fee</th><th scope="col" class="num">Total</th>
<th scope="col" class="num">${v.previousMonth}</th><th scope="col" class="num">Change</th>`;
  const cells = (r: CostAmounts) =>
    markup`<td class="num">${money(r.vcpuCost)}</td><td class="num">${
      money(r.ramCost)
    }</td><td class="num">${money(r.diskCost)}</td><td class="num">${
      money(r.vmCost)
    }</td><td class="num"><strong>${money(r.total)}</strong></td>`;
  const rows = v.groups.map((g) => {
    const name = by === 'vm' && g.sourceId !== null && g.vmKey !== null
      ? markup`<a href="/vms/${g.sourceId}/${encodeURIComponent(g.vmKey)}">${g.label}</a>`
      : markup`<a href="/costs?${
        q({ group_by: 'vm', filter_by: by, filter: g.key })
      }" title="The VMs of this group">${g.label}</a>`;
    return markup`<tr><th scope="row">${name}</th><td>${g.currency}</td><td class="num">${g.vms}</td>${
      cells(g)
    }<td class="num">${money(g.previousTotal)}</td><td class="num">${change(g)}</td></tr>`;
  });
  const totals = v.totals.map((t) =>
    markup`<tr class="total"><th scope="row">All${
      by === 'tag' ? ' (each VM once)' : ''
    }</th><td>${t.currency}</td><td class="num">${t.vms}</td>${cells(t)}<td class="num">${
      money(t.previousTotal)
    }</td><td class="num">${change(t)}</td></tr>`
  );
  const filterNote = v.filter
    ? markup`<p class="toolbar">Only ${
      COST_GROUP_LABELS[v.filter.by]?.toLowerCase() ?? v.filter.by
    } <strong>${v.filter.key}</strong>. <a href="/costs?${
      q({ filter_by: '', filter: '', group_by: v.filter.by })
    }">All ${COST_GROUP_LABELS[v.filter.by]?.toLowerCase() ?? ''} groups</a></p>`
    : '';
  return page({
    title: `Costs ${v.month}`,
    current: '/costs',
    viewer,
    body: markup`${
      pageHead(`Costs ${v.month}`, {
        sub: markup`Current cost runs of the month, by ${
          COST_GROUP_LABELS[by].toLowerCase()
        }, with the change from ${v.previousMonth}. Owner: the ${ownerNote}.`,
        actions: markup`<a class="button quiet small" href="/costs.csv?${
          q({})
        }" download>Export CSV</a>`,
      })
    }
<form class="toolbar" aria-label="Month" action="/costs" method="get">
  <label for="c-month">Month <select id="c-month" name="month">${monthOptions}</select></label>
  <input type="hidden" name="group_by" value="${by}">
  ${
      v.filter
        ? markup`<input type="hidden" name="filter_by" value="${v.filter.by}"><input type="hidden" name="filter" value="${v.filter.key}">`
        : ''
    }
  <button class="small" type="submit">Show</button>
</form>
<div class="toolbar">${
      segmented(
        'Group by',
        Object.entries(COST_GROUP_LABELS).map(([k, label]) => ({
          href: `/costs?${q({ group_by: k })}`,
          label,
          current: k === by,
        })),
      )
    }</div>
${filterNote}
${
      v.groups.length
        ? table(`Costs by ${COST_GROUP_LABELS[by].toLowerCase()}`, head, markup`${rows}${totals}`, {
          id: 'costs-table',
        })
        : empty('No costs for this month and selection.')
    }
${
      v.next || o.cursor
        ? markup`<nav class="pager" aria-label="Pages"><a class="button quiet small" href="/costs?${
          q({})
        }">First</a>${
          v.next
            ? markup`<a class="button small" rel="next" href="/costs?${
              q({ cursor: v.next })
            }">Next</a>`
            : ''
        }</nav>`
        : ''
    }
${
      by === 'tag'
        ? markup`<p class="muted">A VM with several tags counts in each; the "All" row counts it once.</p>`
        : ''
    }`,
  });
}

/** The VM page's cost section: one row per cost line, the month's total on its first line. */
export function vmCostSection(lines: (CostAmounts & {
  month: string;
  currency: string;
  tier: string;
  presentDays: string;
})[]) {
  if (!lines.length) {
    return markup`<section aria-labelledby="vm-costs"><h2 id="vm-costs">Costs</h2>${
      empty('No costed month holds this VM.')
    }</section>`;
  }
  const monthTotal = new Map<string, bigint>();
  for (const l of lines) {
    const cents = BigInt(l.total.replace('.', ''));
    monthTotal.set(l.month, (monthTotal.get(l.month) ?? 0n) + cents);
  }
  const fmt = (c: bigint) => {
    const s = (c < 0n ? -c : c).toString().padStart(3, '0');
    return `${c < 0n ? '-' : ''}${s.slice(0, -2)}.${s.slice(-2)}`;
  };
  const seen = new Set<string>();
  const rows = lines.map((l) => {
    const first = !seen.has(l.month);
    seen.add(l.month);
    return markup`<tr><td>${
      first ? markup`<a href="/costs?month=${l.month}">${l.month}</a>` : ''
    }</td><td>${l.tier}</td>
<td class="num">${Number(l.presentDays).toFixed(2)}</td><td class="num">${
      money(l.vcpuCost)
    }</td><td class="num">${money(l.ramCost)}</td><td class="num">${
      money(l.diskCost)
    }</td><td class="num">${money(l.vmCost)}</td><td class="num">${
      money(l.total)
    }</td><td class="num">${
      first ? markup`<strong>${money(fmt(monthTotal.get(l.month)!), l.currency)}</strong>` : ''
    }</td></tr>`;
  });
  return markup`<section aria-labelledby="vm-costs"><h2 id="vm-costs">Costs</h2>${
    table(
      'Cost per month',
      markup`<th scope="col">Month</th><th scope="col">Tier</th><th scope="col" class="num">Days present</th>
<th scope="col" class="num">vCPU</th><th scope="col" class="num">RAM</th><th scope="col" class="num">Disk</th>
<th scope="col" class="num">VM fee</th><th scope="col" class="num">Line total</th><th scope="col" class="num">Month total</th>`,
      markup`${rows}`,
      { short: true, id: 'vm-costs-table' },
    )
  }</section>`;
}
