/**
 * Reporting periods: calendar days and months in the reporting time zone. Day boundaries
 * come from PostgreSQL (`date::timestamp at time zone tz`), the same expression the SQL
 * path uses, so both paths cut days identically, DST days included.
 */
import type { Sql } from '../db/connect.ts';

export type DayBounds = { start: string; end: string; seconds: number };

const ISO_DAY = /^\d{4}-\d{2}-\d{2}$/;

/** Whether `s` is a YYYY-MM-DD calendar date that exists. */
export function isDay(s: string): boolean {
  if (!ISO_DAY.test(s)) return false;
  const d = new Date(`${s}T00:00:00Z`);
  return !Number.isNaN(d.getTime()) && d.toISOString().slice(0, 10) === s;
}

/** The first day (YYYY-MM-01) of the month that `day` (or a month YYYY-MM) names. */
export function monthOf(day: string): string {
  return `${day.slice(0, 7)}-01`;
}

/** `day` plus `n` calendar days. */
export function addDays(day: string, n: number): string {
  const d = new Date(`${day}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() + n);
  return d.toISOString().slice(0, 10);
}

/** The first day of the month `n` months after the month holding `day`. */
export function addMonths(day: string, n: number): string {
  const d = new Date(`${monthOf(day)}T00:00:00Z`);
  d.setUTCMonth(d.getUTCMonth() + n);
  return d.toISOString().slice(0, 10);
}

/** Every day from `from` to `to` inclusive. */
export function daysBetween(from: string, to: string): string[] {
  const out: string[] = [];
  for (let d = from; d <= to; d = addDays(d, 1)) out.push(d);
  return out;
}

/** The first day of every month touched by [from, to]. */
export function monthsBetween(from: string, to: string): string[] {
  const out: string[] = [];
  for (let m = monthOf(from); m <= to; m = addMonths(m, 1)) out.push(m);
  return out;
}

/** The calendar day (YYYY-MM-DD) that instant `at` falls on in time zone `tz`. */
export function dayIn(at: Date, tz: string): string {
  // en-CA formats as YYYY-MM-DD.
  return new Intl.DateTimeFormat('en-CA', {
    timeZone: tz,
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
  }).format(at);
}

/** Whether `tz` is a time zone name the runtime (and so, for IANA names, PostgreSQL) knows. */
export function isTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en-CA', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

/** Start, end (as timestamptz text) and length in seconds of local day `day` in `tz`. */
export async function dayBounds(sql: Sql, day: string, tz: string): Promise<DayBounds> {
  const [r] = await sql`
    select (${day}::date::timestamp at time zone ${tz})::text as start,
           ((${day}::date + 1)::timestamp at time zone ${tz})::text as end,
           extract(epoch from ((${day}::date + 1)::timestamp at time zone ${tz})
                              - (${day}::date::timestamp at time zone ${tz}))::int as seconds`;
  return { start: r.start, end: r.end, seconds: r.seconds };
}
