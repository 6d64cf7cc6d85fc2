/**
 * What an RVTools workbook shows: for each source asked for (one, or all), its newest stored
 * capture at or before the as-of instant. "As of T" for a source is that capture, and the
 * workbook names it (vSource, vMetaData). Data access only.
 */
import type { Sql } from '../db/connect.ts';

/** One source and the capture the workbook shows of it. */
export type ScopeSource = {
  sourceId: number;
  name: string;
  kind: string;
  externalId: string;
  endpoint: string | null;
  version: string | null;
  capturedAt: Date;
  captureId: string;
  complete: boolean;
  schemaVersion: number;
  vmCount: number;
};

/** The sources of a workbook and the instant it was asked for. */
export type Scope = { asOf: Date; sources: ScopeSource[] };

/**
 * The newest capture at or before `asOf` of each source (of `sourceId` alone when given),
 * in source-name order; sources without one are left out.
 */
export async function resolveScope(
  sql: Sql,
  o: { asOf: Date; sourceId: number | null },
): Promise<Scope> {
  const rows = await sql`
    select s.id as source_id, s.name, s.kind, s.external_id, s.endpoint, s.version,
           c.captured_at, c.capture_id, c.complete, c.schema_version, c.vm_count
    from sources s
    cross join lateral (
      select captured_at, capture_id, complete, schema_version, vm_count
      from captures where source_id = s.id and captured_at <= ${o.asOf}
      order by captured_at desc limit 1
    ) c
    where ${o.sourceId}::integer is null or s.id = ${o.sourceId}
    order by s.name, s.id`;
  return {
    asOf: o.asOf,
    sources: rows.map((r) => ({
      sourceId: r.source_id,
      name: r.name,
      kind: r.kind,
      externalId: r.external_id,
      endpoint: r.endpoint,
      version: r.version,
      capturedAt: r.captured_at,
      captureId: r.capture_id,
      complete: r.complete,
      schemaVersion: r.schema_version,
      vmCount: r.vm_count,
    })),
  };
}

/**
 * A query fragment of the scope as rows (source_id, t, source, source_uuid, source_kind,
 * source_version), t the capture's time: the first table of every tab's query.
 */
export function scopeRows(sql: Sql, scope: Scope) {
  const s = scope.sources;
  return sql`(
    select * from unnest(
      ${s.map((x) => x.sourceId)}::integer[], ${
    s.map((x) => x.capturedAt.toISOString())
  }::timestamptz[],
      ${s.map((x) => x.name)}::text[], ${s.map((x) => x.externalId)}::text[],
      ${s.map((x) => x.kind)}::text[], ${s.map((x) => x.version)}::text[]
    ) as scope (source_id, t, source, source_uuid, source_kind, source_version)
  )`;
}

/** The sources with at least one capture, by name: what the Reports page offers to pick. */
export async function capturedSources(
  sql: Sql,
): Promise<{ id: number; name: string; kind: string }[]> {
  return await sql<{ id: number; name: string; kind: string }[]>`
    select id, name, kind from sources where last_capture_at is not null order by name, id`;
}
