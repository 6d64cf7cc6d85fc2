/**
 * The VM table: rows of the live inventory with sortable headers (aria-sort), the match
 * count, CSV export and a keyset pager. Rendered alone for htmx swaps, carrying the sort
 * state back into the filter form out of band.
 */
import { markup } from '../markup.ts';
import { badge, empty, powerBadge } from '../components.ts';
import { fmtInt, fmtNum } from '../format.ts';

/** One page of a keyset-paged list: `next` is the cursor of the following page. */
export type Page<T> = { items: T[]; total: number; next: string | null };

/** A live VM as the list shows it. */
export type VmListItem = {
  key: string;
  sourceId: number;
  sourceName: string;
  sourceKind: string;
  sourceVmId: string;
  name: string;
  powerState: string;
  isTemplate: boolean;
  vcpu: number;
  memoryMib: number;
  provisionedDiskGib: number;
  usedDiskGib: number | null;
  datacenter: string | null;
  cluster: string | null;
  host: string | null;
  resourcePool: string | null;
  folder: string | null;
  guestOs: string | null;
  ipAddresses: string[];
  tags: string[];
  biosUuid: string | null;
  instanceUuid: string | null;
  createdAt: string | null;
  firstSeenAt: string;
  lastSeenAt: string;
  stateAt: string;
  state: 'live' | 'deleted';
  deletedAt: string | null;
  deletedFrom: 'event' | 'absence' | null;
};

/** With `at`: the capture each source was read from, and the sources with none by then. */
export type VmAsOf = {
  at: string;
  captures: {
    sourceId: number;
    sourceName: string;
    captureId: string;
    capturedAt: string;
    passedOverAt?: string | null;
    complete: boolean;
  }[];
  sourcesWithoutCapture: { sourceId: number; sourceName: string }[];
};

/** Labels of the list's filters, for the chips that show and remove them. */
const FILTER_LABELS: Record<string, string> = {
  q: 'Search',
  state: 'State',
  at: 'As of',
  source: 'Source',
  cluster: 'Cluster',
  pool: 'Pool',
  host: 'Host',
  folder: 'Folder',
  tag: 'Tag',
  datastore: 'Datastore',
  os: 'Guest OS',
  power: 'Power',
  template: 'Templates',
};

/**
 * The active filters as chips, each a link to the list without it: a whole page, so that the
 * filter form shows the same filters as the table.
 */
function filterChips(params: Record<string, string>, names: (k: string, v: string) => string) {
  const active = Object.keys(FILTER_LABELS).filter((k) => params[k]);
  if (active.length === 0) return '';
  return markup`<ul class="chips" aria-label="Active filters">${
    active.map((k) =>
      markup`<li><a class="chip" href="${
        vmsUrl(params, { [k]: null, cursor: null, p: null })
      }" title="Remove this filter">${FILTER_LABELS[k]}: ${
        names(k, params[k])
      } <span aria-hidden="true">×</span><span class="visually-hidden">, remove</span></a></li>`
    )
  }</ul>`;
}

/** Which capture each source was read from, and which sources had none by then. */
function asOfNotice(asOf: VmAsOf) {
  const at = asOf.at.slice(0, 16).replace('T', ' ');
  return markup`<div class="notice" role="note"><p>As of ${at} UTC, from ${
    asOf.captures.length === 0
      ? 'no capture'
      : markup`${
        asOf.captures.map((c, i) =>
          markup`${i ? ', ' : ''}${c.sourceName} (${c.capturedAt.slice(0, 16).replace('T', ' ')}${
            c.complete ? '' : ', incomplete'
          }${
            c.passedOverAt
              ? `; its incomplete capture of ${
                c.passedOverAt.slice(0, 16).replace('T', ' ')
              } passed over`
              : ''
          })`
        )
      }`
  }.${
    asOf.sourcesWithoutCapture.length
      ? markup` No capture by then: ${
        asOf.sourcesWithoutCapture.map((s) => s.sourceName).join(', ')
      }.`
      : ''
  }</p></div>`;
}

/** The orders the list can be sorted in. */
export type VmSort =
  | 'name'
  | 'vcpu'
  | 'source'
  | 'power'
  | 'ram'
  | 'disk'
  | 'created'
  | 'firstSeen';

/** The list's state as URL parameters (filters, sort, page number). */
export type VmListState = {
  params: Record<string, string>;
  sort: VmSort;
  order: 'asc' | 'desc';
  page: number;
};

const COLUMNS: { label: string; sort?: VmSort; num?: boolean }[] = [
  { label: 'Name', sort: 'name' },
  { label: 'Source', sort: 'source' },
  { label: 'Power', sort: 'power' },
  { label: 'vCPU', sort: 'vcpu', num: true },
  { label: 'RAM GiB', sort: 'ram', num: true },
  { label: 'Disk GiB', sort: 'disk', num: true },
  { label: 'Cluster' },
  { label: 'Host' },
  { label: 'Pool' },
  { label: 'Created', sort: 'created' },
];

/** /vms?… for the given overrides; empty values are dropped. */
export function vmsUrl(
  base: Record<string, string>,
  over: Record<string, string | null>,
  path = '/vms',
): string {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries({ ...base, ...over })) {
    if (v !== null && v !== undefined && v !== '') p.set(k, v);
  }
  const s = p.toString();
  return s ? `${path}?${s}` : path;
}

function header(state: VmListState) {
  return COLUMNS.map((c) => {
    if (!c.sort) return markup`<th scope="col"${c.num ? markup` class="num"` : ''}>${c.label}</th>`;
    const active = state.sort === c.sort;
    const nextOrder = active && state.order === 'asc' ? 'desc' : 'asc';
    const url = vmsUrl(state.params, { sort: c.sort, order: nextOrder, cursor: null, p: null });
    const aria = active ? (state.order === 'asc' ? 'ascending' : 'descending') : null;
    return markup`<th scope="col"${c.num ? markup` class="num"` : ''}${
      aria ? markup` aria-sort="${aria}"` : ''
    }><a href="${url}" hx-get="${url}" hx-target="#vm-table" hx-swap="outerHTML" hx-push-url="true">${c.label}<span class="arrow" aria-hidden="true">${
      active ? (state.order === 'asc' ? '▲' : '▼') : '↕'
    }</span><span class="visually-hidden">, sort ${
      nextOrder === 'asc' ? 'ascending' : 'descending'
    }</span></a></th>`;
  });
}

export function vmTable(
  result: Page<VmListItem> & { asOf?: VmAsOf },
  state: VmListState,
  options: { oob?: boolean; names?: (k: string, v: string) => string } = {},
) {
  const showDeleted = !!state.params.at || (state.params.state ?? 'live') !== 'live';
  const base = state.params;
  const nextUrl = result.next
    ? vmsUrl(base, { cursor: result.next, p: String(state.page + 1) })
    : null;
  const firstUrl = state.page > 1 || base.cursor ? vmsUrl(base, { cursor: null, p: null }) : null;
  const csvUrl = vmsUrl(base, { cursor: null, p: null }, '/vms.csv');
  const pages = Math.max(1, Math.ceil(result.total / 100));
  const hx = (url: string) =>
    markup`href="${url}" hx-get="${url}" hx-target="#vm-table" hx-swap="outerHTML" hx-push-url="true"`;
  return markup`<div id="vm-table">
${
    options.oob
      ? markup`<input type="hidden" id="f-sort" name="sort" value="${state.sort}" hx-swap-oob="true"><input type="hidden" id="f-order" name="order" value="${state.order}" hx-swap-oob="true">`
      : ''
  }
${filterChips(state.params, options.names ?? ((_k, v) => v))}
${result.asOf ? asOfNotice(result.asOf) : ''}
<div class="table-meta">
  <p class="muted" role="status" aria-live="polite" id="vm-count">${fmtInt(result.total)} VMs${
    result.total > 0 ? ` · page ${state.page} of ${fmtInt(pages)}` : ''
  }</p>
  <a class="button quiet small" href="${csvUrl}" download>Export CSV</a>
</div>
${
    result.items.length === 0
      ? empty('No VMs match.', 'Clear the search or a filter to see more.')
      : markup`<div class="table-wrap" tabindex="0" role="region" aria-label="VMs">
<table>
  <caption class="visually-hidden">VMs, ${state.sort} ${
        state.order === 'asc' ? 'ascending' : 'descending'
      }</caption>
  <thead><tr>${header(state)}${showDeleted ? markup`<th scope="col">Deleted</th>` : ''}</tr></thead>
  <tbody>
  ${
        result.items.map((vm) =>
          markup`<tr>
    <td><a href="/vms/${vm.sourceId}/${encodeURIComponent(vm.key)}">${vm.name}</a>${
            vm.isTemplate ? markup` ${badge('neutral', 'template')}` : ''
          }</td>
    <td>${vm.sourceName}</td>
    <td>${powerBadge(vm.powerState)}</td>
    <td class="num">${vm.vcpu}</td>
    <td class="num">${fmtNum(vm.memoryMib / 1024)}</td>
    <td class="num">${fmtNum(vm.provisionedDiskGib)}</td>
    <td>${vm.cluster ?? ''}</td><td>${vm.host ?? ''}</td><td>${vm.resourcePool ?? ''}</td>
    <td>${
            vm.createdAt
              ? vm.createdAt.slice(0, 10)
              : markup`<span class="muted" title="the source did not report it">unknown</span>`
          }</td>${
            showDeleted
              ? markup`<td>${
                vm.deletedAt
                  ? markup`${badge('bad', 'deleted')} <span title="${
                    vm.deletedFrom === 'event' ? 'deletion event' : 'absent from a complete capture'
                  }">${vm.deletedAt.slice(0, 16).replace('T', ' ')}</span>`
                  : ''
              }</td>`
              : ''
          }
  </tr>`
        )
      }
  </tbody>
</table>
</div>`
  }
${
    firstUrl || nextUrl
      ? markup`<nav class="pager" aria-label="Pages">${
        firstUrl ? markup`<a class="button quiet small" ${hx(firstUrl)}>First page</a>` : ''
      }${
        nextUrl ? markup`<a class="button small" rel="next" ${hx(nextUrl)}>Next page</a>` : ''
      }</nav>`
      : ''
  }
</div>`;
}
