/**
 * Per-source scheduling: each source runs on its own interval, aligned to the clock
 * (hourly runs happen on the hour), with a timeout and never two runs at once. A run
 * captures, validates, and spools; delivery happens elsewhere. Poll health per source
 * is kept for the heartbeat.
 */
import type { z } from 'zod';
import type { SourceHealthReport } from '../capture/heartbeat.ts';
import { Capture } from '../capture/schema.ts';
import { describeIssues } from '../../shared/issues.ts';
import type { Collector } from '../collectors/collector.ts';
import type { SourceConfig } from '../config.ts';
import type { Logger } from '../../shared/log.ts';

/** Poll health of one source, as reported in heartbeats. */
export type SourceHealth = z.infer<typeof SourceHealthReport>;

/** The next aligned run after `now`: the next multiple of the interval since the epoch. */
export function nextAlignedRun(now: number, intervalSeconds: number): number {
  const ms = intervalSeconds * 1000;
  return (Math.floor(now / ms) + 1) * ms;
}

type Entry = {
  config: SourceConfig;
  collector: Collector;
  health: SourceHealth;
  since: Date | null;
  timer: ReturnType<typeof setTimeout> | null;
};

export type Scheduler = ReturnType<typeof createScheduler>;

export function createScheduler(options: {
  sources: { config: SourceConfig; collector: Collector }[];
  /** Stores a validated capture (the spool); throws if it cannot. */
  store: (capture: Capture) => Promise<void>;
  log: Logger;
  now?: () => number;
}) {
  const now = options.now ?? Date.now;
  const entries = new Map<string, Entry>();
  let stopped = false;
  const controller = new AbortController();

  for (const s of options.sources) {
    entries.set(s.config.name, {
      config: s.config,
      collector: s.collector,
      since: null,
      timer: null,
      health: {
        name: s.config.name,
        kind: s.config.kind,
        sourceId: null,
        running: false,
        lastRunAt: null,
        lastSuccessAt: null,
        lastError: null,
        lastDurationMs: null,
        lastVmCount: null,
        lastComplete: null,
        nextRunAt: null,
        consecutiveFailures: 0,
      },
    });
  }

  /** Runs one capture of a source now, unless one is already running. Returns whether it succeeded. */
  async function runSource(name: string): Promise<boolean> {
    const e = entries.get(name);
    if (!e) throw new Error(`no source named ${name}`);
    if (e.health.running) {
      options.log.info('capture already running; not starting another', { source: name });
      return false;
    }
    e.health.running = true;
    const started = now();
    e.health.lastRunAt = new Date(started).toISOString();
    const log = options.log.child({ source: name });
    // A ref'd timer, not AbortSignal.timeout (unref'd in Node): a capture waiting only on
    // its timeout must still keep the process alive until it fails.
    const timeout = new AbortController();
    const timer = setTimeout(
      () => timeout.abort(new Error(`timed out after ${e.config.timeoutSeconds} s`)),
      e.config.timeoutSeconds * 1000,
    );
    const signal = AbortSignal.any([timeout.signal, controller.signal]);
    try {
      const raw = await e.collector.capture({ signal, since: e.since });
      const parsed = Capture.safeParse(raw);
      if (!parsed.success) {
        const first = describeIssues(parsed.error)[0];
        throw new Error(`collector produced an invalid capture: ${first.path}: ${first.message}`);
      }
      await options.store(parsed.data);
      e.since = new Date(parsed.data.capturedAt);
      e.health.sourceId = parsed.data.source.id;
      e.health.lastSuccessAt = new Date().toISOString();
      e.health.lastVmCount = parsed.data.vms.length;
      e.health.lastComplete = parsed.data.complete;
      e.health.lastError = parsed.data.complete
        ? null
        : `incomplete: ${parsed.data.errors.join('; ')}`;
      e.health.consecutiveFailures = 0;
      log.info('capture spooled', {
        captureId: parsed.data.captureId,
        vms: parsed.data.vms.length,
        complete: parsed.data.complete,
        ms: now() - started,
      });
      return true;
    } catch (err) {
      const message = timeout.signal.aborted
        ? `timed out after ${e.config.timeoutSeconds} s`
        : (err as Error).message;
      e.health.lastError = message;
      e.health.consecutiveFailures++;
      log.error('capture failed', { error: message });
      return false;
    } finally {
      clearTimeout(timer);
      e.health.running = false;
      e.health.lastDurationMs = now() - started;
    }
  }

  function schedule(e: Entry) {
    if (stopped) return;
    const at = nextAlignedRun(now(), e.config.intervalSeconds);
    e.health.nextRunAt = new Date(at).toISOString();
    e.timer = setTimeout(async () => {
      await runSource(e.config.name);
      schedule(e);
    }, Math.max(0, at - now()));
  }

  return {
    /** Starts the timers; with `immediately`, every source also captures once right away. */
    start(opts: { immediately?: boolean } = {}) {
      for (const e of entries.values()) {
        if (opts.immediately) void runSource(e.config.name);
        schedule(e);
      }
    },
    runSource,
    /** Asks for a capture now (an admin's "capture now"); ignored when one is running. */
    captureNow(name: string) {
      if (entries.has(name)) void runSource(name);
    },
    /** The configured name of the source the server knows by this id, if any. */
    nameOf(sourceId: string): string | undefined {
      for (const e of entries.values()) if (e.health.sourceId === sourceId) return e.config.name;
      return undefined;
    },
    health(): SourceHealth[] {
      return [...entries.values()].map((e) => ({ ...e.health }));
    },
    stop() {
      stopped = true;
      controller.abort(new Error('agent stopping'));
      for (const e of entries.values()) if (e.timer) clearTimeout(e.timer);
    },
  };
}
