/**
 * The VM rollup rows as the TypeScript engines compute them, declared once: their columns
 * in the tables' order (vm_daily_rollup, vm_monthly_rollup) and how each travels in a
 * write batch's JSON. The engines build rows of these types; write_rollups.ts derives its
 * statement from the same lists. Columns not listed are filled by the writer: source_id
 * and the period, and for daily rows the lifecycle columns, read from vm_lifecycle as the
 * SQL path reads them. The columns both engines derive alike from exact sums, a VM's and a
 * period's totals, are computed here once (`vmMeasures`, `totalsRow`).
 */
import { formatScaled, jsonNumberMap, ratio } from './numeric.ts';

/**
 * How a value travels: `int` as a JS number; `decimal` (bigint and numeric columns) as
 * decimal text, so nothing passes through a float; `json` as jsonb text (numbers keep
 * their scale, e.g. 100.000000); `time` as timestamptz text, `time?` when it may be null.
 */
export type Kind = 'text' | 'int' | 'decimal' | 'json' | 'time' | 'time?';
type Value<K extends Kind> = K extends 'int' ? number : K extends 'time?' ? string | null : string;
type Row<C extends Record<string, Kind>> = { -readonly [K in keyof C]: Value<C[K]> };

/** The type a column has inside the batch's JSON record (the insert casts to the table's). */
export const TRANSPORT: Record<Kind, string> = {
  text: 'text',
  int: 'integer',
  decimal: 'numeric',
  json: 'text',
  time: 'timestamptz',
  'time?': 'timestamptz',
};

const identity = {
  vm_key: 'text',
  source_vm_id: 'text',
  name: 'text',
  total_samples: 'int',
  samples_present: 'int',
  powered_on_samples: 'int',
} as const;

const measures = {
  sum_vcpu: 'decimal',
  sum_ram_mb: 'decimal',
  sum_disk_gb: 'decimal',
  presence: 'decimal',
  avg_vcpu: 'decimal',
  avg_ram_gb: 'decimal',
  avg_disk_gb: 'decimal',
  powered_on_ratio: 'decimal',
  powered_on_hours: 'decimal',
  vcpu_hours: 'decimal',
  ram_gb_hours: 'decimal',
  disk_gb_hours: 'decimal',
  pool_samples: 'json',
  pool_pct: 'json',
  first_sample_at: 'time',
  last_sample_at: 'time',
} as const;

/** vm_daily_rollup's lifecycle columns, carried from vm_lifecycle. */
export const LIFECYCLE = {
  first_seen_at: 'time?',
  last_seen_at: 'time?',
  created_at: 'time?',
  deleted_at: 'time?',
} as const;

/**
 * A daily VM row as the engine computes it (the writer adds the lifecycle columns);
 * day_pool is the pool the day is charged to (`dayPool`).
 */
export const DAILY_ROW = {
  ...identity,
  day_seconds: 'int',
  ...measures,
  day_pool: 'text',
} as const;
/** A monthly VM row; its lifecycle columns come from the VM's latest daily row. */
export const MONTHLY_ROW = {
  ...identity,
  days_present: 'int',
  days_covered: 'int',
  ...measures,
  ...LIFECYCLE,
} as const;

export type DailyRow = Row<typeof DAILY_ROW>;
export type MonthlyRow = Row<typeof MONTHLY_ROW>;

/** Exact sums of a VM or a period: samples, vCPUs, MiB, thousandths of a GB; hours in millionths. */
export type Sums = Record<
  'present' | 'on' | 'vcpu' | 'ram' | 'diskMilli' | 'onH' | 'vcpuH' | 'ramH' | 'diskH',
  bigint
>;

/** The columns VM rows and totals rows derive alike from sums over `n` samples. */
function sumColumns(s: Sums, n: bigint) {
  return {
    sum_vcpu: s.vcpu.toString(),
    sum_ram_mb: s.ram.toString(),
    sum_disk_gb: formatScaled(s.diskMilli, 3),
    avg_vcpu: ratio(s.vcpu, 1n, n),
    avg_ram_gb: ratio(s.ram, 1n, 1024n * n),
    avg_disk_gb: ratio(s.diskMilli, 1000n, n),
    powered_on_hours: formatScaled(s.onH, 6),
    vcpu_hours: formatScaled(s.vcpuH, 6),
    ram_gb_hours: formatScaled(s.ramH, 6),
    disk_gb_hours: formatScaled(s.diskH, 6),
  };
}

/** A VM's `measures` columns from its sums over `n` samples and its samples per pool. */
export function vmMeasures(
  s: Sums,
  n: bigint,
  pools: [string, bigint][],
  first: string,
  last: string,
): Row<typeof measures> {
  return {
    ...sumColumns(s, n),
    presence: ratio(s.present, 1n, n),
    powered_on_ratio: ratio(s.on, 1n, s.present),
    pool_samples: jsonNumberMap(pools.map(([p, h]) => [p, h.toString()])),
    pool_pct: jsonNumberMap(pools.map(([p, h]) => [p, ratio(h * 100n, 1n, s.present)])),
    first_sample_at: first,
    last_sample_at: last,
  };
}

/** a < b in byte order of their UTF-8 (code point order), as PostgreSQL's collation "C" sorts. */
export function byteOrderLess(a: string, b: string): boolean {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    let x = a.charCodeAt(i);
    let y = b.charCodeAt(i);
    if (x === y) continue;
    // UTF-16 sorts surrogates (code points past U+FFFF) below U+E000–U+FFFF; code points do not.
    if (x >= 0xd800 && y >= 0xd800) {
      x = x >= 0xe000 ? x - 0x800 : x + 0x2000;
      y = y >= 0xe000 ? y - 0x800 : y + 0x2000;
    }
    return x < y;
  }
  return a.length < b.length;
}

/**
 * The pool a VM-day is charged to: the one holding most of the day's samples, ties to the
 * first name in byte order; null without samples. The twin of day_pool()
 * (sql/routines/day_pool.sql), stored as vm_daily_rollup.day_pool.
 */
export function dayPool(pools: Iterable<[string, number]>): string | null {
  let best: string | null = null;
  let hits = -1;
  for (const [p, h] of pools) {
    if (best === null || h > hits || (h === hits && byteOrderLess(p, best))) {
      best = p;
      hits = h;
    }
  }
  return best;
}

/** A period's totals row (source_daily_totals, source_monthly_totals) from its sums. */
export function totalsRow(
  s: Sums,
  n: bigint,
  counts: { total_samples: number; complete: boolean; vm_count: number },
) {
  return {
    ...counts,
    samples_present: s.present.toString(),
    powered_on_samples: s.on.toString(),
    ...sumColumns(s, n),
    avg_vm_count: ratio(s.present, 1n, n),
    avg_powered_on: ratio(s.on, 1n, n),
  };
}
export type TotalsRow = ReturnType<typeof totalsRow>;
