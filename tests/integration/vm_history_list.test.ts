/**
 * The VM list remembers (issue 20): deleted VMs, the estate as of any moment, and the admin's
 * filters, all checked against a history built through the real ingest: creations, a deletion
 * by event, one by absence, an incomplete capture in between, a reappearance, a resize, a move
 * and a late capture.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createTestApp, json, type TestApp } from '../support/app.ts';
import { pageSession } from '../support/jobs.ts';
import { makeCapture, V2_DATASTORES, v2Vm } from '../support/captures.ts';
import { listVms, listVmsJson } from '../../server/inventory/list_vms.ts';
import type { VmListQuery } from '../../server/inventory/list_query.ts';

const test = suite('VM list: deleted, as of, filters');
let t: TestApp;

const SRC = 'hist';
const a = v2Vm('a', 1, {
  guestOs: 'windows2019srv_64Guest',
  folder: '/dc1/vm/prod',
  ipAddresses: ['10.0.0.1'],
  tags: ['Owner=ops'],
  labels: [{ category: 'Env', name: 'prod' }],
});
const b = v2Vm('b', 2, { guestOs: 'ubuntu64Guest', folder: '/dc1/vm/prod/web', host: 'h2' });
const c = { key: 'c', folder: '/dc1/vm/test', guestOs: null };
const d = { key: 'd', vcpu: 8, memoryMib: 16384 };
const e = { key: 'e', folder: '/dc1/vm/production' };
// f: on a host and in a pool no other VM uses (the filters' choices include deleted VMs').
const f = { key: 'f', host: 'h9', resourcePool: 'Silver' };
const at = (hhmm: string) => `2026-05-01T${hhmm}:00.000Z`;

const post = (body: unknown) =>
  t.call('/api/v1/captures', { ...json(body), token: t.tokens.agent });
const capture = (time: string, vms: object[], extra: Record<string, unknown> = {}) =>
  makeCapture({
    sourceId: SRC,
    at: at(time),
    vms: vms as never,
    datastores: V2_DATASTORES,
    ...extra,
  });

test.before(async () => {
  t = await createTestApp('vm_history_list');
  const steps = [
    capture('00:00', [a, b, c, d]),
    // d deleted: its deletion event at 00:30; b resized.
    capture('01:00', [a, { ...b, vcpu: 4 }, c], {
      events: [{ type: 'deleted', at: at('00:30'), vmKey: 'd', sourceVmId: 'd', vmName: 'vm-d' }],
    }),
    // Incomplete: c left out is not deleted.
    capture('02:00', [a, { ...b, vcpu: 4 }], { complete: false }),
    // c absent from a complete capture: deleted; b moved; e created.
    capture('03:00', [a, { ...b, vcpu: 4, host: 'h3' }, e]),
    // c seen again.
    capture('04:00', [a, { ...b, vcpu: 4, host: 'h3' }, c, e]),
    // Late: f appears only here, so the next complete capture (03:00) deleted it.
    capture('02:30', [a, { ...b, vcpu: 4 }, c, f]),
  ];
  for (const body of steps) {
    const res = await post(body);
    assert.is(res.status, 201, await res.text());
  }
});
test.after(() => t.close());

type Item = Record<string, unknown> & { key: string };
type ListBody = {
  items: Item[];
  total: number;
  next: string | null;
  asOf?: {
    at: string;
    captures: {
      sourceName: string;
      capturedAt: string;
      complete: boolean;
      passedOverAt: string | null;
    }[];
    sourcesWithoutCapture: { sourceName: string }[];
  };
};

async function list(query: string): Promise<ListBody> {
  const limit = query.includes('limit=') ? '' : 'limit=1000&';
  const res = await t.call(`/api/v1/vms?${limit}${query}`, { token: t.tokens.viewer });
  assert.is(res.status, 200, await res.clone().text());
  return await res.json();
}
const keys = (body: ListBody) => body.items.map((i) => i.key).sort();

/** An admin's page session, signed in once. */
let session: ReturnType<typeof pageSession> | undefined;

/** A page's HTML as an admin sees it (200 expected). */
async function page(path: string): Promise<string> {
  const { cookie } = await (session ??= pageSession(t.app, t.tokens.admin));
  const res = await t.app.request(path, { headers: { cookie } });
  assert.is(res.status, 200, path);
  return await res.text();
}

test('live (the default), deleted and all', async () => {
  assert.equal(keys(await list('')), ['a', 'b', 'c', 'e']);
  const deleted = await list('state=deleted');
  assert.equal(keys(deleted), ['d', 'f']);
  assert.is(deleted.total, 2);
  const byKey = Object.fromEntries(deleted.items.map((i) => [i.key, i]));
  // d: deleted at its event's time, with its last known size.
  assert.is(byKey.d.state, 'deleted');
  assert.is(byKey.d.deletedAt, at('00:30'));
  assert.is(byKey.d.deletedFrom, 'event');
  assert.is(byKey.d.vcpu, 8);
  assert.is(byKey.d.memoryMib, 16384);
  assert.is(byKey.d.stateAt, at('00:00'));
  // f: seen only by the late capture, deleted by absence at the next complete one.
  assert.is(byKey.f.deletedAt, at('03:00'));
  assert.is(byKey.f.deletedFrom, 'absence');
  assert.is(byKey.f.stateAt, at('02:30'));
  assert.equal(keys(await list('state=all')), ['a', 'b', 'c', 'd', 'e', 'f']);
  // c came back: live again, and no longer among the deleted.
  const live = await list('q=vm-c');
  assert.equal(keys(live), ['c']);
  assert.is(live.items[0].state, 'live');
  assert.is(live.items[0].deletedAt, null);
});

test('deleted VMs are searched, sorted and paged like live ones', async () => {
  assert.equal(keys(await list('state=deleted&q=vm-d')), ['d']);
  const byVcpu = await list('state=all&sort=vcpu&order=desc&limit=1');
  assert.is(byVcpu.items[0].key, 'd');
  assert.ok(byVcpu.next);
  const seen = [byVcpu.items[0].key];
  let next: string | null = byVcpu.next;
  while (next) {
    const res = await t.call(
      `/api/v1/vms?state=all&sort=vcpu&order=desc&limit=1&cursor=${encodeURIComponent(next)}`,
      { token: t.tokens.viewer },
    );
    const body: ListBody = await res.json();
    seen.push(...body.items.map((i) => i.key));
    next = body.next;
  }
  assert.equal(seen.slice().sort(), ['a', 'b', 'c', 'd', 'e', 'f']);
});

test("as of a capture's exact time, and between two captures", async () => {
  const first = await list(`at=${at('00:00')}`);
  assert.equal(keys(first), ['a', 'b', 'c', 'd']);
  assert.equal(first.asOf!.captures.map((x) => [x.sourceName, x.capturedAt, x.complete]), [
    [SRC, at('00:00'), true],
  ]);
  assert.is(first.items.find((i) => i.key === 'b')!.vcpu, 2);
  // d, deleted since, says so; a's identity (UUIDs, addresses, tags) is as known now.
  const dThen = first.items.find((i) => i.key === 'd')!;
  assert.is(dThen.state, 'deleted');
  assert.is(dThen.stateAt, at('00:00'));
  assert.equal(first.items.find((i) => i.key === 'a')!.ipAddresses, ['10.0.0.1']);
  // Creation and first sighting are the VM's, whether or not the list is sorted by them.
  const all = await list('state=all');
  const life = (body: ListBody) =>
    body.items.map((i) => [i.key, i.createdAt, i.firstSeenAt]).sort();
  const expected = life({ ...all, items: all.items.filter((i) => 'abcd'.includes(i.key)) });
  assert.ok(expected.some(([, , firstSeen]) => firstSeen));
  assert.equal(life(first), expected);
  assert.equal(life(await list(`at=${at('00:00')}&sort=firstSeen`)), expected);
  // Paged by name one VM at a time, either way: the whole list in order, each VM once.
  for (const order of ['asc', 'desc']) {
    const names: unknown[] = [];
    let cursor = '';
    do {
      const page = await list(`at=${at('00:00')}&sort=name&order=${order}&limit=1${cursor}`);
      names.push(...page.items.map((i) => i.name));
      cursor = page.next ? `&cursor=${page.next}` : '';
    } while (cursor);
    const sorted = first.items.map((i) => String(i.name)).sort();
    assert.equal(names, order === 'asc' ? sorted : sorted.reverse());
  }

  // 02:15: the newest capture by then (02:00) is incomplete, so the complete one before it.
  const between = await list(`at=${at('02:15')}`);
  assert.equal(keys(between), ['a', 'b', 'c']);
  assert.is(between.asOf!.captures[0].capturedAt, at('01:00'));
  // The answer says so: the newer capture by then, passed over.
  assert.is(between.asOf!.captures[0].passedOverAt, at('02:00'));
  assert.is(first.asOf!.captures[0].passedOverAt, null);
  assert.is(between.items.find((i) => i.key === 'b')!.vcpu, 4);

  // The late capture counts from its own time on.
  assert.equal(keys(await list(`at=${at('02:45')}`)), ['a', 'b', 'c', 'f']);
  const moved = await list(`at=${at('03:30')}`);
  assert.equal(keys(moved), ['a', 'b', 'e']);
  assert.is(moved.items.find((i) => i.key === 'b')!.host, 'h3');
});

test('as of: moments between the same captures share one answer, each with its own `at`', async () => {
  // 01:10, 01:40 and 02:15 all read the 01:00 capture (02:00 is incomplete); 02:45 the late one.
  const moments = ['01:10', '01:40', '02:15', '01:10'].map(at);
  const answers = [];
  for (const m of moments) answers.push(await list(`at=${encodeURIComponent(m)}`));
  assert.equal(answers.map((x) => x.asOf!.at), moments);
  for (const x of answers) {
    assert.equal(x.asOf!.captures.map((c) => c.capturedAt), [at('01:00')]);
    assert.equal({ ...x, asOf: undefined }, { ...answers[0], asOf: undefined });
  }
  // Only 02:15 is after the incomplete 02:00 capture: only its answer names it (an answer
  // reused across the same captures read must not carry another moment's).
  assert.equal(answers.map((x) => x.asOf!.captures[0].passedOverAt), [
    null,
    null,
    at('02:00'),
    null,
  ]);
  const late = await list(`at=${at('02:45')}`);
  assert.is(late.asOf!.at, at('02:45'));
  assert.equal(late.asOf!.captures.map((c) => c.capturedAt), [at('02:30')]);
  assert.equal(keys(late), ['a', 'b', 'c', 'f']);
});

test('as of: state narrows to the VMs then that are live now or deleted since', async () => {
  assert.equal(keys(await list(`at=${at('00:00')}&state=live`)), ['a', 'b', 'c']);
  assert.equal(keys(await list(`at=${at('00:00')}&state=deleted`)), ['d']);
  assert.equal(keys(await list(`at=${at('00:00')}&q=10.0.0.1`)), ['a']);
  assert.equal(keys(await list(`at=${at('00:00')}&q=vm-b`)), ['b']);
});

test('as of a time before a source had any capture: the source is named', async () => {
  const early = await list('at=2026-04-01');
  assert.equal(early.items, []);
  assert.equal(early.asOf!.captures, []);
  assert.ok(early.asOf!.sourcesWithoutCapture.some((s) => s.sourceName === SRC));
});

test('filters: folder subtree, host, tag, vSphere tag, datastore, guest OS family', async () => {
  assert.equal(keys(await list('folder=/dc1/vm/prod')), ['a', 'b']);
  assert.equal(keys(await list('folder=/dc1/vm/prod/web')), ['b']);
  assert.equal(keys(await list('host=h3')), ['b']);
  assert.equal(keys(await list(`at=${at('00:00')}&host=h2`)), ['b']);
  assert.equal(keys(await list('tag=Owner%3Dops')), ['a']);
  assert.equal(keys(await list('tag=Env%3Aprod')), ['a']);
  assert.equal(keys(await list(`at=${at('00:00')}&tag=Env%3Aprod`)), ['a']);
  assert.equal(keys(await list('datastore=ds-a')), ['a', 'b']);
  assert.equal(keys(await list('os=windows')), ['a']);
  assert.equal(keys(await list('os=linux')), ['b']);
  assert.equal(keys(await list('os=other')), ['c', 'e']);
  assert.equal(keys(await list('state=all&os=other&power=poweredOn')), ['c', 'd', 'e', 'f']);
});

test('filters combine with `at` and with `state`', async () => {
  // 00:00: a (prod, Windows, ds-a), b (prod/web, Ubuntu, ds-a, on h2), c (test), d (no folder).
  const t0 = `at=${at('00:00')}`;
  assert.equal(keys(await list(`${t0}&folder=/dc1/vm/prod`)), ['a', 'b']);
  assert.equal(keys(await list(`${t0}&datastore=ds-a`)), ['a', 'b']);
  assert.equal(keys(await list(`${t0}&os=windows`)), ['a']);
  assert.equal(keys(await list(`${t0}&os=other`)), ['c', 'd']);
  assert.equal(keys(await list(`${t0}&power=poweredOn&template=false`)), ['a', 'b', 'c', 'd']);
  assert.equal(keys(await list(`${t0}&template=true`)), []);
  assert.equal(keys(await list(`${t0}&host=h1&state=deleted`)), ['d']);
  // 02:45: the late 02:30 capture (complete): f is there, b still on h2, not yet on h3.
  const t1 = `at=${at('02:45')}`;
  assert.equal(keys(await list(t1)), ['a', 'b', 'c', 'f']);
  assert.equal(keys(await list(`${t1}&state=deleted`)), ['f']);
  assert.equal(keys(await list(`${t1}&host=h3`)), []);
  assert.equal(keys(await list(`${t1}&pool=Silver`)), ['f']);
  // 03:30: b moved to h3 at 03:00; c deleted by absence then, back at 04:00.
  const t2 = `at=${at('03:30')}`;
  assert.equal(keys(await list(`${t2}&host=h3`)), ['b']);
  assert.equal(keys(await list(`${t2}&folder=/dc1/vm/prod`)), ['a', 'b']);
  assert.equal(keys(await list(`${t2}&folder=/dc1/vm`)), ['a', 'b', 'e']);
  // Deleted now: d (h1, 8 vCPU) and f (h9, Silver).
  assert.equal(keys(await list('state=deleted&host=h9')), ['f']);
  assert.equal(keys(await list('state=deleted&os=other&power=poweredOn')), ['d', 'f']);
  assert.equal(keys(await list('state=deleted&folder=/dc1/vm/prod')), []);
  assert.equal(keys(await list('state=all&pool=Silver')), ['f']);
});

test("the page's selects offer deleted VMs' places, and keep a chosen one no VM is in now", async () => {
  const select = (html: string, id: string) =>
    html.match(new RegExp(`<select id="${id}"[^>]*>([\\s\\S]*?)</select>`))?.[1] ?? '';
  // h9 and Silver: only the deleted f was there.
  const deleted = await page('/vms?state=deleted');
  assert.ok(select(deleted, 'f-host').includes('<option>h9</option>'), select(deleted, 'f-host'));
  assert.ok(select(deleted, 'f-pool').includes('<option>Silver</option>'));
  // h2: b was there at 00:00, no VM is now. The link's host stays chosen (a change to another
  // filter sends the form as it is: with "Any host" it would drop the host unseen).
  const shared = await page(`/vms?at=2026-05-01T00:00&host=h2`);
  assert.ok(
    select(shared, 'f-host').includes('<option selected>h2</option>'),
    select(shared, 'f-host'),
  );
  assert.not.ok(select(shared, 'f-host').includes('<option>h2</option>'));
  const gone = await page('/vms?datastore=ds-gone');
  assert.ok(
    select(gone, 'f-datastore').includes('<option value="ds-gone" selected>ds-gone</option>'),
  );
});

test('bad state, at or os → 400 naming the parameter', async () => {
  for (const [query, path] of [['state=gone', 'state'], ['at=yesterday', 'at'], ['os=mac', 'os']]) {
    const res = await t.call(`/api/v1/vms?${query}`, { token: t.tokens.viewer });
    assert.is(res.status, 400, query);
    const body = await res.json();
    assert.is(body.error.code, 'invalid_query');
    assert.ok(JSON.stringify(body.error).includes(path), query);
  }
});

test('a bad value in the VMs page link: a page saying what is wrong, not JSON', async () => {
  const { cookie } = await pageSession(t.app, t.tokens.admin);
  const res = await t.app.request('/vms?at=yesterday&host=h1', {
    headers: { cookie, accept: 'text/html,application/xhtml+xml' },
  });
  assert.is(res.status, 400);
  assert.match(res.headers.get('content-type') ?? '', /text\/html/);
  const html = await res.text();
  assert.ok(html.includes('Not a valid list'), html.slice(0, 300));
  assert.match(html, /at: /);
  // Search as you type (htmx) gets the notice in the table's place, as before.
  const typed = await t.app.request('/vms?at=yesterday', {
    headers: { cookie, 'hx-request': 'true' },
  });
  assert.is(typed.status, 200);
  assert.ok((await typed.text()).includes('role="alert"'));
});

test('CSV of deleted VMs carries the deletion', async () => {
  const res = await t.call('/api/v1/vms?state=deleted', {
    token: t.tokens.viewer,
    headers: { accept: 'text/csv' },
  });
  assert.is(res.status, 200);
  const text = await res.text();
  const [header, ...rows] = text.trim().split(/\r?\n/);
  assert.ok(header.includes('deleted_at'));
  assert.is(rows.length, 2);
  assert.ok(rows.some((r) => r.includes(',event,') && r.includes('2026-05-01 00:30')), text);
});

test('dashboard cards and totals as of a date', async () => {
  const card = (html: string, label: string) =>
    html.match(new RegExp(`class="label">${label}</div><div class="value">([^<]+)<`))?.[1];
  // 00:00: a, b, c, d (the VMs card counts non-templates); 02:15: the 01:00 capture, d gone.
  const first = await page('/?at=2026-05-01T00:00');
  assert.ok(first.includes('As of 2026-05-01 00:00 UTC'), 'the cards say when');
  assert.is(card(first, 'VMs'), '4');
  assert.is(card(first, 'vCPU'), '14');
  const between = await page('/?at=2026-05-01T02:15');
  assert.is(card(between, 'VMs'), '3');
  assert.is(card(between, 'vCPU'), '8');
  const before = await page('/?at=2026-04-01');
  assert.ok(before.includes('No capture by 2026-04-01 00:00 UTC'));
  // A second source whose first capture is at 03:00: at 02:15 it is named, not counted; at
  // 03:30 it counts (its one VM of 2 vCPU beside hist's a, b, e: 2 + 4 + 2 + 2).
  const res = await post(
    makeCapture({ sourceId: 'later-src', at: at('03:00'), vms: [{ key: 'z' }] }),
  );
  assert.is(res.status, 201, await res.text());
  const partly = await page('/?at=2026-05-01T02:15');
  assert.is(card(partly, 'VMs'), '3');
  assert.ok(partly.includes('Not counted, no capture by then: later-src.'), 'the source is named');
  const list = await page('/vms?at=2026-05-01T02:15');
  assert.ok(list.includes('No capture by then: later-src.'), 'and on the VMs page');
  assert.ok(
    list.includes(
      'hist (2026-05-01 01:00; its incomplete capture of 2026-05-01 02:00 passed over)',
    ),
  );
  const both = await page('/?at=2026-05-01T03:30');
  assert.is(card(both, 'VMs'), '4');
  assert.is(card(both, 'vCPU'), '10');
  assert.not.ok(both.includes('Not counted'));
  // A bad time is ignored: the page shows now.
  assert.ok((await page('/?at=soon')).includes('As of the latest captures'));
  // Totals: the chart's window ends at the date asked for.
  const totals = await page('/totals?at=2026-05-01T02:15');
  assert.ok(totals.includes('value="2026-05-01T02:15"'));
});

test("the JSON PostgreSQL writes is listVms' answer serialized, byte for byte", async () => {
  // Last: odd values in one live and one deleted VM (quotes, a tab, non-ASCII, decimals,
  // an unknown used disk); the generation bump stands for the capture that would bring them.
  const sql = t.db.sql;
  await sql`update vm_inventory set name = ${'a "q" \\ \t é ☃ </script>'},
    provisioned_disk_gb = 1.5, used_disk_gb = 0.001 where vm_key = 'a'`;
  await sql`update vm_inventory_deleted set provisioned_disk_gb = 1234567890123.125,
    used_disk_gb = null, tags = array['x', 'NULL', '{"y"}'] where vm_key = 'd'`;
  await sql`update sources set generation = generation + 1`;
  const queries: Omit<VmListQuery, 'limit'>[] = [
    {},
    { state: 'deleted' },
    { state: 'all', sort: 'disk', order: 'desc' },
    { state: 'all', q: 'é' },
    { at: new Date(at('01:30')) },
    { at: new Date(at('03:00')), state: 'deleted' },
    { at: new Date(at('03:30')), sort: 'vcpu', order: 'desc' },
    { at: new Date(at('04:00')), sort: 'created' },
    { state: 'all', sort: 'firstSeen' },
  ];
  for (const q of queries) {
    // Pages of 2, followed to the end: each page and each cursor too.
    let cursor: string | null = null;
    do {
      const query: VmListQuery = { ...q, limit: 2, cursor };
      const object = JSON.stringify(await listVms(sql, query));
      const bytes = new TextDecoder().decode(await listVmsJson(sql, query));
      assert.is(bytes, object, JSON.stringify(query));
      cursor = JSON.parse(bytes).next;
    } while (cursor);
  }
});

test.run();
