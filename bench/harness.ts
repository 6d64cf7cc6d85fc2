/**
 * The shape every benchmark returns, and helpers they share. Speed targets live here as
 * goals compared against a peer measured in the same run (ratios), never in timed tests.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

export type BenchReport = {
  /** Short id, also the JSON file name in bench/results/. */
  name: string;
  /** What was measured, in one line. */
  title: string;
  /** The goal as a person would state it ("agent ≤ 1.0× govmomi"). */
  goal: string;
  /** Whether the goal held in this run; null when there is no pass/fail goal. */
  met: boolean | null;
  /** Named measurements: numbers with their unit in the name (`agentMs`, `peakRssMb`). */
  metrics: Record<string, number | string>;
  /** Anything a reader needs to interpret the numbers (machine, repetitions, sizes). */
  notes?: string;
  at?: string;
};

/** Writes a report to bench/results/<name>.json and returns it. */
export function saveReport(report: BenchReport): BenchReport {
  const dir = path.join(REPO_ROOT, 'bench', 'results');
  mkdirSync(dir, { recursive: true });
  const full = { ...report, at: new Date().toISOString() };
  writeFileSync(path.join(dir, `${report.name}.json`), JSON.stringify(full, null, 2) + '\n');
  return full;
}

const collectGarbage: () => void = (() => {
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
})();

/**
 * A full garbage collection and the collector's work behind it done, so a timed sample starts
 * from a settled heap: collecting what the previous sample (or building the next one's input)
 * left is not charged to it. A full collection hands the sweeping of what it freed to
 * background threads, which on a 2-core machine would otherwise run during the sample (and the
 * main thread sweeps what they have not reached whenever it allocates): in the ingest bench,
 * ~60 MB of the previous round's bodies, 148 against 115 ms of CPU per ingest.
 */
export async function settledHeap(): Promise<void> {
  collectGarbage();
  await new Promise((resolve) => setTimeout(resolve, 100));
}

/**
 * This process's peak resident set in MB: on Linux VmHWM of /proc/self/status, the peak of
 * this program's own memory (main thread and workers). getrusage's maxrss, which
 * process.resourceUsage().maxRSS reads, keeps across exec the peak of the process that
 * spawned it: a report child spawned by the costs bench, holding 566 MB, reported 566 MB
 * before it had done anything.
 */
export function peakRssMb(): number {
  try {
    const m = readFileSync('/proc/self/status', 'utf8').match(/^VmHWM:\s+(\d+) kB$/m);
    if (m) return Math.round(Number(m[1]) / 1024);
  } catch {
    // not Linux: the rusage figure, an upper bound
  }
  return Math.round(process.resourceUsage().maxRSS / 1024);
}

/** Median of a list of numbers. */
export function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** The p-th percentile (0–100) of a list of numbers. */
export function percentile(values: number[], p: number): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))];
}

/** Prints reports as a table. */
export function printTable(reports: BenchReport[], print: (line: string) => void = console.log) {
  for (const r of reports) {
    print(
      `\n${r.title}  [${
        r.met === null ? 'no goal' : r.met ? 'goal met' : 'GOAL MISSED'
      }: ${r.goal}]`,
    );
    const width = Math.max(...Object.keys(r.metrics).map((k) => k.length));
    for (const [k, v] of Object.entries(r.metrics)) {
      print(
        `  ${k.padEnd(width)}  ${
          typeof v === 'number' ? (Number.isInteger(v) ? v : v.toFixed(3)) : v
        }`,
      );
    }
    if (r.notes) print(`  (${r.notes})`);
  }
}
