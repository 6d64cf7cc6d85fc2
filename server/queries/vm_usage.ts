/**
 * A VM's CPU and memory usage over a range, read from the usage tiers (the finest tier that
 * still covers the range's start, server/aggregate/usage_series.ts), with what the VM has
 * (vCPU × its host's core speed, configured memory) to read them against; and the free
 * space of its guest's file systems at its newest capture. Data access only.
 */
import { z } from 'zod';
import { iso, type Sql } from '../db/connect.ts';
import { tierFor, usageSeries, type UsageTier } from '../aggregate/usage_series.ts';
import type { UsageRetention } from '../aggregate/usage_retention.ts';

const num = z.number().nullable();

/** One point: a capture (avg = max = the value), an hour or a day of the tiers. */
export const VmUsagePoint = z.object({
  at: z.string(),
  tier: z.enum(['capture', 'hourly', 'daily']),
  cpuAvgMhz: num,
  cpuMaxMhz: num,
  /** Memory the guest actively uses (vSphere guestMemoryUsage; Proxmox mem). */
  guestMemoryAvgMib: num,
  guestMemoryMaxMib: num,
  /** Host memory the VM consumes (vSphere hostMemoryUsage). */
  hostMemoryAvgMib: num,
  hostMemoryMaxMib: num,
});
export type VmUsagePoint = z.infer<typeof VmUsagePoint>;

/** A guest file system at the VM's newest capture. */
export const GuestFileSystem = z.object({
  path: z.string(),
  freeMib: num,
  /** From the VM's configuration (`guest.disks`), when captured. */
  capacityMib: num,
  fileSystem: z.string().nullable(),
});

export const VmUsage = z.object({
  from: z.string(),
  to: z.string(),
  /** The tier the range was read from; past the last aggregated day points are per capture. */
  tier: z.enum(['capture', 'hourly', 'daily']),
  /** vCPU × the core speed of the VM's host; null when either is unknown. */
  cpuCapacityMhz: num,
  /** The VM's configured memory. */
  memoryMib: num,
  points: z.array(VmUsagePoint),
  guestFileSystems: z.object({ at: z.string().nullable(), items: z.array(GuestFileSystem) }),
});
export type VmUsage = z.infer<typeof VmUsage>;

const n = (v: string | null | undefined) => (v === null || v === undefined ? null : Number(v));

/** When the VM was last captured; null when the source has no such VM. */
export async function vmLastSeen(sql: Sql, sourceId: number, key: string) {
  const [l] = await sql`select last_seen_at from vm_lifecycle
    where source_id = ${sourceId} and vm_key = ${key}`;
  return l ? iso(l.last_seen_at) : null;
}

/** The usage of a VM over [from, to); null when the source has no such VM. */
export async function vmUsage(
  sql: Sql,
  q: {
    sourceId: number;
    key: string;
    from: Date;
    to: Date;
    retention: UsageRetention;
    tier?: UsageTier;
    now?: Date;
  },
): Promise<VmUsage | null> {
  // The VM's newest capture: its size, its host, its guest's free space (one key probe each).
  const [vm] = await sql`
    select f.vcpu, f.ram_mb, f.host, f.snapshot_time, f.guest_disk_free,
      (select c.config->'guest'->'disks' from vm_config_history c
       where c.source_id = l.source_id and c.vm_key = l.vm_key
       order by c.valid_from desc limit 1) as guest_disks,
      (select h.cpu_mhz from host_inventory h
       where h.source_id = f.source_id and (h.name = f.host or h.host_key = f.host)
       order by h.last_seen_at desc limit 1) as host_mhz
    from vm_lifecycle l
    join vm_hourly_stats f on f.source_id = l.source_id and f.snapshot_time = l.last_seen_at
      and f.vm_key = l.vm_key
    where l.source_id = ${q.sourceId} and l.vm_key = ${q.key}`;
  if (!vm) return null;
  const tier = q.tier ?? tierFor(q.from, q.now ?? new Date(), q.retention);
  const points = await usageSeries(sql, {
    object: 'vm',
    sourceId: q.sourceId,
    key: q.key,
    from: q.from,
    to: q.to,
    retention: q.retention,
    tier,
    now: q.now,
  });
  const configured = new Map(
    ((vm.guest_disks ?? []) as { path: string; capacityMib?: number; fileSystem?: string }[])
      .map((d) => [d.path, d]),
  );
  const free = (vm.guest_disk_free ?? []) as { path: string; freeMib?: number | null }[];
  return {
    from: q.from.toISOString(),
    to: q.to.toISOString(),
    tier,
    cpuCapacityMhz: vm.host_mhz ? vm.vcpu * vm.host_mhz : null,
    memoryMib: vm.ram_mb,
    points: points.map((p) => ({
      at: p.t,
      tier: p.tier,
      cpuAvgMhz: n(p.values.cpu_avg),
      cpuMaxMhz: n(p.values.cpu_max),
      guestMemoryAvgMib: n(p.values.guest_mem_avg),
      guestMemoryMaxMib: n(p.values.guest_mem_max),
      hostMemoryAvgMib: n(p.values.host_mem_avg),
      hostMemoryMaxMib: n(p.values.host_mem_max),
    })),
    guestFileSystems: {
      at: free.length ? iso(vm.snapshot_time) : null,
      items: free.map((g) => ({
        path: g.path,
        freeMib: g.freeMib ?? null,
        capacityMib: configured.get(g.path)?.capacityMib ?? null,
        fileSystem: configured.get(g.path)?.fileSystem ?? null,
      })),
    },
  };
}
