/**
 * The TypeScript engines' read loop and bulk writes: each batch of rollup rows is one statement with one
 * JSON parameter expanded by jsonb_to_recordset (numerics travel as decimal text, so
 * nothing passes through a float), its columns taken from the row declarations in
 * rollup_row.ts. Lifecycle columns of daily rows are looked up in the same statement,
 * exactly as the SQL path joins them.
 */
import type { Sql } from '../db/connect.ts';
import {
  DAILY_ROW,
  type DailyRow,
  type Kind,
  LIFECYCLE,
  MONTHLY_ROW,
  type MonthlyRow,
  type TotalsRow,
  TRANSPORT,
} from './rollup_row.ts';

const CURSOR_ROWS = 10_000;
const WRITE_BATCH = 5_000;

/**
 * The loop both engines run: reads `query`'s rows (ordered by VM key, the key first) through a
 * cursor, so memory holds one VM and one write batch whatever the estate size; folds each
 * VM's rows (`start` on its first, `add` on every one) and hands the row `finish` makes of it
 * to `write`, WRITE_BATCH rows at a time with at most one write in flight, so writing
 * overlaps reading.
 */
export async function foldByVm<F extends [string, ...unknown[]], V extends { key: string }, R>(
  query: { values(): { cursor(rows: number): AsyncIterable<unknown[]> } },
  start: (first: F) => V,
  add: (vm: V, r: F) => void,
  finish: (vm: V) => R,
  write: (rows: R[]) => Promise<void>,
): Promise<void> {
  let batch: R[] = [];
  let pending: Promise<void> = Promise.resolve();
  const flush = async () => {
    const rows = batch;
    batch = [];
    await pending;
    pending = write(rows);
  };
  let vm: V | null = null;
  for await (const rows of query.values().cursor(CURSOR_ROWS)) {
    for (const r of rows as F[]) {
      if (vm === null || vm.key !== r[0]) {
        if (vm) batch.push(finish(vm));
        if (batch.length >= WRITE_BATCH) await flush();
        vm = start(r);
      }
      add(vm, r);
    }
  }
  if (vm) batch.push(finish(vm));
  await flush();
  await pending;
}

// Statement parts derived from the row declarations, once: the target columns, their
// values read from the JSON record `r` (jsonb text cast back), and that record's definition.
function batchSql(row: Record<string, Kind>) {
  const cols = Object.entries(row);
  return {
    columns: cols.map(([c]) => c).join(', '),
    values: cols.map(([c, k]) => (k === 'json' ? `r.${c}::jsonb` : `r.${c}`)).join(', '),
    record: cols.map(([c, k]) => `${c} ${TRANSPORT[k]}`).join(', '),
  };
}
const DAILY = batchSql(DAILY_ROW);
const MONTHLY = batchSql(MONTHLY_ROW);
const LIFE = Object.keys(LIFECYCLE);
const LIFE_COLUMNS = LIFE.join(', ');
const LIFE_VALUES = LIFE.map((c) => `l.${c}`).join(', ');

/** Inserts one batch of daily rows for (sourceId, day). */
export async function insertDailyRows(
  tx: Sql,
  sourceId: number,
  day: string,
  rows: DailyRow[],
): Promise<void> {
  if (rows.length === 0) return;
  await tx`
    insert into vm_daily_rollup (source_id, day, ${tx.unsafe(DAILY.columns)}, ${
    tx.unsafe(LIFE_COLUMNS)
  })
    select ${sourceId}, ${day}::date, ${tx.unsafe(DAILY.values)}, ${tx.unsafe(LIFE_VALUES)}
    from jsonb_to_recordset(${tx.json(rows)}) as r(${tx.unsafe(DAILY.record)})
    left join vm_lifecycle l on l.source_id = ${sourceId} and l.vm_key = r.vm_key`;
}

/** Inserts one batch of monthly rows for (sourceId, month). */
export async function insertMonthlyRows(
  tx: Sql,
  sourceId: number,
  month: string,
  rows: MonthlyRow[],
): Promise<void> {
  if (rows.length === 0) return;
  await tx`
    insert into vm_monthly_rollup (source_id, month, ${tx.unsafe(MONTHLY.columns)})
    select ${sourceId}, ${month}::date, ${tx.unsafe(MONTHLY.values)}
    from jsonb_to_recordset(${tx.json(rows)}) as r(${tx.unsafe(MONTHLY.record)})`;
}

/**
 * Writes a period's totals row; `key` holds the columns that name the period (source_id,
 * day and day_seconds; or source_id, month and days_covered). Values are sent untyped, so
 * PostgreSQL reads the decimal text as the columns' own types.
 */
export async function insertTotals(
  tx: Sql,
  table: 'source_daily_totals' | 'source_monthly_totals',
  key: Record<string, string | number>,
  t: TotalsRow,
) {
  await tx`insert into ${tx(table)} ${tx({ ...key, ...t })}`;
}

/** Records the period in snapshot_registry (same upsert as the SQL path). */
export async function registerSnapshot(
  tx: Sql,
  kind: 'daily' | 'monthly',
  sourceId: number,
  start: string,
  end: string,
  rowCount: number,
  complete: boolean,
) {
  await tx`
    insert into snapshot_registry (kind, source_id, period_start, period_end, row_count, complete)
    values (${kind}, ${sourceId}, ${start}::timestamptz, ${end}::timestamptz, ${rowCount}, ${complete})
    on conflict (kind, source_id, period_start) do update set
      period_end = excluded.period_end, row_count = excluded.row_count,
      complete = excluded.complete, created_at = now()`;
}
