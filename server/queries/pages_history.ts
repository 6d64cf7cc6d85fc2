/** Registry counts and per-source capture history for the Capture history and Sources pages. Data access only. */
import type { Sql } from '../db/connect.ts';

/** Per kind (capture, daily, monthly): how many snapshots, their row total and time span. */
export async function registryCounts(sql: Sql, sourceId?: number) {
  const rows = await sql`
    select kind, count(*)::int as n, coalesce(sum(row_count), 0)::bigint as rows,
           count(*) filter (where not complete)::int as incomplete, min(period_start) as first, max(period_start) as last
    from snapshot_registry ${sourceId ? sql`where source_id = ${sourceId}` : sql``}
    group by kind order by array_position(array['capture','daily','monthly'], kind)`;
  return rows.map((r) => ({
    kind: r.kind,
    snapshots: r.n,
    rows: Number(r.rows),
    incomplete: r.incomplete,
    first: r.first ? new Date(r.first).toISOString() : null,
    last: r.last ? new Date(r.last).toISOString() : null,
  }));
}

/** A source's captures in [from, to), oldest first (for the capture history chart). */
export async function captureHistory(sql: Sql, sourceId: number, from: Date, to: Date) {
  const rows = await sql`
    select captured_at, vm_count, ingest_ms, complete, extract(epoch from received_at - captured_at)::int as late
    from captures where source_id = ${sourceId} and captured_at >= ${from} and captured_at < ${to}
    order by captured_at limit 5000`;
  return rows.map((r) => ({
    at: new Date(r.captured_at).toISOString(),
    vmCount: r.vm_count,
    ingestMs: r.ingest_ms,
    complete: r.complete,
    lateSeconds: r.late,
  }));
}

/** Pending "capture now" requests per source. */
export async function pendingCaptureRequests(sql: Sql): Promise<Map<number, string>> {
  const rows =
    await sql`select source_id, min(requested_at) as at from capture_requests where picked_up_at is null group by source_id`;
  return new Map(rows.map((r) => [r.source_id as number, new Date(r.at).toISOString()]));
}
