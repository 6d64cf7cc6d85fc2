/**
 * The table of a site list (hosts, clusters, datastores, networks): sortable headers
 * (aria-sort), the match count, CSV export and a keyset pager. Plain links and a GET form:
 * every state of the list is a URL.
 */
import { markup } from '../markup.ts';
import { type Content, empty } from '../components.ts';
import { fmtInt } from '../format.ts';

/** One page of a keyset-paged list: `next` is the cursor of the following page. */
export type SitePage<T> = { items: T[]; total: number; next: string | null };

/** A list's URL state: its parameters (filters, sort, order, cursor) and page number. */
export type SiteListState = {
  path: string;
  params: Record<string, string>;
  sort: string;
  order: 'asc' | 'desc';
  page: number;
};

export type SiteColumn<T> = {
  label: string;
  sort?: string;
  num?: boolean;
  cell: (row: T) => Content;
};

/** `path?…` for the given overrides; empty values are dropped. */
export function listUrl(
  path: string,
  base: Record<string, string>,
  over: Record<string, string | null>,
): string {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries({ ...base, ...over })) {
    if (v !== null && v !== undefined && v !== '') p.set(k, v);
  }
  const s = p.toString();
  return s ? `${path}?${s}` : path;
}

function header<T>(columns: SiteColumn<T>[], state: SiteListState) {
  return columns.map((c) => {
    const cls = c.num ? markup` class="num"` : '';
    if (!c.sort) return markup`<th scope="col"${cls}>${c.label}</th>`;
    const active = state.sort === c.sort;
    const nextOrder = active && state.order === 'asc' ? 'desc' : 'asc';
    const url = listUrl(state.path, state.params, {
      sort: c.sort,
      order: nextOrder,
      cursor: null,
      p: null,
    });
    const aria = active ? (state.order === 'asc' ? 'ascending' : 'descending') : null;
    return markup`<th scope="col"${cls}${
      aria ? markup` aria-sort="${aria}"` : ''
    }><a href="${url}">${c.label}<span class="arrow" aria-hidden="true">${
      active ? (state.order === 'asc' ? '▲' : '▼') : '↕'
    }</span><span class="visually-hidden">, sort ${
      nextOrder === 'asc' ? 'ascending' : 'descending'
    }</span></a></th>`;
  });
}

/** The table with its count, export link and pager; `noun` is plural ("hosts"). */
export function siteTable<T>(
  noun: string,
  result: SitePage<T>,
  state: SiteListState,
  columns: SiteColumn<T>[],
) {
  const base = state.params;
  const nextUrl = result.next
    ? listUrl(state.path, base, { cursor: result.next, p: String(state.page + 1) })
    : null;
  const firstUrl = state.page > 1 || base.cursor
    ? listUrl(state.path, base, { cursor: null, p: null })
    : null;
  const csvUrl = listUrl(`${state.path}.csv`, base, { cursor: null, p: null });
  return markup`<div id="site-table">
<div class="table-meta">
  <p class="muted" role="status" id="site-count">${fmtInt(result.total)} ${noun}${
    result.total > 0 ? ` · page ${state.page}` : ''
  }</p>
  <a class="button quiet small" href="${csvUrl}" download>Export CSV</a>
</div>
${
    result.items.length === 0
      ? empty(`No ${noun} match.`, 'Clear the search or a filter to see more.')
      : markup`<div class="table-wrap" tabindex="0" role="region" aria-label="${noun}">
<table>
  <caption class="visually-hidden">${noun}, ${state.sort} ${
        state.order === 'asc' ? 'ascending' : 'descending'
      }</caption>
  <thead><tr>${header(columns, state)}</tr></thead>
  <tbody>${
        result.items.map((row) =>
          markup`<tr>${
            columns.map((c) => markup`<td${c.num ? markup` class="num"` : ''}>${c.cell(row)}</td>`)
          }</tr>`
        )
      }</tbody>
</table>
</div>`
  }
${
    firstUrl || nextUrl
      ? markup`<nav class="pager" aria-label="Pages">${
        firstUrl ? markup`<a class="button quiet small" href="${firstUrl}">First page</a>` : ''
      }${
        nextUrl ? markup`<a class="button small" rel="next" href="${nextUrl}">Next page</a>` : ''
      }</nav>`
      : ''
  }
</div>`;
}

/** A `<select>` of a filter form; `value` is the current choice ('' for any). */
export function filterSelect(
  id: string,
  name: string,
  label: string,
  value: string | undefined,
  options: [string, string][],
) {
  return markup`<label for="${id}">${label}
    <select id="${id}" name="${name}">${
    options.map(([v, l]) =>
      markup`<option value="${v}"${(value ?? '') === v ? markup` selected` : ''}>${l}</option>`
    )
  }</select>
  </label>`;
}

/** The filter form of a list: a search box, the given selects, sort and order kept. */
export function filterForm(
  o: { path: string; label: string; state: SiteListState; placeholder: string; fields: Content },
) {
  return markup`<form class="toolbar" role="search" aria-label="${o.label}" action="${o.path}" method="get">
  <label class="grow" for="q">Search
    <input id="q" name="q" type="search" value="${
    o.state.params.q ?? ''
  }" autocomplete="off" spellcheck="false" placeholder="${o.placeholder}" aria-describedby="site-count">
  </label>
  ${o.fields}
  <input type="hidden" name="sort" value="${o.state.sort}">
  <input type="hidden" name="order" value="${o.state.order}">
  <button type="submit">Apply</button>
</form>`;
}

/** A link to a site object's page (`/hosts/1/host-10`). */
export function objectHref(kind: string, sourceId: number, key: string): string {
  return `/${kind}/${sourceId}/${encodeURIComponent(key)}`;
}
