/**
 * The demo fleet's site life through the real ingest and pages, as after a short `npm start`:
 * a week of captures of both demo sources from the demo collector, then the datastores page
 * lists a filling datastore with its days until full and a host's timeline shows maintenance.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createDemoCollector } from '../../agent/collectors/demo/collector.ts';
import { demoCapture, type DemoFlavor } from '../../agent/collectors/demo/fleet.ts';
import type { Page } from '../../server/inventory/list_query.ts';
import type { DatastoreItem } from '../../server/sites/datastores.ts';
import type { HostDetail, HostItem } from '../../server/sites/hosts.ts';
import { readJson } from '../support/api_bodies.ts';
import { createTestApp, json, type TestApp } from '../support/app.ts';
import { pageSession } from '../support/jobs.ts';

const test = suite('demo site life: ingest and pages');
const HOUR = 3600_000;
const END = Date.UTC(2026, 10, 30, 12);
const DAYS = 8;
const VMS = 60;
let t: TestApp;
let viewer: { cookie: string };
const sources = new Map<DemoFlavor, number>();

/**
 * Capture times: every 6 hours, plus the hours around each change of a host's state (the
 * backfill's hourly captures would catch them; these keep the suite short).
 */
function captureTimes(flavor: DemoFlavor): number[] {
  const times = new Set<number>();
  const stateOf = (at: number) =>
    JSON.stringify(
      demoCapture({ flavor, seed: 1, totalVms: VMS, at: new Date(at), since: null }).hosts!
        .map((h) => [h.connectionState, h.maintenanceMode]),
    );
  let before = '';
  for (let at = END - DAYS * 24 * HOUR; at <= END; at += HOUR) {
    if (at % (6 * HOUR) === 0) times.add(at);
    const now = stateOf(at);
    if (before && now !== before) {
      times.add(at - HOUR);
      times.add(at);
    }
    before = now;
  }
  return [...times].sort((a, b) => a - b);
}

test.before(async () => {
  t = await createTestApp('demo_site_life');
  for (const flavor of ['vcenter', 'proxmox'] as const) {
    const collector = createDemoCollector(
      {
        name: `demo-${flavor}`,
        kind: 'demo',
        flavor,
        vms: VMS,
        seed: 1,
        intervalSeconds: 60,
      } as Parameters<typeof createDemoCollector>[0],
    );
    let since: Date | null = null;
    for (const at of captureTimes(flavor)) {
      const capture = await collector.capture({
        signal: new AbortController().signal,
        since,
        at: new Date(at),
      });
      const res = await t.call('/api/v1/captures', { ...json(capture), token: t.tokens.agent });
      if (res.status !== 201) throw new Error(`capture: ${res.status} ${await res.text()}`);
      sources.set(flavor, (await readJson<{ sourceId: number }>(res)).sourceId);
      since = new Date(at);
    }
  }
  viewer = await pageSession(t.app, t.tokens.viewer);
});
test.after(() => t.close());

const api = async <T>(path: string) => {
  const res = await t.call(path, { token: t.tokens.viewer });
  assert.is(res.status, 200, path);
  return await readJson<T>(res);
};
const page = async (path: string) => {
  const res = await t.app.request(path, { headers: { cookie: viewer.cookie } });
  assert.is(res.status, 200, path);
  return await res.text();
};

test('the datastores page lists filling datastores with days until full, and flat ones', async () => {
  const all = await api<Page<DatastoreItem>>('/api/v1/datastores?limit=100');
  const filling = all.items.filter((d) => d.forecast.status === 'filling');
  assert.ok(filling.length >= 2, JSON.stringify(all.items.map((d) => [d.name, d.forecast])));
  for (const d of filling) {
    assert.ok(d.forecast.daysUntilFull! > 0 && d.forecast.growthGibPerDay! > 10, d.name);
    assert.ok(d.freeGib! >= 0 && d.freeGib! <= d.capacityGib!);
  }
  assert.ok(all.items.some((d) => d.forecast.status === 'notFilling'), 'flat or falling ones');
  const html = await page('/datastores?forecast=filling');
  for (const d of filling) assert.match(html, d.name);
  assert.match(html, /\d days/);
});

test('a host that was in maintenance and one that stopped responding show on their timelines', async () => {
  for (const [flavor, src] of sources) {
    const hosts = await api<Page<HostItem>>(`/api/v1/hosts?source=${src}&limit=100`);
    const states = new Set<string>();
    let maintenanceHost = '';
    for (const h of hosts.items) {
      const detail = await api<HostDetail>(`/api/v1/hosts/${src}/${h.key}?days=30`);
      for (const span of detail.timeline) {
        states.add(span.state);
        if (span.state === 'maintenance') maintenanceHost = h.key;
      }
    }
    assert.ok(states.has('maintenance'), `${flavor}: ${[...states]}`);
    assert.ok(
      states.has('disconnected') || states.has('notResponding'),
      `${flavor}: ${[...states]}`,
    );
    assert.match(await page(`/hosts/${src}/${maintenanceHost}`), /maintenance/);
  }
});

test.run();
