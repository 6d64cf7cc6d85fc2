/** The VM list page: search-as-you-type and filters over the live inventory. */
import { html } from 'hono/html';
import type { Page, VmListItem } from '../../server/inventory/list_vms.ts';
import { page } from '../layout.ts';
import { vmTable } from '../partials/vm_table.ts';

type Filters = { q?: string; sourceId?: number; powerState?: string };

export function vmsPage(options: {
  user: string; csrf: string; filters: Filters; sources: { id: number; name: string }[];
  result: Page<VmListItem>; nextUrl: string | null;
}) {
  const f = options.filters;
  return page({
    title: 'VMs',
    current: '/vms',
    user: options.user,
    csrf: options.csrf,
    body: html`<h1>VMs</h1>
<form class="toolbar" role="search" action="/vms" method="get"
      hx-get="/vms" hx-target="#vm-table" hx-swap="outerHTML" hx-push-url="true"
      hx-trigger="input changed delay:250ms from:input[name=q], change from:select, submit">
  <label for="q">Search name, IP or UUID
    <input id="q" name="q" type="search" value="${f.q ?? ''}" autocomplete="off">
  </label>
  <label for="source">Source
    <select id="source" name="source">
      <option value="">All sources</option>
      ${options.sources.map((s) => html`<option value="${s.id}" ${s.id === f.sourceId ? 'selected' : ''}>${s.name}</option>`)}
    </select>
  </label>
  <label for="power">Power
    <select id="power" name="power">
      <option value="">Any</option>
      ${[['poweredOn', 'On'], ['poweredOff', 'Off'], ['suspended', 'Suspended']].map(([v, l]) =>
        html`<option value="${v}" ${v === f.powerState ? 'selected' : ''}>${l}</option>`)}
    </select>
  </label>
  <button type="submit">Filter</button>
</form>
${vmTable(options.result, options.nextUrl)}`,
  });
}
