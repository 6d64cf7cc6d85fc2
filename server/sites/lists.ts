/**
 * The four site lists as one shape: where the rows come from, what each filter keeps and
 * what each sort orders by. The API, the pages and the CSV exports all page through these.
 * Data access only.
 */
import type { Sql } from '../db/connect.ts';
import type { Page } from '../inventory/list_query.ts';
import { allClusters, type ClusterItem } from './clusters.ts';
import { allDatastores, type DatastoreItem } from './datastores.ts';
import { allHosts, type HostItem } from './hosts.ts';
import { allNetworks, type NetworkItem } from './networks.ts';
import { allRows, type Keyed, matches, pageSorted, type Sorted, sortRows } from './site_list.ts';

type SortValue = string | number | null;
const lower = (s: string | null) => s?.toLowerCase() ?? null;

/** Filters every list takes: a text search and a source. */
export type CommonFilters = { q?: string; source?: number };

export type ListSpec<T extends Keyed, F extends CommonFilters> = {
  rows: (sql: Sql) => Promise<T[]>;
  keep: (row: T, f: F) => boolean;
  sorts: Record<string, (row: T) => SortValue>;
};

export type HostFilters = CommonFilters & { cluster?: string; state?: string };
export type DatastoreFilters = CommonFilters & { type?: string; forecast?: string };
export type ClusterFilters = CommonFilters;
export type NetworkFilters = CommonFilters & { vlan?: number; kind?: string };

const common = (r: Keyed & { sourceId: number }, f: CommonFilters) =>
  f.source === undefined || r.sourceId === f.source;

export const HOST_LIST: ListSpec<HostItem, HostFilters> = {
  rows: allHosts,
  keep: (h, f) =>
    common(h, f) && matches(f.q, h.name, h.key, h.cluster, h.model, h.version) &&
    (!f.cluster || h.cluster === f.cluster) && (!f.state || h.state === f.state),
  sorts: {
    name: (h) => lower(h.name),
    source: (h) => lower(h.sourceName),
    cluster: (h) => lower(h.cluster),
    state: (h) => h.state,
    cores: (h) => h.cpuCores,
    memory: (h) => h.memoryMib,
    cpuUsage: (h) => h.cpuUsagePct,
    memoryUsage: (h) => h.memoryUsagePct,
    vms: (h) => h.vms,
    vcpuPerCore: (h) => h.vcpuPerCore,
    allocatedMemory: (h) => h.allocatedMemoryPct,
  },
};

export const DATASTORE_LIST: ListSpec<DatastoreItem, DatastoreFilters> = {
  rows: allDatastores,
  keep: (d, f) =>
    common(d, f) && matches(f.q, d.name, d.key, d.url) && (!f.type || d.type === f.type) &&
    (!f.forecast || d.forecast.status === f.forecast),
  sorts: {
    name: (d) => lower(d.name),
    source: (d) => lower(d.sourceName),
    type: (d) => lower(d.type),
    capacity: (d) => d.capacityGib,
    free: (d) => d.freeGib,
    used: (d) => d.usedPct,
    provisioned: (d) => d.provisionedPct,
    vms: (d) => d.vms,
    // Not filling sorts after every filling one, ascending.
    daysUntilFull: (d) => d.forecast.daysUntilFull ?? Number.MAX_VALUE,
  },
};

export const CLUSTER_LIST: ListSpec<ClusterItem, ClusterFilters> = {
  rows: allClusters,
  keep: (c, f) => common(c, f) && matches(f.q, c.name, c.datacenter),
  sorts: {
    name: (c) => lower(c.name),
    source: (c) => lower(c.sourceName),
    hosts: (c) => c.hosts,
    vms: (c) => c.vms,
    vcpuPerCore: (c) => c.vcpuPerCore,
    allocatedMemory: (c) => c.allocatedMemoryPct,
  },
};

export const NETWORK_LIST: ListSpec<NetworkItem, NetworkFilters> = {
  rows: allNetworks,
  keep: (n, f) =>
    common(n, f) && matches(f.q, n.name, n.key, n.switchName) &&
    (f.vlan === undefined || n.vlanId === f.vlan) && (!f.kind || n.kind === f.kind),
  sorts: {
    name: (n) => lower(n.name),
    source: (n) => lower(n.sourceName),
    vlan: (n) => n.vlanId,
    switch: (n) => lower(n.switchName),
    vms: (n) => n.vms,
  },
};

export type Order = { sort: string; order: 'asc' | 'desc' };

/**
 * Filtered and sorted lists, per whole list (the array cachedRows keeps while no source
 * changed) and question: paging through a list, or fifty clients asking the same, sorts once.
 */
const orders = new WeakMap<object, Map<string, Sorted<unknown>>>();
const ORDERS_KEPT = 64;

/** One page of a site list, filtered and sorted. */
export async function listPage<T extends Keyed, F extends CommonFilters>(
  sql: Sql,
  spec: ListSpec<T, F>,
  q: F & Order & { limit: number; cursor?: string | null },
): Promise<Page<T>> {
  return pageOf(await spec.rows(sql), spec, q);
}

/**
 * The API's answers, per whole list (as `orders`) and question with its page: the JSON of
 * the page as bytes. Between captures a list does not change, so a page asked again (fifty
 * clients polling, a dashboard refreshing) is written as kept instead of serialised and
 * encoded again: the ~60 kB of JSON of a 100-row page was most of such a request's time.
 */
const bodies = new WeakMap<object, Map<string, Uint8Array<ArrayBuffer>>>();
/** Pages kept per list (a page of 100 rows is ~60 kB: a few MB at most per list). */
const BODIES_KEPT = 96;
const utf8 = new TextEncoder();

/** One page of a site list as the API's JSON answer (the bytes of `JSON.stringify(listPage)`). */
export async function listPageJson<T extends Keyed, F extends CommonFilters>(
  sql: Sql,
  spec: ListSpec<T, F>,
  q: F & Order & { limit: number; cursor?: string | null },
): Promise<Uint8Array<ArrayBuffer>> {
  const all = await spec.rows(sql);
  const key = JSON.stringify(q);
  let kept = bodies.get(all);
  if (!kept) bodies.set(all, kept = new Map());
  let body = kept.get(key);
  if (!body) {
    body = utf8.encode(JSON.stringify(pageOf(all, spec, q)));
    if (kept.size >= BODIES_KEPT) kept.delete(kept.keys().next().value!);
    kept.set(key, body);
  }
  return body;
}

function pageOf<T extends Keyed, F extends CommonFilters>(
  all: T[],
  spec: ListSpec<T, F>,
  q: F & Order & { limit: number; cursor?: string | null },
): Page<T> {
  const { limit: _limit, cursor: _cursor, ...question } = q;
  const key = JSON.stringify(question);
  let kept = orders.get(all);
  if (!kept) orders.set(all, kept = new Map());
  let sorted = kept.get(key) as Sorted<T> | undefined;
  if (!sorted) {
    const rows = all.filter((r) => spec.keep(r, q));
    sorted = sortRows(rows, spec.sorts[q.sort] ?? spec.sorts.name, q.order);
    if (kept.size >= ORDERS_KEPT) kept.delete(kept.keys().next().value!);
    kept.set(key, sorted as Sorted<unknown>);
  }
  return pageSorted(sorted, q.limit, q.cursor);
}

/** The whole filtered list in order (CSV). */
export async function listAll<T extends Keyed, F extends CommonFilters>(
  sql: Sql,
  spec: ListSpec<T, F>,
  q: F & Order,
): Promise<T[]> {
  const rows = (await spec.rows(sql)).filter((r) => spec.keep(r, q));
  return allRows(rows, { value: spec.sorts[q.sort] ?? spec.sorts.name, order: q.order });
}
