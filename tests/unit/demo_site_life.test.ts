import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { demoCapture, type DemoFlavor } from '../../agent/collectors/demo/fleet.ts';
import { dailyLoad, FILL_CYCLE_DAYS } from '../../agent/collectors/demo/site_life.ts';
import { Capture } from '../../agent/capture/schema.ts';
import { configText } from '../../server/ingest/vm_lines.ts';
import { forecastOf } from '../../server/sites/datastores.ts';

const test = suite('demo fleet: site life');
const HOUR = 3600_000;
const DAY = 24 * HOUR;
const END = Date.UTC(2026, 10, 30);

const capture = (flavor: DemoFlavor, t: number, totalVms = 60, seed = 1) =>
  Capture.parse(demoCapture({
    flavor,
    seed,
    totalVms,
    at: new Date(t),
    since: new Date(t - HOUR),
    captureId: '00000000-0000-4000-8000-000000000000',
  }));

/** Least squares of used space over days, as the datastore page fits it. */
function fit(points: { day: number; used: number }[]) {
  const n = points.length;
  const mx = points.reduce((s, p) => s + p.day, 0) / n;
  const my = points.reduce((s, p) => s + p.used, 0) / n;
  const sxy = points.reduce((s, p) => s + (p.day - mx) * (p.used - my), 0);
  const sxx = points.reduce((s, p) => s + (p.day - mx) ** 2, 0);
  return { n, slope: sxy / sxx, r2: null };
}

test('the same seed and time give the same capture, every part of it', () => {
  for (const flavor of ['vcenter', 'proxmox'] as const) {
    for (const t of [END, END + 21 * HOUR + 17 * 60_000]) {
      assert.equal(capture(flavor, t, 300), capture(flavor, t, 300), `${flavor} at ${t}`);
    }
  }
  assert.not.equal(
    capture('vcenter', END, 300, 1).datastores,
    capture('vcenter', END, 300, 2).datastores,
  );
});

test('over 30 days a datastore fills steadily: the page would forecast it as filling', () => {
  for (const flavor of ['vcenter', 'proxmox'] as const) {
    const days = Array.from({ length: 31 }, (_, d) => capture(flavor, END - (30 - d) * DAY));
    const statuses = days[0].datastores.map((ds) => {
      const points = days.map((c, d) => {
        const x = c.datastores.find((y) => y.key === ds.key)!;
        return { day: d, used: x.capacityGib! - x.freeGib! };
      });
      const last = days.at(-1)!.datastores.find((y) => y.key === ds.key)!;
      return { name: ds.name, ...forecastOf(fit(points), last.freeGib, days.at(-1)!.capturedAt) };
    });
    const filling = statuses.filter((s) => s.status === 'filling');
    assert.ok(filling.length >= 1, `${flavor}: ${JSON.stringify(statuses)}`);
    assert.ok(filling.every((s) => s.growthGibPerDay! > 10 && s.daysUntilFull! > 0), flavor);
    assert.ok(statuses.some((s) => s.status === 'notFilling'), `${flavor}: some flat or falling`);
  }
});

test('free space stays within 0 and capacity over a whole cycle; a full datastore stays full until cleaned up', () => {
  const free = new Map<string, number[]>();
  for (let d = 0; d <= FILL_CYCLE_DAYS * 2; d += 1) {
    const c = capture('proxmox', END - d * DAY + 13 * HOUR, 10);
    for (const ds of c.datastores) {
      assert.ok(ds.freeGib! >= 0 && ds.freeGib! <= ds.capacityGib!, `${ds.name}: ${ds.freeGib}`);
      free.set(ds.name, [...(free.get(ds.name) ?? []), ds.freeGib!]);
    }
  }
  // Going back in time: the one that fills up is full for a stretch of days in a row.
  const series = [...free.values()].find((s) => s.includes(0));
  assert.ok(series, 'a datastore reaches full');
  const first = series!.indexOf(0);
  const run = series!.slice(first).findIndex((f) => f !== 0);
  assert.ok(run > 20, `full for ${run} days in a row`);
});

test('a host goes into maintenance for a few hours: its VMs move, containers stop; it comes back', () => {
  for (const flavor of ['vcenter', 'proxmox'] as const) {
    let found = false;
    let wasIn = '';
    for (let t = END - 8 * DAY; t <= END && !found; t += HOUR) {
      const c = capture(flavor, t, 150);
      const inMaintenance = c.hosts.filter((h) => h.maintenanceMode);
      assert.ok(inMaintenance.length <= 1, `${flavor}: one host at a time`);
      const h = inMaintenance[0];
      if (h) {
        wasIn = h.name;
        assert.is(h.connectionState, 'connected');
        const on = c.vms.filter((v) => v.host === h.name);
        assert.ok(
          on.every((v) => v.powerState === 'poweredOff' && (flavor === 'proxmox' || v.isTemplate)),
          `${flavor}: only stopped containers (and templates) stay on ${h.name}`,
        );
        assert.is(h.cpuUsageMhz, 2000, 'only the hypervisor runs');
        const cluster = c.clusters.find((k) => k.name === h.cluster)!;
        assert.is(cluster.effectiveHostCount, cluster.hostCount! - 1);
      } else if (wasIn) {
        const back = c.hosts.find((x) => x.name === wasIn)!;
        assert.is(back.maintenanceMode, false);
        assert.ok(Date.parse(back.bootTime!) > t - 2 * HOUR, 'rebooted after patching');
        assert.ok(c.vms.some((v) => v.host === wasIn && v.powerState === 'poweredOn'));
        if (flavor === 'proxmox') {
          assert.ok(
            c.vms.some((v) =>
              v.host === wasIn && v.name.startsWith('ct-') && v.powerState === 'poweredOn' &&
              Date.parse(v.bootTime!) > t - 2 * HOUR
            ),
            'a container started again after the maintenance',
          );
        }
        found = true;
      }
    }
    assert.ok(found, `${flavor}: a maintenance window in 8 days`);
  }
});

test('a host stops responding for a while: no usage, its VMs disconnected; then it is back', () => {
  for (const flavor of ['vcenter', 'proxmox'] as const) {
    let down = '';
    let back = false;
    for (let t = END - 11 * DAY; t <= END && !back; t += HOUR) {
      const c = capture(flavor, t, 150);
      const h = c.hosts.find((x) => x.connectionState !== 'connected');
      if (h) {
        down = h.name;
        assert.is(h.cpuUsageMhz, null);
        const vms = new Set(c.vms.filter((v) => v.host === h.name).map((v) => v.key));
        assert.ok(vms.size > 0);
        assert.ok(
          c.vms.filter((v) => vms.has(v.key)).every((v) => v.connectionState === 'disconnected'),
        );
        assert.ok(c.usage.filter((u) => vms.has(u.key)).every((u) => u.cpuUsageMhz === null));
      } else if (down) back = true;
    }
    assert.ok(down && back, `${flavor}: a host was down and came back`);
  }
});

test('usage follows the working day and stays within the configured sizes', () => {
  const weekday = Date.UTC(2026, 10, 25); // a Wednesday
  const cpu = (c: Capture) => c.usage.reduce((s, u) => s + (u.cpuUsageMhz ?? 0), 0);
  const night = capture('vcenter', weekday + 3 * HOUR, 2000);
  const afternoon = capture('vcenter', weekday + 15 * HOUR, 2000);
  assert.ok(cpu(afternoon) > cpu(night) * 1.5, `${cpu(afternoon)} vs ${cpu(night)}`);
  assert.ok(dailyLoad(weekday + 15 * HOUR) > dailyLoad(Date.UTC(2026, 10, 28, 15)), 'weekend');
  for (const c of [night, afternoon, capture('proxmox', weekday + 9 * HOUR, 2000)]) {
    const vms = new Map(c.vms.map((v) => [v.key, v]));
    for (const u of c.usage) {
      const vm = vms.get(u.key)!;
      assert.ok(u.cpuUsageMhz! <= vm.vcpu * 2600, vm.name);
      assert.ok(u.hostMemoryMib! <= vm.memoryMib && u.guestMemoryMib! <= u.hostMemoryMib!);
      for (const g of u.guestDisks) {
        const disk = vm.guest!.disks.find((d) => d.path === g.path)!;
        assert.ok(g.freeMib! >= 0 && g.freeMib! <= disk.capacityMib!, `${vm.name} ${g.path}`);
      }
    }
    for (const h of c.hosts) {
      if (h.cpuUsageMhz === null) continue;
      assert.ok(h.cpuUsageMhz! <= h.cpuCores! * h.cpuMhz! && h.memoryUsageMib! <= h.memoryMib!);
    }
  }
});

test('clusters carry HA/DRS, networks their VLANs, and every NIC a network of the capture', () => {
  const vc = capture('vcenter', END, 400);
  assert.ok(vc.clusters.every((c) => c.haEnabled));
  assert.ok(vc.clusters.some((c) => c.drsEnabled && c.drsBehavior === 'fullyAutomated'));
  assert.equal(vc.networks.map((n) => n.vlanId), [0, 110, 120, 130]);
  assert.is(
    vc.hosts.filter((h) => h.cluster === vc.clusters[0].name).length,
    vc.clusters[0].hostCount,
  );
  for (const c of [vc, capture('proxmox', END, 400)]) {
    const keys = new Set(c.networks.map((n) => n.key));
    assert.ok(c.vms.every((v) => v.nics.every((n) => keys.has(n.networkKey!))));
    assert.is(c.networks.reduce((s, n) => s + n.vmCount!, 0) >= c.vms.length, true);
  }
});

test('hour to hour only a few percent of VMs change configuration, across maintenance too', () => {
  for (const flavor of ['vcenter', 'proxmox'] as const) {
    let changed = 0;
    let kept = 0;
    let before: Map<string, string> | null = null;
    for (let t = END - 7 * DAY; t <= END; t += HOUR) {
      const c = capture(flavor, t, 150);
      const now = new Map(c.vms.map((v) => [v.key, configText(v)]));
      if (before) {
        for (const [k, text] of now) {
          if (!before.has(k)) continue;
          kept++;
          if (before.get(k) !== text) changed++;
        }
      }
      before = now;
    }
    const share = changed / kept;
    assert.ok(share > 0.005 && share < 0.06, `${flavor}: ${(share * 100).toFixed(2)}%`);
  }
});

test.run();
