/**
 * What a row of the VM list is made of, as SQL text written once: the columns a list row has
 * in every relation, the sorts' expressions, and a page row's columns and its item as JSON
 * (PostgreSQL writes the JSON an API page sends). Shared by the list's statements
 * (list_vms.ts) and its in-memory model (list_model.ts), so both answer the same bytes.
 */
import type { SortRow, VmAsOf, VmSort } from './list_query.ts';

/** The columns a list row has, whichever relation it comes from. */
export const ROW_COLUMNS =
  'source_id, vm_key, source_vm_id, bios_uuid, instance_uuid, name, power_state, ' +
  'is_template, vcpu, ram_mb, provisioned_disk_gb, used_disk_gb, datacenter, cluster, host, ' +
  'resource_pool, folder, guest_os, ip_addresses, tags, created_at, first_seen_at, state_at';

/** Sort columns: whitelisted SQL expressions, never user text. */
export const SORT_SQL: Record<VmSort, string> = {
  name: 'lower(i.name)',
  // The name of the VM's source (joined as `src`, see readPage): sources are few and renamed rarely.
  source: 'src.name',
  power: 'i.power_state',
  vcpu: 'i.vcpu',
  ram: 'i.ram_mb',
  disk: 'i.provisioned_disk_gb',
  created: "coalesce(i.created_at, '-infinity'::timestamptz)",
  firstSeen: 'i.first_seen_at',
};

/** A row's sort value as its cursor carries it: as read (numeric as text), times as ms. */
export function cursorSortValue(v: SortRow['sort_value']): string | number | null {
  return v instanceof Date ? v.getTime() : v;
}

/**
 * A time as the API answers it (Date.toISOString's form: UTC, milliseconds), made by
 * PostgreSQL: a Date parsed from each timestamp and printed again took most of the node
 * CPU of a page. Like that Date, it drops digits below the millisecond.
 */
const iso = (column: string) =>
  `to_char(${column} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;

/**
 * A page row's last sighting, from its lifecycle's base row `l` and its source `s` as the
 * vm_lifecycle view computes it (migration 0006): the page joins the base table, whose rows'
 * source is joined once for the page, not again for each row inside the view (a fifth of the
 * buffers a page of 100 found by a name search read).
 */
const LAST_SEEN = 'case when l.in_newest_capture then s.last_capture_at else l.last_seen_at end';

/** The columns of a page row that toItem reads (times as iso text), written once. */
const NOW_COLUMNS = {
  bios: 'p.bios_uuid',
  instance: 'p.instance_uuid',
  ips: 'p.ip_addresses',
  tags: 'p.tags',
  created: 'p.created_at',
  firstSeen: 'p.first_seen_at',
};
export const PAGE_COLUMNS = pageColumns(NOW_COLUMNS);

/**
 * The deleted VMs now: their rows carry their lifecycle's last sighting and deletion
 * (migration 0071, written by ingest_apply_capture), so the page joins no lifecycle.
 */
export const DELETED_PAGE_COLUMNS = pageColumns(NOW_COLUMNS, 'p');

/**
 * As of a past moment the rows are facts: UUIDs, addresses and tags are the VM's as known now
 * (`k`), and creation and first sighting its lifecycle's (`l`) when it has one. Chosen here,
 * not in toItem, so that a row carries each once.
 */
export const AS_OF_PAGE_COLUMNS = pageColumns({
  bios: 'coalesce(k.bios_uuid, p.bios_uuid)',
  instance: 'coalesce(k.instance_uuid, p.instance_uuid)',
  ips: 'coalesce(k.ip_addresses, p.ip_addresses)',
  tags: 'coalesce(k.tags, p.tags)',
  created: 'case when l.first_seen_at is not null then l.created_at else p.created_at end',
  firstSeen: 'coalesce(l.first_seen_at, p.first_seen_at)',
});

/**
 * `k`, for AS_OF_PAGE_COLUMNS: the VM of a page row `p` of a past moment as known now, live
 * or deleted (by key, a probe each; limit 1 keeps it one).
 */
export const KNOWN_NOW_JOIN = `left join lateral (
    select x.bios_uuid, x.instance_uuid, x.ip_addresses, x.tags from vm_inventory x
    where x.source_id = p.source_id and x.vm_key = p.vm_key
    union all
    select x.bios_uuid, x.instance_uuid, x.ip_addresses, x.tags from vm_inventory_deleted x
    where x.source_id = p.source_id and x.vm_key = p.vm_key
    limit 1) k on true`;

/** As AS_OF_PAGE_COLUMNS, of asOfByName's rows, which carry the VM as known now (`k_…`). */
export const AS_OF_BY_NAME_PAGE_COLUMNS = pageColumns({
  bios: 'coalesce(p.k_bios_uuid, p.bios_uuid)',
  instance: 'coalesce(p.k_instance_uuid, p.instance_uuid)',
  ips: 'coalesce(p.k_ip_addresses, p.ip_addresses)',
  tags: 'coalesce(p.k_tags, p.tags)',
  created: 'case when l.first_seen_at is not null then l.created_at else p.created_at end',
  firstSeen: 'coalesce(l.first_seen_at, p.first_seen_at)',
});

/** The page's columns: `c` as chosen above; last sighting and deletion from `lifecycle`'s row. */
function pageColumns(
  c: Record<'bios' | 'instance' | 'ips' | 'tags' | 'created' | 'firstSeen', string>,
  lifecycle = 'l',
) {
  return 'p.source_id, p.vm_key, p.source_vm_id, p.name, p.power_state, p.is_template, p.vcpu, ' +
    'p.ram_mb, p.provisioned_disk_gb, p.used_disk_gb, p.datacenter, p.cluster, p.host, ' +
    'p.resource_pool, p.folder, p.guest_os, p.sort_value, ' +
    `${c.bios} as bios_uuid, ${c.instance} as instance_uuid, ${c.ips} as ip_addresses, ` +
    `${c.tags} as tags, ${iso(c.created)} as created_at, ${iso(c.firstSeen)} as first_seen_at, ` +
    `${iso('p.state_at')} as state_at, s.name as source_name, s.kind as source_kind, ` +
    `${iso(lifecycle === 'l' ? LAST_SEEN : `${lifecycle}.last_seen_at`)} as last_seen_at, ` +
    `${iso(`${lifecycle}.deleted_at`)} as deleted_at, ${lifecycle}.deleted_from`;
}

/**
 * An item of the list as JSON, built by PostgreSQL from a page row `p` (PAGE_COLUMNS' names):
 * the keys, order and values of toItem's object as JSON.stringify writes it (row_to_json is
 * compact; numeric(16,3) as float8 prints as Number() of its text does).
 */
export const ITEM_JSON = `(select row_to_json(j)::text from (select p.vm_key as "key",
  p.source_id as "sourceId", p.source_name as "sourceName", p.source_kind as "sourceKind",
  p.source_vm_id as "sourceVmId", p.name as "name", p.power_state as "powerState",
  p.is_template as "isTemplate", p.vcpu as "vcpu", p.ram_mb as "memoryMib",
  p.provisioned_disk_gb::float8 as "provisionedDiskGib", p.used_disk_gb::float8 as "usedDiskGib",
  p.ram_mb as "ramMb", p.provisioned_disk_gb::float8 as "provisionedDiskGb",
  p.used_disk_gb::float8 as "usedDiskGb", p.datacenter as "datacenter", p.cluster as "cluster",
  p.host as "host", p.resource_pool as "resourcePool", p.folder as "folder",
  p.guest_os as "guestOs", p.ip_addresses as "ipAddresses", p.tags as "tags",
  p.bios_uuid as "biosUuid", p.instance_uuid as "instanceUuid", p.created_at as "createdAt",
  p.first_seen_at as "firstSeenAt", p.last_seen_at as "lastSeenAt", p.state_at as "stateAt",
  case when p.deleted_at is not null then 'deleted' else 'live' end as "state",
  p.deleted_at as "deletedAt", p.deleted_from as "deletedFrom") j) as item`;

/** A page whose items are JSON text (an array's elements, comma-separated), see ITEM_JSON. */
export type VmJsonPage = {
  itemsJson: string;
  itemCount: number;
  total: number;
  next: string | null;
  asOf?: VmAsOf;
};
