/**
 * Monthly aggregation in TypeScript: the twin of sql/routines/aggregate_monthly.sql. Reads
 * only the month's daily rollups (a cursor ordered by VM and day) and daily source totals,
 * never the facts; exact BigInt sums; batches written through the caller's transaction.
 */
import type { Sql } from '../db/connect.ts';
import { exact, parseScaled } from './numeric.ts';
import { addMonths, monthOf } from './period.ts';
import { type MonthlyRow, type Sums, totalsRow, vmMeasures } from './rollup_row.ts';
import { foldByVm, insertMonthlyRows, insertTotals, registerSnapshot } from './write_rollups.ts';

/** A row of the daily-rollup cursor in aggregateMonthlyTs, in select order (int8 as numbers). */
type DailyValues = [
  key: string,
  sourceVmId: string,
  name: string,
  present: number,
  on: number,
  vcpu: number,
  ram: number,
  diskMilli: number,
  onH: number,
  vcpuH: number,
  ramH: number,
  diskH: number,
  pools: Record<string, number>,
  first: string,
  last: string,
  firstSeen: string | null,
  lastSeen: string | null,
  created: string | null,
  deleted: string | null,
];

// JS integer sums (checked safe when the VM is finished); micro-hours for the hours.
const newVm = (r: DailyValues) => ({
  key: r[0],
  present: 0,
  on: 0,
  days: 0,
  vcpu: 0,
  ram: 0,
  diskMilli: 0,
  onH: 0,
  vcpuH: 0,
  ramH: 0,
  diskH: 0,
  pools: new Map<string, number>(),
  first: r[13],
  /** The VM's latest day: days come in order, so it carries the latest identity and lifecycle. */
  latest: r,
});

const micro = (s: string) => parseScaled(s, 6);

/** Replaces the monthly rollup of (sourceId, month) inside `tx`; `read` serves the cursor. Returns VM rows written. */
export async function aggregateMonthlyTs(
  read: Sql,
  tx: Sql,
  sourceId: number,
  month: string,
  tz: string,
): Promise<number> {
  const m0 = monthOf(month);
  const m1 = addMonths(m0, 1);
  const [b] = await tx`
    select (${m0}::date::timestamp at time zone ${tz})::text as start,
           (${m1}::date::timestamp at time zone ${tz})::text as end,
           (${m1}::date - ${m0}::date) as days_in_month`;
  const days = await tx`
    select total_samples, complete, samples_present::text, powered_on_samples::text, sum_vcpu::text,
           sum_ram_mb::text, sum_disk_gb::text, powered_on_hours::text, vcpu_hours::text,
           ram_gb_hours::text, disk_gb_hours::text
    from source_daily_totals
    where source_id = ${sourceId} and day >= ${m0}::date and day < ${m1}::date`;
  let nNum = 0;
  let complete = true;
  const dt: Sums = {
    present: 0n,
    on: 0n,
    vcpu: 0n,
    ram: 0n,
    diskMilli: 0n,
    onH: 0n,
    vcpuH: 0n,
    ramH: 0n,
    diskH: 0n,
  };
  for (const d of days) {
    nNum += d.total_samples;
    complete &&= d.complete;
    dt.present += BigInt(d.samples_present);
    dt.on += BigInt(d.powered_on_samples);
    dt.vcpu += BigInt(d.sum_vcpu);
    dt.ram += BigInt(d.sum_ram_mb);
    dt.diskMilli += parseScaled(d.sum_disk_gb, 3);
    dt.onH += micro(d.powered_on_hours);
    dt.vcpuH += micro(d.vcpu_hours);
    dt.ramH += micro(d.ram_gb_hours);
    dt.diskH += micro(d.disk_gb_hours);
  }
  const covered = days.length;
  const n = BigInt(nNum);
  await tx`delete from vm_monthly_rollup where source_id = ${sourceId} and month = ${m0}::date`;
  await tx`delete from source_monthly_totals where source_id = ${sourceId} and month = ${m0}::date`;
  if (n === 0n) {
    await tx`delete from snapshot_registry where kind = 'monthly' and source_id = ${sourceId} and period_start = ${b.start}::timestamptz`;
    return 0;
  }

  let written = 0;
  const finish = (v: ReturnType<typeof newVm>): MonthlyRow => {
    const x = (n: number) => exact(n, v.key);
    const s = {
      present: BigInt(v.present),
      on: BigInt(v.on),
      vcpu: x(v.vcpu),
      ram: x(v.ram),
      diskMilli: x(v.diskMilli),
      onH: x(v.onH),
      vcpuH: x(v.vcpuH),
      ramH: x(v.ramH),
      diskH: x(v.diskH),
    };
    const pools = [...v.pools].map(([p, h]): [string, bigint] => [p, x(h)]);
    const l = v.latest;
    written++;
    return {
      vm_key: v.key,
      source_vm_id: l[1],
      name: l[2],
      total_samples: nNum,
      samples_present: v.present,
      powered_on_samples: v.on,
      days_present: v.days,
      days_covered: covered,
      ...vmMeasures(s, n, pools, v.first, l[14]),
      first_seen_at: l[15],
      last_seen_at: l[16],
      created_at: l[17],
      deleted_at: l[18],
    };
  };

  await foldByVm(
    read`
    select vm_key, source_vm_id, name, samples_present, powered_on_samples, sum_vcpu, sum_ram_mb,
           (sum_disk_gb * 1000)::int8, (powered_on_hours * 1000000)::int8, (vcpu_hours * 1000000)::int8,
           (ram_gb_hours * 1000000)::int8, (disk_gb_hours * 1000000)::int8, pool_samples, first_sample_at::text, last_sample_at::text,
           first_seen_at::text, last_seen_at::text, created_at::text, deleted_at::text
    from vm_daily_rollup
    where source_id = ${sourceId} and day >= ${m0}::date and day < ${m1}::date
    order by vm_key, day`,
    newVm,
    (vm, r: DailyValues) => {
      vm.latest = r;
      vm.present += r[3];
      vm.on += r[4];
      vm.days++;
      vm.vcpu += r[5];
      vm.ram += r[6];
      vm.diskMilli += r[7];
      vm.onH += r[8];
      vm.vcpuH += r[9];
      vm.ramH += r[10];
      vm.diskH += r[11];
      for (const pool in r[12]) vm.pools.set(pool, (vm.pools.get(pool) ?? 0) + r[12][pool]);
    },
    finish,
    (rows) => insertMonthlyRows(tx, sourceId, m0, rows),
  );

  const monthComplete = complete && covered === b.days_in_month;
  const key = { source_id: sourceId, month: m0, days_covered: covered };
  const counts = { total_samples: nNum, complete: monthComplete, vm_count: written };
  await insertTotals(tx, 'source_monthly_totals', key, totalsRow(dt, n, counts));
  await registerSnapshot(tx, 'monthly', sourceId, b.start, b.end, written, monthComplete);
  return written;
}
