/**
 * The usage benchmark's floor: the bare `INSERT … SELECT … GROUP BY` of one day's VM hourly
 * usage rows (vm_usage_hourly_rows(), the function aggregate_usage_hourly() inserts from,
 * inlined so both plan the same grouped scan) — no replace, no host or datastore rows.
 * What an engine costs beyond it is its own overhead (floor.ts does the same for rollups).
 */
import type { Sql } from '../db/connect.ts';
import { dayBounds } from './period.ts';

/** Runs the floor statement for (sourceId, day) inside `tx`; returns rows inserted. */
export async function runUsageFloor(tx: Sql, sourceId: number, day: string, tz: string) {
  const b = await dayBounds(tx, day, tz);
  return (await tx`insert into vm_usage_hourly select * from vm_usage_hourly_rows(${sourceId}::integer,
    ${b.start}::timestamptz, ${b.end}::timestamptz)`).count;
}

/** Deletes the day's VM hourly rows (the state the engines start from after their replace step). */
export async function clearUsageHourly(tx: Sql, sourceId: number, day: string, tz: string) {
  const b = await dayBounds(tx, day, tz);
  await tx`delete from vm_usage_hourly where source_id = ${sourceId}
    and hour >= ${b.start}::timestamptz and hour < ${b.end}::timestamptz`;
}

/** md5 over every column of the day's VM hourly rows in key order, and their count. */
export async function usageFingerprint(tx: Sql, sourceId: number, day: string, tz: string) {
  const b = await dayBounds(tx, day, tz);
  const [r] = await tx`
    select count(*)::int as rows,
           coalesce(md5(string_agg(u::text, E'\n' order by u.vm_key, u.hour)), md5('')) as checksum
    from vm_usage_hourly u
    where u.source_id = ${sourceId} and u.hour >= ${b.start}::timestamptz and u.hour < ${b.end}::timestamptz`;
  return { rows: r.rows as number, checksum: r.checksum as string };
}
