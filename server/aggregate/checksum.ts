/**
 * Fingerprints of a period's output: row count and md5 over every column of every row in
 * key order (numeric text keeps its scale, so a last-digit difference changes the sum).
 * Used by the benchmark's parity verdict and by the parity tests.
 */
import type { Sql } from '../db/connect.ts';
import type { Kind } from './run.ts';
import { monthOf } from './period.ts';

export type Fingerprint = { rows: number; checksum: string };

/** Fingerprint of the VM rollup rows of one source and period, as `sql` sees them. */
export async function periodFingerprint(
  sql: Sql,
  kind: Kind,
  sourceId: number,
  period: string,
): Promise<Fingerprint> {
  const [r] = kind === 'daily'
    ? await sql`
        select count(*)::int as rows, coalesce(md5(string_agg(r::text, E'\n' order by r.vm_key)), md5('')) as checksum
        from vm_daily_rollup r where r.source_id = ${sourceId} and r.day = ${period}::date`
    : await sql`
        select count(*)::int as rows, coalesce(md5(string_agg(r::text, E'\n' order by r.vm_key)), md5('')) as checksum
        from vm_monthly_rollup r where r.source_id = ${sourceId} and r.month = ${
      monthOf(period)
    }::date`;
  return { rows: r.rows, checksum: r.checksum };
}

/** Fingerprint of the period's source totals row. */
export async function totalsFingerprint(
  sql: Sql,
  kind: Kind,
  sourceId: number,
  period: string,
): Promise<string> {
  const [r] = kind === 'daily'
    ? await sql`select coalesce(md5(string_agg(t::text, '')), md5('')) as c from source_daily_totals t
                where t.source_id = ${sourceId} and t.day = ${period}::date`
    : await sql`select coalesce(md5(string_agg(t::text, '')), md5('')) as c from source_monthly_totals t
                where t.source_id = ${sourceId} and t.month = ${monthOf(period)}::date`;
  return r.c;
}
