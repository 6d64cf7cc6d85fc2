/**
 * What a report covers: its kind and period, the default period of a scheduled report, the
 * bounds of a period in the reporting time zone, and the file name people will see.
 */
import { addDays, addMonths, dayIn, isDay, monthOf } from '../aggregate/period.ts';
import type { Sql } from '../db/connect.ts';

/**
 * The kinds `POST /reports` makes; the RVTools workbook has its own request (server/rvtools/).
 * `chargeback`: the month's costs (server/costs/workbook.ts), period YYYY-MM as monthly.
 */
export const REQUESTED_KINDS = ['daily', 'monthly', 'inventory', 'chargeback'] as const;
export type RequestedKind = (typeof REQUESTED_KINDS)[number];
/** Every kind stored; `rvtools`: the RVTools workbook, period its as-of instant. */
export const REPORT_KINDS = [...REQUESTED_KINDS, 'rvtools'] as const;
export type ReportKind = (typeof REPORT_KINDS)[number];
/** The kinds made of rollups, whose period is a day or a month. */
export type RollupKind = Exclude<ReportKind, 'inventory' | 'rvtools' | 'chargeback'>;
export const REPORT_FORMATS = ['xlsx', 'csv'] as const;
export type ReportFormat = (typeof REPORT_FORMATS)[number];

export const CONTENT_TYPES: Record<ReportFormat, string> = {
  xlsx: 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
  // format csv is a zip of one CSV per table (like RVTools' "export all to CSV")
  csv: 'application/zip',
};

/**
 * Normalises a requested period for `kind` to the stored form (daily `YYYY-MM-DD`, monthly
 * `YYYY-MM`, inventory the as-of instant); returns an error message (for the `period` field)
 * when it is not one. `today` is the current day in the reporting zone.
 */
export function normalisePeriod(
  kind: RequestedKind,
  period: string | undefined,
  today: string,
): { period: string } | { error: string } {
  if (kind === 'inventory') {
    if (period !== undefined) {
      return { error: 'an inventory report is of the current state: leave period out' };
    }
    return { period: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z') };
  }
  if (kind === 'daily') {
    if (period === undefined) return { period: addDays(today, -1) };
    if (!isDay(period)) return { error: 'a daily report needs a day as YYYY-MM-DD' };
    if (period > today) return { error: `${period} is in the future (today is ${today})` };
    return { period };
  }
  if (period === undefined) return { period: addMonths(today, -1).slice(0, 7) };
  const month = /^\d{4}-\d{2}$/.test(period) ? `${period}-01` : period;
  if (!isDay(month)) return { error: 'a monthly report needs a month as YYYY-MM' };
  if (monthOf(month) > monthOf(today)) {
    return { error: `${period.slice(0, 7)} is in the future (today is ${today})` };
  }
  return { period: month.slice(0, 7) };
}

/** The day (daily) or first day of the month (monthly) a period names. */
export function periodDay(kind: ReportKind, period: string): string {
  return kind === 'monthly' ? `${period}-01` : period;
}

/**
 * A query (also a fragment to embed) of the instants the period starting `day` begins
 * (`t0`) and ends (`t1`, exclusive) in `tz`.
 */
export function periodBounds(sql: Sql, kind: RollupKind, day: string, tz: string) {
  const length = kind === 'daily' ? sql`interval '1 day'` : sql`interval '1 month'`;
  return sql`
    select (${day}::date::timestamp at time zone ${tz}) as t0,
           ((${day}::date + ${length})::timestamp at time zone ${tz}) as t1`;
}

/** The current day in `tz`. */
export function todayIn(tz: string): string {
  return dayIn(new Date(), tz);
}

/**
 * `vmledger-monthly-2026-10.xlsx`, `vmledger-chargeback-2026-10.xlsx`, `vmledger-daily-2026-10-14.csv.zip`,
 * `vmledger-inventory-20261105T1030Z.xlsx`, `vmledger-rvtools-20261105T1030Z.xlsx`.
 */
export function reportFileName(kind: ReportKind, period: string, format: ReportFormat): string {
  const p = kind === 'inventory' || kind === 'rvtools'
    ? period.replace(/[-:]/g, '').replace(/(T\d{4})\d{2}(\.\d{3})?Z$/, '$1Z')
    : period;
  return `vmledger-${kind}-${p}.${format === 'xlsx' ? 'xlsx' : 'csv.zip'}`;
}
