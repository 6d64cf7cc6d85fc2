/**
 * Hosts (ESXi hosts, Proxmox nodes): the list with the VMs on each, and one host with its
 * hardware, state timeline, VMs and usage over time. Data access only: takes `sql`, knows no HTTP.
 *
 * A host's VMs are the live VMs whose `host` is the host's name (or its key): the capture
 * names a VM's host by name. Allocation counts powered-on VMs that are not templates, against
 * the host's physical cores and memory.
 */
import type { Row } from 'postgres';
import { z } from 'zod';
import { iso, type Sql } from '../db/connect.ts';
import { cachedRows, round } from './site_list.ts';

export const HOST_STATES = [
  'connected',
  'disconnected',
  'notResponding',
  'maintenance',
  'gone',
] as const;

/** A host as the list (API, page, CSV) shows it. */
export const HostItem = z.object({
  sourceId: z.number().int(),
  sourceName: z.string(),
  key: z.string(),
  name: z.string(),
  datacenter: z.string().nullable(),
  cluster: z.string().nullable(),
  /** maintenance when in maintenance mode; gone when the source's newest capture left it out. */
  state: z.string(),
  connectionState: z.string().nullable(),
  powerState: z.string().nullable(),
  maintenanceMode: z.boolean().nullable(),
  version: z.string().nullable(),
  build: z.string().nullable(),
  vendor: z.string().nullable(),
  model: z.string().nullable(),
  cpuModel: z.string().nullable(),
  cpuCores: z.number().int().nullable(),
  cpuMhz: z.number().nullable(),
  memoryMib: z.number().nullable(),
  cpuUsagePct: z.number().nullable(),
  memoryUsagePct: z.number().nullable(),
  vms: z.number().int(),
  poweredOnVms: z.number().int(),
  /** vCPUs of powered-on VMs per physical core. */
  vcpuPerCore: z.number().nullable(),
  allocatedMemoryMib: z.number(),
  /** Memory of powered-on VMs as a percentage of the host's. */
  allocatedMemoryPct: z.number().nullable(),
  lastSeenAt: z.string(),
});
export type HostItem = z.infer<typeof HostItem>;

const pct = (part: number | null, whole: number | null) =>
  part === null || !whole ? null : round((part / whole) * 100, 1);

function stateOf(r: Row): string {
  if (r.last_capture_at && new Date(r.last_seen_at) < new Date(r.last_capture_at)) return 'gone';
  if (r.doc?.maintenanceMode === true) return 'maintenance';
  return r.connection_state ?? 'unknown';
}

function toHost(r: Row): HostItem {
  const d = r.doc ?? {};
  const cores = r.cpu_cores as number | null;
  const capacityMhz = cores !== null && r.cpu_mhz !== null ? cores * r.cpu_mhz : null;
  return {
    sourceId: r.source_id,
    sourceName: r.source_name,
    key: r.host_key,
    name: r.name,
    datacenter: r.datacenter,
    cluster: r.cluster,
    state: stateOf(r),
    connectionState: r.connection_state,
    powerState: r.power_state,
    maintenanceMode: d.maintenanceMode ?? null,
    version: r.version,
    build: d.build ?? null,
    vendor: d.vendor ?? null,
    model: d.model ?? null,
    cpuModel: d.cpuModel ?? null,
    cpuCores: cores,
    cpuMhz: r.cpu_mhz,
    memoryMib: r.memory_mb,
    cpuUsagePct: pct(r.cpu_usage_mhz, capacityMhz),
    memoryUsagePct: pct(r.memory_usage_mib, r.memory_mb),
    vms: r.vms ?? 0,
    poweredOnVms: r.vms_on ?? 0,
    vcpuPerCore: cores ? round((r.vcpu_on ?? 0) / cores, 2) : null,
    allocatedMemoryMib: r.ram_on ?? 0,
    allocatedMemoryPct: pct(r.ram_on ?? 0, r.memory_mb),
    lastSeenAt: iso(r.last_seen_at)!,
  };
}

/** Every host ever captured, with its newest state and the VMs on it now. */
export function allHosts(sql: Sql): Promise<HostItem[]> {
  return cachedRows(sql, 'hosts', async (sourceId) => {
    const on = sql`power_state = 'poweredOn' and not is_template`;
    const rows = await sql`
      select h.*, s.name as source_name, s.last_capture_at, o.doc, f.cpu_usage_mhz, f.memory_usage_mib,
        v.vms, v.vms_on, v.vcpu_on, v.ram_on
      from host_inventory h
      join sources s on s.id = h.source_id
      left join site_object_history o on o.source_id = h.source_id and o.kind = 'host'
        and o.object_key = h.host_key and o.valid_to is null
      left join host_facts f on f.source_id = h.source_id and f.host_key = h.host_key
        and f.snapshot_time = h.last_seen_at
      left join (
        select host, count(*)::int as vms, count(*) filter (where ${on})::int as vms_on,
          coalesce(sum(vcpu) filter (where ${on}), 0)::float8 as vcpu_on,
          coalesce(sum(ram_mb) filter (where ${on}), 0)::float8 as ram_on
        from vm_inventory where source_id = ${sourceId} and host is not null group by host
      ) v on v.host = h.name
      where h.source_id = ${sourceId}`;
    return rows.map(toHost);
  });
}

/** One span of a host's state: from, to (null: still), the state. */
export const HostStateSpan = z.object({
  from: z.string(),
  to: z.string().nullable(),
  state: z.string(),
  connectionState: z.string().nullable(),
  maintenanceMode: z.boolean().nullable(),
  powerState: z.string().nullable(),
});
export type HostStateSpan = z.infer<typeof HostStateSpan>;

/** A VM on a host (or a datastore, a network, a cluster). */
export const PlacedVm = z.object({
  key: z.string(),
  name: z.string(),
  powerState: z.string(),
  isTemplate: z.boolean(),
  vcpu: z.number().int(),
  memoryMib: z.number().int(),
  provisionedDiskGib: z.number(),
  cluster: z.string().nullable(),
  host: z.string().nullable(),
});
export type PlacedVm = z.infer<typeof PlacedVm>;

export const toPlacedVm = (r: Row): PlacedVm => ({
  key: r.vm_key,
  name: r.name,
  powerState: r.power_state,
  isTemplate: r.is_template,
  vcpu: r.vcpu,
  memoryMib: r.ram_mb,
  provisionedDiskGib: Number(r.provisioned_disk_gb),
  cluster: r.cluster,
  host: r.host,
});

/** One capture's host usage. */
export const HostUsagePoint = z.object({
  at: z.string(),
  cpuUsageMhz: z.number().nullable(),
  cpuCapacityMhz: z.number().nullable(),
  memoryUsageMib: z.number().nullable(),
  memoryMib: z.number().nullable(),
});
export type HostUsagePoint = z.infer<typeof HostUsagePoint>;

/** The hardware and networking a host's configuration document holds. */
export const HostHardware = z.object({
  cpuSockets: z.number().int().nullable(),
  cpuThreads: z.number().int().nullable(),
  serialNumber: z.string().nullable(),
  bootTime: z.string().nullable(),
  nics: z.array(z.looseObject({ device: z.string() })),
  switches: z.array(z.looseObject({ name: z.string() })),
});

export const HostDetail = z.object({
  host: HostItem,
  hardware: HostHardware,
  timeline: z.array(HostStateSpan),
  vms: z.array(PlacedVm),
  usage: z.object({ from: z.string(), to: z.string(), points: z.array(HostUsagePoint) }),
});
export type HostDetail = z.infer<typeof HostDetail>;

/** Merges consecutive configuration rows of a host into spans of one state. */
export function stateTimeline(
  rows: { valid_from: Date; valid_to: Date | null; doc: Record<string, unknown> }[],
): HostStateSpan[] {
  const spans: HostStateSpan[] = [];
  for (const r of rows) {
    const maintenance = (r.doc.maintenanceMode as boolean | undefined) ?? null;
    const connection = (r.doc.connectionState as string | undefined) ?? null;
    const span: HostStateSpan = {
      from: iso(r.valid_from)!,
      to: iso(r.valid_to),
      state: maintenance ? 'maintenance' : connection ?? 'unknown',
      connectionState: connection,
      maintenanceMode: maintenance,
      powerState: (r.doc.powerState as string | undefined) ?? null,
    };
    const last = spans.at(-1);
    if (
      last && last.to === span.from && last.state === span.state &&
      last.powerState === span.powerState
    ) {
      last.to = span.to;
    } else spans.push(span);
  }
  return spans;
}

/** A host by key (or, as VMs name it, by name) with its history; null when unknown. */
export async function getHost(
  sql: Sql,
  sourceId: number,
  keyOrName: string,
  o: { days: number } = { days: 7 },
): Promise<HostDetail | null> {
  const hosts = await allHosts(sql);
  const host = hosts.find((h) => h.sourceId === sourceId && h.key === keyOrName) ??
    hosts.find((h) => h.sourceId === sourceId && h.name === keyOrName);
  if (!host) return null;
  const to = new Date(Date.parse(host.lastSeenAt) + 1000);
  const from = new Date(to.getTime() - o.days * 86400_000);
  const [history, vms, usage] = await Promise.all([
    sql<{ valid_from: Date; valid_to: Date | null; doc: Record<string, unknown> }[]>`
      select valid_from, valid_to, doc from site_object_history
      where source_id = ${sourceId} and kind = 'host' and object_key = ${host.key}
      order by valid_from`,
    sql`select * from vm_inventory where source_id = ${sourceId} and host = ${host.name}
        order by lower(name), vm_key limit 5000`,
    sql`select snapshot_time, cpu_usage_mhz, cpu_cores, cpu_mhz, memory_usage_mib, memory_mb
        from host_facts where source_id = ${sourceId} and host_key = ${host.key}
          and snapshot_time >= ${from} and snapshot_time < ${to}
        order by snapshot_time`,
  ]);
  const doc = history.at(-1)?.doc ?? {};
  return {
    host,
    hardware: {
      cpuSockets: (doc.cpuSockets as number | undefined) ?? null,
      cpuThreads: (doc.cpuThreads as number | undefined) ?? null,
      serialNumber: (doc.serialNumber as string | undefined) ?? null,
      bootTime: (doc.bootTime as string | undefined) ?? null,
      nics: (doc.nics as { device: string }[] | undefined) ?? [],
      switches: (doc.switches as { name: string }[] | undefined) ?? [],
    },
    timeline: stateTimeline(history),
    vms: vms.map(toPlacedVm),
    usage: {
      from: from.toISOString(),
      to: to.toISOString(),
      points: usage.map((r) => ({
        at: iso(r.snapshot_time)!,
        cpuUsageMhz: r.cpu_usage_mhz,
        cpuCapacityMhz: r.cpu_cores !== null && r.cpu_mhz !== null ? r.cpu_cores * r.cpu_mhz : null,
        memoryUsageMib: r.memory_usage_mib,
        memoryMib: r.memory_mb,
      })),
    },
  };
}
