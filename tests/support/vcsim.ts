/**
 * Builds (once, via scripts/vcsim/build.sh) and launches the vCenter simulator for tests
 * and benches. Each launch is its own process with its own inventory on a free port of
 * 127.0.0.1; `stop()` ends it. `connectVim` gives tests a logged-in vim25 session to change
 * the simulated inventory or read it the slow, independent way.
 */
import { execFile, spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import { provision } from '../../scripts/provision.ts';
import { createHttpClient } from '../../agent/runtime/http_client.ts';
import {
  createSoapClient,
  type MoRef,
  moRefXml,
  readMoRef,
  textXml,
} from '../../agent/collectors/vcenter/soap.ts';
import {
  login,
  logout,
  retrieveServiceContent,
  type ServiceContent,
} from '../../agent/collectors/vcenter/session.ts';
import { retrieveObject } from '../../agent/collectors/vcenter/retrieve.ts';
import { child, type XmlElement } from '../../agent/collectors/vcenter/xml.ts';

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
  /** Serve the vAPI REST endpoints (tagging); default true. False: the tagging service is 404. */
  vapi?: boolean;
  /** With vapi, seed tag categories, tags and attachments (scripts/vcsim/main.go seedTags); default true. */
  tags?: boolean;
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
  /** PEM file of the (self-signed, CA) server certificate when `tls`, usable as `caFile`. */
  certFile: string | null;
  instanceUuid: string;
  /** Object counts vcsim's own model reports (simulator.Model.Count). */
  counts: Record<string, number>;
  pid: number;
  stop(): Promise<void>;
};

let built: Promise<string> | null = null;

/**
 * Builds the vcsim binary if needed (skipped when up to date) and returns its path. Go and
 * govmomi come from scripts/provision.ts (suites ask for them with `suiteNeeding`).
 */
export function buildVcsim(): Promise<string> {
  built ??= new Promise((resolve, reject) => {
    const go = provision('govmomi', 'vcsim (tests/support/vcsim.ts)');
    if (!go.ok) return reject(new Error(`${go.reason}; install: ${go.install}`));
    execFile(
      'bash',
      [path.join(repoRoot, 'scripts/vcsim/build.sh')],
      { maxBuffer: 1 << 20 },
      (err, stdout, stderr) => {
        if (err) reject(new Error(`scripts/vcsim/build.sh failed: ${stderr || err.message}`));
        else resolve(stdout.trim().split('\n').pop()!);
      },
    );
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
  flag('vapi', o.vapi);
  flag('tags', o.tags);

  const child = spawn(bin, args, { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (c: Buffer) => {
    stderr = (stderr + c.toString()).slice(-4000);
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const lines = createInterface({ input: child.stdout! });
  const first = await new Promise<string>((resolve, reject) => {
    lines.once('line', resolve);
    child.once(
      'exit',
      (code) => reject(new Error(`vcsim exited (${code}) before it was ready: ${stderr}`)),
    );
    child.once('error', reject);
  });
  lines.close();
  const info = JSON.parse(first) as {
    url: string;
    sdk: string;
    username: string;
    password: string;
    tls: boolean;
    thumbprint?: string;
    certFile?: string;
    instanceUuid: string;
    counts: Record<string, number>;
    pid: number;
  };
  let stopping: Promise<void> | null = null;
  return {
    url: info.sdk,
    urlWithCredentials: info.url,
    username: info.username,
    password: info.password,
    tls: info.tls,
    thumbprint: info.thumbprint ?? null,
    certFile: info.certFile ?? null,
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

/** A logged-in vim25 session on a simulator, for tests to change the inventory or read the truth. */
export type Vim = {
  content: ServiceContent;
  call(method: string, self: MoRef, inner?: string): Promise<XmlElement>;
  /** Runs a `…_Task` method and waits for success; returns the task result element. */
  task(method: string, self: MoRef, inner?: string): Promise<XmlElement | undefined>;
  /** SearchIndex.FindByInventoryPath: vcsim's own path resolution, or null. */
  findByPath(path: string): Promise<MoRef | null>;
  /** Reads properties of one object, one request (the slow way the collector avoids). */
  props(ref: MoRef, paths: string[]): Promise<Map<string, XmlElement>>;
  close(): Promise<void>;
};

/** Logs in to a simulator with its own credentials. */
export async function connectVim(sim: Vcsim): Promise<Vim> {
  const http = createHttpClient({ insecure: sim.tls });
  const soap = createSoapClient({ http, sdkUrl: sim.url, timeoutMs: 30_000 });
  const signal = AbortSignal.timeout(120_000);
  const content = await retrieveServiceContent(soap, signal);
  await login(soap, content, sim.username, sim.password, signal);
  const call = (method: string, self: MoRef, inner = '') => soap.call(method, self, inner, signal);
  async function props(ref: MoRef, paths: string[]) {
    const o = await retrieveObject(soap, content.propertyCollector, ref, paths, signal);
    return o?.props ?? new Map<string, XmlElement>();
  }
  return {
    content,
    call,
    props,
    async task(method, self, inner = '') {
      const res = await call(method, self, inner);
      const task = readMoRef(child(res, 'returnval'));
      if (!task) throw new Error(`${method} returned no task`);
      for (let i = 0; i < 600; i++) {
        const p = await props(task, ['info.state', 'info.result', 'info.error']);
        const state = p.get('info.state')?.text;
        if (state === 'success') return p.get('info.result');
        if (state === 'error') {
          const fault = child(p.get('info.error'), 'fault');
          throw new Error(`${method} failed: ${fault?.xsiType ?? 'unknown fault'}`);
        }
        await new Promise((r) => setTimeout(r, 50));
      }
      throw new Error(`${method} did not finish`);
    },
    async findByPath(path) {
      const res = await call(
        'FindByInventoryPath',
        { type: 'SearchIndex', value: 'SearchIndex' },
        textXml('inventoryPath', path),
      );
      return readMoRef(child(res, 'returnval'));
    },
    async close() {
      await logout(soap, content, signal);
      http.close();
    },
  };
}

/** `<tag type=…>value</tag>`, re-exported for tests building method bodies. */
export { moRefXml, textXml };
