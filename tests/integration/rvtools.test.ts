/**
 * The RVTools workbook against real PostgreSQL: captures posted through the real ingest, the
 * data module read as of T1, between captures and now (a disk added later is not there as
 * of before; a VM deleted since is), values checked tab by tab against the captures, vHealth
 * findings, and the workbook requested through the API, downloaded and opened with exceljs
 * (tab names and header rows) and as a CSV zip. Bad requests store nothing.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import ExcelJS from 'exceljs';
import type { Sql } from '../../server/db/connect.ts';
import type { Row } from '../../server/reports/columns.ts';
import { vHealthRows } from '../../server/rvtools/health_rows.ts';
import { resolveScope, type Scope } from '../../server/rvtools/scope.ts';
import {
  dvPortRows,
  dvSwitchRows,
  vClusterRows,
  vDatastoreRows,
  vHostRows,
  vNicRows,
  vPortRows,
  vRpRows,
  vSwitchRows,
} from '../../server/rvtools/site_rows.ts';
import { RVTOOLS_TABS, V_INFO } from '../../server/rvtools/tabs.ts';
import {
  vCdRows,
  vCpuRows,
  vDiskRows,
  vInfoRows,
  vMemoryRows,
  vNetworkRows,
  vPartitionRows,
  vSnapshotRows,
  vToolsRows,
} from '../../server/rvtools/vm_rows.ts';
import { type ApiErrorBody, readJson } from '../support/api_bodies.ts';
import { createTestApp, json, type TestApp } from '../support/app.ts';
import { pageSession } from '../support/jobs.ts';
import { csvObjects } from '../support/csv.ts';
import { download, readZip, type ReportView } from './reports_fixture.ts';
import { allRows, seedRvtools, SNAP_AT, T1, T2 } from './rvtools_fixture.ts';

const test = suite('rvtools');
let t: TestApp;
let sql: Sql;

test.before(async () => {
  t = await createTestApp('rvtools');
  sql = t.db.sql;
  await seedRvtools(t);
});

test.after(async () => {
  await t?.close();
});

const at = (iso: string) => new Date(iso);
const scopeAt = (asOf: string | Date, sourceId: number | null = null) =>
  resolveScope(sql, { asOf: new Date(asOf), sourceId });
const rows = (f: (sql: Sql, s: Scope) => AsyncIterable<Row[]>, s: Scope) => allRows(f(sql, s));
const byVm = (list: Row[], vm: string) => list.filter((r) => r.vm === vm);

test('scope: each source as its newest capture at or before the instant', async () => {
  const before = await scopeAt('2026-11-20T09:59:59Z');
  assert.equal(before.sources, [], 'nothing before the first capture');
  const first = await scopeAt(T1);
  assert.equal(first.sources.map((s) => [s.name, s.capturedAt.toISOString()]), [
    ['pve-rv', at(T1).toISOString()],
    ['vc-rv', at(T1).toISOString()],
  ]);
  const between = await scopeAt('2026-11-21T09:00:00Z');
  assert.equal(between.sources.map((s) => s.capturedAt.toISOString()), [
    at(T1).toISOString(),
    at(T1).toISOString(),
  ]);
  const now = await scopeAt(new Date());
  assert.equal(now.sources.map((s) => [s.name, s.capturedAt.toISOString()]), [
    ['pve-rv', at(T1).toISOString()],
    ['vc-rv', at(T2).toISOString()],
  ]);
  const vc = now.sources.find((s) => s.name === 'vc-rv')!;
  const one = await scopeAt(new Date(), vc.sourceId);
  assert.equal(one.sources.map((s) => s.name), ['vc-rv']);
});

test('as of T1: the deleted VM is there, the later VM and the later disk are not', async () => {
  const s = await scopeAt('2026-11-21T09:00:00Z');
  const info = await rows(vInfoRows, s);
  assert.equal(info.map((r) => `${r.source}/${r.vm}`), [
    'pve-rv/pve-web',
    'vc-rv/app-a',
    'vc-rv/batch-b',
    'vc-rv/tmpl-linux',
  ]);
  const disks = await rows(vDiskRows, s);
  assert.equal(byVm(disks, 'app-a').map((d) => d.disk), ['Hard disk 1']);
  assert.equal(byVm(disks, 'batch-b').length, 1);
  // A VM deleted since keeps what the capture said of it.
  const b = info.find((r) => r.vm === 'batch-b')!;
  assert.is(b.consolidation_needed, true);
  assert.is(b.disks, 1);
});

test('now: the new VM and the new disk are there, the deleted VM is not', async () => {
  const s = await scopeAt(new Date());
  const info = await rows(vInfoRows, s);
  assert.equal(info.filter((r) => r.source === 'vc-rv').map((r) => r.vm), [
    'app-a',
    'cache-c',
    'tmpl-linux',
  ]);
  const disks = byVm(await rows(vDiskRows, s), 'app-a');
  assert.equal(disks.map((d) => [d.disk, Number(d.capacity_mib), d.thin, d.eagerly_scrub]), [
    ['Hard disk 1', 40960, true, false],
    ['Hard disk 2', 10240, false, true],
  ]);
  const a = info.find((r) => r.vm === 'app-a')!;
  assert.is(Number(a.disk_capacity_mib), 51200);
  assert.is(Number(a.provisioned_mib), 50 * 1024);
  // The live row describes the newest capture: what only it keeps is shown.
  assert.equal([a.annotation, a.vm_uuid, a.bios_uuid], [
    '=HYPERLINK("http://x")',
    '5001aaaa-0000-0000-0000-000000000001',
    '4201aaaa-0000-0000-0000-000000000001',
  ]);
  // tmpl-linux did not change since T1: its live row is its state at T1 too.
  const [tmpl] = byVm(await rows(vInfoRows, await scopeAt(T1)), 'tmpl-linux');
  assert.is(tmpl.annotation, 'golden image');
});

test('vInfo: the VM settings (boot, CBT, video, files, status) fill their RVTools columns', async () => {
  const info = await rows(vInfoRows, await scopeAt(T1));
  const a = info.find((r) => r.vm === 'app-a')!;
  const settingsCols = {
    config_status: 'green',
    heartbeat: 'green',
    change_version: '2026-11-19T09:00:00.000001Z',
    cbt: true,
    latency_sensitivity: 'normal',
    min_evc_mode: 'intel-haswell',
    ft_state: 'notConfigured',
    num_monitors: 1,
    video_ram_kib: 4096,
    folder_id: 'group-v22',
    boot_delay: 3000,
    boot_retry_delay: 10000,
    boot_retry_enabled: false,
    boot_bios_setup: false,
    efi_secure_boot: true,
    hw_upgrade_status: 'none',
    hw_upgrade_policy: 'never',
    hw_target: 'vmx-21',
    log_directory: '[ds1] a/',
    snapshot_directory: '[ds1] a/snaps/',
    suspend_directory: '[ds1] a/',
  };
  const keys = Object.keys(settingsCols);
  assert.equal(Object.fromEntries(keys.map((k) => [k, a[k]])), settingsCols);
  // Every one of them is a vInfo column, under its RVTools header.
  const vInfoKeys = new Set(V_INFO.columns.map((c) => c.key));
  for (const k of keys) assert.ok(vInfoKeys.has(k), `vInfo has ${k}`);
  const header = (k: string) => V_INFO.columns.find((c) => c.key === k)!.header;
  assert.is(header('cbt'), 'CBT');
  assert.is(header('video_ram_kib'), 'Video Ram KiB');
  assert.is(header('boot_bios_setup'), 'Boot BIOS setup');
  // A VM whose source said nothing of them: empty cells.
  const b = info.find((r) => r.vm === 'batch-b')!;
  for (const k of keys) assert.is(b[k], null, `batch-b ${k}`);
});

test('vInfo: RVTools columns and units, filled from the capture', async () => {
  assert.ok(V_INFO.columns.length >= 60, `vInfo has ${V_INFO.columns.length} columns`);
  const info = await rows(vInfoRows, await scopeAt(T1));
  const a = info.find((r) => r.vm === 'app-a')!;
  assert.equal(
    {
      power: a.power_state,
      template: a.is_template,
      dns: a.dns_name,
      conn: a.connection_state,
      guest: a.guest_state,
      consolidation: a.consolidation_needed,
      bootTime: (a.boot_time as Date).toISOString(),
      cpus: a.cpus,
      memory: Number(a.memory_mib),
      active: Number(a.active_memory_mib),
      nics: a.nics,
      disks: a.disks,
      capacity: Number(a.disk_capacity_mib),
      ip: a.primary_ip,
      net1: a.network_1,
      net2: a.network_2,
      provisioned: Number(a.provisioned_mib),
      inUse: Number(a.in_use_mib),
      ha: a.ha_restart_priority,
      firmware: a.firmware,
      hw: a.hw_version,
      path: a.config_file,
      annotation: a.annotation,
      os: a.guest_os,
      toolsOs: a.tools_os,
      vmId: a.vm_id,
      uuid: a.vm_uuid,
      bios: a.bios_uuid,
      type: a.source_type,
      folder: a.folder,
      pool: a.resource_pool,
    },
    {
      power: 'poweredOn',
      template: false,
      dns: 'app-a.example.com',
      conn: 'connected',
      guest: 'running',
      consolidation: false,
      bootTime: '2026-11-01T08:00:00.000Z',
      cpus: 4,
      memory: 8192,
      active: 2048,
      nics: 1,
      disks: 1,
      capacity: 40960,
      ip: '10.0.0.5',
      net1: 'VM Network',
      net2: null,
      provisioned: 40960,
      inUse: 12800,
      ha: 'medium',
      firmware: 'efi',
      hw: 'vmx-19',
      path: '[ds1] a/a.vmx',
      // a's inventory row was rewritten at T2: what it kept alone is unknown as of T1.
      annotation: null,
      os: 'Ubuntu Linux (64-bit)',
      toolsOs: 'Ubuntu Linux (64-bit)',
      vmId: 'vm-1',
      uuid: null,
      bios: null,
      type: 'VirtualCenter',
      folder: '/dc1/vm/apps',
      pool: 'Gold',
    },
  );
  const pve = info.find((r) => r.vm === 'pve-web')!;
  assert.equal([pve.source_type, pve.network_1, pve.disks, pve.firmware], [
    'Proxmox VE',
    'vmbr0',
    1,
    'efi',
  ]);
});

test('vCPU, vMemory, vTools, vCD, vSnapshot, vPartition, vNetwork: per-VM details', async () => {
  const s = await scopeAt(T1);
  const [cpu] = byVm(await rows(vCpuRows, s), 'app-a');
  assert.equal(
    [
      cpu.cpus,
      Number(cpu.sockets),
      Number(cpu.cores_per_socket),
      Number(cpu.cpu_usage_mhz),
      cpu.cpu_shares_level,
      Number(cpu.cpu_shares),
      Number(cpu.cpu_reservation_mhz),
      Number(cpu.cpu_limit_mhz),
      cpu.cpu_hot_add,
    ],
    [4, 2, 2, 1200, 'normal', 4000, 500, -1, true],
  );
  const [mem] = byVm(await rows(vMemoryRows, s), 'app-a');
  assert.equal(
    [
      Number(mem.memory_mib),
      Number(mem.host_memory_mib),
      Number(mem.active_memory_mib),
      Number(mem.memory_reservation_mib),
      Number(mem.memory_limit_mib),
      mem.memory_hot_add,
    ],
    [8192, 4100, 2048, 1024, -1, false],
  );
  const tools = await rows(vToolsRows, s);
  assert.equal(
    byVm(tools, 'app-a').map((r) => [r.hw_version, r.tools_status, r.tools_version]),
    [['vmx-19', 'toolsOk', '12389']],
  );
  assert.equal(byVm(tools, 'batch-b')[0].tools_running, 'guestToolsNotRunning');
  const cd = byVm(await rows(vCdRows, s), 'app-a');
  assert.equal(cd.map((r) => [r.device_node, r.connected, r.device_type]), [
    ['CD/DVD drive 1', false, 'iso [ds1] iso/tools.iso'],
  ]);
  const snaps = await rows(vSnapshotRows, s);
  assert.equal(
    snaps.map((r) => [
      r.vm,
      r.name,
      (r.created_at as Date).toISOString(),
      Number(r.size_mib),
      r.state,
      r.quiesced,
    ]),
    [['app-a', 'before-upgrade', at(SNAP_AT).toISOString(), 512, 'poweredOn', false]],
  );
  const parts = byVm(await rows(vPartitionRows, s), 'app-a');
  assert.equal(
    parts.map((
      r,
    ) => [
      r.disk,
      Number(r.capacity_mib),
      Number(r.consumed_mib),
      Number(r.free_mib),
      Number(
        r.free_pct,
      ),
    ]),
    [['/', 40000, 30000, 10000, 25]],
  );
  const nets = await rows(vNetworkRows, s);
  assert.equal(
    byVm(nets, 'app-a').map((r) => [
      r.nic_label,
      r.adapter,
      r.network,
      r.switch,
      r.connected,
      r.mac_address,
      r.ipv4,
      r.ipv6,
    ]),
    [[
      'Network adapter 1',
      'vmxnet3',
      'VM Network',
      'vSwitch0',
      true,
      '00:50:56:aa:00:01',
      '10.0.0.5',
      'fe80::1',
    ]],
  );
  assert.equal(
    byVm(nets, 'pve-web').map((r) => [r.network, r.adapter, Number(r.vlan), r.firewall]),
    [['vmbr0', 'virtio', 5, true]],
  );
});

test('vHost, vNIC, vSwitch, vCluster, vRP, vPort, dvSwitch, dvPort, vDatastore', async () => {
  const s = await scopeAt(T1);
  const hosts = await rows(vHostRows, s);
  const h1 = hosts.find((h) => h.name === 'esx-1')!;
  assert.equal(
    [
      h1.cpu_model,
      Number(h1.cpu_sockets),
      Number(h1.cores_per_cpu),
      h1.cpu_cores,
      Number(h1.cpu_usage_pct),
      Number(h1.memory_usage_pct),
      h1.nic_count,
      h1.vms_total,
      h1.vms_on,
      Number(h1.vcpus),
      Number(h1.vram_mib),
      h1.vendor,
      h1.build,
      h1.connection_state,
    ],
    [
      'Intel(R) Xeon(R) Gold 6338',
      2,
      8,
      16,
      20,
      50,
      1,
      1,
      1,
      4,
      8192,
      'Dell Inc.',
      '24022510',
      'connected',
    ],
  );
  assert.equal(hosts.map((h) => h.name), ['pve1', 'esx-1', 'esx-2']);
  const nics = await rows(vNicRows, s);
  assert.equal(nics.map((n) => [n.host, n.device, Number(n.speed_mbps), n.switch]), [
    ['esx-1', 'vmnic0', 10000, 'vSwitch0'],
  ]);
  const switches = await rows(vSwitchRows, s);
  assert.equal(switches.map((w) => [w.host, w.switch, Number(w.mtu), w.uplinks]), [
    ['esx-1', 'vSwitch0', 9000, 'vmnic0, vmnic1'],
  ]);
  const [cluster] = await rows(vClusterRows, s);
  assert.equal(
    [cluster.name, cluster.ha_enabled, cluster.drs_enabled, Number(cluster.total_cpu_mhz)],
    ['c1', true, true, 80000],
  );
  const pools = await rows(vRpRows, s);
  assert.equal(pools.map((p) => [p.source, p.name, p.path]), [
    ['pve-rv', 'web', 'web'],
    ['vc-rv', 'Gold', '/dc1/host/c1/Resources/Gold'],
  ]);
  assert.equal(Number(pools[1].memory_limit_mib), -1);
  const ports = await rows(vPortRows, s);
  assert.equal(ports.map((p) => [p.host, p.port_group, p.switch, p.vlan && Number(p.vlan)]), [
    ['pve1', 'vmbr0', null, null],
    ['esx-1', 'VM Network', 'vSwitch0', 10],
    ['esx-2', 'VM Network', 'vSwitch0', 10],
  ]);
  assert.equal(
    (await rows(dvSwitchRows, s)).map((d) => [d.switch, d.host_members, d.port_groups]),
    [
      ['dvs-1', 'esx-1', 1],
    ],
  );
  assert.equal((await rows(dvPortRows, s)).map((d) => [d.port, d.switch, Number(d.vlan)]), [
    ['prod-dv', 'dvs-1', 20],
  ]);
  const ds = (await rows(vDatastoreRows, s)).find((d) => d.name === 'ds1')!;
  assert.equal(
    [
      Number(ds.capacity_mib),
      Number(ds.free_mib),
      Number(ds.in_use_mib),
      Number(ds.provisioned_mib),
      Number(ds.free_pct),
      ds.host_count,
      ds.hosts,
      ds.url,
      ds.vm_count,
    ],
    [1024000, 153600, 870400, 972800, 15, 2, 'esx-1, esx-2', 'ds:///vmfs/volumes/ds1/', 3],
  );
});

test('vHealth as of T1: one finding of each kind, ages from the capture time', async () => {
  const health = await rows(vHealthRows, await scopeAt(T1));
  assert.equal(health.map((h) => [h.message_type, h.name]), [
    ['Consolidation', 'batch-b'],
    ['Datastore', 'ds1'],
    ['Host', 'esx-2'],
    ['Snapshot', 'app-a'],
    ['VMware Tools', 'batch-b'],
  ]);
  assert.match(String(health[3].message), /"before-upgrade" is 10 days old/);
  assert.match(String(health[1].message), /85\.0 % full/);
  // As of T2 the snapshot is 11 days old, and batch-b is gone with its findings.
  const later = await rows(vHealthRows, await scopeAt(T2));
  assert.equal(later.map((h) => h.message_type), ['Datastore', 'Host', 'Snapshot']);
  assert.match(String(later[2].message), /is 11 days old/);
});

async function requestWorkbook(body: Record<string, unknown>): Promise<Response> {
  return await t.call('/api/v1/rvtools', { ...json(body), token: t.tokens.admin });
}

test('POST /rvtools: the XLSX has every tab, RVTools header rows, the VMs as of T1', async () => {
  const res = await requestWorkbook({ asOf: T1, wait: true });
  const report = await readJson<ReportView>(res);
  assert.is(res.status, 201, JSON.stringify(report));
  assert.equal([report.kind, report.period, report.status, report.sourceId], [
    'rvtools',
    T1,
    'ready',
    null,
  ]);
  assert.match(report.fileName, /^vmledger-rvtools-20261120T1000Z\.xlsx$/);
  assert.is(report.rowCount, 4);
  const wb = new ExcelJS.Workbook();
  await wb.xlsx.load(new Uint8Array(await download(t, report)).buffer);
  assert.equal(wb.worksheets.map((w) => w.name), RVTOOLS_TABS.map((s) => s.sheet));
  for (const spec of RVTOOLS_TABS) {
    const ws = wb.getWorksheet(spec.sheet)!;
    const header = (ws.getRow(1).values as unknown[]).slice(1);
    assert.equal(header, spec.columns.map((c) => c.header), `${spec.sheet} header`);
  }
  const info = wb.getWorksheet('vInfo')!;
  const headers = (info.getRow(1).values as unknown[]).slice(1) as string[];
  const names: unknown[] = [];
  info.eachRow((row, n) => {
    if (n > 1) names.push((row.values as unknown[])[headers.indexOf('VM') + 1]);
  });
  assert.equal(names, ['pve-web', 'app-a', 'batch-b', 'tmpl-linux']);
  const audit =
    await sql`select action, detail from audit_log where target = ${`report:${report.id}`}`;
  assert.equal(audit.map((a) => a.action), ['report.request']);
});

test('POST /rvtools: one source as a CSV zip, formula text neutralised', async () => {
  const [vc] = await sql`select id from sources where name = 'vc-rv'`;
  const res = await requestWorkbook({ source: vc.id, format: 'csv', wait: true });
  const report = await readJson<ReportView>(res);
  assert.is(res.status, 201, JSON.stringify(report));
  assert.is(report.sourceId, vc.id);
  const files = readZip(await download(t, report));
  assert.equal([...files.keys()], RVTOOLS_TABS.map((s) => `${s.sheet}.csv`));
  const info = csvObjects(files.get('vInfo.csv')!.toString('utf8'));
  assert.equal(info.map((r) => r.VM), ['app-a', 'cache-c', 'tmpl-linux']);
  assert.is(info[0].Annotation, `'=HYPERLINK("http://x")`);
  assert.is(info[0]['Total disk capacity MiB'], '51200');
  assert.is(info[0].CBT, 'true');
  assert.is(info[0]['Log directory'], '[ds1] a/');
  assert.is(info[0]['Video Ram KiB'], '4096');
  const disks = csvObjects(files.get('vDisk.csv')!.toString('utf8'));
  assert.is(disks.filter((d) => d.VM === 'app-a').length, 2);
});

test('bad requests: 400/404 naming the problem, nothing stored', async () => {
  const [{ n: before }] = await sql`select count(*)::int as n from reports`;
  const future = await requestWorkbook({ asOf: '2099-01-01T00:00:00Z' });
  assert.is(future.status, 400);
  assert.equal((await readJson<ApiErrorBody>(future)).error.issues[0].path, 'asOf');
  const early = await requestWorkbook({ asOf: '2020-01-01T00:00:00Z' });
  assert.is(early.status, 404);
  assert.match((await readJson<ApiErrorBody>(early)).error.message, /no capture/);
  const nosource = await requestWorkbook({ source: 999999 });
  assert.is(nosource.status, 404);
  const badType = await requestWorkbook({ asOf: 'yesterday' });
  assert.is(badType.status, 400);
  const viewer = await t.call('/api/v1/rvtools', { ...json({}), token: t.tokens.viewer });
  assert.is(viewer.status, 403);
  const [{ n: after }] = await sql`select count(*)::int as n from reports`;
  assert.is(after, before);
});

test('the Reports page form: the same action, the same report and audit row', async () => {
  const { cookie, csrf } = await pageSession(t.app, t.tokens.admin, '/reports');
  const page = await (await t.app.request('/reports', { headers: { cookie } })).text();
  assert.match(page, /action="\/reports\/rvtools"/);
  const [vc] = await sql`select id from sources where name = 'vc-rv'`;
  assert.match(page, new RegExp(`<option value="${vc.id}">vc-rv \\(vcenter\\)</option>`));
  const post = (form: Record<string, string>) =>
    Promise.resolve(t.app.request('/reports/rvtools', {
      method: 'POST',
      headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ csrf, ...form }).toString(),
    }));
  const res = await post({ source: String(vc.id), asOf: '2026-11-20T10:00', format: 'xlsx' });
  assert.is(res.status, 303);
  assert.match(res.headers.get('location')!, /requested=vmledger-rvtools-20261120T1000Z\.xlsx/);
  const [r] = await sql`
    select id, kind, period, source_id, format from reports where kind = 'rvtools' and source_id = ${vc.id}
      and period = ${T1}`;
  assert.equal([r.kind, r.format], ['rvtools', 'xlsx']);
  const audit = await sql`select action, detail from audit_log where target = ${`report:${r.id}`}`;
  assert.equal(audit.map((a) => [a.action, a.detail]), [[
    'report.request',
    { kind: 'rvtools', period: T1, format: 'xlsx', sourceId: vc.id },
  ]]);
  // Generated in the background (no job runner here): wait for it before the suite ends.
  let status = 'queued';
  for (let i = 0; i < 600 && (status === 'queued' || status === 'running'); i++) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    [{ status }] = await sql`select status from reports where id = ${r.id}`;
  }
  assert.is(status, 'ready');
  const refused = await post({ asOf: '2099-01-01T00:00' });
  assert.is(refused.status, 400);
  assert.match(await refused.text(), /asOf: 2099-01-01T00:00:00Z is in the future/);
});

test.run();
