/**
 * Heartbeat: every few seconds the agent tells the server its version, each source's
 * poll health and its spool depth. The answer may ask for an immediate capture of some
 * sources (an admin's "capture now"), which is run at once.
 */
import type { Heartbeat, HeartbeatAnswer } from '../capture/heartbeat.ts';
import type { Logger } from '../../shared/log.ts';
import type { Scheduler } from '../scheduler/scheduler.ts';

export type HeartbeatBody = Heartbeat;

/** Sends one heartbeat and acts on the answer; errors are logged, never thrown. */
export async function sendHeartbeat(options: {
  serverUrl: string;
  token: string;
  body: HeartbeatBody;
  scheduler: Scheduler;
  log: Logger;
  fetch?: typeof fetch;
}): Promise<boolean> {
  try {
    const res = await (options.fetch ?? fetch)(new URL('/api/v1/heartbeats', options.serverUrl), {
      method: 'POST',
      headers: { authorization: `Bearer ${options.token}`, 'content-type': 'application/json' },
      body: JSON.stringify(options.body),
      signal: AbortSignal.timeout(30_000),
    });
    if (!res.ok) {
      options.log.warn('heartbeat not accepted', {
        status: res.status,
        body: (await res.text()).slice(0, 200),
      });
      return false;
    }
    const answer = (await res.json()) as Partial<HeartbeatAnswer>;
    for (const req of answer.captureNow ?? []) {
      const name = options.scheduler.nameOf(req.sourceId);
      if (name) {
        options.log.info('server asked for a capture now', { source: name });
        options.scheduler.captureNow(name);
      }
    }
    return true;
  } catch (err) {
    options.log.debug('heartbeat failed', { error: (err as Error).message });
    return false;
  }
}
