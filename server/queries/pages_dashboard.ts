/**
 * Dashboard data the shared query modules do not have: fleet totals now and a day earlier
 * (from source_totals), whether pg-boss is installed (its failed jobs come from
 * jobs/job_queries.ts), and a cheap signal that a capture arrived (for live updates).
 * Data access only.
 */
import { requestScope } from '../auth/scope.ts';
import type { Sql } from '../db/connect.ts';

/**
 * Fleet totals from each source's latest capture, and from each source's latest capture at
 * least 24 hours before that one ("yesterday"). One index probe per source on
 * source_totals' primary key, so it costs the same at 100 or 100,000 VMs.
 *
 * As of `at`: each source's newest complete capture by then (its newest if none is complete),
 * as the VM list as of a moment reads it (server/inventory/list_vms.ts).
 */
export async function fleetChange(sql: Sql, at?: Date) {
  const latestTotals = at
    ? sql`select t.captured_at, t.vm_count, t.powered_on_count, t.vcpu, t.ram_mb, t.provisioned_disk_gb
          from source_totals t join captures c on c.source_id = t.source_id and c.captured_at = t.captured_at
          where t.source_id = s.id and t.captured_at <= ${at}
          order by c.complete desc, t.captured_at desc limit 1`
    : sql`select captured_at, vm_count, powered_on_count, vcpu, ram_mb, provisioned_disk_gb
          from source_totals where source_id = s.id order by captured_at desc limit 1`;
  // Two rows, now (0) and a day before (1), even over no captures. Sums arrive as numbers
  // (int8) or text (numeric), and are null over no rows.
  const rows = await sql`
    with latest as (
      select s.id, t.* from sources s cross join lateral (${latestTotals}) t
    ), before as (
      select l.id, t.* from latest l
      cross join lateral (select captured_at, vm_count, powered_on_count, vcpu, ram_mb, provisioned_disk_gb
                          from source_totals where source_id = l.id and captured_at <= l.captured_at - interval '24 hours'
                          order by captured_at desc limit 1) t
    ), fleet as (
      select 0 as i, * from latest union all select 1, * from before
    )
    select count(id)::int as sources, sum(vm_count) as vms, sum(powered_on_count) as powered_on, sum(vcpu) as vcpu,
           sum(ram_mb) as ram_mb, sum(provisioned_disk_gb) as disk_gb, max(captured_at) as at
    from (values (0), (1)) w(i) left join fleet using (i) group by i order by i`;
  // As of a moment, the sources with no capture by then are named: their VMs are not counted.
  const missing = at
    ? await sql`
      select s.name from sources s
      where not exists (select 1 from source_totals t where t.source_id = s.id and t.captured_at <= ${at})
      order by s.name, s.id`
    : [];
  const [now, before] = rows.map((r) => ({
    vms: Number(r.vms ?? 0),
    poweredOn: Number(r.powered_on ?? 0),
    vcpu: Number(r.vcpu ?? 0),
    ramGb: Number(r.ram_mb ?? 0) / 1024,
    diskGb: Number(r.disk_gb ?? 0),
    sources: r.sources as number,
    at: r.at ? new Date(r.at).toISOString() : null,
  }));
  // Compare like with like: only when every source has a capture a day earlier.
  return {
    now,
    dayBefore: before.sources > 0 && before.sources === now.sources ? before : null,
    sourcesWithoutCapture: missing.map((r) => r.name as string),
  };
}

/**
 * Whether pg-boss's job table exists in this database — and is for these eyes: jobs are the
 * operators', and a viewer limited to some sources (auth/scope.ts) has no rights on them.
 */
export async function hasJobTable(sql: Sql): Promise<boolean> {
  if (requestScope()) return false;
  const [r] = await sql`select to_regclass('pgboss.job') is not null as ok`;
  return r.ok;
}

/**
 * What changes when a capture is stored: the sum of the sources' capture times and their
 * count. Reads only the small `sources` table, so polling it every few seconds is free.
 */
export async function captureSignal(sql: Sql) {
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
