/**
 * Load drill (issue 23): 20 agents each posting a 5,000-VM capture every 10 s, plus 50
 * viewers browsing VM lists, VM details (API and pages) and the dashboard, for 5 minutes
 * against 2 server nodes (real server processes) on one PostgreSQL, loopback only.
 *
 * Each agent sends its captures to the two nodes in turn and re-sends a capture (same id)
 * after a 5xx or a dropped connection, as the real agent does. At the end the captures in the
 * database are compared with the ones the agents were told were stored: none lost, none twice.
 * A viewer waits 0.5–1.5 s between requests (a person clicking quickly): 50 of them ask
 * ~50 requests a second. Reported: 5xx count, ingest and API/page p50/p99, each node's
 * resident memory averaged over the first and the last minute (stable: last ≤ 1.25× first).
 *
 *   npm run bench -- load                  5 minutes
 *   npm run bench -- load --seconds=60     a shorter drill (same shape)
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createToken, newTokenValue } from '../server/auth/tokens.ts';
import { freePort } from '../scripts/free_port.ts';
import { type ServerProcess, startServerProcess } from '../tests/support/server_process.ts';
import { benchCapture } from './bench_capture.ts';
import { openBenchDatabase } from './bench_db.ts';
import { type BenchReport, percentile } from './harness.ts';
import { cpuSeconds } from './process_cpu.ts';

const AGENTS = 20;
const VMS = 5_000;
const INTERVAL_MS = 10_000;
const VIEWERS = 50;
const NODES = 2;

function rssMb(pid: number): number {
  try {
    const m = readFileSync(`/proc/${pid}/status`, 'utf8').match(/^VmRSS:\s+(\d+) kB$/m);
    return m ? Number(m[1]) / 1024 : 0;
  } catch {
    return 0;
  }
}

/** The JavaScript heap in use of a node, from its /metrics (MB); 0 if it does not answer. */
async function heapMb(url: string, token: string): Promise<number> {
  try {
    const r = await fetch(`${url}/metrics`, { headers: { authorization: `Bearer ${token}` } });
    const m = (await r.text()).match(/^vmledger_process_heap_used_bytes (\S+)$/m);
    return m ? Number(m[1]) / 1e6 : 0;
  } catch {
    return 0;
  }
}

const mean = (v: number[]) => v.reduce((a, b) => a + b, 0) / Math.max(1, v.length);
const r1 = (n: number) => Math.round(n * 10) / 10;

export default async function loadBench(args: string[]): Promise<BenchReport> {
  const seconds = Number(args.find((a) => a.startsWith('--seconds='))?.split('=')[1] ?? 300);
  const db = await openBenchDatabase('load');
  const dir = mkdtempSync(path.join(os.tmpdir(), 'vml-load-'));
  const adminToken = newTokenValue();
  const nodes: ServerProcess[] = [];
  try {
    const agentTokens = [];
    for (let a = 0; a < AGENTS; a++) {
      agentTokens.push((await createToken(db.sql, { name: `agent ${a}`, role: 'agent' })).token);
    }
    const viewerToken = (await createToken(db.sql, { name: 'viewers', role: 'viewer' })).token;
    for (let i = 0; i < NODES; i++) {
      nodes.push(
        await startServerProcess({
          databaseUrl: db.url,
          port: await freePort(),
          dataDir: path.join(dir, `node${i}`),
          adminToken,
        }),
      );
    }
    // One body per agent, serialised once; each post fills in its id and time.
    const template = benchCapture('TEMPLATE', new Date(), VMS);
    const body = JSON.stringify({ ...template, captureId: '@ID@', capturedAt: '@AT@' });
    const bodies = agentTokens.map((_, a) =>
      body.replaceAll('"TEMPLATE"', `"load-${String(a).padStart(2, '0')}"`)
    );
    const bodyMb = Buffer.byteLength(bodies[0]) / 1e6;

    // Warm-up, not measured: each source's first capture (all 5,000 VMs new) is a one-off
    // load of 100,000 VMs; the drill measures the steady state of captures that follow.
    const acknowledged = new Set<string>();
    const warmStarted = Date.now();
    const warmAt = new Date(Math.floor(Date.now() / 1000) * 1000 - 60_000).toISOString();
    /** One capture of every source at `at`, source a + i sent to node `nodeOf(i)`. */
    const warmCaptures = async (at: string, nodeOf: (i: number) => number) => {
      for (let a = 0; a < AGENTS; a += NODES) {
        await Promise.all(nodes.map(async (_, i) => {
          const id = crypto.randomUUID();
          acknowledged.add(id);
          const text = bodies[a + i].replace('"@ID@"', `"${id}"`).replace('"@AT@"', `"${at}"`);
          const r = await fetch(`${nodes[nodeOf(i)].url}/api/v1/captures`, {
            method: 'POST',
            headers: {
              authorization: `Bearer ${agentTokens[a + i]}`,
              'content-type': 'application/json',
            },
            body: text,
          });
          if (r.status !== 201) throw new Error(`warm-up capture: ${r.status} ${await r.text()}`);
        }));
      }
    };
    await warmCaptures(warmAt, (i) => i);
    // Then each source's second capture to the other node: every node has seen every source
    // once, as in the steady state (what a node keeps per source, its VM text memo and live
    // VM state, is then all there), so the first minute is not measured on a filling node.
    await warmCaptures(new Date(Date.parse(warmAt) + 30_000).toISOString(), (i) => (i + 1) % NODES);
    const warmUpS = (Date.now() - warmStarted) / 1000;
    // Where the database's time goes during the drill (not the warm-up): pg_stat_statements.
    const statements = await db.sql`select pg_stat_statements_reset()`.then(
      () => true,
      () => false,
    );
    const loadBefore = os.loadavg()[0];

    const statuses = new Map<string, number>();
    const count = (k: string) => statuses.set(k, (statuses.get(k) ?? 0) + 1);
    const ingestMs: number[] = [];
    const apiMs: number[] = [];
    const pageMs: number[] = [];
    let failedPosts = 0;
    const started = Date.now();
    const end = started + seconds * 1000;
    const memory: { t: number; mb: number[]; heap: number[] }[] = [];
    const cpuBefore = nodes.map((n) => cpuSeconds(n.child.pid!));
    const benchCpuBefore = process.cpuUsage();
    const sampler = setInterval(async () => {
      const t = Date.now() - started;
      const mb = nodes.map((n) => rssMb(n.child.pid!));
      // /metrics costs the database ~0.1 s (it counts every source's VMs): every 15 s only.
      const heap = memory.length % 3 === 0
        ? await Promise.all(nodes.map((n) => heapMb(n.url, adminToken)))
        : nodes.map(() => NaN);
      memory.push({ t, mb, heap });
    }, 5_000);
    // What the database's sessions are doing, once a second: where concurrent ingest waits.
    const waits = new Map<string, number>();
    const waitSampler = setInterval(async () => {
      const rows = await db.sql<{ what: string; n: number }[]>`
        select coalesce(wait_event_type || ':' || wait_event, 'CPU') || ' (' || state || ')' as what,
               count(*)::int as n
        from pg_stat_activity
        where datname = current_database() and pid <> pg_backend_pid() and state <> 'idle'
        group by 1`.catch(() => []);
      for (const r of rows) waits.set(r.what, (waits.get(r.what) ?? 0) + r.n);
    }, 1_000);

    const agent = async (a: number) => {
      // Agents start spread over the interval, as independent agents would.
      await new Promise((r) => setTimeout(r, (a * INTERVAL_MS) / AGENTS));
      let k = 0;
      while (Date.now() < end) {
        const due = Date.now() + INTERVAL_MS;
        const id = crypto.randomUUID();
        const at = new Date(Math.floor(Date.now() / 1000) * 1000).toISOString();
        const text = bodies[a].replace('"@ID@"', `"${id}"`).replace('"@AT@"', `"${at}"`);
        for (let attempt = 0; attempt < 5; attempt++) {
          const node = nodes[(a + k + attempt) % NODES];
          const t0 = performance.now();
          try {
            const r = await fetch(`${node.url}/api/v1/captures`, {
              method: 'POST',
              headers: {
                authorization: `Bearer ${agentTokens[a]}`,
                'content-type': 'application/json',
              },
              body: text,
            });
            await r.arrayBuffer();
            count(`ingest ${r.status}`);
            if (r.status < 300) {
              ingestMs.push(performance.now() - t0);
              acknowledged.add(id);
              break;
            }
            if (r.status < 500) break; // refused: an agent keeps it aside, not re-sent
          } catch {
            count('ingest connection error');
          }
          if (attempt === 4) failedPosts++;
        }
        k++;
        await new Promise((r) => setTimeout(r, Math.max(0, due - Date.now())));
      }
    };

    // The VMs viewers open: read once the first captures are in.
    let keys: { sourceId: number; key: string }[] = [];
    const viewer = async (v: number) => {
      const login = await fetch(`${nodes[v % NODES].url}/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: `token=${encodeURIComponent(adminToken)}`,
        redirect: 'manual',
      });
      const cookie = (login.headers.get('set-cookie') ?? '').split(';')[0];
      const words = ['web', 'app', 'db', 'vm-0', 'prod', 'Gold', '10.'];
      let i = v;
      while (Date.now() < end) {
        await new Promise((r) => setTimeout(r, 500 + Math.random() * 1000));
        if (Date.now() >= end) break;
        i++;
        const node = nodes[(v + i) % NODES].url;
        const pick = keys.length ? keys[Math.floor(Math.random() * keys.length)] : null;
        const word = words[i % words.length];
        const choices: [string, 'api' | 'page'][] = [
          [`/api/v1/vms?limit=50&q=${word}`, 'api'],
          ['/api/v1/vms?limit=50&sort=vcpu&order=desc', 'api'],
          [`/vms?q=${word}`, 'page'],
          ['/', 'page'],
          ['/?part=live', 'page'],
        ];
        if (pick) {
          const key = encodeURIComponent(pick.key);
          choices.push([`/api/v1/vms/${pick.sourceId}/${key}`, 'api']);
          choices.push([`/vms/${pick.sourceId}/${key}`, 'page']);
        }
        const [p, kind] = choices[i % choices.length];
        const t0 = performance.now();
        try {
          const r = await fetch(node + p, {
            headers: kind === 'api' ? { authorization: `Bearer ${viewerToken}` } : { cookie },
            redirect: 'manual',
          });
          await r.arrayBuffer();
          count(`${kind} ${r.status}`);
          (kind === 'api' ? apiMs : pageMs).push(performance.now() - t0);
        } catch {
          count(`${kind} connection error`);
        }
      }
    };
    const keyReader = (async () => {
      while (Date.now() < end && keys.length === 0) {
        await new Promise((r) => setTimeout(r, 2_000));
        keys = await db.sql<{ sourceId: number; key: string }[]>`
          select source_id as "sourceId", vm_key as key from vm_inventory
          order by random() limit 500`;
      }
    })();
    await Promise.all([
      ...agentTokens.map((_, a) => agent(a)),
      ...Array.from({ length: VIEWERS }, (_, v) => viewer(v)),
      keyReader,
    ]);
    clearInterval(sampler);
    clearInterval(waitSampler);
    const nodeCpuS = nodes.map((n, i) => r1(cpuSeconds(n.child.pid!) - cpuBefore[i]));
    const benchCpu = process.cpuUsage(benchCpuBefore);
    const benchCpuS = r1((benchCpu.user + benchCpu.system) / 1e6);
    const wallS = (Date.now() - started) / 1000;

    const stored = await db.sql<{ capture_id: string }[]>`
      select capture_id from captures where source_id in (
        select id from sources where external_id like 'load-%')`;
    const storedIds = new Set(stored.map((r) => r.capture_id));
    const lost = [...acknowledged].filter((id) => !storedIds.has(id)).length;
    const duplicated = stored.length - storedIds.size;
    const unacknowledgedStored = [...storedIds].filter((id) => !acknowledged.has(id)).length;
    const [{ vms }] = await db.sql`select count(*)::int as vms from vm_inventory`;
    const fiveXx = [...statuses].filter(([k]) => / 5\d\d$/.test(k)).reduce((s, [, n]) => s + n, 0);
    const errors = [...statuses].filter(([k]) => k.endsWith('error')).reduce(
      (s, [, n]) => s + n,
      0,
    );

    const window = (from: number, to: number, of: 'mb' | 'heap' = 'mb') =>
      nodes.map((_, i) =>
        r1(
          mean(
            memory.filter((m) => m.t >= from && m.t < to).map((m) => m[of][i])
              .filter((v) => !Number.isNaN(v)),
          ),
        )
      );
    const span = Math.min(60_000, (seconds * 1000) / 3);
    const firstMb = window(0, span);
    const lastMb = window(seconds * 1000 - span, Infinity);
    const firstHeap = window(0, span, 'heap');
    const lastHeap = window(seconds * 1000 - span, Infinity, 'heap');
    const stable = firstMb.every((f, i) => lastMb[i] <= f * 1.25);
    const met = fiveXx === 0 && errors === 0 && lost === 0 && duplicated === 0 &&
      failedPosts === 0 && stable;
    const metrics: Record<string, number | string> = {
      seconds: r1(wallS),
      warmUpS: r1(warmUpS),
      loadAverageBefore: r1(loadBefore),
      loadAverageAfter: r1(os.loadavg()[0]),
      captures: ingestMs.length,
      capturesOffered: Math.round((seconds * 1000 / INTERVAL_MS) * AGENTS),
      capturesPerHour: Math.round((ingestMs.length / wallS) * 3600),
      vmsPerSecond: Math.round((ingestMs.length * VMS) / wallS),
      captureBodyMb: r1(bodyMb),
      inventoryVms: vms,
      lost,
      duplicated,
      storedButUnacknowledged: unacknowledgedStored,
      failedPosts,
      fiveXx,
      connectionErrors: errors,
      ingestP50Ms: Math.round(percentile(ingestMs, 50)),
      ingestP99Ms: Math.round(percentile(ingestMs, 99)),
      apiRequests: apiMs.length,
      apiP50Ms: Math.round(percentile(apiMs, 50)),
      apiP99Ms: Math.round(percentile(apiMs, 99)),
      pageRequests: pageMs.length,
      pageP50Ms: Math.round(percentile(pageMs, 50)),
      pageP99Ms: Math.round(percentile(pageMs, 99)),
    };
    nodes.forEach((_, i) => {
      metrics[`node${i}FirstMinuteRssMb`] = firstMb[i];
      metrics[`node${i}LastMinuteRssMb`] = lastMb[i];
      metrics[`node${i}FirstMinuteHeapMb`] = firstHeap[i];
      metrics[`node${i}LastMinuteHeapMb`] = lastHeap[i];
      metrics[`node${i}CpuS`] = nodeCpuS[i];
    });
    metrics.benchProcessCpuS = benchCpuS;
    if (statements) {
      const top = await db.sql<{ q: string; ms: number; calls: number }[]>`
        select left(regexp_replace(query, '[[:space:]]+', ' ', 'g'), 90) as q,
               round(total_exec_time)::int as ms, calls::int as calls
        from pg_stat_statements where dbid = (select oid from pg_database where datname = current_database())
        order by total_exec_time desc limit 10`;
      metrics.databaseTopStatements = JSON.stringify(
        top.map((t) => `${t.ms} ms/${t.calls}: ${t.q}`),
      );
    }
    metrics.nodeRssMbEvery5s = JSON.stringify(
      nodes.map((_, i) => memory.map((m) => Math.round(m.mb[i]))),
    );
    metrics.databaseSessionSeconds = JSON.stringify(
      Object.fromEntries([...waits].sort((a, b) => b[1] - a[1]).slice(0, 8)),
    );
    metrics.statuses = JSON.stringify(Object.fromEntries(statuses));
    return {
      name: 'load',
      title: `Load drill: ${AGENTS} agents × ${VMS}-VM captures every ${
        INTERVAL_MS / 1000
      } s + ${VIEWERS} viewers, ${NODES} nodes, ${Math.round(wallS)} s`,
      goal:
        'zero 5xx, zero lost or duplicated captures, node memory stable (last minute ≤ 1.25× first)',
      met,
      metrics,
      notes: `${os.cpus().length} cores (shared), loopback; one PostgreSQL ` +
        `(${process.env.DATABASE_URL ? 'DATABASE_URL' : 'embedded'}); viewers think 0.5–1.5 s; ` +
        'memory is VmRSS sampled every 5 s, averaged over the first and the last minute',
    };
  } finally {
    await Promise.all(nodes.map((n) => n.kill('SIGTERM')));
    await db.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
