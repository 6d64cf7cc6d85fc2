/** The VM list page: debounced search-as-you-type, filters, sortable columns, pages, CSV export. */
import { markup } from '../markup.ts';
import { fmtLocalField } from '../format.ts';
import { pageHead } from '../components.ts';
import { page, type Viewer } from '../layout.ts';
import {
  type Page,
  type VmAsOf,
  type VmListItem,
  type VmListState,
  vmTable,
} from '../partials/vm_table.ts';

/** The values the select filters offer. */
export type VmFilterChoices = {
  clusters: string[];
  pools: string[];
  hosts: string[];
  datastores: { key: string; name: string }[];
};

const sel = (on: boolean) => (on ? markup` selected` : '');

/**
 * The values a select offers, with the one chosen (from a shared link, or a place no VM is in
 * now) among them: otherwise the select would show its "any" option, and the next change to
 * any filter would send that and drop the chosen filter without a word.
 */
function offered(values: string[], chosen: string | undefined): string[] {
  return chosen && !values.includes(chosen) ? [chosen, ...values] : values;
}

export function vmsPage(viewer: Viewer, o: {
  state: VmListState;
  sources: { id: number; name: string }[];
  choices: VmFilterChoices;
  result: Page<VmListItem> & { asOf?: VmAsOf };
  /** How a filter chip names a value (sources and datastores by name). */
  names: (k: string, v: string) => string;
}) {
  const f = o.state.params;
  return page({
    title: 'VMs',
    current: '/vms',
    viewer,
    body: markup`${
      pageHead('VMs', {
        sub:
          'Every VM across all sources: live now, deleted, or the estate as of any moment. Search matches a name part, or an exact VM id, UUID or IP.',
      })
    }
<form class="toolbar" role="search" aria-label="Filter VMs" action="/vms" method="get"
      hx-get="/vms" hx-target="#vm-table" hx-swap="outerHTML" hx-push-url="true" hx-indicator="#vm-busy"
      hx-trigger="input changed delay:250ms from:#q, search from:#q, change from:select, change from:#f-at, change from:#f-folder, change from:#f-tag, submit">
  <label class="grow" for="q">Search
    <input id="q" name="q" type="search" value="${
      f.q ?? ''
    }" autocomplete="off" spellcheck="false" placeholder="name, IP, UUID or id" aria-describedby="vm-count">
  </label>
  <label for="f-state">State
    <select id="f-state" name="state">
      <option value="">${f.at ? 'All then' : 'Live'}</option>
      ${
      [['live', 'Live now'], ['deleted', 'Deleted'], ['all', 'Live and deleted']].map(([v, l]) =>
        markup`<option value="${v}"${sel(v === f.state)}>${l}</option>`
      )
    }
    </select>
  </label>
  <label for="f-at">As of (UTC)
    <input id="f-at" name="at" type="datetime-local" value="${fmtLocalField(f.at)}">
  </label>
  <label for="f-source">Source
    <select id="f-source" name="source">
      <option value="">All sources</option>
      ${
      o.sources.map((s) =>
        markup`<option value="${s.id}"${sel(String(s.id) === f.source)}>${s.name}</option>`
      )
    }
    </select>
  </label>
  <label for="f-cluster">Cluster
    <select id="f-cluster" name="cluster">
      <option value="">Any cluster</option>
      ${
      offered(o.choices.clusters, f.cluster).map((c) =>
        markup`<option${sel(c === f.cluster)}>${c}</option>`
      )
    }
    </select>
  </label>
  <label for="f-pool">Pool
    <select id="f-pool" name="pool">
      <option value="">Any pool</option>
      ${
      offered(o.choices.pools, f.pool).map((c) => markup`<option${sel(c === f.pool)}>${c}</option>`)
    }
    </select>
  </label>
  <label for="f-host">Host
    <select id="f-host" name="host">
      <option value="">Any host</option>
      ${
      offered(o.choices.hosts, f.host).map((h) => markup`<option${sel(h === f.host)}>${h}</option>`)
    }
    </select>
  </label>
  <label for="f-datastore">Datastore
    <select id="f-datastore" name="datastore">
      <option value="">Any datastore</option>
      ${
      [
        ...(f.datastore && !o.choices.datastores.some((d) => d.key === f.datastore)
          ? [{ key: f.datastore, name: f.datastore }]
          : []),
        ...o.choices.datastores,
      ].map((d) => markup`<option value="${d.key}"${sel(d.key === f.datastore)}>${d.name}</option>`)
    }
    </select>
  </label>
  <label for="f-os">Guest OS
    <select id="f-os" name="os">
      <option value="">Any</option>
      ${
      [['windows', 'Windows'], ['linux', 'Linux'], ['other', 'Other or unknown']].map(([v, l]) =>
        markup`<option value="${v}"${sel(v === f.os)}>${l}</option>`
      )
    }
    </select>
  </label>
  <label for="f-folder">Folder (and below)
    <input id="f-folder" name="folder" type="text" value="${
      f.folder ?? ''
    }" placeholder="/DC/vm/prod" autocomplete="off" spellcheck="false">
  </label>
  <label for="f-tag">Tag
    <input id="f-tag" name="tag" type="text" value="${
      f.tag ?? ''
    }" placeholder="Category:Name or tag" autocomplete="off" spellcheck="false">
  </label>
  <label for="f-power">Power
    <select id="f-power" name="power">
      <option value="">Any</option>
      ${
      [['poweredOn', 'On'], ['poweredOff', 'Off'], ['suspended', 'Suspended']].map(([v, l]) =>
        markup`<option value="${v}"${sel(v === f.power)}>${l}</option>`
      )
    }
    </select>
  </label>
  <label for="f-template">Templates
    <select id="f-template" name="template">
      <option value=""${sel(!f.template)}>Included</option>
      <option value="false"${sel(f.template === 'false')}>Excluded</option>
      <option value="true"${sel(f.template === 'true')}>Only templates</option>
    </select>
  </label>
  <input type="hidden" id="f-sort" name="sort" value="${o.state.sort}">
  <input type="hidden" id="f-order" name="order" value="${o.state.order}">
  <button type="submit">Apply</button>
  <span id="vm-busy" class="busy muted small" aria-hidden="true">Loading…</span>
</form>
${vmTable(o.result, o.state, { names: o.names })}`,
  });
}
