/**
 * Generated reports for the Reports page: the listing and the stored bytes, read from the
 * `reports` / `report_chunks` tables when they exist. Data access only.
 */
import type { Sql } from '../db/connect.ts';
import { isUuid } from '../ids.ts';
import type { ReportsTableRow } from '../reports/report_store.ts';

export type ReportRow = {
  id: string;
  kind: string;
  period: string;
  format: string;
  status: string;
  origin: string;
  fileName: string;
  contentType: string;
  sizeBytes: number | null;
  chunkCount: number | null;
  rowCount: number | null;
  createdAt: string;
  finishedAt: string | null;
  expiresAt: string;
  error: string | null;
};

const iso = (v: unknown) => (v ? new Date(v as string).toISOString() : null);

/** Whether the reports tables exist in this database. */
export async function hasReports(sql: Sql): Promise<boolean> {
  const [r] = await sql`select to_regclass('reports') is not null as ok`;
  return r.ok;
}

function toRow(r: ReportsTableRow): ReportRow {
  return {
    id: r.id,
    kind: r.kind,
    period: r.period,
    format: r.format,
    status: r.status,
    origin: r.origin,
    fileName: r.file_name,
    contentType: r.content_type,
    sizeBytes: r.size_bytes === null ? null : Number(r.size_bytes),
    chunkCount: r.chunk_count,
    rowCount: r.row_count,
    createdAt: iso(r.created_at)!,
    finishedAt: iso(r.finished_at),
    expiresAt: iso(r.expires_at)!,
    error: r.error,
  };
}

/** Newest reports first. */
export async function listReportRows(sql: Sql, limit: number): Promise<ReportRow[]> {
  const rows = await sql<
    ReportsTableRow[]
  >`select * from reports order by created_at desc, id desc limit ${limit}`;
  return rows.map(toRow);
}

/** One report, or null (also for ids that are not UUIDs). */
export async function getReportRow(sql: Sql, id: string): Promise<ReportRow | null> {
  if (!isUuid(id)) return null;
  const rows = await sql<ReportsTableRow[]>`select * from reports where id = ${id}::uuid`;
  return rows.length ? toRow(rows[0]) : null;
}

/** One stored chunk of a ready report (one row per query, so downloads stream). */
export async function reportChunk(sql: Sql, id: string, seq: number): Promise<Uint8Array | null> {
  const rows =
    await sql`select data from report_chunks where report_id = ${id}::uuid and seq = ${seq}`;
  return rows.length ? (rows[0].data as Uint8Array) : null;
}
