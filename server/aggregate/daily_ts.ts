/**
 * Daily aggregation in TypeScript: the twin of sql/routines/aggregate_daily.sql. Streams
 * the day's facts of one source with a cursor, ordered by VM, so memory holds one VM and
 * one write batch at a time whatever the estate size; computes the same columns with exact
 * BigInt arithmetic; writes batches through `tx` (the caller's transaction) while the next
 * facts are read.
 */
import type { Sql } from '../db/connect.ts';
import { exact, ratioMicro } from './numeric.ts';
import { dayBounds } from './period.ts';
import { type DailyRow, dayPool, type Sums, totalsRow, vmMeasures } from './rollup_row.ts';
import { foldByVm, insertDailyRows, insertTotals, registerSnapshot } from './write_rollups.ts';

/** A row of the fact cursor, in select order. */
type Fact = [
  key: string,
  sourceVmId: string,
  name: string,
  on: boolean,
  vcpu: number,
  ram: number,
  diskMilli: number,
  pool: string,
  at: string,
];

// Per-VM sums as JS integers (checked safe when the VM is finished); BigInt from there on.
const newVm = (r: Fact) => ({
  key: r[0],
  present: 0,
  on: 0,
  vcpu: 0,
  ram: 0,
  diskMilli: 0,
  pools: new Map<string, number>(),
  first: r[8],
  /** The VM's latest fact: rows come in time order, so it carries the latest identity. */
  latest: r,
});

/**
 * Replaces the daily rollup of (sourceId, day) inside `tx`. `read` is a pool used for the
 * fact cursor (a transaction connection cannot serve a cursor and writes at once).
 * Returns the number of VM rows written.
 */
export async function aggregateDailyTs(
  read: Sql,
  tx: Sql,
  sourceId: number,
  day: string,
  tz: string,
): Promise<number> {
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
  const withHours = (s: Omit<Sums, 'onH' | 'vcpuH' | 'ramH' | 'diskH'>): Sums => ({
    ...s,
    onH: ratioMicro(s.on * secs, 1n, hourDen),
    vcpuH: ratioMicro(s.vcpu * secs, 1n, hourDen),
    ramH: ratioMicro(s.ram * secs, 1n, 1024n * hourDen),
    diskH: ratioMicro(s.diskMilli * secs, 1000n, hourDen),
  });

  let vms = 0;
  const totals = { present: 0n, on: 0n, vcpu: 0n, ram: 0n, diskMilli: 0n };
  const finish = (v: ReturnType<typeof newVm>): DailyRow => {
    const s = withHours({
      present: BigInt(v.present),
      on: BigInt(v.on),
      vcpu: exact(v.vcpu, v.key),
      ram: exact(v.ram, v.key),
      diskMilli: exact(v.diskMilli, v.key),
    });
    vms++;
    totals.present += s.present;
    totals.on += s.on;
    totals.vcpu += s.vcpu;
    totals.ram += s.ram;
    totals.diskMilli += s.diskMilli;
    const pools = [...v.pools].map(([p, h]): [string, bigint] => [p, BigInt(h)]);
    return {
      vm_key: v.key,
      source_vm_id: v.latest[1],
      name: v.latest[2],
      total_samples: cap.n,
      samples_present: v.present,
      powered_on_samples: v.on,
      day_seconds: bounds.seconds,
      ...vmMeasures(s, n, pools, v.first, v.latest[8]),
      day_pool: dayPool(v.pools)!, // a VM has a row only with samples, so it has a pool
    };
  };

  await foldByVm(
    read`
    select vm_key, source_vm_id, name, power_state = 'poweredOn', vcpu, ram_mb,
           (provisioned_disk_gb * 1000)::int8, coalesce(resource_pool, '(none)'), snapshot_time::text
    from vm_hourly_stats
    where source_id = ${sourceId} and snapshot_time >= ${bounds.start}::timestamptz
      and snapshot_time < ${bounds.end}::timestamptz and not is_template
    order by vm_key, snapshot_time`,
    newVm,
    (vm, r: Fact) => {
      vm.latest = r;
      vm.present++;
      if (r[3]) vm.on++;
      vm.vcpu += r[4];
      vm.ram += r[5];
      vm.diskMilli += r[6];
      vm.pools.set(r[7], (vm.pools.get(r[7]) ?? 0) + 1);
    },
    finish,
    (rows) => insertDailyRows(tx, sourceId, day, rows),
  );

  const key = { source_id: sourceId, day, day_seconds: bounds.seconds };
  const counts = { total_samples: cap.n, complete: cap.complete, vm_count: vms };
  await insertTotals(tx, 'source_daily_totals', key, totalsRow(withHours(totals), n, counts));
  await registerSnapshot(tx, 'daily', sourceId, bounds.start, bounds.end, vms, cap.complete);
  return vms;
}
