/**
 * Process gauges: memory (resident set, JavaScript heap) and event-loop delay. The delay is
 * measured once per process, started on first use; each sample reports the 99th percentile
 * and the maximum since the previous sample (a scrape), then starts over — the same as
 * prom-client's `nodejs_eventloop_lag_*`.
 *
 * On Node, `perf_hooks.monitorEventLoopDelay` (a libuv timer, nothing runs on the loop); its
 * values include the timer's own interval, which is subtracted. Deno 2 provides the function
 * but its histogram does not see a blocked loop (a 50 ms busy wait reads as 15 µs), so there a
 * timer measures how late it fires.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import process from 'node:process';
import { setTimeout } from 'node:timers';
import { RUNTIME } from '../runtime.ts';

const RESOLUTION_MS = 20;

type LagMeter = { take(): { p99: number; max: number } };

/** Node: the native histogram (nanoseconds). */
function nativeMeter(): LagMeter {
  const h = monitorEventLoopDelay({ resolution: RESOLUTION_MS });
  h.enable();
  const lag = (ns: number) => Math.max(0, ns / 1e9 - RESOLUTION_MS / 1000);
  return {
    take() {
      const r = h.count > 0 ? { p99: lag(h.percentile(99)), max: lag(h.max) } : { p99: 0, max: 0 };
      h.reset();
      return r;
    },
  };
}

/** Elsewhere: an unref'd timer every RESOLUTION_MS that records how late it fired (seconds). */
function timerMeter(): LagMeter {
  const samples = new Float64Array(4096);
  let n = 0;
  let due = performance.now() + RESOLUTION_MS;
  const tick = () => {
    const now = performance.now();
    samples[n++ % samples.length] = Math.max(0, now - due) / 1000;
    due = now + RESOLUTION_MS;
    setTimeout(tick, RESOLUTION_MS).unref();
  };
  setTimeout(tick, RESOLUTION_MS).unref();
  return {
    take() {
      const kept = samples.slice(0, Math.min(n, samples.length)).sort();
      n = 0;
      if (!kept.length) return { p99: 0, max: 0 };
      return { p99: kept[Math.ceil(kept.length * 0.99) - 1], max: kept[kept.length - 1] };
    },
  };
}

let meter: LagMeter | undefined;

/** The event-loop meter of this process, started on first use (createMetrics starts it). */
export function lagMeter(): LagMeter {
  return meter ??= RUNTIME === 'node' ? nativeMeter() : timerMeter();
}

export type ProcessSample = {
  rssBytes: number;
  heapUsedBytes: number;
  heapTotalBytes: number;
  /** Since the previous sample. */
  lagP99Seconds: number;
  lagMaxSeconds: number;
};

/** Memory now, and the event-loop delay since the previous sample. */
export function processSample(): ProcessSample {
  const mem = process.memoryUsage();
  const lag = lagMeter().take();
  return {
    rssBytes: mem.rss,
    heapUsedBytes: mem.heapUsed,
    heapTotalBytes: mem.heapTotal,
    lagP99Seconds: lag.p99,
    lagMaxSeconds: lag.max,
  };
}
