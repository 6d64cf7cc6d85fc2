/** Agent heartbeats; each picks up the "capture now" requests of its sources. Data access only. */
import type { Heartbeat } from '../../agent/capture/heartbeat.ts';
import { z } from 'zod';
import type { Sql } from '../db/connect.ts';

/** The answer to a heartbeat: the sources (external ids) its agent should capture now. */
export const HeartbeatReply = z.object({
  captureNow: z.array(z.object({ sourceId: z.string() })),
});
export type HeartbeatReply = z.infer<typeof HeartbeatReply>;

/**
 * Records a heartbeat: the agent row, and poll health of each source this token owns.
 * Answers with the pending capture-now requests of those sources and marks them picked up.
 */
export function recordHeartbeat(
  sql: Sql,
  tokenId: number,
  hb: Heartbeat,
): Promise<HeartbeatReply> {
  return sql.begin(async (txn) => {
    const tx = txn as unknown as Sql;
    await tx`
      insert into agents (token_id, version, hostname, last_heartbeat_at, spool, delivery)
      values (${tokenId}, ${hb.agentVersion}, ${hb.hostname}, now(),
              ${tx.json(hb.spool)}, ${tx.json(hb.delivery)})
      on conflict (token_id) do update set version = excluded.version, hostname = excluded.hostname,
        last_heartbeat_at = excluded.last_heartbeat_at, spool = excluded.spool, delivery = excluded.delivery`;
    const reports = hb.sources.filter((s) => s.sourceId !== null)
      .map((r) => ({ kind: r.kind, id: r.sourceId, health: r }));
    if (reports.length) {
      // Only sources owned by this token: an agent cannot write another agent's health.
      await tx`
        insert into source_health (source_id, token_id, health, reported_at)
        select s.id, ${tokenId}, r.health, now()
        from jsonb_to_recordset(${tx.json(reports)}) as r(kind text, id text, health jsonb)
        join sources s on s.external_id = r.id and (s.kind = r.kind or s.kind = 'demo')
        where s.owner_token_id = ${tokenId}
        on conflict (source_id) do update set token_id = excluded.token_id, health = excluded.health,
          reported_at = excluded.reported_at`;
    }
    const picked = await tx`
      update capture_requests cr set picked_up_at = now()
      from sources s
      where cr.source_id = s.id and s.owner_token_id = ${tokenId} and cr.picked_up_at is null
      returning s.external_id`;
    const sourceIds = new Set(picked.map((r) => r.external_id as string));
    return { captureNow: [...sourceIds].map((sourceId) => ({ sourceId })) };
  });
}
