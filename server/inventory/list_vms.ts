/**
 * The live inventory as a list: search, filters and keyset pagination over vm_inventory.
 * Data access only: handed a `sql`, knows nothing of HTTP.
 */
import type { Sql } from '../db/connect.ts';

export type VmListQuery = {
  q?: string;
  sourceId?: number;
  powerState?: 'poweredOn' | 'poweredOff' | 'suspended';
  limit: number;
  cursor?: string | null;
};

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
  ramMb: number;
  provisionedDiskGb: number;
  usedDiskGb: number | null;
  datacenter: string | null;
  cluster: string | null;
  host: string | null;
  resourcePool: string | null;
  guestOs: string | null;
  ipAddresses: string[];
  createdAt: string | null;
  firstSeenAt: string;
  lastSeenAt: string;
};

export type Page<T> = { items: T[]; total: number; next: string | null };

type Cursor = { n: string; s: number; k: string };

/** Opaque cursor: the sort key of the last row of the previous page. */
export function encodeCursor(c: Cursor): string {
  return Buffer.from(JSON.stringify(c)).toString('base64url');
}

/** Decodes a cursor; null when it is not one of ours. */
export function decodeCursor(value: string): Cursor | null {
  try {
    const c = JSON.parse(Buffer.from(value, 'base64url').toString('utf8'));
    if (typeof c?.n === 'string' && Number.isInteger(c?.s) && typeof c?.k === 'string') return c;
  } catch {
    // fall through
  }
  return null;
}

/** Escapes LIKE wildcards so a search for "50%" means the characters, not a pattern. */
function likePattern(q: string): string {
  return `%${q.replace(/[\\%_]/g, (m) => `\\${m}`)}%`;
}

/** One page of live VMs ordered by name, with the total matching count. */
export async function listVms(sql: Sql, query: VmListQuery): Promise<Page<VmListItem>> {
  const cursor = query.cursor ? decodeCursor(query.cursor) : null;
  const where = sql`
    where true
    ${query.q ? sql`and (i.name ilike ${likePattern(query.q)} or i.vm_key = ${query.q}
      or i.instance_uuid = ${query.q} or i.bios_uuid = ${query.q} or ${query.q} = any(i.ip_addresses))` : sql``}
    ${query.sourceId ? sql`and i.source_id = ${query.sourceId}` : sql``}
    ${query.powerState ? sql`and i.power_state = ${query.powerState}` : sql``}`;
  const rows = await sql`
    select i.*, s.name as source_name, s.kind as source_kind, lower(i.name) as sort_name, l.last_seen_at
    from vm_inventory i join sources s on s.id = i.source_id
    join vm_lifecycle l on l.source_id = i.source_id and l.vm_key = i.vm_key
    ${where}
    ${cursor ? sql`and (lower(i.name), i.source_id, i.vm_key) > (${cursor.n}, ${cursor.s}, ${cursor.k})` : sql``}
    order by lower(i.name), i.source_id, i.vm_key
    limit ${query.limit + 1}`;
  const [{ count }] = await sql`select count(*)::int as count from vm_inventory i ${where}`;
  const hasMore = rows.length > query.limit;
  const page = rows.slice(0, query.limit);
  const last = page[page.length - 1];
  return {
    items: page.map(toItem),
    total: count,
    next: hasMore && last ? encodeCursor({ n: last.sort_name, s: last.source_id, k: last.vm_key }) : null,
  };
}

function toItem(r: Record<string, any>): VmListItem {
  return {
    key: r.vm_key,
    sourceId: r.source_id,
    sourceName: r.source_name,
    sourceKind: r.source_kind,
    sourceVmId: r.source_vm_id,
    name: r.name,
    powerState: r.power_state,
    isTemplate: r.is_template,
    vcpu: r.vcpu,
    ramMb: r.ram_mb,
    provisionedDiskGb: Number(r.provisioned_disk_gb),
    usedDiskGb: r.used_disk_gb === null ? null : Number(r.used_disk_gb),
    datacenter: r.datacenter,
    cluster: r.cluster,
    host: r.host,
    resourcePool: r.resource_pool,
    guestOs: r.guest_os,
    ipAddresses: r.ip_addresses,
    createdAt: r.created_at ? new Date(r.created_at).toISOString() : null,
    firstSeenAt: new Date(r.first_seen_at).toISOString(),
    lastSeenAt: new Date(r.last_seen_at).toISOString(),
  };
}

export type FleetSummary = { sources: number; vms: number; poweredOn: number; vcpu: number; ramGb: number; diskGb: number };

/** Fleet totals of the live inventory (templates excluded from sizing). */
export async function fleetSummary(sql: Sql): Promise<FleetSummary> {
  const [r] = await sql`
    select (select count(*) from sources)::int as sources,
           count(*) filter (where not is_template)::int as vms,
           count(*) filter (where power_state = 'poweredOn' and not is_template)::int as powered_on,
           coalesce(sum(vcpu) filter (where not is_template), 0)::bigint as vcpu,
           coalesce(sum(ram_mb) filter (where not is_template), 0)::bigint as ram_mb,
           coalesce(sum(provisioned_disk_gb) filter (where not is_template), 0)::float8 as disk_gb
    from vm_inventory`;
  return {
    sources: r.sources, vms: r.vms, poweredOn: r.powered_on, vcpu: Number(r.vcpu),
    ramGb: Math.round(Number(r.ram_mb) / 1024), diskGb: Math.round(r.disk_gb),
  };
}

/** Sources for filters and cards. */
export async function listSources(sql: Sql): Promise<{ id: number; kind: string; name: string; lastCaptureAt: string | null; vms: number }[]> {
  const rows = await sql`
    select s.id, s.kind, s.name, s.last_capture_at,
           (select count(*) from vm_inventory i where i.source_id = s.id)::int as vms
    from sources s order by s.name`;
  return rows.map((r) => ({
    id: r.id, kind: r.kind, name: r.name, vms: r.vms,
    lastCaptureAt: r.last_capture_at ? new Date(r.last_capture_at).toISOString() : null,
  }));
}
