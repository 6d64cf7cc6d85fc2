/**
 * Fixture writers for the aggregation suites: sources, captures, facts and lifecycle rows
 * inserted directly (set-based), so each test states exactly the samples it means.
 */
import type { Sql } from '../../server/db/connect.ts';
import { randomUUID } from 'node:crypto';

export type Fact = {
  key: string;
  vmId?: string;
  name?: string;
  power?: 'poweredOn' | 'poweredOff' | 'suspended';
  template?: boolean;
  vcpu: number;
  memoryMib: number;
  diskGb: string;
  pool?: string | null;
};

/** Registers a demo source and returns its id. */
export async function addSource(sql: Sql, name: string): Promise<number> {
  const [r] = await sql`
    insert into sources (kind, external_id, name) values ('demo', ${name}, ${name}) returning id`;
  return r.id;
}

/** Stores one capture (captures row + facts) at `at`. */
export async function addCapture(
  sql: Sql,
  sourceId: number,
  at: string,
  facts: Fact[],
  complete = true,
) {
  await sql`select vm_hourly_stats_ensure_partition(${at}::timestamptz)`;
  const captureId = randomUUID();
  await sql`
    insert into captures (capture_id, source_id, captured_at, complete, vm_count, schema_version)
    values (${captureId}, ${sourceId}, ${at}, ${complete}, ${facts.length}, 1)`;
  if (facts.length === 0) return;
  const rows = facts.map((f) => ({
    key: f.key,
    vm_id: f.vmId ?? f.key,
    name: f.name ?? f.key,
    power: f.power ?? 'poweredOn',
    template: f.template ?? false,
    vcpu: f.vcpu,
    ram: f.memoryMib,
    disk: f.diskGb,
    pool: f.pool ?? null,
  }));
  await sql`
    insert into vm_hourly_stats (source_id, vm_key, snapshot_time, capture_id, source_vm_id, name,
      power_state, is_template, vcpu, ram_mb, provisioned_disk_gb, resource_pool)
    select ${sourceId}, key, ${at}::timestamptz, ${captureId}, vm_id, name, power, template, vcpu, ram,
           disk, pool
    from jsonb_to_recordset(${sql.json(rows)}) as r(key text, vm_id text, name text, power text,
      template boolean, vcpu int, ram int, disk numeric, pool text)`;
}

/** Writes a vm_lifecycle row (its last-seen time stored, not following the newest capture). */
export async function addLifecycle(
  sql: Sql,
  sourceId: number,
  key: string,
  l: {
    firstSeen: string;
    lastSeen: string;
    created?: string | null;
    deleted?: string | null;
    vmId?: string;
  },
) {
  await sql`
    insert into vm_lifecycle_base (source_id, vm_key, source_vm_id, name, first_seen_at, last_seen_at,
      created_at, created_from, deleted_at, deleted_from)
    values (${sourceId}, ${key}, ${l.vmId ?? key}, ${key}, ${l.firstSeen}, ${l.lastSeen},
      ${l.created ?? null}, ${l.created ? 'source' : null}, ${l.deleted ?? null}, ${
    l.deleted ? 'event' : null
  })`;
}

/** A rollup row as selected below: counts as numbers, every other column as text (or null). */
export type RollupRow = Record<string, string | number | null>;

/** Daily rows of a period as comparable text. */
export async function dailyRows(sql: Sql, sourceId: number, day: string) {
  return await sql<RollupRow[]>`
    select vm_key, source_vm_id, name, total_samples, samples_present, powered_on_samples, day_seconds,
           presence::text, avg_vcpu::text, avg_ram_gb::text, avg_disk_gb::text, powered_on_ratio::text,
           powered_on_hours::text, vcpu_hours::text, ram_gb_hours::text, disk_gb_hours::text,
           pool_samples::text, pool_pct::text, first_sample_at::text, last_sample_at::text,
           created_at::text, deleted_at::text, day_pool
    from vm_daily_rollup where source_id = ${sourceId} and day = ${day}::date order by vm_key`;
}

/** Monthly rows of a period as comparable text. */
export async function monthlyRows(sql: Sql, sourceId: number, month: string) {
  return await sql<RollupRow[]>`
    select vm_key, source_vm_id, name, total_samples, samples_present, powered_on_samples, days_present,
           days_covered, presence::text, avg_vcpu::text, avg_ram_gb::text, avg_disk_gb::text,
           powered_on_ratio::text, powered_on_hours::text, vcpu_hours::text, ram_gb_hours::text,
           disk_gb_hours::text, pool_samples::text, pool_pct::text, first_sample_at::text,
           last_sample_at::text, created_at::text, deleted_at::text
    from vm_monthly_rollup where source_id = ${sourceId} and month = ${month}::date order by vm_key`;
}
