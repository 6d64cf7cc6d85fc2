/**
 * Usage tiers in TypeScript: the twin of sql/routines/usage_hourly.sql, usage_daily.sql and
 * usage_tiers.sql (rules: docs/aggregation.md, "Usage tiers"). One cursor per kind reads the
 * day's facts ordered by object and time; each (object, hour) folds into an hourly row and
 * each object's hourly partials into its daily row — the same partial aggregate (count,
 * sum, max, min, last) the SQL path reads back from the hourly rows; a fact is the partial
 * aggregate of one sample. Values are integers in units of the input's scale (whole MHz/MiB
 * for VMs; thousandths for host usage and datastore GB, read as round(x::numeric, 3) like the
 * SQL path); sums are checked exact and averages use rollup_ratio's integer formula. Hourly
 * rows are COPYed while the cursor reads (memory holds one group and one chunk), daily rows
 * (one per object) after.
 */
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Sql } from '../db/connect.ts';
import { exact, ratio } from './numeric.ts';
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

/** An integer in units of 10^-scale as numeric text ("12.345"); scale 0 as is. */
function decimal(v: number, scale: number): string {
  if (scale === 0) return String(v);
  const neg = v < 0;
  const t = String(neg ? -v : v).padStart(scale + 1, '0');
  return `${neg ? '-' : ''}${t.slice(0, -scale)}.${t.slice(-scale)}`;
}

/**
 * rollup_ratio(sum · 10^-scale, n) as numeric text with 6 decimals: floor((2·p·10⁶ + q) /
 * (2·q)) in exact integers — plain numbers while every operand stays below 2^53 (the
 * float quotient is corrected to the exact floor), BigInt beyond.
 */
function average(sum: number, scale: number, n: number): string {
  const pDen = scale === 0 ? 1 : 1000;
  const num = 2 * sum * 1_000_000 + pDen * n;
  const den = 2 * pDen * n;
  if (!Number.isSafeInteger(num) || !Number.isSafeInteger(den)) {
    return ratio(BigInt(sum), 10n ** BigInt(scale), BigInt(n));
  }
  let q = Math.floor(num / den);
  const r = num - q * den;
  if (r < 0) q--;
  else if (r >= den) q++;
  return decimal(q, 6);
}

/** COPY text of a text value (backslash, tab, newline and carriage return escaped). */
const copyText = (v: string) =>
  /[\\\t\n\r]/.test(v) ? v.replace(/[\\\t\n\r]/g, (c) => COPY_ESCAPES[c]) : v;
const COPY_ESCAPES: Record<string, string> = {
  '\\': '\\\\',
  '\t': '\\t',
  '\n': '\\n',
  '\r': '\\r',
};

/** A tier table's columns after source, period and key, in the order linePart() writes them. */
function valueColumns(kind: UsageKind): string[] {
  const out = ['samples'];
  for (const x of kind.metrics) {
    if (x.ownCount) out.push(`${x.name}_samples`);
    if (x.sum !== false) out.push(col(x, 'sum'), col(x, 'avg'));
    for (const s of x.stats) out.push(col(x, s));
  }
  return out;
}

/** The COPY text of a group's values (samples, then each metric's columns), tab-led. */
function linePart(kind: UsageKind, samples: number, accs: Acc[], what: string): string {
  let out = `\t${samples}`;
  for (let i = 0; i < kind.metrics.length; i++) {
    const x = kind.metrics[i];
    const a = accs[i];
    if (x.ownCount) out += `\t${a.n}`;
    if (x.sum !== false) {
      if (!Number.isSafeInteger(a.sum)) exact(a.sum, what); // throws: the sum lost digits
      out += `\t${decimal(a.sum, x.scale)}\t${a.n === 0 ? '\\N' : average(a.sum, x.scale, a.n)}`;
    }
    for (const s of x.stats) {
      const v = a[s];
      out += v === null ? '\t\\N' : `\t${decimal(v, x.scale)}`;
    }
  }
  return out;
}

/**
 * COPYs the text `chunks` (an async source: built while PostgreSQL inserts the previous
 * chunk) into `table`. Like ingest's copyInto, it also watches the query's own rejection:
 * postgres.js reports an error PostgreSQL raises after the stream ended only there.
 */
async function copyChunks(
  tx: Sql,
  table: string,
  columns: string[],
  chunks: AsyncIterable<string> | Iterable<string>,
): Promise<void> {
  const query = tx.unsafe(`copy ${table} (${columns.join(', ')}) from stdin`);
  const q = query as unknown as { reject: (err: unknown) => unknown };
  const refused = new Promise<Error>((resolve) => {
    const reject = q.reject;
    q.reject = (err: unknown) => {
      resolve(err instanceof Error ? err : new Error(String(err)));
      return reject(err);
    };
  });
  const writable = await query.writable();
  const copied = pipeline(Readable.from(chunks, { highWaterMark: 1 }), writable);
  const error = await Promise.race([copied.then(() => null), refused]);
  if (error === null) return;
  copied.catch(() => {});
  writable.destroy(error);
  throw error;
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
 * row, COPYed as the cursor goes, and — with `daily` — each key's hourly partials into its
 * daily row, exactly as the SQL path reads the hourly rows back; the daily rows are COPYed
 * after. Replaces the day's rows first. Returns the hourly rows written.
 */
async function tiersOfKind(read: Sql, tx: Sql, kind: UsageKind, d: Day, daily: boolean) {
  await tx`delete from ${tx(kind.hourly)} where source_id = ${d.sourceId}
    and hour >= ${d.t0}::timestamptz and hour < ${d.t1}::timestamptz`;
  if (daily) {
    await tx`delete from ${
      tx(kind.daily)
    } where source_id = ${d.sourceId} and day = ${d.day}::date`;
  }
  const metrics = kind.metrics.length;
  const fresh = () => Array.from({ length: metrics }, emptyAcc);
  const hourText = new Map<number, string>();
  const hourOf = (h: number) => {
    let t = hourText.get(h);
    if (t === undefined) hourText.set(h, t = new Date(d.t0ms + h * 3_600_000).toISOString());
    return t;
  };
  const dailyLines: string[] = [];
  let hourly = 0;
  let key: string | null = null;
  let keyText = '';
  let hour = 0;
  let samples = 0;
  let accs: Acc[] = [];
  let daySamples = 0;
  let dayAccs: Acc[] = [];
  const endHour = () => {
    hourly++;
    daySamples += samples;
    for (let i = 0; i < metrics; i++) {
      const a = accs[i];
      merge(dayAccs[i], a.n, a.sum, a.max, a.min, a.last);
    }
    return `${d.sourceId}\t${hourOf(hour)}\t${keyText}${
      linePart(kind, samples, accs, `${kind.hourly} ${key}`)
    }\n`;
  };
  const endKey = () => {
    if (!daily) return;
    dailyLines.push(
      `${d.sourceId}\t${d.day}\t${keyText}${
        linePart(kind, daySamples, dayAccs, `${kind.daily} ${key}`)
      }\n`,
    );
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
  async function* lines(): AsyncGenerator<string> {
    for await (const rows of query.values().cursor(CURSOR_ROWS)) {
      let out = '';
      for (const r of rows) {
        const k = r[0] as string;
        const h = Math.floor((r[1] as number) / HOUR_US);
        if (key !== k || hour !== h) {
          if (key !== null) {
            out += endHour();
            if (key !== k) endKey();
          }
          if (key !== k) {
            daySamples = 0;
            dayAccs = fresh();
            keyText = copyText(k);
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
      if (out) yield out;
    }
    if (key !== null) {
      const last = endHour();
      endKey();
      yield last;
    }
  }
  const columns = valueColumns(kind);
  await copyChunks(tx, kind.hourly, ['source_id', 'hour', kind.key, ...columns], lines());
  if (daily && dailyLines.length) {
    const chunks = function* () {
      for (let i = 0; i < dailyLines.length; i += WRITE_BATCH) {
        yield dailyLines.slice(i, i + WRITE_BATCH).join('');
      }
    };
    await copyChunks(tx, kind.daily, ['source_id', 'day', kind.key, ...columns], chunks());
  }
  return hourly;
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
  let vmRows = 0;
  for (const kind of KINDS) {
    const n = await tiersOfKind(read, tx, kind, d, daily);
    if (kind === USAGE_KINDS.vm) vmRows = n;
  }
  if (daily) {
    await tx`
      insert into usage_tier_days (source_id, day, period_start, period_end, engine)
      values (${sourceId}, ${day}::date, ${d.t0}::timestamptz, ${d.t1}::timestamptz, 'ts')
      on conflict (source_id, day) do update set
        period_start = excluded.period_start, period_end = excluded.period_end,
        engine = excluded.engine, computed_at = now()`;
  }
  return vmRows;
}
