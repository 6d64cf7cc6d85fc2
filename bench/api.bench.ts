/**
 * `GET /api/v1/vms` under load: 100,000 VMs in the inventory, 50 concurrent clients on
 * loopback (autocannon) sending search + filter + page requests to the real server
 * process. Goal: p99 under 100 ms.
 */
import autocannon from 'autocannon';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { newTokenValue } from '../server/auth/tokens.ts';
import { freePort } from '../scripts/free_port.ts';
import { startServerProcess } from '../tests/support/server_process.ts';
import { openBenchDatabase } from './bench_db.ts';
import type { BenchReport } from './harness.ts';

const VMS = 100_000;
const CONNECTIONS = 50;
const SECONDS = 15;

/** 100,000 live VMs over 4 sources, set-based. */
export async function seed(sql: import('../server/db/connect.ts').Sql) {
  await sql`insert into sources (kind, external_id, name) select 'vcenter', 'vc-' || g, 'vcenter-' || g from generate_series(1, 4) g`;
  await sql`
    insert into vm_lifecycle (source_id, vm_key, source_vm_id, name, first_seen_at, last_seen_at)
    select 1 + g % 4, 'key-' || g, 'vm-' || g, (array['web','app','db','cache','build'])[1 + g % 5] || '-' || lpad(g::text, 6, '0'),
           now() - interval '30 days', now()
    from generate_series(1, ${VMS}) g`;
  await sql`
    insert into vm_inventory (source_id, vm_key, source_vm_id, name, power_state, is_template, vcpu, ram_mb, provisioned_disk_gb,
      datacenter, cluster, host, resource_pool, ip_addresses, first_seen_at, state_at, state_capture_id)
    select l.source_id, l.vm_key, l.source_vm_id, l.name,
           case when g % 13 = 0 then 'poweredOff' else 'poweredOn' end, g % 97 = 0, 1 + g % 16, 1024 * (1 + g % 32), 20 + g % 500,
           'dc1', 'cluster-' || (g % 8), 'esx' || (g % 200), (array['Gold','Silver','Bronze'])[1 + g % 3],
           array['10.' || (g >> 16) || '.' || ((g >> 8) & 255) || '.' || (g & 255)], now() - interval '30 days', now(), gen_random_uuid()
    from vm_lifecycle l, lateral (select substr(l.vm_key, 5)::int as g) x
  `;
  await sql`analyze vm_inventory`;
  await sql`analyze vm_lifecycle`;
}

const PATHS = [
  '/api/v1/vms?limit=50',
  '/api/v1/vms?q=db-0123&limit=50',
  '/api/v1/vms?q=web&source=2&power=poweredOn&limit=50',
  '/api/v1/vms?cluster=cluster-3&pool=Gold&sort=vcpu&order=desc&limit=50',
  '/api/v1/vms?q=10.1.2.3&limit=50',
  '/api/v1/vms?q=cache-04&template=false&sort=ram&limit=100',
];

export default async function benchApi(): Promise<BenchReport> {
  const db = await openBenchDatabase('api');
  const dir = mkdtempSync(path.join(os.tmpdir(), 'vml-bench-api-'));
  const adminToken = newTokenValue();
  await seed(db.sql);
  const server = await startServerProcess({ databaseUrl: db.url, port: await freePort(), dataDir: dir, adminToken });
  try {
    // The second page of each query too: cursor pagination is part of the path under test.
    const paths = [...PATHS];
    for (const p of PATHS) {
      const res = await fetch(server.url + p, { headers: { authorization: `Bearer ${adminToken}` } });
      if (res.status !== 200) throw new Error(`${p} answered ${res.status}`);
      const body = await res.json();
      if (body.next) paths.push(`${p}&cursor=${body.next}`);
    }
    let i = 0;
    const result = await autocannon({
      url: server.url,
      connections: CONNECTIONS,
      duration: SECONDS,
      headers: { authorization: `Bearer ${adminToken}` },
      requests: [{ setupRequest: (req: any) => ({ ...req, path: paths[i++ % paths.length] }) }],
    });
    const p99 = result.latency.p99;
    return {
      name: 'api',
      title: `GET /api/v1/vms (search + filter + page) with ${VMS.toLocaleString('en-US')} VMs, ${CONNECTIONS} concurrent clients`,
      goal: 'p99 < 100 ms',
      met: p99 < 100 && result.non2xx === 0 && result.errors === 0,
      metrics: {
        p50Ms: result.latency.p50,
        p90Ms: result.latency.p90,
        p99Ms: p99,
        maxMs: result.latency.max,
        requestsPerSecond: Math.round(result.requests.average),
        requests: result.requests.total,
        non2xx: result.non2xx,
        errors: result.errors,
      },
      notes: `${SECONDS} s, autocannon on loopback against the server process; ${paths.length} distinct URLs`,
    };
  } finally {
    await server.kill('SIGTERM');
    rmSync(dir, { recursive: true, force: true });
    await db.close();
  }
}
