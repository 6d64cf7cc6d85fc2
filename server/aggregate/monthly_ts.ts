/**
 * Monthly aggregation in TypeScript: the twin of sql/routines/aggregate_monthly.sql. Reads
 * only the month's daily rollups (a cursor ordered by VM and day) and daily source totals,
 * never the facts; exact BigInt sums; batches written through the caller's transaction.
 */
import type { Sql } from '../db/connect.ts';
import { exact, formatScaled, jsonNumberMap, parseScaled, ratio } from './numeric.ts';
import { addMonths, monthOf } from './period.ts';
import { insertMonthlyRows, insertTotals, registerSnapshot } from './write_rollups.ts';
import type { MonthlyRow } from './rollup_row.ts';

const CURSOR_ROWS = 10_000;
const WRITE_BATCH = 5_000;

export type MonthlyInput = { sourceId: number; month: string; tz: string };

type Vm = {
  key: string;
  present: number;
  on: number;
  days: number;
  // JS integer sums (checked safe when the VM is finished); micro-hours for the hours.
  vcpu: number;
  ram: number;
  diskMilli: number;
  onH: number;
  vcpuH: number;
  ramH: number;
  diskH: number;
  pools: Map<string, number>;
  first: string;
  last: string;
  latest: {
    sourceVmId: string;
    name: string;
    firstSeen: string | null;
    lastSeen: string | null;
    created: string | null;
    deleted: string | null;
  };
};

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

const micro = (s: string) => parseScaled(s, 6);

/** Replaces the monthly rollup of (sourceId, month) inside `tx`; `read` serves the cursor. Returns VM rows written. */
export async function aggregateMonthlyTs(read: Sql, tx: Sql, input: MonthlyInput): Promise<number> {
  const { sourceId, tz } = input;
  const m0 = monthOf(input.month);
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
  const dt = {
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

  let batch: MonthlyRow[] = [];
  let pending: Promise<void> = Promise.resolve();
  let written = 0;
  const flush = async () => {
    const rows = batch;
    batch = [];
    await pending;
    pending = insertMonthlyRows(tx, sourceId, m0, rows);
  };
  const finish = (v: Vm) => {
    const x = (n: number) => exact(n, v.key);
    const vm = {
      ...v,
      vcpu: x(v.vcpu),
      ram: x(v.ram),
      diskMilli: x(v.diskMilli),
      onH: x(v.onH),
      vcpuH: x(v.vcpuH),
      ramH: x(v.ramH),
      diskH: x(v.diskH),
    };
    const sp = BigInt(vm.present);
    const pools = [...v.pools.entries()].map(([p, h]) => [p, x(h)] as const);
    batch.push({
      vm_key: vm.key,
      source_vm_id: vm.latest.sourceVmId,
      name: vm.latest.name,
      total_samples: nNum,
      samples_present: vm.present,
      powered_on_samples: vm.on,
      days_present: vm.days,
      days_covered: covered,
      sum_vcpu: vm.vcpu.toString(),
      sum_ram_mb: vm.ram.toString(),
      sum_disk_gb: formatScaled(vm.diskMilli, 3),
      presence: ratio(sp, 1n, n),
      avg_vcpu: ratio(vm.vcpu, 1n, n),
      avg_ram_gb: ratio(vm.ram, 1n, 1024n * n),
      avg_disk_gb: ratio(vm.diskMilli, 1000n, n),
      powered_on_ratio: ratio(BigInt(vm.on), 1n, sp),
      powered_on_hours: formatScaled(vm.onH, 6),
      vcpu_hours: formatScaled(vm.vcpuH, 6),
      ram_gb_hours: formatScaled(vm.ramH, 6),
      disk_gb_hours: formatScaled(vm.diskH, 6),
      pool_samples: jsonNumberMap(pools.map(([p, h]) => [p, h.toString()])),
      pool_pct: jsonNumberMap(pools.map(([p, h]) => [p, ratio(h * 100n, 1n, sp)])),
      first_sample_at: vm.first,
      last_sample_at: vm.last,
      first_seen_at: vm.latest.firstSeen,
      last_seen_at: vm.latest.lastSeen,
      created_at: vm.latest.created,
      deleted_at: vm.latest.deleted,
    });
    written++;
  };

  let vm: Vm | null = null;
  const cursor = read`
    select vm_key, source_vm_id, name, samples_present, powered_on_samples, sum_vcpu, sum_ram_mb,
           (sum_disk_gb * 1000)::int8, (powered_on_hours * 1000000)::int8, (vcpu_hours * 1000000)::int8,
           (ram_gb_hours * 1000000)::int8, (disk_gb_hours * 1000000)::int8, pool_samples, first_sample_at::text, last_sample_at::text,
           first_seen_at::text, last_seen_at::text, created_at::text, deleted_at::text
    from vm_daily_rollup
    where source_id = ${sourceId} and day >= ${m0}::date and day < ${m1}::date
    order by vm_key, day`
    .values()
    .cursor(CURSOR_ROWS);
  for await (const rows of cursor) {
    for (const r of rows as unknown as DailyValues[]) {
      // Days come in order: the last one carries the latest identity and lifecycle.
      const latest = {
        sourceVmId: r[1],
        name: r[2],
        firstSeen: r[15],
        lastSeen: r[16],
        created: r[17],
        deleted: r[18],
      };
      if (vm === null || vm.key !== r[0]) {
        if (vm) finish(vm);
        if (batch.length >= WRITE_BATCH) await flush();
        vm = {
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
          pools: new Map(),
          first: r[13],
          last: r[14],
          latest,
        };
      }
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
      vm.last = r[14];
      vm.latest = latest;
    }
  }
  if (vm) finish(vm);
  await flush();
  await pending;

  const monthComplete = complete && covered === b.days_in_month;
  const key = { source_id: sourceId, month: m0, days_covered: covered };
  await insertTotals(tx, 'source_monthly_totals', key, {
    total_samples: nNum,
    complete: monthComplete,
    vm_count: written,
    samples_present: dt.present.toString(),
    powered_on_samples: dt.on.toString(),
    sum_vcpu: dt.vcpu.toString(),
    sum_ram_mb: dt.ram.toString(),
    sum_disk_gb: formatScaled(dt.diskMilli, 3),
    avg_vm_count: ratio(dt.present, 1n, n),
    avg_powered_on: ratio(dt.on, 1n, n),
    avg_vcpu: ratio(dt.vcpu, 1n, n),
    avg_ram_gb: ratio(dt.ram, 1n, 1024n * n),
    avg_disk_gb: ratio(dt.diskMilli, 1000n, n),
    powered_on_hours: formatScaled(dt.onH, 6),
    vcpu_hours: formatScaled(dt.vcpuH, 6),
    ram_gb_hours: formatScaled(dt.ramH, 6),
    disk_gb_hours: formatScaled(dt.diskH, 6),
  });
  await registerSnapshot(tx, 'monthly', sourceId, b.start, b.end, written, monthComplete);
  return written;
}
