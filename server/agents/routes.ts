/** HTTP routes for agents: heartbeats, and an admin's "capture now" for a source. */
import { Hono } from 'hono';
import { Heartbeat } from '../../agent/capture/heartbeat.ts';
import type { AuthVariables } from '../auth/middleware.ts';
import type { Sql } from '../db/connect.ts';
import { actorOf } from '../http/actions.ts';
import { type ApiDoc, IdParams } from '../http/api_doc.ts';
import { captureNow, CaptureRequested } from './capture_now.ts';
import { HeartbeatReply, recordHeartbeat } from './heartbeats.ts';

export function agentRoutes(
  sql: Sql,
  doc: ApiDoc,
  options: { onHeartbeat?: () => void | Promise<void> } = {},
) {
  const app = new Hono<{ Variables: AuthVariables }>();

  doc.define(app, {
    method: 'post',
    path: '/heartbeats',
    operationId: 'postHeartbeat',
    tag: 'Ingest',
    roles: ['agent'],
    body: Heartbeat,
    bodyError: 'invalid_heartbeat',
    summary:
      "An agent's heartbeat: poll health per source, spool depth; answers with capture-now requests",
    responses: { 200: { description: 'Capture-now requests picked up', schema: HeartbeatReply } },
  }, async (c, { body }) => {
    const reply = await recordHeartbeat(sql, c.get('auth').id, body);
    // Follow-up work (alert evaluation: one job send) after the heartbeat has committed.
    await options.onHeartbeat?.();
    return c.json(reply);
  });

  doc.define(app, {
    method: 'post',
    path: '/sources/:id/capture',
    operationId: 'requestCapture',
    tag: 'Sources',
    roles: ['admin'],
    params: IdParams,
    summary: "Ask the source's agent to capture now (delivered with its next heartbeat)",
    responses: { 202: { description: 'Queued', schema: CaptureRequested }, 404: 'No such source' },
  }, async (c, { params }) => c.json(await captureNow(sql, params.id, actorOf(c)), 202));

  return app;
}
