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
import type { CaptureSink, Collector } from '../collectors/collector.ts';
import type { SourceConfig } from '../config.ts';
import type { StreamedCapture } from '../spool/capture_stream.ts';
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
  /**
   * A writer a streaming collector (Collector.captureTo) fills VM by VM, checking as it
   * writes (spool.stream); `commit` makes it durable. Without it, captures are taken whole.
   */
  stream?: () => Promise<
    CaptureSink & { commit(): Promise<StreamedCapture>; abort(): Promise<void> }
  >;
  /** Called after a streamed capture was committed (delivery's nudge). */
  streamed?: () => void;
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
      const done = e.collector.captureTo && options.stream
        ? await streamed(e, signal)
        : await whole(e, signal);
      e.since = new Date(done.capturedAt);
      e.health.sourceId = done.sourceId;
      e.health.lastSuccessAt = new Date().toISOString();
      e.health.lastVmCount = done.vmCount;
      e.health.lastComplete = done.complete;
      e.health.lastError = done.complete ? null : `incomplete: ${done.errors.join('; ')}`;
      e.health.consecutiveFailures = 0;
      log.info('capture spooled', {
        captureId: done.captureId,
        vms: done.vmCount,
        complete: done.complete,
        streamed: e.collector.captureTo !== undefined && options.stream !== undefined,
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

  type Done = Omit<StreamedCapture, 'bytes'>;

  /** Takes the capture whole, validates it, stores it. */
  async function whole(e: Entry, signal: AbortSignal): Promise<Done> {
    const raw = await e.collector.capture({ signal, since: e.since });
    const parsed = Capture.safeParse(raw);
    if (!parsed.success) {
      const first = describeIssues(parsed.error)[0];
      throw new Error(`collector produced an invalid capture: ${first.path}: ${first.message}`);
    }
    await options.store(parsed.data);
    const c = parsed.data;
    return {
      captureId: c.captureId,
      capturedAt: c.capturedAt,
      sourceId: c.source.id,
      vmCount: c.vms.length,
      complete: c.complete,
      errors: c.errors,
    };
  }

  /** Streams the capture into the spool page by page; a failure leaves nothing behind. */
  async function streamed(e: Entry, signal: AbortSignal): Promise<Done> {
    const writer = await options.stream!();
    try {
      await e.collector.captureTo!({ signal, since: e.since }, writer);
      const done = await writer.commit();
      options.streamed?.();
      return done;
    } catch (err) {
      await writer.abort();
      throw err;
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
