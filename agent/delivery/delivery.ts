/**
 * Delivery: sends spooled captures to the server, oldest first, one at a time (so the
 * server sees them in captured-at order), and removes each only after the server
 * acknowledged its capture id. A re-send is harmless: the server deduplicates by id.
 *
 * Outcomes per response:
 *   2xx                    acknowledged → removed from the spool
 *   408, 429, 5xx, network retried with exponential backoff + jitter (429/503 honour Retry-After)
 *   401                    retried: a wrong or revoked token is a configuration problem of the
 *                          whole agent, not of the capture; rejecting would empty the spool
 *   other 4xx              rejected → moved to rejected/ with the server's reason
 */
import type { Logger } from '../../shared/log.ts';
import type { Spool, SpoolEntry } from '../spool/spool.ts';
import { backoffDelay, retryAfterMs } from './backoff.ts';

export type DeliveryState = {
  delivered: number;
  rejected: number;
  lastDeliveredAt: string | null;
  lastError: string | null;
  /** When the next retry is due, while backing off. */
  retryAt: string | null;
};

type Outcome = { kind: 'acked' } | { kind: 'rejected' } | {
  kind: 'retry';
  delayMs: number;
  error: string;
};

export type Delivery = ReturnType<typeof createDelivery>;

export function createDelivery(options: {
  serverUrl: string;
  token: string;
  spool: Spool;
  log: Logger;
  userAgent: string;
  requestTimeoutMs?: number;
  backoff?: { baseMs?: number; maxMs?: number };
  fetch?: typeof fetch;
}) {
  const doFetch = options.fetch ?? fetch;
  const endpoint = new URL('/api/v1/captures', options.serverUrl).toString();
  const state: DeliveryState = {
    delivered: 0,
    rejected: 0,
    lastDeliveredAt: null,
    lastError: null,
    retryAt: null,
  };
  let attempt = 0;
  let wake: (() => void) | null = null;
  let nudged = false;

  async function send(entry: SpoolEntry): Promise<Outcome> {
    let res: Response;
    let body: string;
    try {
      res = await doFetch(endpoint, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${options.token}`,
          'content-type': 'application/json',
          'content-encoding': 'gzip',
          'user-agent': options.userAgent,
        },
        body: (await options.spool.read(entry)) as BodyInit,
        signal: AbortSignal.timeout(options.requestTimeoutMs ?? 120_000),
      });
      body = await res.text();
    } catch (err) {
      return {
        kind: 'retry',
        delayMs: backoffDelay(attempt++, options.backoff),
        error: `server unreachable: ${(err as Error).message}`,
      };
    }
    if (res.ok) return { kind: 'acked' };
    const retryable = res.status === 408 || res.status === 429 || res.status === 401 ||
      res.status >= 500;
    if (!retryable) {
      await options.spool.reject(entry, { status: res.status, body: body.slice(0, 10_000) });
      options.log.error('capture rejected by the server; kept in rejected/', {
        captureId: entry.captureId,
        status: res.status,
        reason: body.slice(0, 500),
      });
      return { kind: 'rejected' };
    }
    const hinted = res.status === 429 || res.status === 503
      ? retryAfterMs(res.headers.get('retry-after'))
      : null;
    const delayMs = hinted ?? backoffDelay(attempt, options.backoff);
    attempt++;
    return {
      kind: 'retry',
      delayMs,
      error: `server answered ${res.status}: ${body.slice(0, 200)}`,
    };
  }

  /** Sends everything pending; stops at the first retryable failure. Returns the delay to wait, if any. */
  async function drain(): Promise<number | null> {
    for (const entry of await options.spool.list()) {
      const outcome = await send(entry);
      if (outcome.kind === 'retry') {
        state.lastError = outcome.error;
        state.retryAt = new Date(Date.now() + outcome.delayMs).toISOString();
        options.log.warn('delivery failed; will retry', {
          captureId: entry.captureId,
          error: outcome.error,
          retryInMs: outcome.delayMs,
        });
        return outcome.delayMs;
      }
      attempt = 0;
      state.retryAt = null;
      if (outcome.kind === 'acked') {
        await options.spool.ack(entry);
        state.delivered++;
        state.lastDeliveredAt = new Date().toISOString();
        state.lastError = null;
        options.log.debug('capture delivered', { captureId: entry.captureId });
      } else {
        state.rejected++;
      }
    }
    return null;
  }

  return {
    state,
    drain,

    /** Wakes the loop now (a new capture was spooled). */
    nudge() {
      // Remembered when the loop is busy draining: that drain may have listed the spool
      // before this capture landed, and the loop must not then sleep past it.
      nudged = true;
      wake?.();
    },

    /** Delivers until `signal` aborts: drains, then sleeps until nudged or a retry is due. */
    async run(signal: AbortSignal): Promise<void> {
      while (!signal.aborted) {
        let delay: number | null;
        nudged = false;
        try {
          delay = await drain();
        } catch (err) {
          // A spool read error must not end delivery: log, back off, try again.
          options.log.error('delivery loop error', { error: err as Error });
          delay = backoffDelay(attempt++, options.backoff);
        }
        // Stopped during the drain: an abort listener added now would never fire.
        if (signal.aborted) break;
        // A capture spooled during the drain is sent now, unless we are backing off.
        if (nudged && delay === null) continue;
        await new Promise<void>((resolve) => {
          const timer = delay === null ? null : setTimeout(resolve, delay);
          wake = () => {
            if (timer) clearTimeout(timer);
            resolve();
          };
          signal.addEventListener('abort', () => wake?.(), { once: true });
        });
        wake = null;
      }
    },
  };
}
