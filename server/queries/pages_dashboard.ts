/**
 * Dashboard data the shared query modules do not have: fleet totals now and a day earlier
 * (from source_totals), whether pg-boss is installed (its failed jobs come from
 * jobs/job_queries.ts), and a cheap signal that a capture arrived (for live updates).
 * Data access only.
 */
import type { Sql } from '../db/connect.ts';

export type FleetTotals = {
  vms: number;
  poweredOn: number;
  vcpu: number;
  ramGb: number;
  diskGb: number;
  sources: number;
  at: string | null;
};
export type FleetChange = { now: FleetTotals; dayBefore: FleetTotals | null };

/** A sum as PostgreSQL returns it: int8 as a number, numeric as text; null over no rows. */
type Sum = number | string | null;

function toTotals(r: {
  vms: Sum;
  powered_on: Sum;
  vcpu: Sum;
  ram_mb: Sum;
  disk_gb: Sum;
  sources: Sum;
  at: Date | null;
}): FleetTotals {
  return {
    vms: Number(r.vms ?? 0),
    poweredOn: Number(r.powered_on ?? 0),
    vcpu: Number(r.vcpu ?? 0),
    ramGb: Number(r.ram_mb ?? 0) / 1024,
    diskGb: Number(r.disk_gb ?? 0),
    sources: Number(r.sources ?? 0),
    at: r.at ? new Date(r.at).toISOString() : null,
  };
}

/**
 * Fleet totals from each source's latest capture, and from each source's latest capture at
 * least 24 hours before that one ("yesterday"). One index probe per source on
 * source_totals' primary key, so it costs the same at 100 or 100,000 VMs.
 */
export async function fleetChange(sql: Sql): Promise<FleetChange> {
  const [r] = await sql`
    with latest as (
      select s.id, t.* from sources s
      cross join lateral (select captured_at, vm_count, powered_on_count, vcpu, ram_mb, provisioned_disk_gb
                          from source_totals where source_id = s.id order by captured_at desc limit 1) t
    ), before as (
      select l.id, t.* from latest l
      cross join lateral (select captured_at, vm_count, powered_on_count, vcpu, ram_mb, provisioned_disk_gb
                          from source_totals where source_id = l.id and captured_at <= l.captured_at - interval '24 hours'
                          order by captured_at desc limit 1) t
    )
    select
      (select count(*) from latest)::int as now_sources, (select sum(vm_count) from latest) as now_vms,
      (select sum(powered_on_count) from latest) as now_on, (select sum(vcpu) from latest) as now_vcpu,
      (select sum(ram_mb) from latest) as now_ram, (select sum(provisioned_disk_gb) from latest) as now_disk,
      (select max(captured_at) from latest) as now_at,
      (select count(*) from before)::int as b_sources, (select sum(vm_count) from before) as b_vms,
      (select sum(powered_on_count) from before) as b_on, (select sum(vcpu) from before) as b_vcpu,
      (select sum(ram_mb) from before) as b_ram, (select sum(provisioned_disk_gb) from before) as b_disk,
      (select max(captured_at) from before) as b_at`;
  const now = toTotals({
    sources: r.now_sources,
    vms: r.now_vms,
    powered_on: r.now_on,
    vcpu: r.now_vcpu,
    ram_mb: r.now_ram,
    disk_gb: r.now_disk,
    at: r.now_at,
  });
  // Compare like with like: only when every source has a capture a day earlier.
  const dayBefore = r.b_sources > 0 && r.b_sources === r.now_sources
    ? toTotals({
      sources: r.b_sources,
      vms: r.b_vms,
      powered_on: r.b_on,
      vcpu: r.b_vcpu,
      ram_mb: r.b_ram,
      disk_gb: r.b_disk,
      at: r.b_at,
    })
    : null;
  return { now, dayBefore };
}

/** Whether pg-boss's job table exists in this database. */
export async function hasJobTable(sql: Sql): Promise<boolean> {
  const [r] = await sql`select to_regclass('pgboss.job') is not null as ok`;
  return r.ok;
}

export type CaptureSignal = { count: number; lastCapturedAt: string | null };

/**
 * What changes when a capture is stored: the sum of the sources' capture times and their
 * count. Reads only the small `sources` table, so polling it every few seconds is free.
 */
export async function captureSignal(sql: Sql): Promise<CaptureSignal & { key: string }> {
  const [r] = await sql`
    select count(last_capture_at)::int as n, max(last_capture_at) as last,
           coalesce(sum(extract(epoch from last_capture_at)), 0)::text as key
    from sources`;
  return {
    count: r.n,
    lastCapturedAt: r.last ? new Date(r.last).toISOString() : null,
    key: `${r.n}:${r.key}`,
  };
}
