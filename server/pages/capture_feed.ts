/**
 * Live capture notifications for the dashboard's server-sent events. One poller per process
 * reads a cheap signal (the sources table) every few seconds while at least one browser is
 * listening, and hands it to every listener; each listener compares it with the signal its
 * page was rendered with, so a capture between render and connect is not missed.
 */
import type { Sql } from '../db/connect.ts';
import { log } from '../log.ts';
import { captureSignal } from '../queries/pages_dashboard.ts';

export type Signal = Awaited<ReturnType<typeof captureSignal>>;
type Listener = (s: Signal) => void;

export function captureFeed(sql: Sql, options: { intervalMs: number }) {
  const listeners = new Set<Listener>();
  let timer: ReturnType<typeof setInterval> | null = null;
  let busy = false;

  async function tick() {
    if (busy) return;
    busy = true;
    try {
      const s = await captureSignal(sql);
      for (const fn of listeners) fn(s);
    } catch (err) {
      // The database may be restarting; the next tick tries again.
      log.warn('capture feed poll failed', { error: err as Error });
    } finally {
      busy = false;
    }
  }

  return {
    /** Current signal (one query). */
    current: () => captureSignal(sql),
    /** Starts polling if needed; returns the unsubscribe function. */
    subscribe(fn: Listener) {
      listeners.add(fn);
      if (!timer) {
        timer = setInterval(tick, options.intervalMs);
        timer.unref?.();
      }
      return () => {
        listeners.delete(fn);
        if (listeners.size === 0 && timer) {
          clearInterval(timer);
          timer = null;
        }
      };
    },
  };
}
