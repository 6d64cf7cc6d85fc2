/**
 * The `reports` and `report_chunks` tables: creating a report row, claiming it for
 * generation, storing its bytes as numbered chunks, finishing or failing it, listing
 * (keyset pagination, newest first), reading chunks back, retention. Data access only.
 */
import postgres from 'postgres';
import { z } from 'zod';
import type { Sql } from '../db/connect.ts';
import { isUuid } from '../ids.ts';
import { CONTENT_TYPES, REPORT_FORMATS, REPORT_KINDS, reportFileName } from './period.ts';

export const REPORT_STATUSES = ['queued', 'running', 'ready', 'failed'] as const;

/** A report as the API and the Reports page show it (times ISO 8601). */
export const ReportRecord = z.object({
  id: z.string(),
  kind: z.enum(REPORT_KINDS),
  period: z.string(),
  format: z.enum(REPORT_FORMATS),
  status: z.enum(REPORT_STATUSES),
  origin: z.enum(['request', 'schedule']),
  fileName: z.string(),
  contentType: z.string(),
  sizeBytes: z.number().nullable(),
  chunkCount: z.number().nullable(),
  sha256: z.string().nullable(),
  rowCount: z.number().nullable(),
  createdAt: z.string(),
  startedAt: z.string().nullable(),
  finishedAt: z.string().nullable(),
  expiresAt: z.string(),
  error: z.string().nullable(),
  /** The one source an RVTools workbook shows; null: all sources (and every other kind). */
  sourceId: z.number().nullable(),
});
export type ReportRecord = z.infer<typeof ReportRecord>;

/** Days a report is kept unless the caller says otherwise. */
const DEFAULT_RETENTION_DAYS = 90;

const FIELDS = ReportRecord.keyof().options;

/** A `reports` row as its record: the same columns in camelCase, times as ISO 8601 text. */
function toRecord(row: Record<string, unknown>): ReportRecord {
  return Object.fromEntries(FIELDS.map((k) => {
    const v = row[postgres.fromCamel(k)];
    return [k, v instanceof Date ? v.toISOString() : v];
  })) as ReportRecord;
}

/** Inserts a queued report. */
export async function createReport(
  sql: Sql,
  r: Pick<ReportRecord, 'kind' | 'period' | 'format' | 'origin'> & {
    requestedBy?: number | null;
    retentionDays?: number;
    sourceId?: number | null;
    /**
     * The row's id, chosen by the caller (a scheduled report's job id): when that report
     * exists already (the job's earlier attempt made it) it is returned as it is.
     */
    id?: string;
  },
): Promise<ReportRecord> {
  const [row] = await sql`
    insert into reports (id, kind, period, format, origin, file_name, content_type, requested_by, source_id, expires_at)
    values (coalesce(${
    r.id ?? null
  }::uuid, gen_random_uuid()), ${r.kind}, ${r.period}, ${r.format}, ${r.origin}, ${
    reportFileName(r.kind, r.period, r.format)
  },
            ${CONTENT_TYPES[r.format]}, ${r.requestedBy ?? null}, ${r.sourceId ?? null},
            now() + make_interval(days => ${r.retentionDays ?? DEFAULT_RETENTION_DAYS}))
    on conflict (id) do nothing
    returning *`;
  if (row) return toRecord(row);
  return (await getReport(sql, r.id!))!;
}

/** Thrown to an attempt whose report another attempt has taken over: it must stop writing. */
export class ReportSuperseded extends Error {
  constructor(id: string) {
    super(`report ${id} was taken over by a newer attempt`);
    this.name = 'ReportSuperseded';
  }
}

/** A claimed report and the attempt that owns it: chunks, finish and failure name it. */
export type ClaimedReport = ReportRecord & { attempt: string };

/**
 * Moves a queued (or failed, on retry) report to running under a new attempt and returns it;
 * null when someone else has it. `reclaim`: also one left `running` by an attempt that is known
 * dead (the job was retried after its node stopped heartbeating); its partial file is dropped,
 * and whatever that attempt still writes is refused (writeChunk, finishReport, failReport).
 */
export async function claimReport(
  sql: Sql,
  id: string,
  o: { reclaim?: boolean } = {},
): Promise<ClaimedReport | null> {
  const claimable = o.reclaim ? ['queued', 'failed', 'running'] : ['queued', 'failed'];
  const [row] = await sql`
    update reports set status = 'running', started_at = now(), finished_at = null, error = null,
      attempt = gen_random_uuid()
    where id = ${id} and status = any(${claimable}) returning *`;
  if (!row) return null;
  // After the update: a chunk the old attempt was inserting (it held the row FOR SHARE, so the
  // update waited for it) is committed and goes too; later ones are refused.
  await sql`delete from report_chunks where report_id = ${id}`;
  return { ...toRecord(row), attempt: row.attempt as string };
}

/** Stores one chunk of a report's file, if `attempt` still owns the report. */
export async function writeChunk(
  sql: Sql,
  r: { id: string; attempt: string },
  seq: number,
  data: Buffer,
): Promise<void> {
  const stored = await sql`
    insert into report_chunks (report_id, seq, data)
    select ${r.id}, ${seq}, ${data}
    where exists (select 1 from reports
                  where id = ${r.id} and attempt = ${r.attempt} and status = 'running' for share)`;
  if (stored.count === 0) throw new ReportSuperseded(r.id);
}

/** Marks a report ready with its file's size, chunk count and digest, if `attempt` still owns it. */
export async function finishReport(
  sql: Sql,
  r: { id: string; attempt: string },
  f: { sizeBytes: number; chunkCount: number; sha256: string; rowCount: number },
): Promise<void> {
  const done = await sql`
    update reports set status = 'ready', finished_at = now(), size_bytes = ${f.sizeBytes}, chunk_count = ${f.chunkCount},
      sha256 = ${f.sha256}, row_count = ${f.rowCount}, error = null
    where id = ${r.id} and attempt = ${r.attempt} and status = 'running'`;
  if (done.count === 0) throw new ReportSuperseded(r.id);
}

/**
 * Marks a report failed and drops whatever part of its file was stored: the one `attempt`
 * owns, or (attempt null: it never claimed the report) one no attempt has claimed yet.
 * False when it was not this caller's to fail.
 */
export async function failReport(
  sql: Sql,
  r: { id: string; attempt: string | null },
  error: string,
): Promise<boolean> {
  return await sql.begin(async (tx) => {
    const failed = await tx`update reports set status = 'failed', finished_at = now(), error = ${
      error.slice(0, 2000)
    } where id = ${r.id} and ${
      r.attempt === null ? tx`status = 'queued'` : tx`attempt = ${r.attempt} and status = 'running'`
    }`;
    if (failed.count === 0) return false;
    await tx`delete from report_chunks where report_id = ${r.id}`;
    return true;
  });
}

/** One report, or null (also for an id that is not a uuid). */
export async function getReport(sql: Sql, id: string): Promise<ReportRecord | null> {
  if (!isUuid(id)) return null;
  const [row] = await sql`select * from reports where id = ${id}`;
  return row ? toRecord(row) : null;
}

/** A ready report's bytes, read chunk by chunk (one query each) as the reader takes them. */
export function reportChunks(sql: Sql, r: ReportRecord): ReadableStream<Uint8Array> {
  let seq = 0;
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (seq >= (r.chunkCount ?? 0)) return controller.close();
      const [row] = await sql`
        select data from report_chunks where report_id = ${r.id} and seq = ${seq++}`;
      if (!row) return controller.error(new Error(`report ${r.id} lost chunk ${seq - 1}`));
      const data = row.data as Buffer;
      controller.enqueue(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
    },
  }, { highWaterMark: 1 });
}

/** Newest first, keyset paginated, with the total of the filter. */
export async function listReports(
  sql: Sql,
  q: Partial<Pick<ReportRecord, 'kind' | 'status'>> & {
    limit: number;
    cursor?: { t: string; id: string };
  },
): Promise<{ items: ReportRecord[]; total: number; next: { t: string; id: string } | null }> {
  const filter = sql`
    (${q.kind ?? null}::text is null or kind = ${q.kind ?? null})
    and (${q.status ?? null}::text is null or status = ${q.status ?? null})`;
  const after = q.cursor
    ? sql`and (created_at, id) < (${q.cursor.t}::timestamptz, ${q.cursor.id}::uuid)`
    : sql``;
  const rows = await sql`
    select * from reports where ${filter} ${after}
    order by created_at desc, id desc limit ${q.limit + 1}`;
  const [{ total }] = await sql`select count(*)::integer as total from reports where ${filter}`;
  const last = rows.length > q.limit ? rows[q.limit - 1] : null;
  return {
    items: rows.slice(0, q.limit).map(toRecord),
    total,
    next: last ? { t: (last.created_at as Date).toISOString(), id: last.id } : null,
  };
}

/** After a scheduled report succeeded: removes older scheduled ones of the same kind, period, format. */
export async function replaceScheduled(sql: Sql, r: ReportRecord): Promise<number> {
  const rows = await sql`
    delete from reports where origin = 'schedule' and kind = ${r.kind} and period = ${r.period}
      and format = ${r.format} and id <> ${r.id} and status in ('ready', 'failed') returning id`;
  return rows.length;
}

/** Retention: expired reports deleted, abandoned generations failed (reports_cleanup). */
export async function cleanupReports(sql: Sql): Promise<{ expired: number; abandoned: number }> {
  const [r] = await sql`select * from reports_cleanup(${new Date()})`;
  return { expired: r.expired, abandoned: r.abandoned };
}
