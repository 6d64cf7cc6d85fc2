/**
 * The RVTools workbook end to end from vcsim: the real vCenter collector captures the
 * simulator, the capture goes through the real ingest, the workbook is requested through
 * the API, and LibreOffice headless (soffice) opens it and converts every sheet to CSV. The
 * tab names, every header row, and a sample of values (VMs, disks, NICs, snapshots, hosts,
 * datastores, clusters) are checked against vcsim's own model, read the slow, independent
 * way (one object at a time over vim25). A workbook LibreOffice cannot read, or reads
 * differently from what we meant, fails here.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as assert from 'uvu/assert';
import { VcenterSourceConfig } from '../../agent/config.ts';
import { createVcenterCollector } from '../../agent/collectors/vcenter/collector.ts';
import { child, childText } from '../../agent/collectors/vcenter/xml.ts';
import { RVTOOLS_TABS } from '../../server/rvtools/tabs.ts';
import { createLogger } from '../../shared/log.ts';
import { createTestApp, json, type TestApp } from '../support/app.ts';
import { csvObjects, parseCsv } from '../support/csv.ts';
import { suiteNeeding } from '../support/parts.ts';
import { connectVim, startVcsim, textXml, type Vcsim, type Vim } from '../support/vcsim.ts';
import { download, type ReportView } from '../integration/reports_fixture.ts';

type Ctx = { sim: Vcsim; vim: Vim; t: TestApp; tmp: string; sheets: Map<string, string> };
const test = suiteNeeding<Ctx>('RVTools workbook of vcsim, opened by LibreOffice', [
  'govmomi',
  'libreoffice',
]);

// 1 cluster of 2 hosts + 1 standalone host, 1 child pool, 3 VMs per root pool: 6 VMs.
const MODEL = { clusters: 1, clusterHosts: 2, hosts: 1, pools: 1, vmsPerPool: 3 };

// All sheets (-1), UTF-8, raw values rather than "as shown", so numbers keep every digit.
const CSV_FILTER = 'csv:Text - txt - csv (StarCalc):44,34,76,1,,0,false,true,false,false,false,-1';

/** Converts an XLSX with soffice; returns sheet name → CSV text. */
function sheetsViaLibreOffice(
  tmp: string,
  xlsx: Buffer,
  name: string,
): Promise<Map<string, string>> {
  const dir = path.join(tmp, name);
  const file = path.join(tmp, `${name}.xlsx`);
  writeFileSync(file, xlsx);
  // Own profile directory: concurrent soffice runs with one profile block each other.
  const profile = `file://${path.join(tmp, 'lo-profile')}`;
  return new Promise((resolve, reject) => {
    execFile(
      'soffice',
      [
        `-env:UserInstallation=${profile}`,
        '--headless',
        '--convert-to',
        CSV_FILTER,
        '--outdir',
        dir,
        file,
      ],
      { timeout: 180_000 },
      (err, _stdout, stderr) => {
        if (err) return reject(new Error(`soffice failed: ${stderr || err.message}`));
        const out = new Map<string, string>();
        for (const f of readdirSync(dir)) {
          out.set(
            f.slice(name.length + 1, -'.csv'.length),
            readFileSync(path.join(dir, f), 'utf8'),
          );
        }
        resolve(out);
      },
    );
  });
}

/** A datetime cell as LibreOffice writes it raw ("YYYY-MM-DD HH:MM:SS"), as an instant. */
const loTime = (s: string) => new Date(`${s.replace(' ', 'T')}Z`).getTime();

test.before(async (ctx) => {
  ctx.sim = await startVcsim(MODEL);
  ctx.vim = await connectVim(ctx.sim);
  ctx.tmp = mkdtempSync(path.join(os.tmpdir(), 'vml-rvt-'));
  ctx.t = await createTestApp('rvtools_libreoffice');
  // A snapshot, so vSnapshot has a row to compare.
  const vm = (await ctx.vim.findByPath('/DC0/vm/DC0_H0_VM0'))!;
  await ctx.vim.task(
    'CreateSnapshot_Task',
    vm,
    textXml('name', 'before-upgrade') + textXml('description', 'taken by the test') +
      textXml('memory', false) + textXml('quiesce', false),
  );
  const cfg = VcenterSourceConfig.parse({
    kind: 'vcenter',
    name: 'vc-lo',
    url: ctx.sim.url,
    username: ctx.sim.username,
    password: ctx.sim.password,
  });
  const capture = await createVcenterCollector(
    cfg,
    createLogger({ level: 'error', sink: () => {} }),
  )
    .capture({ signal: AbortSignal.timeout(60_000), since: null });
  const stored = await ctx.t.call('/api/v1/captures', {
    ...json(capture),
    token: ctx.t.tokens.agent,
  });
  assert.is(stored.status, 201, await stored.clone().text());
  const res = await ctx.t.call('/api/v1/rvtools', {
    ...json({ wait: true }),
    token: ctx.t.tokens.admin,
  });
  const report: ReportView = await res.json();
  assert.is(res.status, 201, JSON.stringify(report));
  ctx.sheets = await sheetsViaLibreOffice(ctx.tmp, await download(ctx.t, report), 'rvtools');
});

test.after(async (ctx) => {
  await ctx.vim?.close().catch(() => {});
  await ctx.sim?.stop();
  await ctx.t?.close();
  if (ctx.tmp) rmSync(ctx.tmp, { recursive: true, force: true });
});

test('LibreOffice reads every tab, with RVTools header rows', ({ sheets }) => {
  assert.equal([...sheets.keys()].sort(), RVTOOLS_TABS.map((s) => s.sheet).sort());
  for (const spec of RVTOOLS_TABS) {
    const [header] = parseCsv(sheets.get(spec.sheet)!);
    assert.equal(header, spec.columns.map((c) => c.header), `${spec.sheet} header row`);
  }
});

test('vInfo: one row per VM, values equal vcsim VM by VM', async ({ sheets, sim, vim }) => {
  const info = csvObjects(sheets.get('vInfo')!);
  assert.is(info.length, sim.counts.vm);
  for (const row of info) {
    const p = await vim.props({ type: 'VirtualMachine', value: row['VM ID'] }, [
      'name',
      'runtime.powerState',
      'config.hardware.numCPU',
      'config.hardware.memoryMB',
      'config.files.vmPathName',
      'config.version',
      'config.firmware',
      'config.instanceUuid',
      'config.uuid',
      'config.hardware.device',
      'summary.quickStats.guestMemoryUsage',
      'guest.ipAddress',
    ]);
    const text = (k: string) => p.get(k)?.text;
    assert.equal(
      [
        row.VM,
        row.Powerstate,
        Number(row.CPUs),
        Number(row.Memory),
        row.Path,
        row['HW version'],
        row.Firmware,
        row['VM UUID'],
        row['SMBIOS UUID'],
        row['VI SDK Server'],
        row['VI SDK UUID'],
        row['VI SDK Server type'],
        row.Template,
      ],
      [
        text('name'),
        text('runtime.powerState'),
        Number(text('config.hardware.numCPU')),
        Number(text('config.hardware.memoryMB')),
        text('config.files.vmPathName'),
        text('config.version'),
        text('config.firmware'),
        text('config.instanceUuid'),
        text('config.uuid'),
        'vc-lo',
        sim.instanceUuid,
        'VirtualCenter',
        'FALSE',
      ],
      row.VM,
    );
    assert.is(
      Number(row['Active Memory']),
      Number(text('summary.quickStats.guestMemoryUsage') ?? 0),
    );
    const devices = p.get('config.hardware.device')!.children;
    const disks = devices.filter((d) => d.xsiType === 'VirtualDisk');
    assert.is(Number(row.Disks), disks.length, `${row.VM} disks`);
    const kib = disks.reduce((n, d) => n + Number(childText(d, 'capacityInKB')), 0);
    assert.is(Number(row['Total disk capacity MiB']), kib / 1024, `${row.VM} disk capacity`);
    assert.is(Number(row.NICs), devices.filter((d) => childText(d, 'macAddress')).length);
  }
});

test('vDisk and vNetwork: every disk and NIC of vcsim, in its units', async ({ sheets, vim }) => {
  const disks = csvObjects(sheets.get('vDisk')!);
  const nics = csvObjects(sheets.get('vNetwork')!);
  const ids = [...new Set(disks.map((d) => d['VM ID']))];
  assert.ok(ids.length > 0);
  for (const id of ids) {
    const devices = (await vim.props({ type: 'VirtualMachine', value: id }, [
      'config.hardware.device',
    ])).get('config.hardware.device')!.children;
    const want = devices.filter((d) => d.xsiType === 'VirtualDisk').map((d) => [
      childText(child(d, 'deviceInfo'), 'label'),
      Number(childText(d, 'capacityInKB')) / 1024,
      childText(child(d, 'backing'), 'fileName'),
      childText(child(d, 'backing'), 'thinProvisioned') === 'true' ? 'TRUE' : 'FALSE',
    ]);
    const got = disks.filter((d) => d['VM ID'] === id).map((d) => [
      d.Disk,
      Number(d['Capacity MiB']),
      d['Disk Path'],
      d.Thin,
    ]);
    assert.equal(got, want, `disks of ${id}`);
    const macs = devices.map((d) => childText(d, 'macAddress')).filter(Boolean).map((m) =>
      m!.toLowerCase()
    );
    assert.equal(nics.filter((n) => n['VM ID'] === id).map((n) => n['Mac Address']), macs);
  }
});

test('vSnapshot: the snapshot taken in vcsim', ({ sheets }) => {
  const snaps = csvObjects(sheets.get('vSnapshot')!);
  assert.equal(snaps.map((s) => [s.VM, s.Name, s.Description]), [
    ['DC0_H0_VM0', 'before-upgrade', 'taken by the test'],
  ]);
  assert.ok(Math.abs(loTime(snaps[0]['Date / time']) - Date.now()) < 30 * 60_000);
});

test('vHost, vDatastore, vCluster, vRP: equal vcsim object by object', async ({ sheets, sim, vim }) => {
  const hosts = csvObjects(sheets.get('vHost')!);
  assert.is(hosts.length, sim.counts.host);
  for (const h of hosts) {
    const moref = h['Object ID'].slice(sim.instanceUuid.length + 1);
    const p = await vim.props({ type: 'HostSystem', value: moref }, ['name', 'summary.hardware']);
    const hw = p.get('summary.hardware');
    assert.equal(
      [h.Host, h['CPU Model'], Number(h['# CPU']), Number(h['# Cores'])],
      [
        p.get('name')!.text,
        childText(hw, 'cpuModel'),
        Number(childText(hw, 'numCpuPkgs')),
        Number(childText(hw, 'numCpuCores')),
      ],
      h.Host,
    );
    // The collector keeps whole MiB of the host's memory (bytes in vSphere).
    const mib = Number(childText(hw, 'memorySize')) / 1048576;
    assert.ok(
      Math.abs(Number(h['# Memory']) - mib) < 1,
      `${h.Host} memory ${h['# Memory']} ≈ ${mib}`,
    );
  }
  const stores = csvObjects(sheets.get('vDatastore')!);
  assert.is(stores.length, sim.counts.datastore);
  for (const d of stores) {
    const moref = d['Object ID'].slice(sim.instanceUuid.length + 1);
    const p = await vim.props({ type: 'Datastore', value: moref }, ['summary']);
    const s = p.get('summary');
    assert.is(d.Name, childText(s, 'name'));
    // The capture carries GiB to 3 decimals (0.001 GiB ≈ 1 MiB).
    for (const [header, field] of [['Capacity MiB', 'capacity'], ['Free MiB', 'freeSpace']]) {
      const mib = Number(childText(s, field)) / 1048576;
      assert.ok(Math.abs(Number(d[header]) - mib) <= 1.024, `${header} ${d[header]} ≈ ${mib}`);
    }
  }
  const clusters = csvObjects(sheets.get('vCluster')!);
  assert.equal(clusters.map((c) => [c.Name, Number(c.NumHosts)]), [['DC0_C0', 2]]);
  const pools = csvObjects(sheets.get('vRP')!).map((p) => p['Resource Pool path']).sort();
  assert.equal(pools, [
    '/DC0/host/DC0_C0/Resources',
    '/DC0/host/DC0_C0/Resources/DC0_C0_RP1',
    '/DC0/host/DC0_H0/Resources',
  ]);
});

test.run();
