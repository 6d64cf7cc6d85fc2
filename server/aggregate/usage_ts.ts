/**
 * Usage tiers in TypeScript: the twin of sql/routines/usage_hourly.sql, usage_daily.sql and
 * usage_tiers.sql (rules: docs/aggregation.md, "Usage tiers"). The hourly tier folds the
 * day's facts per object and hour; the daily tier folds the day's hourly rows per object.
 * Both read through a cursor ordered by object and time, so memory holds one group and one
 * write batch, and both fold the same partial aggregate (count, sum, max, min, last) — a
 * fact is the partial aggregate of one sample. Values travel as integers in units of the
 * input's scale (whole MHz/MiB for VMs; thousandths for host usage and datastore GB, read as
 * round(x::numeric, 3) like the SQL path), sums are checked exact, averages come from
 * ratioMicro (rollup_ratio's formula), and rows are written through jsonb_populate_recordset
 * with the table's own row type, numerics as decimal text.
 */
import type { Sql } from '../db/connect.ts';
import { exact, formatScaled, ratio } from './numeric.ts';
import { dayBounds } from './period.ts';

const CURSOR_ROWS = 10_000;
const WRITE_BATCH = 5_000;
const HOUR_US = 3_600_000_000;

type Stat = 'max' | 'min' | 'last';
/**
 * One usage metric of a table: columns `${name}_sum_${unit}`, `${name}_avg_${unit}`, one per
 * stat `${name}_${stat}_${unit}`, and its own count column `${name}_samples` unless it counts
 * the row's `samples` (datastore space: a sample has both numbers). `sum: false`: only stats.
 */
type Metric = {
  name: string;
  unit: string;
  scale: 0 | 3;
  stats: readonly Stat[];
  ownCount: boolean;
  sum?: false;
};

/** A tier table family: facts table, object key column and the metrics. */
export type UsageKind = {
  hourly: string;
  daily: string;
  key: string;
  metrics: readonly Metric[];
  /** The facts query's select list after key and time: one value per metric, integer units. */
  factValues: string;
  factTable: string;
  factFilter: string;
  /** Metric values of a fact row's values (after key and time), null when unknown. */
  fromFact: (v: (number | null)[]) => (number | null)[];
};

const m = (
  name: string,
  unit: string,
  scale: 0 | 3,
  stats: readonly Stat[],
  ownCount = true,
  sum = true,
): Metric => ({ name, unit, scale, stats, ownCount, ...(sum ? {} : { sum: false as const }) });

export const USAGE_KINDS: Record<'vm' | 'host' | 'datastore', UsageKind> = {
  vm: {
    hourly: 'vm_usage_hourly',
    daily: 'vm_usage_daily',
    key: 'vm_key',
    metrics: [
      m('cpu', 'mhz', 0, ['max']),
      m('guest_mem', 'mib', 0, ['max']),
      m('host_mem', 'mib', 0, ['max']),
    ],
    factTable: 'vm_hourly_stats',
    factValues: 'cpu_usage_mhz, guest_memory_mib, host_memory_mib',
    factFilter:
      'not is_template and (cpu_usage_mhz is not null or guest_memory_mib is not null or host_memory_mib is not null)',
    fromFact: (v) => v,
  },
  host: {
    hourly: 'host_usage_hourly',
    daily: 'host_usage_daily',
    key: 'host_key',
    metrics: [m('cpu', 'mhz', 3, ['max']), m('mem', 'mib', 3, ['max'])],
    factTable: 'host_facts',
    factValues:
      '(round(cpu_usage_mhz::numeric, 3) * 1000)::int8, (round(memory_usage_mib::numeric, 3) * 1000)::int8',
    factFilter: '(cpu_usage_mhz is not null or memory_usage_mib is not null)',
    fromFact: (v) => v,
  },
  datastore: {
    hourly: 'datastore_usage_hourly',
    daily: 'datastore_usage_daily',
    key: 'datastore_key',
    metrics: [
      m('used', 'gb', 3, ['max', 'last'], false),
      m('free', 'gb', 3, ['min', 'last'], false),
      m('capacity', 'gb', 3, ['last'], false, false),
    ],
    factTable: 'datastore_facts',
    factValues:
      '(round(capacity_gb::numeric, 3) * 1000)::int8, (round(free_gb::numeric, 3) * 1000)::int8',
    factFilter: 'capacity_gb is not null and free_gb is not null',
    // used = capacity - free, both rounded first (the SQL path's cap - free)
    fromFact: ([cap, free]) => [cap! - free!, free, cap],
  },
};

const col = (x: Metric, part: string) => `${x.name}_${part}_${x.unit}`;

/** A partial aggregate of one metric. */
type Acc = { n: number; sum: number; max: number | null; min: number | null; last: number | null };
const emptyAcc = (): Acc => ({ n: 0, sum: 0, max: null, min: null, last: null });

/** Folds a partial aggregate (a fact is n = 1 with every part its value) into `a`; inputs come in time order. */
function merge(
  a: Acc,
  n: number,
  sum: number,
  max: number | null,
  min: number | null,
  last: number | null,
) {
  if (n === 0) return;
  a.n += n;
  a.sum += sum;
  if (max !== null && (a.max === null || max > a.max)) a.max = max;
  if (min !== null && (a.min === null || min < a.min)) a.min = min;
  if (last !== null) a.last = last;
}

const scaled = (v: number | null, scale: number) =>
  v === null ? null : scale === 0 ? v : formatScaled(BigInt(v), scale);

/** A group's row: the key columns, samples, then each metric's columns. */
function rowOf(
  kind: UsageKind,
  head: Record<string, string | number>,
  samples: number,
  accs: Acc[],
  what: string,
) {
  const row: Record<string, string | number | null> = { ...head, samples };
  kind.metrics.forEach((x, i) => {
    const a = accs[i];
    if (x.ownCount) row[`${x.name}_samples`] = a.n;
    if (x.sum !== false) {
      const sum = exact(a.sum, what);
      row[col(x, 'sum')] = x.scale === 0 ? sum.toString() : formatScaled(sum, x.scale);
      row[col(x, 'avg')] = a.n === 0 ? null : ratio(sum, 10n ** BigInt(x.scale), BigInt(a.n));
    }
    for (const s of x.stats) row[col(x, s)] = scaled(a[s], x.scale);
  });
  return row;
}

/**
 * Batched writes through `tx` with at most one statement in flight (they queue on the
 * transaction's connection while the cursor keeps reading on its own).
 */
class Writer {
  #tx: Sql;
  #pending: Promise<void> = Promise.resolve();
  #batches = new Map<string, Record<string, unknown>[]>();
  written = new Map<string, number>();
  constructor(tx: Sql) {
    this.#tx = tx;
  }
  async push(table: string, row: Record<string, unknown>) {
    const batch = this.#batches.get(table) ?? [];
    this.#batches.set(table, batch);
    batch.push(row);
    this.written.set(table, (this.written.get(table) ?? 0) + 1);
    if (batch.length >= WRITE_BATCH) await this.#flush(table);
  }
  async #flush(table: string) {
    const rows = this.#batches.get(table) ?? [];
    this.#batches.set(table, []);
    await this.#pending;
    if (rows.length) this.#pending = insertRows(this.#tx, table, rows);
  }
  async end() {
    for (const table of this.#batches.keys()) await this.#flush(table);
    await this.#pending;
  }
}

async function insertRows(tx: Sql, table: string, rows: Record<string, unknown>[]) {
  await tx`insert into ${tx(table)} select * from jsonb_populate_recordset(null::${tx(table)}, ${
    tx.json(rows as never)
  })`;
}

type Day = { sourceId: number; day: string; t0: string; t1: string; t0ms: number };

async function dayOf(tx: Sql, sourceId: number, day: string, tz: string): Promise<Day> {
  const b = await dayBounds(tx, day, tz);
  const [{ ms }] =
    await tx`select (extract(epoch from ${b.start}::timestamptz) * 1000)::int8 as ms`;
  return { sourceId, day, t0: b.start, t1: b.end, t0ms: ms };
}

/**
 * One kind's tiers for the day: reads its facts (key, microseconds since the day's start,
 * values; ordered by key and time) through a cursor, folds each (key, hour) into an hourly
 * row, and — with `daily` — each key's hourly partials into its daily row, exactly as the
 * SQL path reads the hourly rows back. Replaces the day's rows first.
 */
async function tiersOfKind(read: Sql, w: Writer, tx: Sql, kind: UsageKind, d: Day, daily: boolean) {
  await tx`delete from ${tx(kind.hourly)} where source_id = ${d.sourceId}
    and hour >= ${d.t0}::timestamptz and hour < ${d.t1}::timestamptz`;
  if (daily) {
    await tx`delete from ${
      tx(kind.daily)
    } where source_id = ${d.sourceId} and day = ${d.day}::date`;
  }
  const metrics = kind.metrics.length;
  const fresh = () => Array.from({ length: metrics }, emptyAcc);
  let key: string | null = null;
  let hour = 0;
  let samples = 0;
  let accs: Acc[] = [];
  let daySamples = 0;
  let dayAccs: Acc[] = [];
  const endHour = async () => {
    const k = key!;
    const head = {
      source_id: d.sourceId,
      hour: new Date(d.t0ms + hour * 3_600_000).toISOString(),
      [kind.key]: k,
    };
    await w.push(kind.hourly, rowOf(kind, head, samples, accs, `${kind.hourly} ${k}`));
    daySamples += samples;
    for (let i = 0; i < metrics; i++) {
      const a = accs[i];
      merge(dayAccs[i], a.n, a.sum, a.max, a.min, a.last);
    }
  };
  const endKey = async () => {
    if (!daily) return;
    const k = key!;
    const head = { source_id: d.sourceId, day: d.day, [kind.key]: k };
    await w.push(kind.daily, rowOf(kind, head, daySamples, dayAccs, `${kind.daily} ${k}`));
  };
  const query = read`
    select ${
    read(kind.key)
  }, (extract(epoch from snapshot_time - ${d.t0}::timestamptz) * 1000000)::int8,
           ${read.unsafe(kind.factValues)}
    from ${read(kind.factTable)}
    where source_id = ${d.sourceId} and snapshot_time >= ${d.t0}::timestamptz
      and snapshot_time < ${d.t1}::timestamptz and ${read.unsafe(kind.factFilter)}
    order by 1, snapshot_time`;
  for await (const rows of query.values().cursor(CURSOR_ROWS)) {
    for (const r of rows) {
      const k = r[0] as string;
      const h = Math.floor((r[1] as number) / HOUR_US);
      if (key !== k || hour !== h) {
        if (key !== null) {
          await endHour();
          if (key !== k) await endKey();
        }
        if (key !== k) {
          daySamples = 0;
          dayAccs = fresh();
        }
        key = k;
        hour = h;
        samples = 0;
        accs = fresh();
      }
      samples++;
      const x = kind.fromFact(r.slice(2) as (number | null)[]);
      for (let i = 0; i < metrics; i++) {
        const y = x[i];
        if (y !== null) merge(accs[i], 1, y, y, y, y);
      }
    }
  }
  if (key !== null) {
    await endHour();
    await endKey();
  }
}

const KINDS = [USAGE_KINDS.vm, USAGE_KINDS.host, USAGE_KINDS.datastore];

/**
 * The usage tiers of (sourceId, day) inside `tx` (`read`: a pool for the fact cursors): the
 * hourly tier, and unless `daily` is false (the benchmark times the hourly tier alone) the
 * daily tier and its usage_tier_days entry. Returns the VM hourly rows written, as
 * aggregate_usage() and aggregate_usage_hourly() do.
 */
export async function aggregateUsageTs(
  read: Sql,
  tx: Sql,
  sourceId: number,
  day: string,
  tz: string,
  o: { daily?: boolean } = {},
): Promise<number> {
  const daily = o.daily !== false;
  const d = await dayOf(tx, sourceId, day, tz);
  const w = new Writer(tx);
  for (const kind of KINDS) await tiersOfKind(read, w, tx, kind, d, daily);
  await w.end();
  if (daily) {
    await tx`
      insert into usage_tier_days (source_id, day, period_start, period_end, engine)
      values (${sourceId}, ${day}::date, ${d.t0}::timestamptz, ${d.t1}::timestamptz, 'ts')
      on conflict (source_id, day) do update set
        period_start = excluded.period_start, period_end = excluded.period_end,
        engine = excluded.engine, computed_at = now()`;
  }
  return w.written.get(USAGE_KINDS.vm.hourly) ?? 0;
}
