/**
 * What the iteration probes (history_probe.ts, list_probe.ts) share: their command-line
 * options, and one measured round of 50 clients against a server process, printed as the
 * latencies, the CPU per request of the server process and of the database's client backends
 * (/proc), and the top statements with their planning and execution times (when the database
 * has pg_stat_statements; planning times with track_planning on).
 */
import autocannon from 'autocannon';
import type { Sql } from '../server/db/connect.ts';
import type { ServerProcess } from '../tests/support/server_process.ts';
import { cpuSeconds } from './process_cpu.ts';

const argv = process.argv.slice(2);

/** The value after `--name` on the command line. */
export function probeOption(name: string): string | undefined {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv[i + 1] : undefined;
}

/** Whether `--name` is on the command line. */
export function probeFlag(name: string): boolean {
  return argv.includes(`--${name}`);
}

/**
 * The server process's environment for the probe's options: `--cpu-prof DIR` (a V8 CPU
 * profile written when it ends) and `--node-options "…"` (e.g. GC settings to compare).
 */
export function serverEnv(): Record<string, string> {
  const cpuProf = probeOption('cpu-prof');
  const options = [
    cpuProf ? `--cpu-prof --cpu-prof-dir=${cpuProf}` : '',
    probeOption('node-options') ?? '',
  ].filter(Boolean).join(' ');
  return options ? { NODE_OPTIONS: options } : {};
}

/** `autocannon` asking `path` of the server with the admin token. */
export function load(
  server: ServerProcess,
  token: string,
  options: { connections: number; seconds: number; path: () => string },
) {
  const began = performance.now();
  const latencies: [number, number][] = [];
  const instance = autocannon({
    url: server.url,
    connections: options.connections,
    duration: options.seconds,
    headers: { authorization: `Bearer ${token}` },
    requests: [{
      setupRequest: (req: Record<string, unknown>) => ({ ...req, path: options.path() }),
    }],
  });
  // `--timeline`: the slowest answer of each half second of the load, to tell a stall (a few
  // seconds' worst) from a wide spread (every one's), and when in the load they came.
  if (probeFlag('timeline')) {
    (instance as unknown as { on(e: 'response', f: (...a: unknown[]) => void): void }).on(
      'response',
      (_client, _status, _bytes, ms) => latencies.push([performance.now() - began, ms as number]),
    );
    instance.then(() => {
      const worst = new Map<number, number>();
      for (const [t, ms] of latencies) {
        const half = Math.floor(t / 500) / 2;
        worst.set(half, Math.max(worst.get(half) ?? 0, ms));
      }
      console.log(
        '  slowest per 0.5 s:',
        [...worst].map(([s, ms]) => `${s}s ${Math.round(ms)}`).join(', '),
      );
    });
  }
  return instance;
}

/** A measuring function for the probe's server and database. */
export async function createProbe(sql: Sql, server: ServerProcess, token: string) {
  const backends = async () =>
    new Map(
      (await sql`select pid from pg_stat_activity where datname = current_database()
        and backend_type = 'client backend'`)
        .map((b) => [b.pid as number, cpuSeconds(b.pid as number)]),
    );
  const [{ statements }] = await sql`
    select exists (select from pg_extension where extname = 'pg_stat_statements') as statements`;
  const ofThisDatabase =
    sql`dbid = (select oid from pg_database where datname = current_database())`;

  /** The server's event-loop delay (ms) since the previous call, and its heap (/metrics). */
  const serverGauges = async () => {
    const text = await (await fetch(`${server.url}/metrics`, {
      headers: { authorization: `Bearer ${token}` },
    })).text();
    const gauge = (name: string) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1]);
    return {
      lagP99Ms: Math.round(gauge('vmledger_event_loop_lag_p99_seconds') * 1000),
      lagMaxMs: Math.round(gauge('vmledger_event_loop_lag_max_seconds') * 1000),
      heapMb: Math.round(gauge('vmledger_process_heap_used_bytes') / 1e6),
    };
  };

  return async function measure(name: string, paths: Iterator<string>, seconds: number) {
    if (statements) await sql`select pg_stat_statements_reset()`;
    const heapBefore = (await serverGauges()).heapMb; // and starts the lag measure over
    const node0 = cpuSeconds(server.child.pid);
    const client0 = process.cpuUsage();
    const db0 = await backends();
    const result = await load(server, token, {
      connections: 50,
      seconds,
      path: () => paths.next().value as string,
    });
    const node1 = cpuSeconds(server.child.pid);
    const client = process.cpuUsage(client0);
    const gauges = await serverGauges();
    let db = 0;
    for (const [pid, s] of await backends()) db += s - (db0.get(pid) ?? 0);
    const reqs = Math.max(1, result.requests.total);
    console.log(JSON.stringify({
      name,
      reqPerS: Math.round(result.requests.average),
      p50: result.latency.p50,
      p90: result.latency.p90,
      p99: result.latency.p99,
      max: result.latency.max,
      failures: result.non2xx + result.errors,
      serverCpuMsPerReq: Number(((node1 - node0) * 1000 / reqs).toFixed(2)),
      databaseCpuMsPerReq: Number((db * 1000 / reqs).toFixed(2)),
      // autocannon's own, on the same cores.
      clientCpuMsPerReq: Number(((client.user + client.system) / 1000 / reqs).toFixed(2)),
      // How long the server's event loop was held (GC pauses, long synchronous work).
      eventLoopLagP99Ms: gauges.lagP99Ms,
      eventLoopLagMaxMs: gauges.lagMaxMs,
      heapUsedMb: [heapBefore, gauges.heapMb],
    }));
    if (!statements) return;
    const [sum] = await sql`
      select sum(total_plan_time)::float8 as plan, sum(total_exec_time)::float8 as exec
      from pg_stat_statements where ${ofThisDatabase}`;
    console.log(
      `  all statements: plan ${(sum.plan / reqs).toFixed(2)} ms/req, exec ${
        (sum.exec / reqs).toFixed(2)
      } ms/req`,
    );
    const top = await sql`
      select calls, total_plan_time::float8 as plan, total_exec_time::float8 as exec,
        left(regexp_replace(query, '[[:space:]]+', ' ', 'g'), 160) as query
      from pg_stat_statements where ${ofThisDatabase}
      order by total_plan_time + total_exec_time desc limit 5`;
    for (const s of top) {
      console.log(
        `  ${(s.calls / reqs).toFixed(2)}/req plan ${(s.plan / s.calls).toFixed(2)} ms exec ${
          (s.exec / s.calls).toFixed(2)
        } ms  ${s.query}`,
      );
    }
  };
}
