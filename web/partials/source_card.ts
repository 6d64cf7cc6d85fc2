/** A source as a card: kind, poll health, staleness, last error, agent and spool. */
import { markup } from '../markup.ts';
import { badge, csrfField, pollHealth, time } from '../components.ts';
import { fmtAge, fmtInt } from '../format.ts';

/** A source with its last capture, poll health and agent. */
export type SourceRow = {
  id: number;
  kind: string;
  externalId: string;
  name: string;
  endpoint: string | null;
  version: string | null;
  createdAt: string;
  lastCaptureAt: string | null;
  secondsSinceLastCapture: number | null;
  vms: number;
  lastCapture: {
    captureId: string;
    complete: boolean;
    vmCount: number;
    errors: string[];
    ingestMs: number | null;
  } | null;
  health: Record<string, unknown> | null;
  healthReportedAt: string | null;
  agent: {
    tokenId: number;
    name: string;
    version: string | null;
    hostname: string | null;
    lastHeartbeatAt: string | null;
    spool: unknown;
  } | null;
};

/** After this long without a capture a source counts as stale (captures are hourly by default). */
export const STALE_SECONDS = 2 * 3600;

/** Health of a source: [tone, label, why] from its last capture and its agent's report. */
export function sourceHealth(s: SourceRow) {
  const h = (s.health ?? {}) as {
    consecutiveFailures?: number;
    lastError?: string | null;
    nextRunAt?: string | null;
  };
  const overdue = h.nextRunAt ? Date.now() - new Date(h.nextRunAt).getTime() > 15 * 60_000 : false;
  const stale = s.secondsSinceLastCapture !== null &&
    (s.secondsSinceLastCapture > STALE_SECONDS || overdue);
  const errors = (s.lastCapture?.errors?.length ?? 0) + (h.consecutiveFailures ?? 0);
  const out = pollHealth({
    lastCaptureAt: s.lastCaptureAt,
    complete: s.lastCapture?.complete ?? null,
    errors,
    stale,
  });
  if (out[0] === 'ok' && (h.consecutiveFailures ?? 0) > 0) {
    return ['warn', 'failing', `${h.consecutiveFailures} failed polls`] as const;
  }
  return out;
}

/** The last error a source's agent or capture reported, if any. */
export function lastError(s: SourceRow): string | null {
  const h = (s.health ?? {}) as { lastError?: string | null };
  return h.lastError ?? (s.lastCapture?.errors?.length ? String(s.lastCapture.errors[0]) : null);
}

type Spool = { pending?: number; pendingBytes?: number; rejected?: number };

/** One card; `capture` adds the CSRF-protected "capture now" button. */
export function sourceCard(
  s: SourceRow,
  options: { capture?: { csrf: string; pending: string | null } } = {},
) {
  const [tone, label, why] = sourceHealth(s);
  const err = lastError(s);
  const spool = (s.agent?.spool ?? null) as Spool | null;
  return markup`<article class="card source" aria-labelledby="src-${s.id}">
  <div class="head">
    <div><h3 id="src-${s.id}"><a href="/sources/${s.id}">${s.name}</a></h3><span class="muted small">${s.kind}${
    s.version ? ` · ${s.version}` : ''
  }</span></div>
    ${badge(tone, label, why)}
  </div>
  <dl>
    <dt>VMs</dt><dd><a href="/vms?source=${s.id}">${fmtInt(s.vms)}</a></dd>
    <dt>Last capture</dt><dd>${
    s.lastCaptureAt
      ? markup`${time(s.lastCaptureAt)} <span class="muted">(${fmtAge(s.lastCaptureAt)})</span>`
      : 'never'
  }</dd>
    ${
    s.agent
      ? markup`<dt>Agent</dt><dd>${s.agent.name}${
        s.agent.hostname ? ` on ${s.agent.hostname}` : ''
      } <span class="muted">· ${
        s.agent.lastHeartbeatAt
          ? `heartbeat ${fmtAge(s.agent.lastHeartbeatAt)}`
          : 'no heartbeat yet'
      }</span></dd>
    <dt>Spool</dt><dd>${
        spool
          ? markup`${fmtInt(spool.pending ?? 0)} pending${
            spool.rejected
              ? markup`, <span class="error">${fmtInt(spool.rejected)} rejected</span>`
              : ''
          }`
          : '–'
      }</dd>`
      : markup`<dt>Agent</dt><dd class="muted">no heartbeat yet</dd>`
  }
    ${err ? markup`<dt>Last error</dt><dd class="error">${err}</dd>` : ''}
  </dl>
  ${
    options.capture
      ? markup`<form method="post" action="/sources/${s.id}/capture" class="actions">
    ${csrfField(options.capture.csrf)}
    <button class="quiet small" type="submit">Capture now</button>
    ${
        options.capture.pending
          ? markup`<span class="muted small">requested ${
            fmtAge(options.capture.pending)
          }, waiting for the agent</span>`
          : ''
      }
  </form>`
      : ''
  }
</article>`;
}
