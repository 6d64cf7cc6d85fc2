/**
 * The site lists and a datastore's page under load: 200 hosts, 1,000 datastores, 100,000 VMs
 * (each with a disk and a NIC in its configuration document) and 90 days of hourly host and
 * datastore facts, seeded set-based in SQL. Against the real server process on loopback:
 *
 * - `GET /api/v1/hosts` and `/api/v1/datastores` (filters, sorts, pages): p99 with 50 clients,
 *   goal < 100 ms each;
 * - `GET /api/v1/datastores/{source}/{key}` (VMs and disks on it, 30-day trend, fit): p99 of
 *   one client asking for 200 different datastores in turn, goal < 150 ms; also with 50 clients
 *   (no goal);
 * - `GET /api/v1/clusters/{source}/{name}` (hosts, capacity and overcommit per day over 30
 *   days, from the VMs' facts of each day's last capture): p99 of one client asking for every
 *   cluster in turn, four rounds, goal < 150 ms;
 * - the first list answer after a capture (the lists are computed once per stored capture):
 *   reported, no goal;
 * - first contentful paint of the hosts and datastores pages in Chromium (cold browser cache,
 *   median of 5), goal ≤ 1,000 ms each.
 *
 *   npm run bench -- sites [--vms 100000] [--days 90] [--seconds 10]
 */
import autocannon from 'autocannon';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { newTokenValue } from '../server/auth/tokens.ts';
import type { Sql } from '../server/db/connect.ts';
import { freePort } from '../scripts/free_port.ts';
import { provision } from '../scripts/provision.ts';
import { launchChromium } from '../tests/support/chromium.ts';
import { startServerProcess } from '../tests/support/server_process.ts';
import { openBenchDatabase } from './bench_db.ts';
import { type BenchReport, median, percentile } from './harness.ts';

const SOURCES = 4;
const HOSTS = 200;
const DATASTORES = 1000;
const NETWORKS = 48;
/** Sizes: the by default; `--vms N --days N --seconds N` for a quick look. */
let VMS = 100_000;
let DAYS = 90;
const CONNECTIONS = 50;
let SECONDS = 10;

/** The estate, set-based; hosts, datastores and networks of a VM share its source. */
export async function seed(sql: Sql, now: Date) {
  const from = new Date(now.getTime() - DAYS * 86400_000);
  await sql`
    insert into sources (kind, external_id, name, last_capture_at)
    select 'vcenter', 'vc-' || g, 'vcenter-' || g, ${now} from generate_series(1, ${SOURCES}) g`;
  // The captures the facts below belong to: one an hour per source.
  await sql`
    insert into captures (capture_id, source_id, captured_at, received_at, complete, vm_count, schema_version)
    select gen_random_uuid(), s, t, t + interval '20 seconds', true, ${VMS / SOURCES}, 2
    from generate_series(1, ${SOURCES}) s,
      generate_series(${from}::timestamptz, ${now}::timestamptz, interval '1 hour') t`;
  await sql`
    insert into host_inventory (source_id, host_key, name, datacenter, cluster, connection_state, power_state,
      cpu_cores, cpu_mhz, memory_mb, version, last_seen_at)
    select 1 + g % ${SOURCES}, 'host-' || g, 'esx' || g, 'dc1', 'cluster-' || (g % 16),
      case when g % 50 = 7 then 'disconnected' else 'connected' end, 'poweredOn', 64, 2600, 1048576,
      'VMware ESXi 8.0.3', ${now}
    from generate_series(0, ${HOSTS - 1}) g`;
  await sql`
    insert into host_facts (source_id, host_key, snapshot_time, connection_state, power_state, cpu_cores, cpu_mhz,
      memory_mb, cpu_usage_mhz, memory_usage_mib)
    select h.source_id, h.host_key, t, 'connected', 'poweredOn', 64, 2600, 1048576,
      40000 + 30000 * sin(extract(epoch from t) / 43200 + g), 500000 + (g * 997) % 300000
    from host_inventory h, lateral (select substr(h.host_key, 6)::int as g) x,
      generate_series(${from}::timestamptz, ${now}::timestamptz, interval '1 hour') t`;
  await sql`
    insert into datastore_inventory (source_id, datastore_key, name, type, capacity_gb, free_gb, accessible, last_seen_at)
    select 1 + g % ${SOURCES}, 'ds-' || g, 'datastore-' || lpad(g::text, 4, '0'),
      (array['VMFS', 'NFS', 'vsan'])[1 + g % 3], 10000 + g % 20 * 1000, 4000, true, ${now}
    from generate_series(0, ${DATASTORES - 1}) g`;
  // A third fill at 0.05 GiB an hour, the rest hover around their level.
  await sql`
    insert into datastore_facts (source_id, datastore_key, snapshot_time, capacity_gb, free_gb, accessible,
      uncommitted_gib, vm_count)
    select d.source_id, d.datastore_key, t, d.capacity_gb,
      case when g % 3 = 0 then 6000 - extract(epoch from t - ${from}::timestamptz) / 3600 * 0.05
        else 4000 + 50 * sin(extract(epoch from t) / 86400 + g) end,
      true, 2000, 100
    from datastore_inventory d, lateral (select substr(d.datastore_key, 4)::int as g) x,
      generate_series(${from}::timestamptz, ${now}::timestamptz, interval '1 hour') t`;
  await sql`
    insert into site_object_history (source_id, kind, object_key, valid_from, capture_id, doc)
    select source_id, 'host', host_key, ${from}, gen_random_uuid(),
      jsonb_build_object('name', name, 'cluster', cluster, 'connectionState', connection_state,
        'maintenanceMode', substr(host_key, 6)::int % 40 = 3, 'model', 'PowerEdge R750', 'cpuSockets', 2)
    from host_inventory
    union all
    select source_id, 'datastore', datastore_key, ${from}, gen_random_uuid(),
      jsonb_build_object('name', name, 'type', type, 'url', 'ds:///vmfs/volumes/' || datastore_key || '/')
    from datastore_inventory
    union all
    select 1 + g % ${SOURCES}, 'network', 'net-' || g, ${from}, gen_random_uuid(),
      jsonb_build_object('name', 'VLAN ' || (100 + g), 'kind', 'distributed', 'vlanId', 100 + g)
    from generate_series(0, ${NETWORKS - 1}) g
    union all
    select 1 + g % ${SOURCES}, 'cluster', 'domain-c' || g, ${from}, gen_random_uuid(),
      jsonb_build_object('name', 'cluster-' || g, 'haEnabled', true, 'drsEnabled', g % 2 = 0)
    from generate_series(0, 15) g`;
  await sql`
    insert into vm_inventory (source_id, vm_key, source_vm_id, name, power_state, is_template, vcpu, ram_mb,
      provisioned_disk_gb, datacenter, cluster, host, resource_pool, first_seen_at, state_at, state_capture_id)
    select 1 + g % ${SOURCES}, 'key-' || g, 'vm-' || g, 'vm-' || lpad(g::text, 6, '0'),
      case when g % 13 = 0 then 'poweredOff' else 'poweredOn' end, g % 97 = 0, 1 + g % 16, 1024 * (1 + g % 32),
      20 + g % 500, 'dc1', 'cluster-' || (g % ${HOSTS} % 16), 'esx' || (g % ${HOSTS}), 'Gold', ${from}, ${now},
      gen_random_uuid()
    from generate_series(1, ${VMS}) g`;
  await sql`
    insert into vm_config_history (source_id, vm_key, valid_from, capture_id, config)
    select 1 + g % ${SOURCES}, 'key-' || g, ${from}, gen_random_uuid(), jsonb_build_object(
      'disks', jsonb_build_array(jsonb_build_object('label', 'Hard disk 1', 'capacityMib', (20 + g % 500) * 1024,
        'provisioning', 'thin', 'datastore', 'ds-' || (g % ${DATASTORES}))),
      'nics', jsonb_build_array(jsonb_build_object('label', 'Network adapter 1',
        'macAddress', '00:50:56:' || lpad(to_hex(g), 6, '0'), 'network', 'VLAN ' || (100 + g % ${NETWORKS}),
        'networkKey', 'net-' || (g % ${NETWORKS}))))
    from generate_series(1, ${VMS}) g`;
  await seedClusterAllocation(sql, now);
  for (
    const t of [
      'cluster_allocation',
      'vm_inventory',
      'vm_config_history',
      'host_inventory',
      'host_facts',
      'datastore_inventory',
      'datastore_facts',
      'site_object_history',
      'captures',
    ]
  ) await sql.unsafe(`vacuum analyze ${t}`);
}

/**
 * What a cluster's capacity over time reads of its VMs: each cluster's allocation (powered-on
 * VMs, their vCPU and memory) at every capture of the last 31 days, as the ingest writes it
 * with the capture's totals (cluster_allocation, migration 0043).
 */
export async function seedClusterAllocation(sql: Sql, now: Date) {
  await sql`
    insert into cluster_allocation (source_id, captured_at, cluster, powered_on_vms, vcpu, ram_mb)
    select c.source_id, c.captured_at, a.cluster, a.vms, a.vcpu, a.ram_mb
    from captures c
    join (select source_id, coalesce(cluster, '') as cluster, count(*)::int as vms, sum(vcpu) as vcpu,
                 sum(ram_mb) as ram_mb
          from vm_inventory where power_state = 'poweredOn' and not is_template
          group by 1, 2) a on a.source_id = c.source_id
    where c.captured_at > ${now}::timestamptz - interval '31 days'`;
}

const HOST_PATHS = [
  '/api/v1/hosts',
  '/api/v1/hosts?state=connected&sort=vcpuPerCore&order=desc&limit=50',
  '/api/v1/hosts?q=esx1&sort=cpuUsage&order=desc',
  '/api/v1/hosts?source=2&cluster=cluster-3',
  '/api/v1/hosts?sort=memoryUsage&limit=20',
];
const DATASTORE_PATHS = [
  '/api/v1/datastores',
  '/api/v1/datastores?sort=used&order=desc&limit=50',
  '/api/v1/datastores?forecast=filling&sort=daysUntilFull',
  '/api/v1/datastores?source=3&type=NFS&sort=provisioned&order=desc',
  '/api/v1/datastores?q=datastore-01&limit=20',
];

function load(url: string, token: string, next: () => string, connections = CONNECTIONS) {
  return autocannon({
    url,
    connections,
    duration: SECONDS,
    headers: { authorization: `Bearer ${token}` },
    requests: [{ setupRequest: (req: Record<string, unknown>) => ({ ...req, path: next() }) }],
  });
}

/** Median first contentful paint of `paths` in Chromium, cold browser cache, after one warm-up. */
async function paints(base: string, token: string, paths: string[], reps = 5) {
  const browser = provision('chromium', 'the sites benchmark');
  if (!browser.ok) throw new Error(`${browser.reason}; install: ${browser.install}`);
  const login = await fetch(`${base}/login`, {
    method: 'POST',
    redirect: 'manual',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ token, next: '/' }).toString(),
  });
  const [name, value] = login.headers.get('set-cookie')!.split(';')[0].split('=');
  const profile = mkdtempSync(path.join(os.tmpdir(), 'vml-bench-sites-ui-'));
  const context = await launchChromium(profile, { viewport: { width: 1280, height: 860 } });
  try {
    await context.addCookies([{ name, value, url: base }]);
    const paint = async (url: string) => {
      const page = await context.newPage();
      const cdp = await context.newCDPSession(page);
      await cdp.send('Network.setCacheDisabled', { cacheDisabled: true });
      await page.goto(`${base}${url}`, { waitUntil: 'load' });
      const fcp = await page.evaluate(() =>
        new Promise<number>((resolve) => {
          const hit = performance.getEntriesByName('first-contentful-paint')[0];
          if (hit) return resolve(hit.startTime);
          new PerformanceObserver((list) => {
            const e = list.getEntriesByName('first-contentful-paint')[0];
            if (e) resolve(e.startTime);
          }).observe({ type: 'paint', buffered: true });
        })
      );
      await page.close();
      return fcp;
    };
    const out: number[] = [];
    for (const url of paths) {
      await paint(url);
      const runs: number[] = [];
      for (let i = 0; i < reps; i++) runs.push(await paint(url));
      out.push(median(runs));
    }
    return out;
  } finally {
    await context.close().catch(() => {});
    rmSync(profile, { recursive: true, force: true });
  }
}

/** The paths and, for each that has one, its second page. */
async function withSecondPages(base: string, token: string, paths: string[]) {
  const out = [...paths];
  for (const p of paths) {
    const res = await fetch(base + p, { headers: { authorization: `Bearer ${token}` } });
    if (res.status !== 200) throw new Error(`${p} answered ${res.status}`);
    const body = await res.json();
    if (body.next) out.push(`${p}${p.includes('?') ? '&' : '?'}cursor=${body.next}`);
  }
  return out;
}

function arg(argv: string[], name: string, fallback: number): number {
  const i = argv.indexOf(`--${name}`);
  const v = i >= 0 ? Number(argv[i + 1]) : fallback;
  if (!Number.isInteger(v) || v < 1) throw new Error(`--${name} must be a positive integer`);
  return v;
}

export default async function benchSites(argv: string[] = []): Promise<BenchReport> {
  VMS = arg(argv, 'vms', VMS);
  DAYS = arg(argv, 'days', DAYS);
  SECONDS = arg(argv, 'seconds', SECONDS);
  const db = await openBenchDatabase('sites');
  const dir = mkdtempSync(path.join(os.tmpdir(), 'vml-bench-sites-'));
  const token = newTokenValue();
  const now = new Date(Math.floor(Date.now() / 3600_000) * 3600_000);
  const seedStarted = performance.now();
  await seed(db.sql, now);
  const seedMs = Math.round(performance.now() - seedStarted);
  const server = await startServerProcess({
    databaseUrl: db.url,
    port: await freePort(),
    dataDir: dir,
    adminToken: token,
  });
  const get = async (p: string) => {
    const started = performance.now();
    const res = await fetch(server.url + p, { headers: { authorization: `Bearer ${token}` } });
    await res.arrayBuffer();
    if (res.status !== 200) throw new Error(`${p} answered ${res.status}`);
    return performance.now() - started;
  };
  try {
    // The first answers after a capture compute the lists (then reused until the next one).
    const coldHostsMs = await get('/api/v1/hosts');
    const coldDatastoresMs = await get('/api/v1/datastores');
    const hostPaths = await withSecondPages(server.url, token, HOST_PATHS);
    const dsPaths = await withSecondPages(server.url, token, DATASTORE_PATHS);
    let i = 0;
    const hosts = await load(server.url, token, () => hostPaths[i++ % hostPaths.length]);
    let j = 0;
    const datastores = await load(server.url, token, () => dsPaths[j++ % dsPaths.length]);
    const detailPath = (n: number) =>
      `/api/v1/datastores/${1 + (n * 37 % DATASTORES) % SOURCES}/ds-${n * 37 % DATASTORES}`;
    const detailMs: number[] = [];
    for (let n = 0; n < 200; n++) detailMs.push(await get(detailPath(n)));
    let k = 0;
    const details = await load(server.url, token, () => detailPath(k++));
    const clusterRes = await fetch(`${server.url}/api/v1/clusters?limit=1000`, {
      headers: { authorization: `Bearer ${token}` },
    });
    const clusters = (await clusterRes.json()).items as { sourceId: number; key: string }[];
    const clusterMs: number[] = [];
    for (let round = 0; round < 4; round++) {
      for (const c of clusters) {
        clusterMs.push(await get(`/api/v1/clusters/${c.sourceId}/${encodeURIComponent(c.key)}`));
      }
    }
    // A stored capture moves the generation: the next list answer is computed again.
    await db.sql`update sources set generation = generation + 1 where id = 1`;
    const recomputeDatastoresMs = await get('/api/v1/datastores');
    const [fcpHosts, fcpDatastores] = await paints(server.url, token, ['/hosts', '/datastores']);
    const p99Hosts = hosts.latency.p99;
    const p99Datastores = datastores.latency.p99;
    const p99Detail = percentile(detailMs, 99);
    const p99Cluster = percentile(clusterMs, 99);
    const failures = hosts.non2xx + hosts.errors + datastores.non2xx + datastores.errors +
      details.non2xx + details.errors;
    return {
      name: 'sites',
      title: `Site lists, datastore and cluster pages: ${HOSTS} hosts, ${
        DATASTORES.toLocaleString('en-US')
      } datastores, ${
        VMS.toLocaleString('en-US')
      } VMs, ${DAYS} days of hourly host and datastore facts, VM facts of each day's last capture`,
      goal:
        'GET /hosts and /datastores p99 < 100 ms with 50 clients; a datastore page with its trend p99 < 150 ms; a cluster with its capacity over time p99 < 150 ms; hosts and datastores pages FCP ≤ 1,000 ms',
      met: p99Hosts < 100 && p99Datastores < 100 && p99Detail < 150 && p99Cluster < 150 &&
        failures === 0 && fcpHosts <= 1000 && fcpDatastores <= 1000,
      metrics: {
        hostsP50Ms: hosts.latency.p50,
        hostsP99Ms: p99Hosts,
        hostsRequestsPerSecond: Math.round(hosts.requests.average),
        datastoresP50Ms: datastores.latency.p50,
        datastoresP99Ms: p99Datastores,
        datastoresRequestsPerSecond: Math.round(datastores.requests.average),
        datastoreDetailP50Ms: Number(percentile(detailMs, 50).toFixed(1)),
        datastoreDetailP99Ms: Number(p99Detail.toFixed(1)),
        datastoreDetail50ClientsP50Ms: details.latency.p50,
        datastoreDetail50ClientsP99Ms: details.latency.p99,
        datastoreDetail50ClientsRequestsPerSecond: Math.round(details.requests.average),
        clusterDetailP50Ms: Number(percentile(clusterMs, 50).toFixed(1)),
        clusterDetailP99Ms: Number(p99Cluster.toFixed(1)),
        coldHostsMs: Math.round(coldHostsMs),
        coldDatastoresMs: Math.round(coldDatastoresMs),
        recomputeDatastoresMs: Math.round(recomputeDatastoresMs),
        fcpHostsPageMs: Math.round(fcpHosts),
        fcpDatastoresPageMs: Math.round(fcpDatastores),
        seedMs,
        failures,
      },
      notes:
        `${SECONDS} s of autocannon per list on loopback against the server process, the ${hostPaths.length} host and ${dsPaths.length} ` +
        'datastore URLs (filters, sorts, second pages) in turn; the detail p99 is one client asking for 200 different ' +
        'datastores in turn (each: its VMs and disks, 30 days of hourly facts, the fit); the cluster p99 is one client ' +
        `asking for each of the ${clusters.length} clusters (~${
          Math.round(VMS / clusters.length).toLocaleString('en-US')
        } VMs each) in turn, four rounds (each: ` +
        '31 daily points of its powered-on VMs against its hosts). cold*/recompute*: the first ' +
        'list answer after a stored capture, when the list is read again (once per capture and node).',
    };
  } finally {
    await server.kill('SIGTERM');
    rmSync(dir, { recursive: true, force: true });
    await db.close();
  }
}
