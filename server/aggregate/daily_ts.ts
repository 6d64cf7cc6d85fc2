/**
 * Daily aggregation in TypeScript: the twin of sql/routines/aggregate_daily.sql. Streams
 * the day's facts of one source with a cursor, ordered by VM, so memory holds one VM and
 * one write batch at a time whatever the estate size; computes the same columns with exact
 * BigInt arithmetic; writes batches through `tx` (the caller's transaction) while the next
 * facts are read.
 */
import type { Sql } from '../db/connect.ts';
import { exact, formatScaled, jsonNumberMap, ratio } from './numeric.ts';
import { dayBounds } from './period.ts';
import { insertDailyRows, insertTotals, registerSnapshot } from './write_rollups.ts';
import type { DailyRow } from './rollup_row.ts';

const CURSOR_ROWS = 10_000;
const WRITE_BATCH = 5_000;

export type DailyInput = { sourceId: number; day: string; tz: string };

type Vm = {
  key: string;
  sourceVmId: string;
  name: string;
  present: number;
  on: number;
  // Per-VM sums as JS integers (checked safe when the VM is finished); BigInt from there on.
  vcpu: number;
  ram: number;
  diskMilli: number;
  pools: Map<string, number>;
  first: string;
  last: string;
};

/**
 * Replaces the daily rollup of (sourceId, day) inside `tx`. `read` is a pool used for the
 * fact cursor (a transaction connection cannot serve a cursor and writes at once).
 * Returns the number of VM rows written.
 */
export async function aggregateDailyTs(read: Sql, tx: Sql, input: DailyInput): Promise<number> {
  const { sourceId, day, tz } = input;
  const bounds = await dayBounds(tx, day, tz);
  const [cap] = await tx`
    select count(*)::int as n, coalesce(bool_and(complete), true) as complete
    from captures
    where source_id = ${sourceId} and captured_at >= ${bounds.start}::timestamptz and captured_at < ${bounds.end}::timestamptz`;
  const n = BigInt(cap.n);
  await tx`delete from vm_daily_rollup where source_id = ${sourceId} and day = ${day}::date`;
  await tx`delete from source_daily_totals where source_id = ${sourceId} and day = ${day}::date`;
  if (n === 0n) {
    await tx`delete from snapshot_registry where kind = 'daily' and source_id = ${sourceId} and period_start = ${bounds.start}::timestamptz`;
    return 0;
  }
  const secs = BigInt(bounds.seconds);
  const hourDen = 3600n * n; // hours per sample = day_seconds / 3600 / total_samples

  const totals = { vms: 0, present: 0n, on: 0n, vcpu: 0n, ram: 0n, diskMilli: 0n };
  let batch: DailyRow[] = [];
  let pending: Promise<void> = Promise.resolve();
  let written = 0;

  const flush = async () => {
    const rows = batch;
    batch = [];
    await pending; // at most one write in flight, overlapping the next read
    pending = insertDailyRows(tx, sourceId, day, rows);
  };

  const finish = (v: Vm) => {
    const vm = {
      ...v,
      vcpu: exact(v.vcpu, v.key),
      ram: exact(v.ram, v.key),
      diskMilli: exact(v.diskMilli, v.key),
    };
    const sp = BigInt(vm.present);
    const on = BigInt(vm.on);
    const poolEntries = [...vm.pools.entries()];
    batch.push({
      vm_key: vm.key,
      source_vm_id: vm.sourceVmId,
      name: vm.name,
      total_samples: cap.n,
      samples_present: vm.present,
      powered_on_samples: vm.on,
      day_seconds: bounds.seconds,
      sum_vcpu: vm.vcpu.toString(),
      sum_ram_mb: vm.ram.toString(),
      sum_disk_gb: formatScaled(vm.diskMilli, 3),
      presence: ratio(sp, 1n, n),
      avg_vcpu: ratio(vm.vcpu, 1n, n),
      avg_ram_gb: ratio(vm.ram, 1n, 1024n * n),
      avg_disk_gb: ratio(vm.diskMilli, 1000n, n),
      powered_on_ratio: ratio(on, 1n, sp),
      powered_on_hours: ratio(on * secs, 1n, hourDen),
      vcpu_hours: ratio(vm.vcpu * secs, 1n, hourDen),
      ram_gb_hours: ratio(vm.ram * secs, 1n, 1024n * hourDen),
      disk_gb_hours: ratio(vm.diskMilli * secs, 1000n, hourDen),
      pool_samples: jsonNumberMap(poolEntries.map(([p, h]) => [p, String(h)])),
      pool_pct: jsonNumberMap(poolEntries.map(([p, h]) => [p, ratio(BigInt(h) * 100n, 1n, sp)])),
      first_sample_at: vm.first,
      last_sample_at: vm.last,
    });
    totals.vms++;
    totals.present += sp;
    totals.on += on;
    totals.vcpu += vm.vcpu;
    totals.ram += vm.ram;
    totals.diskMilli += vm.diskMilli;
  };

  let vm: Vm | null = null;
  const cursor = read`
    select vm_key, source_vm_id, name, power_state = 'poweredOn', vcpu, ram_mb,
           (provisioned_disk_gb * 1000)::int8, coalesce(resource_pool, '(none)'), snapshot_time::text
    from vm_hourly_stats
    where source_id = ${sourceId} and snapshot_time >= ${bounds.start}::timestamptz
      and snapshot_time < ${bounds.end}::timestamptz and not is_template
    order by vm_key, snapshot_time`
    .values()
    .cursor(CURSOR_ROWS);
  for await (const rows of cursor) {
    for (
      const r of rows as unknown as [
        string,
        string,
        string,
        boolean,
        number,
        number,
        number,
        string,
        string,
      ][]
    ) {
      if (vm === null || vm.key !== r[0]) {
        if (vm) finish(vm);
        if (batch.length >= WRITE_BATCH) await flush();
        vm = {
          key: r[0],
          sourceVmId: r[1],
          name: r[2],
          present: 0,
          on: 0,
          vcpu: 0,
          ram: 0,
          diskMilli: 0,
          pools: new Map(),
          first: r[8],
          last: r[8],
        };
      }
      // Rows come in time order: the last row of a VM carries its latest identity.
      vm.sourceVmId = r[1];
      vm.name = r[2];
      vm.present++;
      if (r[3]) vm.on++;
      vm.vcpu += r[4];
      vm.ram += r[5];
      vm.diskMilli += r[6];
      vm.pools.set(r[7], (vm.pools.get(r[7]) ?? 0) + 1);
      vm.last = r[8];
    }
  }
  if (vm) finish(vm);
  await flush();
  await pending;
  written = totals.vms;

  const key = { source_id: sourceId, day, day_seconds: bounds.seconds };
  await insertTotals(tx, 'source_daily_totals', key, {
    total_samples: cap.n,
    complete: cap.complete,
    vm_count: totals.vms,
    samples_present: totals.present.toString(),
    powered_on_samples: totals.on.toString(),
    sum_vcpu: totals.vcpu.toString(),
    sum_ram_mb: totals.ram.toString(),
    sum_disk_gb: formatScaled(totals.diskMilli, 3),
    avg_vm_count: ratio(totals.present, 1n, n),
    avg_powered_on: ratio(totals.on, 1n, n),
    avg_vcpu: ratio(totals.vcpu, 1n, n),
    avg_ram_gb: ratio(totals.ram, 1n, 1024n * n),
    avg_disk_gb: ratio(totals.diskMilli, 1000n, n),
    powered_on_hours: ratio(totals.on * secs, 1n, hourDen),
    vcpu_hours: ratio(totals.vcpu * secs, 1n, hourDen),
    ram_gb_hours: ratio(totals.ram * secs, 1n, 1024n * hourDen),
    disk_gb_hours: ratio(totals.diskMilli * secs, 1000n, hourDen),
  });
  await registerSnapshot(tx, 'daily', sourceId, bounds.start, bounds.end, written, cap.complete);
  return written;
}
