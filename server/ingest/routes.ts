/** HTTP routes of the ingest API: `POST /api/v1/captures`. */
import type { Reads } from '../db/reads.ts';
import { Hono } from 'hono';
import { z } from 'zod';
import { Capture } from '../../agent/capture/schema.ts';
import type { AuthVariables } from '../auth/middleware.ts';
import type { Sql } from '../db/connect.ts';
import type { ApiDoc } from '../http/api_doc.ts';
import type { Metrics } from '../metrics/metrics.ts';
import { AppError } from '../errors.ts';
import { log } from '../log.ts';
import { IngestGate, type IngestGateOptions } from './admission.ts';
import { ingestCaptureBody } from './ingest_capture.ts';
import { bodyBuffers } from './read_body.ts';
import { ArrivingBody } from './stream_capture.ts';
import type { StoreResult } from './store_capture.ts';

/** Routes mounted under /api/v1 (auth already applied by the caller). */
export function ingestRoutes(
  sql: Sql,
  doc: ApiDoc,
  options: {
    maxBodyBytes: number;
    onCaptureStored?: (r: StoreResult) => void | Promise<void>;
    metrics?: Metrics;
    /** With a read replica: the answer names the WAL position after the commit (X-Vmledger-Lsn). */
    reads?: Reads;
    /** How many captures this node ingests at once and lets wait (admission.ts), or the gate. */
    ingestGate?: Partial<IngestGateOptions> | IngestGate;
  },
) {
  const app = new Hono<{ Variables: AuthVariables }>();
  const gate = options.ingestGate instanceof IngestGate
    ? options.ingestGate
    : new IngestGate(options.ingestGate);

  doc.define(app, {
    method: 'post',
    path: '/captures',
    operationId: 'postCapture',
    tag: 'Ingest',
    roles: ['agent', 'admin'],
    body: Capture,
    rawBody: true,
    summary: 'Store one capture (JSON, optionally Content-Encoding: gzip); idempotent by captureId',
    responses: {
      201: {
        description: 'Stored',
        schema: z.object({
          captureId: z.string(),
          sourceId: z.number().int(),
          duplicate: z.literal(false),
          vms: z.number().int(),
          late: z.boolean(),
          deleted: z.number().int(),
          reappeared: z.number().int(),
        }),
      },
      200: {
        description: 'This capture id was stored before',
        schema: z.object({ captureId: z.string(), duplicate: z.literal(true) }),
      },
      403: "Another agent's source",
      409: 'Another capture id for the same source and time',
      413: 'Body over the size limit',
      415: 'Unsupported Content-Encoding',
      503: 'Too many captures arriving at once; send it again after Retry-After seconds',
    },
  }, async (c) => {
    const started = performance.now();
    let result;
    try {
      // The body is read only once admitted: until then it waits in the socket.
      result = await gate.run(() =>
        ingestCaptureBody(
          sql,
          new ArrivingBody(bodyBuffers(c.req.raw, options.maxBodyBytes)),
          c.get('auth'),
        )
      );
    } catch (err) {
      options.metrics?.capturesRejected.inc({
        status: String(err instanceof AppError ? err.status : 500),
      });
      throw err;
    }
    options.metrics?.capturesReceived.inc({ outcome: result.duplicate ? 'duplicate' : 'stored' });
    options.metrics?.ingestSeconds.observe((performance.now() - started) / 1000);
    if (result.duplicate) {
      return c.json({ captureId: result.captureId, duplicate: true }, 200);
    }
    const { captureId, sourceId, vmCount: vms, late, deleted, reappeared } = result;
    // A script that reads right after posting passes it back as X-Vmledger-Min-Lsn.
    if (options.reads?.configured) {
      const [p] = await sql`select pg_current_wal_lsn()::text as lsn`;
      c.header('x-vmledger-lsn', p.lsn);
    }
    log.debug('capture stored', { captureId, sourceId, vms, late });
    // Follow-up work (late-day re-aggregation) must never fail an ingest that has committed.
    try {
      await options.onCaptureStored?.(result);
    } catch (err) {
      log.error('after-capture hook failed', { captureId, error: err as Error });
    }
    return c.json({ captureId, sourceId, duplicate: false, vms, late, deleted, reappeared }, 201);
  });

  return app;
}
