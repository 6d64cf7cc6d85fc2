/**
 * The heartbeat record: the agent's second wire contract (after the capture). Sent every
 * few seconds; the answer lists sources the server wants captured now.
 */
import { z } from 'zod';

const time = z.iso.datetime({ offset: true }).nullable();

export const SourceHealthReport = z.object({
  name: z.string().max(200),
  kind: z.enum(['vcenter', 'proxmox', 'demo']),
  /** The source's own id (as in captures); null until its first capture. */
  sourceId: z.string().max(200).nullable(),
  running: z.boolean(),
  lastRunAt: time,
  lastSuccessAt: time,
  lastError: z.string().max(4000).nullable(),
  lastDurationMs: z.number().nullable(),
  lastVmCount: z.number().int().nullable(),
  lastComplete: z.boolean().nullable(),
  nextRunAt: time,
  consecutiveFailures: z.number().int().min(0),
});

export const Heartbeat = z.object({
  agentVersion: z.string().max(100),
  hostname: z.string().max(255).nullable(),
  sentAt: z.iso.datetime({ offset: true }),
  sources: z.array(SourceHealthReport).max(1000),
  spool: z.object({
    pending: z.number().int(),
    pendingBytes: z.number(),
    rejected: z.number().int(),
    refusedAtCap: z.number().int(),
    /** Refused because the spool's disk was full (agents before it do not send it). */
    refusedDiskFull: z.number().int().optional(),
    /** The latest refusal, cap or full disk: when and why. */
    lastRefusal: z.object({ at: z.iso.datetime({ offset: true }), reason: z.string().max(1000) })
      .nullable().optional(),
    maxBytes: z.number(),
  }),
  delivery: z.object({
    delivered: z.number().int(),
    rejected: z.number().int(),
    lastDeliveredAt: time,
    lastError: z.string().max(4000).nullable(),
    retryAt: time,
  }),
});
export type Heartbeat = z.infer<typeof Heartbeat>;

/** The server's answer: capture these sources now (by their own ids). */
export const HeartbeatAnswer = z.object({
  captureNow: z.array(z.object({ sourceId: z.string() })),
});
export type HeartbeatAnswer = z.infer<typeof HeartbeatAnswer>;
