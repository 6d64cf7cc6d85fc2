/**
 * Database insight, the statistics (issue 24; docs/db-insight.md): what PostgreSQL says of
 * itself — pg_stat_statements grouped by fingerprint (queryid), tables and indexes with their
 * sizes, scans and a bloat estimate, the cache hit ratio — and the snapshots of the statement
 * statistics that give a trend. Takes `sql`, knows no HTTP.
 *
 * Reads run as the least-privilege role `vmledger_insight` (pg_monitor, pg_read_all_data;
 * migration 0055) when this connection may take it, else as the connection's own user.
 */
import { z } from 'zod';
import type { Sql } from '../db/connect.ts';

export const INSIGHT_ROLE = 'vmledger_insight';

/** Whether pg_stat_statements can be read here, and what an administrator runs if not. */
export const InsightStatus = z.object({
  ready: z.boolean(),
  /** The statistics extension's state, step by step. */
  available: z.boolean(),
  loaded: z.boolean(),
  installed: z.boolean(),
  hypopg: z.boolean(),
  /** Reads run as `vmledger_insight`; false: as the connection's user. */
  role: z.boolean(),
  serverVersion: z.number().int(),
  database: z.string(),
  /** What is missing, in words, and the exact commands that fix it (empty when ready). */
  missing: z.array(z.string()),
  run: z.array(z.string()),
});
export type InsightStatus = z.infer<typeof InsightStatus>;

/** The state of pg_stat_statements, hypopg and the insight role on this database. */
export async function insightStatus(sql: Sql): Promise<InsightStatus> {
  const [r] = await sql<{
    available: boolean;
    installed: boolean;
    loaded: boolean;
    hypopg: boolean;
    role: boolean;
    version: number;
    database: string;
    user: string;
  }[]>`
    select /* vmledger:dbinsight */
      exists (select from pg_available_extensions where name = 'pg_stat_statements') as available,
      exists (select from pg_extension where extname = 'pg_stat_statements') as installed,
      'pg_stat_statements' = any (
        string_to_array(replace(current_setting('shared_preload_libraries'), ' ', ''), ',')
      ) as loaded,
      exists (select from pg_extension where extname = 'hypopg') as hypopg,
      coalesce((select pg_has_role(current_user, oid, 'usage')
                  from pg_roles where rolname = ${INSIGHT_ROLE}), false) as role,
      current_setting('server_version_num')::int as version,
      current_database() as database,
      current_user as user`;
  const missing: string[] = [];
  const run: string[] = [];
  if (!r.available) {
    missing.push('the pg_stat_statements extension is not installed on the server');
    run.push(
      "# install PostgreSQL's contrib modules on the database server (Debian: they ship with the postgresql-NN package)",
    );
  }
  if (!r.loaded) {
    missing.push('pg_stat_statements is not in shared_preload_libraries');
    run.push(
      "ALTER SYSTEM SET shared_preload_libraries = 'pg_stat_statements';  -- keep any libraries already listed",
      '# then restart PostgreSQL (e.g. systemctl restart postgresql)',
    );
  }
  if (!r.installed) {
    missing.push(`the extension is not created in database ${r.database}`);
    run.push(`CREATE EXTENSION pg_stat_statements;  -- as a superuser, in database ${r.database}`);
  }
  if (!r.role) {
    run.push(
      `CREATE ROLE ${INSIGHT_ROLE} NOLOGIN;`,
      `GRANT pg_monitor, pg_read_all_data TO ${INSIGHT_ROLE};`,
      `GRANT ${INSIGHT_ROLE} TO ${quoteIdent(r.user)};`,
    );
  }
  return {
    ready: r.available && r.loaded && r.installed,
    available: r.available,
    loaded: r.loaded,
    installed: r.installed,
    hypopg: r.hypopg,
    role: r.role,
    serverVersion: r.version,
    database: r.database,
    missing,
    run,
  };
}

export function quoteIdent(name: string): string {
  return /^[a-z_][a-z0-9_]*$/.test(name) ? name : `"${name.replace(/"/g, '""')}"`;
}

/**
 * Runs `fn` in a transaction as `vmledger_insight` when `role` (insightStatus().role), else
 * as the connection's user. `readOnly`: the transaction is READ ONLY.
 */
export async function asInsightRole<T>(
  sql: Sql,
  role: boolean,
  fn: (tx: Sql) => Promise<T>,
): Promise<T> {
  return (await sql.begin('read only', async (tx) => {
    if (role) await tx.unsafe(`set local role ${INSIGHT_ROLE}`);
    return await fn(tx as unknown as Sql);
  })) as T;
}

export const STATEMENT_ORDERS = ['total', 'mean', 'calls', 'rows', 'reads'] as const;
export type StatementOrder = (typeof STATEMENT_ORDERS)[number];
const ORDER_SQL: Record<StatementOrder, string> = {
  total: 'total_ms',
  mean: 'mean_ms',
  calls: 'calls',
  rows: 'rows',
  reads: 'shared_blks_read',
};

export const Trend = z.object({
  /** The snapshot the change is counted from (its time). */
  since: z.string(),
  /** The snapshot the change is counted to (its time); null: now. */
  until: z.string().nullable(),
  calls: z.number(),
  totalMs: z.number(),
  /** Mean time of the calls in between (null: no calls). */
  meanMs: z.number().nullable(),
  rows: z.number(),
  sharedBlksRead: z.number(),
});
export type Trend = z.infer<typeof Trend>;

export const StatementRow = z.object({
  /** pg_stat_statements' queryid, as text (a 64-bit integer). */
  id: z.string(),
  /** The normalised text (constants as $1, $2…): the fingerprint's text. */
  query: z.string(),
  /** The vmledger module that sends it (its `/* vmledger:module *\/` tag), if tagged. */
  module: z.string().nullable(),
  calls: z.number(),
  totalMs: z.number(),
  meanMs: z.number(),
  rows: z.number(),
  sharedBlksRead: z.number(),
  sharedBlksHit: z.number(),
  /**
   * Change between two snapshots, or since the newest one (null: no snapshot yet, or the
   * statistics were reset in between).
   */
  trend: Trend.nullable(),
});
export type StatementRow = z.infer<typeof StatementRow>;

// The tag stands after the first keyword (`select /* vmledger:x */ …`): PostgreSQL 18's
// pg_stat_statements drops a statement's leading comments from the text it keeps.
const MODULE_TAG = /\/\*\s*vmledger:([A-Za-z0-9_./-]+)\s*\*\//;

/** The module named by a statement's `/* vmledger:module *\/` tag, or null. */
export function moduleOf(query: string): string | null {
  return MODULE_TAG.exec(query)?.[1] ?? null;
}

type RawStatement = {
  id: string;
  query: string;
  calls: number;
  total_ms: number;
  mean_ms: number;
  rows: number;
  shared_blks_read: number;
  shared_blks_hit: number;
  since: Date | null;
  d_calls: number | null;
  d_total_ms: number | null;
  d_rows: number | null;
  d_reads: number | null;
};

/** Two snapshots (ids) to count the change between; `to` null: from `from` to now. */
export type Window = { from: string; to: { id: string; takenAt: string } | null };

const DELTA_ORDER_SQL: Record<StatementOrder, string> = {
  total: 'd.d_total_ms',
  mean: 'd.d_total_ms / nullif(d.d_calls, 0)',
  calls: 'd.d_calls',
  rows: 'd.d_rows',
  reads: 'd.d_reads',
};

/**
 * The statements of this database, grouped by queryid (over users), top `limit` by `order`,
 * or only `id`. Each with its change since the newest snapshot, or — with `window` — between
 * two snapshots (then only the statements called in between, ordered by their change).
 */
export async function statements(
  sql: Sql,
  options: {
    order?: StatementOrder;
    limit?: number;
    id?: string;
    role?: boolean;
    /** Join the newest snapshot (false: a database without vmledger's tables, the CLI's). */
    trend?: boolean;
    window?: Window;
  } = {},
): Promise<StatementRow[]> {
  const trend = options.trend ?? true;
  const w = trend ? options.window : undefined;
  const order = w ? DELTA_ORDER_SQL[options.order ?? 'total'] : ORDER_SQL[options.order ?? 'total'];
  const limit = options.limit ?? 50;
  const rows = await asInsightRole(sql, options.role ?? false, (tx) =>
    tx<RawStatement[]>`
    with s as (
      select /* vmledger:dbinsight */ queryid,
             min(query) as query,
             sum(calls)::float8 as calls,
             sum(total_exec_time)::float8 as total_ms,
             sum(rows)::float8 as rows,
             sum(shared_blks_read)::float8 as shared_blks_read,
             sum(shared_blks_hit)::float8 as shared_blks_hit
        from pg_stat_statements
       where dbid = (select oid from pg_database where datname = current_database())
         and queryid is not null
         ${options.id !== undefined ? tx`and queryid = ${options.id}::bigint` : tx``}
       group by queryid
    ), f as (
      ${
      w
        ? tx`select id, taken_at from db_insight_snapshots where id = ${w.from}::bigint`
        : trend
        ? tx`select id, taken_at from db_insight_snapshots order by taken_at desc limit 1`
        : tx`select null::bigint as id, null::timestamptz as taken_at where false`
    }
    ), b as (
      ${
      w?.to
        ? tx`select queryid, calls::float8 as calls, total_exec_ms as total_ms,
                    rows::float8 as rows, shared_blks_read::float8 as shared_blks_read
               from db_insight_snapshot_statements where snapshot_id = ${w.to.id}::bigint`
        : tx`select queryid, calls, total_ms, rows, shared_blks_read from s`
    }
    ), d as (
      select b.queryid, f.taken_at as since,
             b.calls - coalesce(p.calls, 0) as d_calls,
             b.total_ms - coalesce(p.total_exec_ms, 0) as d_total_ms,
             b.rows - coalesce(p.rows, 0) as d_rows,
             b.shared_blks_read - coalesce(p.shared_blks_read, 0) as d_reads
        from f cross join b
        left join ${
      trend
        ? tx`db_insight_snapshot_statements`
        : tx`(select null::bigint as snapshot_id, null::bigint as queryid, null::bigint as calls,
                     null::float8 as total_exec_ms, null::bigint as rows,
                     null::bigint as shared_blks_read where false)`
    } p
          on p.snapshot_id = f.id and p.queryid = b.queryid
    )
    select s.queryid::text as id, s.query, s.calls, s.total_ms,
           s.total_ms / nullif(s.calls, 0) as mean_ms, s.rows, s.shared_blks_read,
           s.shared_blks_hit, d.since, d.d_calls::float8 as d_calls,
           d.d_total_ms::float8 as d_total_ms, d.d_rows::float8 as d_rows,
           d.d_reads::float8 as d_reads
      from s
      left join d on d.queryid = s.queryid
     ${w ? tx`where d.d_calls > 0` : tx``}
     order by ${tx.unsafe(order)} desc nulls last, s.queryid
     limit ${limit}`);
  return rows.map((r) => toStatement(r, w?.to?.takenAt ?? null));
}

function toStatement(r: RawStatement, until: string | null): StatementRow {
  let trend: StatementRow['trend'] = null;
  // A statement new since the snapshot counts from zero; fewer calls than then: a reset.
  if (r.since && r.d_calls !== null && r.d_calls >= 0) {
    const calls = r.d_calls;
    const totalMs = r.d_total_ms ?? 0;
    trend = {
      since: r.since.toISOString(),
      until,
      calls,
      totalMs: round(totalMs),
      meanMs: calls > 0 ? round(totalMs / calls) : null,
      rows: r.d_rows ?? 0,
      sharedBlksRead: r.d_reads ?? 0,
    };
  }
  return {
    id: r.id,
    query: r.query,
    module: moduleOf(r.query),
    calls: r.calls,
    totalMs: round(r.total_ms),
    meanMs: round(r.mean_ms ?? 0),
    rows: r.rows,
    sharedBlksRead: r.shared_blks_read,
    sharedBlksHit: r.shared_blks_hit,
    trend,
  };
}

function round(n: number): number {
  return Math.round(n * 1000) / 1000;
}

export const TableRow = z.object({
  name: z.string(),
  liveRows: z.number(),
  deadRows: z.number(),
  tableBytes: z.number(),
  indexBytes: z.number(),
  /** Bytes held by dead rows (dead / (live + dead) of the table): an estimate of bloat. */
  bloatBytes: z.number(),
  seqScans: z.number(),
  seqRowsRead: z.number(),
  indexScans: z.number(),
  /** Rows changed since the last ANALYZE. */
  modifiedSinceAnalyze: z.number(),
  lastAnalyzed: z.string().nullable(),
});
export type TableRow = z.infer<typeof TableRow>;

/** The user tables, largest first (`limit`), with sizes, scans and the bloat estimate. */
export async function tables(sql: Sql, options: { limit?: number } = {}): Promise<TableRow[]> {
  const rows = await sql<{
    name: string;
    live: number;
    dead: number;
    table_bytes: number;
    index_bytes: number;
    seq_scan: number;
    seq_tup_read: number;
    idx_scan: number;
    n_mod: number;
    analyzed: Date | null;
  }[]>`
    select /* vmledger:dbinsight */ s.relid::regclass::text as name,
           s.n_live_tup::float8 as live, s.n_dead_tup::float8 as dead,
           pg_table_size(s.relid)::float8 as table_bytes,
           pg_indexes_size(s.relid)::float8 as index_bytes,
           coalesce(s.seq_scan, 0)::float8 as seq_scan,
           coalesce(s.seq_tup_read, 0)::float8 as seq_tup_read,
           coalesce(s.idx_scan, 0)::float8 as idx_scan,
           s.n_mod_since_analyze::float8 as n_mod,
           greatest(s.last_analyze, s.last_autoanalyze) as analyzed
      from pg_stat_user_tables s
     order by pg_total_relation_size(s.relid) desc, 1
     limit ${options.limit ?? 200}`;
  return rows.map((r) => ({
    name: r.name,
    liveRows: r.live,
    deadRows: r.dead,
    tableBytes: r.table_bytes,
    indexBytes: r.index_bytes,
    bloatBytes: r.live + r.dead > 0 ? Math.round(r.table_bytes * r.dead / (r.live + r.dead)) : 0,
    seqScans: r.seq_scan,
    seqRowsRead: r.seq_tup_read,
    indexScans: r.idx_scan,
    modifiedSinceAnalyze: r.n_mod,
    lastAnalyzed: r.analyzed?.toISOString() ?? null,
  }));
}

export const IndexRow = z.object({
  name: z.string(),
  table: z.string(),
  /** Key column names in order; `(expression)` for an expression. */
  columns: z.array(z.string()),
  definition: z.string(),
  bytes: z.number(),
  scans: z.number(),
  unique: z.boolean(),
  primary: z.boolean(),
  /** Backs a constraint (primary key, unique, exclusion): cannot simply be dropped. */
  constraint: z.boolean(),
  partial: z.boolean(),
  method: z.string(),
});
export type IndexRow = z.infer<typeof IndexRow>;

/** Every index of the user tables, with its size, scans and columns. */
export async function indexes(sql: Sql): Promise<IndexRow[]> {
  const rows = await sql<{
    name: string;
    table: string;
    columns: string[];
    definition: string;
    bytes: number;
    scans: number;
    unique: boolean;
    primary: boolean;
    constraint: boolean;
    partial: boolean;
    method: string;
  }[]>`
    select /* vmledger:dbinsight */ s.indexrelid::regclass::text as name,
           s.relid::regclass::text as table,
           array(select coalesce(a.attname::text, '(expression)')
                   from unnest(i.indkey::int2[]) with ordinality k(attnum, n)
                   left join pg_attribute a on a.attrelid = i.indrelid and a.attnum = k.attnum
                  where k.n <= i.indnkeyatts
                  order by k.n) as columns,
           pg_get_indexdef(s.indexrelid) as definition,
           pg_relation_size(s.indexrelid)::float8 as bytes,
           coalesce(s.idx_scan, 0)::float8 as scans,
           i.indisunique as unique, i.indisprimary as primary,
           exists (select from pg_constraint c where c.conindid = s.indexrelid) as constraint,
           i.indpred is not null as partial,
           am.amname as method
      from pg_stat_user_indexes s
      join pg_index i on i.indexrelid = s.indexrelid
      join pg_class ic on ic.oid = s.indexrelid
      join pg_am am on am.oid = ic.relam
     order by 2, 1`;
  return rows.map((r) => ({ ...r }));
}

export const CacheHit = z.object({
  /** Share of table block reads served from shared buffers (null: nothing read yet). */
  tables: z.number().nullable(),
  indexes: z.number().nullable(),
});
export type CacheHit = z.infer<typeof CacheHit>;

export async function cacheHit(sql: Sql): Promise<CacheHit> {
  const [r] = await sql<{ tables: number | null; indexes: number | null }[]>`
    select /* vmledger:dbinsight */
      (select sum(heap_blks_hit)::float8 / nullif(sum(heap_blks_hit + heap_blks_read), 0)
         from pg_statio_user_tables) as tables,
      (select sum(idx_blks_hit)::float8 / nullif(sum(idx_blks_hit + idx_blks_read), 0)
         from pg_statio_user_indexes) as indexes`;
  return r;
}

/**
 * Takes a snapshot of the statement statistics and deletes those older than
 * `retentionDays`. Returns the snapshot's id and how many statements it holds (null id:
 * pg_stat_statements is not ready, nothing taken).
 */
export async function takeSnapshot(
  sql: Sql,
  options: { retentionDays?: number } = {},
): Promise<{ id: string | null; statements: number; deleted: number }> {
  const status = await insightStatus(sql);
  const deleted = await sql`
    delete from db_insight_snapshots /* vmledger:dbinsight */
     where taken_at < now() - make_interval(days => ${options.retentionDays ?? 14})`;
  if (!status.ready) return { id: null, statements: 0, deleted: deleted.count };
  return await sql.begin(async (tx) => {
    if (status.role) await tx.unsafe(`set local role ${INSIGHT_ROLE}`);
    const rows = await tx<{
      queryid: string;
      calls: string;
      total_ms: number;
      rows: string;
      r: string;
      h: string;
    }[]>`
      select /* vmledger:dbinsight */ queryid::text as queryid, sum(calls)::text as calls,
             sum(total_exec_time)::float8 as total_ms, sum(rows)::text as rows,
             sum(shared_blks_read)::text as r, sum(shared_blks_hit)::text as h
        from pg_stat_statements
       where dbid = (select oid from pg_database where datname = current_database())
         and queryid is not null
       group by queryid`;
    const [info] = status.serverVersion >= 140000
      ? await tx<{ reset: Date | null }[]>`select stats_reset as reset from pg_stat_statements_info`
      : [{ reset: null }];
    if (status.role) await tx.unsafe('reset role');
    const [snap] = await tx<{ id: string }[]>`
      insert into db_insight_snapshots (stats_reset) values (${info?.reset ?? null})
      returning id::text`;
    if (rows.length) {
      await tx`
        insert into db_insight_snapshot_statements
          (snapshot_id, queryid, calls, total_exec_ms, rows, shared_blks_read, shared_blks_hit)
        select ${snap.id}::bigint, * from unnest(
          ${rows.map((r) => r.queryid)}::bigint[], ${rows.map((r) => r.calls)}::bigint[],
          ${rows.map((r) => r.total_ms)}::float8[], ${rows.map((r) => r.rows)}::bigint[],
          ${rows.map((r) => r.r)}::bigint[], ${rows.map((r) => r.h)}::bigint[])`;
    }
    return { id: snap.id, statements: rows.length, deleted: deleted.count };
  });
}

export const Snapshot = z.object({
  id: z.string(),
  takenAt: z.string(),
  statements: z.number(),
  /** When pg_stat_statements was last reset, as of the snapshot (null: unknown). */
  statsReset: z.string().nullable(),
});
export type Snapshot = z.infer<typeof Snapshot>;

type RawSnapshot = { id: string; taken_at: Date; n: number; stats_reset: Date | null };
const toSnapshot = (r: RawSnapshot): Snapshot => ({
  id: r.id,
  takenAt: r.taken_at.toISOString(),
  statements: r.n,
  statsReset: r.stats_reset?.toISOString() ?? null,
});

/** The newest `limit` snapshots, newest first. */
export async function snapshots(sql: Sql, limit = 20): Promise<Snapshot[]> {
  const rows = await sql<RawSnapshot[]>`
    select /* vmledger:dbinsight */ s.id::text, s.taken_at, s.stats_reset,
           (select count(*) from db_insight_snapshot_statements t where t.snapshot_id = s.id)::int as n
      from db_insight_snapshots s order by s.taken_at desc limit ${limit}`;
  return rows.map(toSnapshot);
}

/**
 * One snapshot: by id (digits), or the newest taken at or before a time (ISO 8601; to the
 * millisecond, as the API gives snapshot times). Null when there is none.
 */
export async function findSnapshot(sql: Sql, idOrTime: string): Promise<Snapshot | null> {
  const byId = /^\d{1,19}$/.test(idOrTime);
  const [r] = await sql<RawSnapshot[]>`
    select /* vmledger:dbinsight */ s.id::text, s.taken_at, s.stats_reset,
           (select count(*) from db_insight_snapshot_statements t where t.snapshot_id = s.id)::int as n
      from db_insight_snapshots s
     where ${
    byId
      ? sql`s.id = ${idOrTime}::bigint`
      : sql`date_trunc('milliseconds', s.taken_at) <= ${idOrTime}::timestamptz`
  }
     order by s.taken_at desc limit 1`;
  return r ? toSnapshot(r) : null;
}
