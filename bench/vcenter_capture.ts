/**
 * vCenter capture speed: the agent's collector next to govmomi's own Go capture
 * (bench/govmomi-capture), both against one vcsim holding ~10,000 VMs, in the
 * same run, alternating, each capture in a fresh child process so its peak RSS is its own
 * (measured by /usr/bin/time when present, else by the child itself).
 *
 *   node bench/vcenter_capture.ts [--vms 10000] [--reps 5] [--page-size 1000]
 *
 * prints a table and writes bench/results/vcenter_capture.json. With `--child` this file
 * is the agent side of one measurement (runs one capture, prints one JSON line).
 *
 * Same property paths: govmomi-capture is handed the agent's own VM paths (vms.ts VM_PATHS)
 * and inventory specs (inventory.ts INVENTORY_TYPES, INVENTORY_SPECS), so the two fetch the
 * same properties whenever either changes. The agent does more besides: custom attribute
 * names, lifecycle events, vSphere tags over REST, and building the capture record. The goal
 * is agent time ≤ govmomi time and agent peak RSS ≤ govmomi's anyway.
 */
import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { provision } from '../scripts/provision.ts';
import { type BenchReport, median, printTable, REPO_ROOT, saveReport } from './harness.ts';
import { VM_PATHS } from '../agent/collectors/vcenter/vms.ts';
import { INVENTORY_SPECS, INVENTORY_TYPES } from '../agent/collectors/vcenter/inventory.ts';

const HERE = fileURLToPath(import.meta.url);
const TIME_BIN = '/usr/bin/time';

type Sample = {
  tool: 'agent' | 'govmomi';
  vms: number;
  captureMs: number;
  wallMs: number;
  /** Peak RSS of the whole process (/usr/bin/time): for the agent child that includes schema validation. */
  peakRssMb: number | null;
  /** Peak RSS when the capture was finished (agent only; govmomi does nothing after). */
  captureRssMb: number | null;
};

function sh(cmd: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      cmd,
      args,
      { maxBuffer: 16 << 20 },
      (
        err,
        stdout,
        stderr,
      ) => (err ? reject(new Error(`${cmd} failed: ${stderr || err.message}`)) : resolve(stdout)),
    );
  });
}

const GOVMOMI_DIR = path.join(REPO_ROOT, 'bench', 'govmomi-capture');

/** Builds govmomi-capture with its own build.sh into .tmp/bin, unless already up to date. */
async function buildGovmomiCapture(): Promise<string> {
  const out = path.join(REPO_ROOT, '.tmp', 'bin', 'govmomi-capture');
  const newest = Math.max(
    ...['main.go', 'build.sh'].map((f) => statSync(path.join(GOVMOMI_DIR, f)).mtimeMs),
  );
  if (!existsSync(out) || statSync(out).mtimeMs < newest) {
    const go = provision('govmomi', 'the vCenter capture benchmark (govmomi-capture)');
    if (!go.ok) throw new Error(`${go.reason}; install: ${go.install}`);
    await sh('bash', [path.join(GOVMOMI_DIR, 'build.sh'), out]);
  }
  return out;
}

/** The agent's property specs, as govmomi-capture's flags. */
export function govmomiArgs(): string[] {
  return [
    '-paths',
    VM_PATHS.join(','),
    '-inventory',
    JSON.stringify({ types: INVENTORY_TYPES, specs: INVENTORY_SPECS }),
  ];
}

/** Runs a command, timing it and reading its peak RSS from /usr/bin/time when available. */
async function runMeasured(
  cmd: string,
  args: string[],
  env: Record<string, string> = {},
): Promise<{ stdout: string; wallMs: number; peakRssMb: number | null }> {
  const useTime = existsSync(TIME_BIN);
  const tmp = useTime ? mkdtempSync(path.join(tmpdir(), 'vcbench-')) : null;
  const timeFile = tmp ? path.join(tmp, 'time') : '';
  const argv = useTime ? ['-f', '%M', '-o', timeFile, cmd, ...args] : args;
  const t0 = performance.now();
  const stdout = await new Promise<string>((resolve, reject) => {
    const child = spawn(useTime ? TIME_BIN : cmd, argv, {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, ...env },
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (c: Buffer) => (out += c));
    child.stderr.on('data', (c: Buffer) => (err = (err + c).slice(-4000)));
    child.on('error', reject);
    child.on(
      'exit',
      (code) => (code === 0 ? resolve(out) : reject(new Error(`${cmd} exited ${code}: ${err}`))),
    );
  });
  const wallMs = performance.now() - t0;
  let peakRssMb: number | null = null;
  if (tmp) {
    const kb = Number(readFileSync(timeFile, 'utf8').trim().split('\n').pop());
    peakRssMb = Number.isFinite(kb) ? kb / 1024 : null;
    rmSync(tmp, { recursive: true, force: true });
  }
  return { stdout, wallMs, peakRssMb };
}

async function runGovmomi(bin: string, urlWithCredentials: string): Promise<Sample> {
  const r = await runMeasured(bin, ['-u', urlWithCredentials, '-n', '1', ...govmomiArgs()]);
  const m = /vms=(\d+) inventory=\d+ paths=\d+ elapsed_ms=(\d+)/.exec(r.stdout);
  if (!m) throw new Error(`unexpected govmomi-capture output: ${r.stdout}`);
  return {
    tool: 'govmomi',
    vms: Number(m[1]),
    captureMs: Number(m[2]),
    wallMs: r.wallMs,
    peakRssMb: r.peakRssMb,
    captureRssMb: r.peakRssMb,
  };
}

async function runAgent(
  url: string,
  username: string,
  password: string,
  pageSize: number,
): Promise<Sample> {
  const node = process.execPath;
  const r = await runMeasured(node, [HERE, '--child'], {
    VCBENCH_CHILD: JSON.stringify({ url, username, pageSize }),
    VCBENCH_PASSWORD: password,
  });
  const line = JSON.parse(r.stdout.trim().split('\n').pop()!) as {
    vms: number;
    captureMs: number;
    captureRssMb: number;
    valid: boolean;
    complete: boolean;
  };
  if (!line.valid) throw new Error('the agent capture did not validate against the capture schema');
  if (!line.complete) throw new Error('the agent capture was incomplete');
  return {
    tool: 'agent',
    vms: line.vms,
    captureMs: line.captureMs,
    wallMs: r.wallMs,
    peakRssMb: r.peakRssMb,
    captureRssMb: line.captureRssMb,
  };
}

/** The child side: one capture by the real collector, timed from login to the finished record. */
async function childMain(): Promise<void> {
  const { VcenterSourceConfig } = await import('../agent/config.ts');
  const { createVcenterCollector } = await import('../agent/collectors/vcenter/collector.ts');
  const { createLogger } = await import('../shared/log.ts');
  const { Capture } = await import('../agent/capture/schema.ts');
  const opts = JSON.parse(process.env.VCBENCH_CHILD!) as {
    url: string;
    username: string;
    pageSize: number;
  };
  const cfg = VcenterSourceConfig.parse({
    kind: 'vcenter',
    name: 'bench',
    url: opts.url,
    username: opts.username,
    passwordEnv: 'VCBENCH_PASSWORD',
    pageSize: opts.pageSize,
  });
  const collector = createVcenterCollector(cfg, createLogger({ level: 'warn' }));
  const t0 = performance.now();
  const cap = await collector.capture({ signal: AbortSignal.timeout(600_000), since: null });
  const captureMs = performance.now() - t0;
  const captureRssMb = process.resourceUsage().maxRSS / 1024;
  // After the clock and the RSS reading: validation is the agent's job, not the collector's.
  const valid = Capture.safeParse(cap).success;
  process.stdout.write(
    JSON.stringify({
      vms: cap.vms.length,
      captureMs,
      complete: cap.complete,
      valid,
      captureRssMb,
    }) + '\n',
  );
}

/** Runs the comparison and returns the report (also the shape written to bench/results). */
export async function benchVcenterCapture(
  opts: { vms: number; reps?: number; pageSize?: number; log?: (line: string) => void },
): Promise<BenchReport & { samples: Sample[] }> {
  const reps = opts.reps ?? 5;
  const pageSize = opts.pageSize ?? 1000;
  const log = opts.log ?? ((l: string) => console.error(l));
  const { startVcsim } = await import('../tests/support/vcsim.ts');
  // 4 clusters of 8 hosts + 1 standalone host: 5 root pools hold the VMs.
  const pools = 5;
  const perPool = Math.ceil(opts.vms / pools);
  const govmomiBin = await buildGovmomiCapture();
  const t0 = performance.now();
  const sim = await startVcsim({ clusters: 4, clusterHosts: 8, hosts: 1, vmsPerPool: perPool });
  const vcsimStartMs = performance.now() - t0;
  log(
    `vcsim up with ${sim.counts.vm} VMs, ${sim.counts.host} hosts in ${
      (vcsimStartMs / 1000).toFixed(1)
    } s`,
  );
  const samples: Sample[] = [];
  try {
    // One warm-up each (not counted): the simulator's first traversal is slower.
    await runGovmomi(govmomiBin, sim.urlWithCredentials);
    await runAgent(sim.url, sim.username, sim.password, pageSize);
    for (let i = 0; i < reps; i++) {
      // Alternate who goes first so neither always meets a warmer server.
      const order = i % 2 === 0 ? (['govmomi', 'agent'] as const) : (['agent', 'govmomi'] as const);
      for (const tool of order) {
        const s = tool === 'govmomi'
          ? await runGovmomi(govmomiBin, sim.urlWithCredentials)
          : await runAgent(sim.url, sim.username, sim.password, pageSize);
        if (s.vms !== sim.counts.vm) {
          throw new Error(`${tool} saw ${s.vms} VMs, vcsim has ${sim.counts.vm}`);
        }
        samples.push(s);
        log(
          `  rep ${i + 1} ${tool.padEnd(7)} ${s.captureMs.toFixed(0)} ms capture, ${
            s.wallMs.toFixed(0)
          } ms process, ${s.captureRssMb?.toFixed(0) ?? '?'} MB peak at capture end, ${
            s.peakRssMb?.toFixed(0) ?? '?'
          } MB process peak`,
        );
      }
    }
  } finally {
    await sim.stop();
  }
  const pick = (tool: Sample['tool'], f: (s: Sample) => number | null) =>
    median(samples.filter((s) => s.tool === tool).map(f).filter((v): v is number => v !== null));
  const agentMs = pick('agent', (s) => s.captureMs);
  const govmomiMs = pick('govmomi', (s) => s.captureMs);
  const ratio = agentMs / govmomiMs;
  const agentRss = pick('agent', (s) => s.peakRssMb);
  const govmomiRss = pick('govmomi', (s) => s.peakRssMb);
  return {
    name: 'vcenter_capture',
    title:
      `vCenter capture of ${sim.counts.vm} VMs from vcsim: agent collector vs govmomi (median of ${reps})`,
    goal: "agent capture time ≤ 1.0× govmomi-capture, agent process peak RSS ≤ govmomi-capture's",
    met: ratio <= 1 && agentRss <= govmomiRss,
    metrics: {
      vms: sim.counts.vm,
      agentCaptureMs: Math.round(agentMs),
      govmomiCaptureMs: Math.round(govmomiMs),
      ratioAgentToGovmomi: Math.round(ratio * 1000) / 1000,
      agentProcessMs: Math.round(pick('agent', (s) => s.wallMs)),
      govmomiProcessMs: Math.round(pick('govmomi', (s) => s.wallMs)),
      agentPeakRssAtCaptureEndMb: Math.round(pick('agent', (s) => s.captureRssMb)),
      agentPeakRssWithValidationMb: Math.round(agentRss),
      govmomiPeakRssMb: Math.round(govmomiRss),
      agentPageSize: pageSize,
      vcsimStartMs: Math.round(vcsimStartMs),
    },
    notes:
      'capture ms = login to logout inside each process (govmomi prints its own; the agent child times capture()); process ms adds start-up. ' +
      'Process peak RSS from /usr/bin/time; the agent child validates the capture with zod after its clock stops, which is in its process peak but not in its at-capture-end peak. Both fetch the same VM and inventory property paths (govmomi-capture gets the agent specs as flags); the agent also reads custom attribute names, events and vSphere tags (REST) and builds the record.',
    samples,
  };
}

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}

if (process.argv[1] && path.resolve(process.argv[1]) === HERE) {
  if (process.argv.includes('--child')) {
    await childMain();
  } else {
    const report = await benchVcenterCapture({
      vms: arg('vms', 10_000),
      reps: arg('reps', 5),
      pageSize: arg('page-size', 1000),
    });
    const saved = saveReport(report);
    printTable([saved]);
    console.log(`\nwritten to ${path.join('bench', 'results', 'vcenter_capture.json')}`);
  }
}
