/**
 * Builds (once, via scripts/vcsim/build.sh) and launches the vCenter simulator for tests
 * and benches. Each launch is its own process with its own inventory on a free port of
 * 127.0.0.1; `stop()` ends it.
 */
import { spawn, execFile } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

export type VcsimOptions = {
  datacenters?: number;
  /** Clusters per datacenter. */
  clusters?: number;
  /** Hosts per cluster. */
  clusterHosts?: number;
  /** Standalone hosts per datacenter. */
  hosts?: number;
  /** Child resource pools per cluster. */
  pools?: number;
  /** VMs per cluster root pool and per standalone host. */
  vmsPerPool?: number;
  /** Datacenters placed inside folders. */
  folders?: number;
  datastores?: number;
  /** vApps per cluster (each gets `vmsPerPool` VMs). */
  apps?: number;
  tls?: boolean;
  username?: string;
  password?: string;
  /** Largest page the simulated PropertyCollector returns whatever maxObjects asks. */
  pageCap?: number;
  autostart?: boolean;
};

export type Vcsim = {
  /** SDK URL without credentials, e.g. `http://127.0.0.1:40000/sdk`. */
  url: string;
  /** SDK URL with `user:pass@`, the form govmomi tools take. */
  urlWithCredentials: string;
  username: string;
  password: string;
  tls: boolean;
  /** SHA-256 of the server certificate (hex) when `tls`. */
  thumbprint: string | null;
  instanceUuid: string;
  /** Object counts vcsim's own model reports (simulator.Model.Count). */
  counts: Record<string, number>;
  pid: number;
  stop(): Promise<void>;
};

let built: Promise<string> | null = null;

/** Builds the vcsim binary if needed (skipped when up to date) and returns its path. */
export function buildVcsim(): Promise<string> {
  built ??= new Promise((resolve, reject) => {
    execFile('bash', [path.join(repoRoot, 'scripts/vcsim/build.sh')], { maxBuffer: 1 << 20 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`scripts/vcsim/build.sh failed: ${stderr || err.message}`));
      else resolve(stdout.trim().split('\n').pop()!);
    });
  });
  return built;
}

/** Starts a simulator and waits until it is serving. */
export async function startVcsim(options: VcsimOptions = {}): Promise<Vcsim> {
  const bin = await buildVcsim();
  const o = options;
  const args: string[] = [];
  const flag = (name: string, v: number | string | boolean | undefined) => {
    if (v !== undefined) args.push(`-${name}=${v}`);
  };
  flag('dc', o.datacenters);
  flag('cluster', o.clusters);
  flag('cluster-host', o.clusterHosts);
  flag('host', o.hosts);
  flag('pool', o.pools);
  flag('vm', o.vmsPerPool);
  flag('folder', o.folders);
  flag('datastore', o.datastores);
  flag('app', o.apps);
  flag('tls', o.tls);
  flag('username', o.username);
  flag('password', o.password);
  flag('page-cap', o.pageCap);
  flag('autostart', o.autostart);

  const child = spawn(bin, args, { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (c: Buffer) => {
    stderr = (stderr + c.toString()).slice(-4000);
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const lines = createInterface({ input: child.stdout! });
  const first = await new Promise<string>((resolve, reject) => {
    lines.once('line', resolve);
    child.once('exit', (code) => reject(new Error(`vcsim exited (${code}) before it was ready: ${stderr}`)));
    child.once('error', reject);
  });
  lines.close();
  const info = JSON.parse(first) as {
    url: string; sdk: string; username: string; password: string; tls: boolean;
    thumbprint?: string; instanceUuid: string; counts: Record<string, number>; pid: number;
  };
  let stopping: Promise<void> | null = null;
  return {
    url: info.sdk,
    urlWithCredentials: info.url,
    username: info.username,
    password: info.password,
    tls: info.tls,
    thumbprint: info.thumbprint ?? null,
    instanceUuid: info.instanceUuid,
    counts: info.counts,
    pid: info.pid,
    stop() {
      stopping ??= (async () => {
        if (child.exitCode !== null || child.signalCode !== null) return;
        child.stdin!.end();
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
        await exited;
        clearTimeout(timer);
      })();
      return stopping;
    },
  };
}
