/** Sources with their poll health and agent, as the API and pages show them. Data access only. */
import { z } from 'zod';
import type { Row } from 'postgres';
import { iso, type Sql } from '../db/connect.ts';
import { inventoryAnswer } from '../inventory/list_vms.ts';

/** A source as the API answers it (and the pages show it): declared once, typed from here. */
export const SourceRow = z.object({
  id: z.number().int(),
  kind: z.string(),
  externalId: z.string(),
  name: z.string(),
  /** `key=value` tags (`tenant=acme`): what per-source grants may name (docs/sign-in.md). */
  tags: z.array(z.string()),
  endpoint: z.string().nullable(),
  version: z.string().nullable(),
  createdAt: z.string(),
  lastCaptureAt: z.string().nullable(),
  secondsSinceLastCapture: z.number().nullable(),
  vms: z.number().int(),
  lastCapture: z.object({
    captureId: z.string(),
    complete: z.boolean(),
    vmCount: z.number().int(),
    errors: z.array(z.string()),
    ingestMs: z.number().nullable(),
  }).nullable(),
  /** The agent's last poll report for this source (its shape is the heartbeat's). */
  health: z.record(z.string(), z.unknown()).nullable(),
  healthReportedAt: z.string().nullable(),
  agent: z.object({
    tokenId: z.number().int(),
    name: z.string(),
    version: z.string().nullable(),
    hostname: z.string().nullable(),
    lastHeartbeatAt: z.string().nullable(),
    spool: z.unknown(),
  }).nullable(),
});
export type SourceRow = z.infer<typeof SourceRow>;

/** A row of SELECT: the joined columns (`lc_` the last capture) are null when there is none. */
function toSource(r: Row, vms: Map<number, number>): SourceRow {
  return {
    id: r.id,
    kind: r.kind,
    externalId: r.external_id,
    name: r.name,
    tags: r.tags,
    endpoint: r.endpoint,
    version: r.version,
    createdAt: iso(r.created_at)!,
    lastCaptureAt: iso(r.last_capture_at),
    secondsSinceLastCapture: r.last_capture_at
      ? Math.round((Date.now() - new Date(r.last_capture_at).getTime()) / 1000)
      : null,
    vms: vms.get(r.id) ?? 0,
    lastCapture: r.lc_id
      ? {
        captureId: r.lc_id,
        complete: r.lc_complete,
        vmCount: r.lc_vm_count,
        errors: r.lc_errors,
        ingestMs: r.lc_ingest_ms,
      }
      : null,
    health: r.health,
    healthReportedAt: iso(r.reported_at),
    agent: r.agent_token_id
      ? {
        tokenId: r.agent_token_id,
        name: r.agent_name,
        version: r.agent_version,
        hostname: r.agent_hostname,
        lastHeartbeatAt: iso(r.last_heartbeat_at),
        spool: r.agent_spool,
      }
      : null,
  };
}

const SELECT = (sql: Sql) =>
  sql`
  select s.*,
    lc.capture_id::text as lc_id, lc.complete as lc_complete, lc.vm_count as lc_vm_count, lc.errors as lc_errors, lc.ingest_ms as lc_ingest_ms,
    h.health, h.reported_at,
    t.id as agent_token_id, t.name as agent_name, a.version as agent_version, a.hostname as agent_hostname,
    a.last_heartbeat_at, a.spool as agent_spool
  from sources s
  left join lateral (select * from captures c where c.source_id = s.id order by captured_at desc limit 1) lc on true
  left join source_health h on h.source_id = s.id
  left join api_tokens t on t.id = s.owner_token_id
  left join agents a on a.token_id = s.owner_token_id`;

/**
 * Live VMs per source: counting them is a read of the whole inventory, so the answer is
 * reused until the next stored capture (inventoryAnswer); health and agents are read each time.
 */
function liveVmsBySource(sql: Sql): Promise<Map<number, number>> {
  return inventoryAnswer(sql, 'fleet:vms-by-source', async () =>
    new Map(
      (await sql<{ source_id: number; vms: number }[]>`
        select source_id, count(*)::int as vms from vm_inventory group by source_id`)
        .map((r) => [r.source_id, r.vms]),
    ));
}

export async function listSourcesDetailed(sql: Sql): Promise<SourceRow[]> {
  const [rows, vms] = await Promise.all([
    sql`${SELECT(sql)} order by s.name, s.id`,
    liveVmsBySource(sql),
  ]);
  return rows.map((r) => toSource(r, vms));
}

export async function getSource(sql: Sql, id: number): Promise<SourceRow | null> {
  const [rows, vms] = await Promise.all([
    sql`${SELECT(sql)} where s.id = ${id}`,
    liveVmsBySource(sql),
  ]);
  return rows.length ? toSource(rows[0], vms) : null;
}

/** A tag: `key=value`, both without spaces or `=` in the key (`tenant=acme`). */
export const SourceTag = z.string().regex(/^[^=\s]{1,100}=[^\s]{1,200}$/, 'a tag like tenant=acme');

/** Sets a source's tags (all of them); its previous tags, or null when there is no such source. */
export async function setSourceTags(
  sql: Sql,
  id: number,
  tags: string[],
): Promise<{ before: string[] } | null> {
  const rows = await sql`
    with old as (select id, tags from sources where id = ${id})
    update sources s set tags = ${[...new Set(tags)].sort()}::text[] from old
    where s.id = old.id returning old.tags as before`;
  return rows.length ? { before: rows[0].before as string[] } : null;
}
