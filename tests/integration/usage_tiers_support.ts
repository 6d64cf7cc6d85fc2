/** Reading the usage tier tables back as comparable rows (every column as text, in key order). */
import type { Sql } from '../../server/db/connect.ts';

export const TIER_TABLES = [
  'vm_usage_hourly',
  'vm_usage_daily',
  'host_usage_hourly',
  'host_usage_daily',
  'datastore_usage_hourly',
  'datastore_usage_daily',
] as const;
export type TierTable = typeof TIER_TABLES[number];

const KEY: Record<TierTable, string> = {
  vm_usage_hourly: 'vm_key',
  vm_usage_daily: 'vm_key',
  host_usage_hourly: 'host_key',
  host_usage_daily: 'host_key',
  datastore_usage_hourly: 'datastore_key',
  datastore_usage_daily: 'datastore_key',
};

/** The rows of one tier table for the local day, each column as text (null stays null). */
export async function tierRows(
  sql: Sql,
  table: TierTable,
  sourceId: number,
  day: string,
  tz: string,
) {
  const where = table.endsWith('_hourly')
    ? sql`hour >= (${day}::date)::timestamp at time zone ${tz} and hour < (${day}::date + 1)::timestamp at time zone ${tz}`
    : sql`day = ${day}::date`;
  const rows = await sql`
    select (select jsonb_object_agg(e.key, e.value) from jsonb_each_text(to_jsonb(t)) e) as r from ${
    sql(table)
  } t
    where source_id = ${sourceId} and ${where}
    order by ${sql(KEY[table])}, ${sql(table.endsWith('_hourly') ? 'hour' : 'day')}`;
  return rows.map((x) =>
    Object.fromEntries(
      Object.entries(x.r as Record<string, unknown>).map((
        [k, v],
      ) => [k, v === null ? null : String(v)]),
    )
  );
}
