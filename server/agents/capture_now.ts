/**
 * "Capture now": the one action behind the Sources pages' button and
 * `POST /api/v1/sources/:id/capture`. It queues a request for the source's agent (delivered
 * with its next heartbeat, server/agents/heartbeats.ts) and writes one audit row
 * (`capture.request`, target `source:<id>`), with the same error whichever way it comes.
 */
import { z } from 'zod';
import { type Actor, auditAction } from '../audit/audit_log.ts';
import type { Sql } from '../db/connect.ts';
import { AppError } from '../errors.ts';

export const CaptureRequested = z.object({
  requestId: z.number().int(),
  sourceId: z.number().int(),
  status: z.literal('pending'),
});
export type CaptureRequested = z.infer<typeof CaptureRequested>;

/** Queues a capture of source `sourceId` for its agent and audits it; not_found without it. */
export async function captureNow(
  sql: Sql,
  sourceId: number,
  actor: Actor,
): Promise<CaptureRequested> {
  const [req] = await sql`
    insert into capture_requests (source_id, requested_by)
    select id, ${actor.id} from sources where id = ${sourceId}
    returning id`;
  if (!req) throw new AppError('not_found', `no source ${sourceId}`);
  await auditAction(sql, actor, 'capture.request', `source:${sourceId}`, { requestId: req.id });
  return { requestId: req.id as number, sourceId, status: 'pending' };
}
