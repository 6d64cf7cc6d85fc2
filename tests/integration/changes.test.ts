/**
 * Issue 20, changes between two dates: a history built through the real ingest path
 * (creations, deletions by event and by absence, a reappearance, resizes, a move, a rename,
 * a power change, an incomplete capture in between, a late capture), checked against
 * hand-computed lists and summaries; paging, CSV, 400s; and the rebuild from the facts
 * (the migration's backfill) giving the same rows as ingest wrote.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createTestApp, json, type TestApp } from '../support/app.ts';
import { makeCapture } from '../support/captures.ts';
import { csvObjects } from '../support/csv.ts';
import { pageSession } from '../support/jobs.ts';

const test = suite('changes between two dates');
let t: TestApp;

const SRC = 'chg';
const at = (hhmm: string) => `2026-05-01T${hhmm}:00.000Z`;
const size = (vcpu: number, memoryMib: number, provisionedDiskGib: number) => ({
  vcpu,
  memoryMib,
  provisionedDiskGib,
});
const place = (host: string) => ({ host, cluster: 'c1', resourcePool: 'Gold', folder: null });

async function post(body: unknown) {
  const res = await t.call('/api/v1/captures', { ...json(body), token: t.tokens.agent });
  assert.ok(res.status === 201, `capture ${JSON.stringify(body).slice(0, 80)}: ${res.status}`);
}

async function changes(query: string, headers: Record<string, string> = {}) {
  return await t.call(`/api/v1/changes?${query}`, { token: t.tokens.viewer, headers });
}

type Item = {
  at: string;
  kind: string;
  vmKey: string;
  vmName: string;
  before: unknown;
  after: unknown;
  detail: string | null;
};

test.before(async () => {
  t = await createTestApp('changes');
  const cap = (hhmm: string, vms: Parameters<typeof makeCapture>[0]['vms'], extra = {}) =>
    post(makeCapture({ sourceId: SRC, at: at(hhmm), vms, ...extra }));
  // 10:00 a, b, c, d, f: all first seen (no creation time from the source).
  await cap('10:00', [{ key: 'a' }, { key: 'b' }, { key: 'c' }, { key: 'd' }, { key: 'f' }]);
  // 11:00 a resized (2→4 vCPU, 4→8 GiB), b moved h1→h2, e new (created 10:30 by the source).
  await cap('11:00', [
    { key: 'a', vcpu: 4, memoryMib: 8192 },
    { key: 'b', host: 'h2' },
    { key: 'c' },
    { key: 'd' },
    { key: 'e', createdAt: at('10:30') },
    { key: 'f' },
  ]);
  // 12:00 incomplete, holding a and e only: no change, no deletion for the others.
  await cap('12:00', [{ key: 'a', vcpu: 4, memoryMib: 8192 }, { key: 'e' }], {
    complete: false,
  });
  // 13:00 b renamed, c powered off; d gone (absence), f gone (its deletion event at 12:30).
  await cap('13:00', [
    { key: 'a', vcpu: 4, memoryMib: 8192 },
    { key: 'b', host: 'h2', name: 'b-new' },
    { key: 'c', powerState: 'poweredOff' },
    { key: 'e' },
  ], {
    events: [{
      type: 'deleted',
      at: at('12:30'),
      vmKey: 'f',
      sourceVmId: 'f',
      vmName: 'vm-f',
      detail: null,
    }],
  });
  // 14:00 d is back.
  await cap('14:00', [
    { key: 'a', vcpu: 4, memoryMib: 8192 },
    { key: 'b', host: 'h2', name: 'b-new' },
    { key: 'c', powerState: 'poweredOff' },
    { key: 'd' },
    { key: 'e' },
  ]);
  // Late, incomplete, at 11:30: a had 6 vCPU then (so 11:30 is 4→6 and 12:00 is 6→4); b as at 11:00.
  await cap('11:30', [{ key: 'a', vcpu: 6, memoryMib: 8192 }, { key: 'b', host: 'h2' }], {
    complete: false,
  });
});
test.after(() => t.close());

const EXPECTED = [
  {
    at: at('10:30'),
    kind: 'created',
    vmKey: 'e',
    before: null,
    after: size(2, 4096, 40),
    detail: 'source',
  },
  {
    at: at('11:00'),
    kind: 'resized',
    vmKey: 'a',
    before: size(2, 4096, 40),
    after: size(4, 8192, 40),
    detail: null,
  },
  {
    at: at('11:00'),
    kind: 'moved',
    vmKey: 'b',
    before: place('h1'),
    after: place('h2'),
    detail: null,
  },
  {
    at: at('11:30'),
    kind: 'resized',
    vmKey: 'a',
    before: size(4, 8192, 40),
    after: size(6, 8192, 40),
    detail: null,
  },
  {
    at: at('12:00'),
    kind: 'resized',
    vmKey: 'a',
    before: size(6, 8192, 40),
    after: size(4, 8192, 40),
    detail: null,
  },
  {
    at: at('12:30'),
    kind: 'deleted',
    vmKey: 'f',
    before: size(2, 4096, 40),
    after: null,
    detail: 'event',
  },
  {
    at: at('13:00'),
    kind: 'renamed',
    vmKey: 'b',
    before: { name: 'vm-b' },
    after: { name: 'b-new' },
    detail: null,
  },
  {
    at: at('13:00'),
    kind: 'power',
    vmKey: 'c',
    before: { powerState: 'poweredOn' },
    after: { powerState: 'poweredOff' },
    detail: null,
  },
  {
    at: at('13:00'),
    kind: 'deleted',
    vmKey: 'd',
    before: size(2, 4096, 40),
    after: null,
    detail: 'absence',
  },
  {
    at: at('14:00'),
    kind: 'reappeared',
    vmKey: 'd',
    before: null,
    after: size(2, 4096, 40),
    detail: null,
  },
];

const strip = (items: Item[]) =>
  items.map(({ at, kind, vmKey, before, after, detail }) => ({
    at,
    kind,
    vmKey,
    before,
    after,
    detail,
  }));

test('the list between 10:30 and 15:00 is the hand-computed one, in time order', async () => {
  const res = await changes(
    `from=${at('10:30')}&to=${encodeURIComponent('2026-05-01T15:00:00+00:00')}`,
  );
  assert.is(res.status, 200);
  const body = await res.json();
  assert.equal(strip(body.items), EXPECTED);
  assert.is(body.total, EXPECTED.length);
  assert.is(body.next, null);
  assert.is(body.items.find((i: Item) => i.kind === 'renamed').vmName, 'b-new');
});

test('the summary: counts per kind and net growth', async () => {
  const body = await (await changes(`from=${at('10:30')}&to=${at('15:00')}`)).json();
  assert.equal(body.summary.counts, {
    created: 1,
    deleted: 2,
    reappeared: 1,
    resized: 3,
    moved: 1,
    renamed: 1,
    power: 1,
  });
  // VMs: +e +d(back) −f −d. vCPU: +2 (e) +2 (d back) −2 (f) −2 (d) +2 +2 −2 (a's resizes).
  // RAM: +4096 (e) +4096 (d back) −4096 (f) −4096 (d) +4096 (a). Disk: ±40 twice.
  assert.equal(body.summary.net, { vms: 0, vcpu: 2, memoryMib: 4096, provisionedDiskGib: 0 });
});

test('from is inclusive, to exclusive; the first capture counts as creations (first seen)', async () => {
  const body = await (await changes(`from=${at('10:00')}&to=${at('11:00')}`)).json();
  assert.equal(
    body.items.map((i: Item) => [i.kind, i.vmKey, i.detail]),
    [
      ['created', 'a', 'firstSeen'],
      ['created', 'b', 'firstSeen'],
      ['created', 'c', 'firstSeen'],
      ['created', 'd', 'firstSeen'],
      ['created', 'f', 'firstSeen'],
      ['created', 'e', 'source'],
    ],
  );
  assert.equal(body.summary.net, {
    vms: 6,
    vcpu: 12,
    memoryMib: 6 * 4096,
    provisionedDiskGib: 240,
  });
});

test('kind and source filters; the summary stays whole', async () => {
  const body = await (await changes(`from=${at('10:30')}&to=${at('15:00')}&kind=resized,deleted`))
    .json();
  assert.equal(
    strip(body.items),
    EXPECTED.filter((e) => e.kind === 'resized' || e.kind === 'deleted'),
  );
  assert.is(body.total, 5);
  assert.is(body.summary.counts.power, 1);
  const [{ id }] = await t.db.sql`select id from sources where external_id = ${SRC}`;
  const mine = await (await changes(`from=${at('10:30')}&to=${at('15:00')}&source=${id}`)).json();
  assert.is(mine.total, EXPECTED.length);
  const other = await (await changes(`from=${at('10:30')}&to=${at('15:00')}&source=${id + 1000}`))
    .json();
  assert.is(other.total, 0);
  assert.equal(other.items, []);
});

test("one VM's changes: its life in order, its own summary", async () => {
  const [{ id }] = await t.db.sql`select id from sources where external_id = ${SRC}`;
  const range = `from=${at('09:00')}&to=${at('15:00')}&source=${id}`;
  // d: first seen at 10:00, gone at 13:00 (absence), back at 14:00.
  const d = await (await changes(`${range}&vm=d`)).json();
  assert.equal(strip(d.items), [
    {
      at: at('10:00'),
      kind: 'created',
      vmKey: 'd',
      before: null,
      after: size(2, 4096, 40),
      detail: 'firstSeen',
    },
    ...EXPECTED.filter((e) => e.vmKey === 'd'),
  ]);
  assert.equal(d.summary.counts, {
    created: 1,
    deleted: 1,
    reappeared: 1,
    resized: 0,
    moved: 0,
    renamed: 0,
    power: 0,
  });
  assert.equal(d.summary.net, { vms: 1, vcpu: 2, memoryMib: 4096, provisionedDiskGib: 40 });
  // a: its three resizes after its first sighting; a VM key of another source has none.
  const a = await (await changes(`${range}&vm=a&kind=resized`)).json();
  assert.equal(strip(a.items), EXPECTED.filter((e) => e.vmKey === 'a'));
  const none = await (await changes(`${range}&vm=nope`)).json();
  assert.equal([none.items, none.total], [[], 0]);
});

test("a VM's page lists every change of its life, and how its deletion was known", async () => {
  const [{ id }] = await t.db.sql`select id from sources where external_id = ${SRC}`;
  const { cookie } = await pageSession(t.app, t.tokens.admin);
  const page = async (path: string) => {
    const res = await t.app.request(path, { headers: { cookie } });
    assert.is(res.status, 200, path);
    return await res.text();
  };
  const life = (html: string) =>
    [...(html.match(/<div[^>]*id="life-table"[\s\S]*?<\/table>/)?.[0] ?? '').matchAll(
      /<tr><td><time datetime="([^"]+)"[\s\S]*?<span class="badge[^"]*">([^<]+)<\/span>[\s\S]*?<\/td><td>([^<]*)<\/td><\/tr>/g,
    )].map((m) => [m[1].slice(11, 16), m[2], m[3]]);
  // a: first seen 10:00, then 2 → 4 → 6 → 4 vCPU (the late 11:30 capture between).
  assert.equal(life(await page(`/vms/${id}/a`)), [
    ['10:00', 'Created', 'vCPU 2 · RAM 4 GiB · disk 40 GiB'],
    ['11:00', 'Resized', 'vCPU 2 → 4 · RAM 4 GiB → 8 GiB'],
    ['11:30', 'Resized', 'vCPU 4 → 6'],
    ['12:00', 'Resized', 'vCPU 6 → 4'],
  ]);
  // f: deleted by its event at 12:30 (deleted now); d: by absence at 13:00, back at 14:00.
  const f = await page(`/vms/${id}/f`);
  assert.equal(life(f).map((r) => r.slice(0, 2)), [['10:00', 'Created'], ['12:30', 'Deleted']]);
  assert.match(
    f,
    /<dt>Deleted<\/dt><dd><time datetime="2026-05-01T12:30:00.000Z"[^>]*>[^<]*<\/time> <span class="muted">\(deletion event\)<\/span>/,
  );
  const d = await page(`/vms/${id}/d`);
  assert.equal(life(d).map((r) => r.slice(0, 2)), [
    ['10:00', 'Created'],
    ['13:00', 'Deleted'],
    ['14:00', 'Reappeared'],
  ]);
  // The Changes page for one VM keeps it through its presets and says whose changes they are.
  const one = await page(`/changes?preset=custom&from=2026-05-01&to=2026-05-02&source=${id}&vm=d`);
  assert.ok(one.includes('3 changes of VM'), 'the count names the VM');
  assert.ok(one.includes(`name="vm" value="d"`), 'the form keeps the VM');
  // A custom range to the minute (the form's datetime-local values, UTC): 10:45 to 13:30 holds
  // the changes from 11:00 to 13:00 (8), and the form shows the range back.
  const timed = await page('/changes?preset=custom&from=2026-05-01T10:45&to=2026-05-01T13:30');
  assert.ok(timed.includes('>8 changes'), timed.match(/id="change-count">[^<]*/)?.[0]);
  assert.ok(timed.includes('value="2026-05-01T13:30"'));
});

test('keyset pages of 3 add up to the whole list', async () => {
  const seen: Item[] = [];
  let cursor: string | null = null;
  let pages = 0;
  do {
    const q: string = `from=${at('10:30')}&to=${at('15:00')}&limit=3${
      cursor ? `&cursor=${cursor}` : ''
    }`;
    const body = await (await changes(q)).json();
    seen.push(...body.items);
    cursor = body.next;
    pages++;
  } while (cursor);
  assert.is(pages, 4);
  assert.equal(strip(seen), EXPECTED);
});

test('a cursor from before `from` (hand-made) still lists from `from` on', async () => {
  // The stored kinds' branch takes the later of `from` and the cursor as one lower key.
  const early = Buffer.from(JSON.stringify({ t: at('09:00'), s: 1, k: 'a', c: 'resized' }))
    .toString('base64url');
  const body = await (await changes(
    `from=${at('11:30')}&to=${at('15:00')}&cursor=${early}`,
  )).json();
  const expected = EXPECTED.filter((i) => i.at >= at('11:30'));
  assert.ok(expected.length < EXPECTED.length && expected.length > 0);
  assert.equal(strip(body.items), expected);
});

test('Accept: text/csv gives the whole list with before/after columns', async () => {
  const res = await changes(`from=${at('10:30')}&to=${at('15:00')}&limit=2`, {
    accept: 'text/csv',
  });
  assert.is(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /text\/csv/);
  const rows = csvObjects(await res.text());
  assert.is(rows.length, EXPECTED.length);
  assert.equal(rows[1], {
    ...rows[1],
    at: '2026-05-01 11:00:00',
    kind: 'resized',
    key: 'a',
    vcpu_before: '2',
    vcpu_after: '4',
    memory_mib_before: '4096',
    memory_mib_after: '8192',
  });
  assert.is(rows[2].host_before, 'h1');
  assert.is(rows[2].host_after, 'h2');
});

test('bad from, to or kind → 400 naming the parameter', async () => {
  for (
    const [q, path] of [
      [`from=yesterday&to=${at('15:00')}`, 'from'],
      [`from=${at('10:00')}`, 'to'],
      [`from=${at('15:00')}&to=${at('10:00')}`, 'from'],
      [`from=${at('10:00')}&to=${at('10:00')}`, 'from'],
      [`from=${at('10:00')}&to=${at('15:00')}&kind=resized,exploded`, 'kind'],
      [`from=${at('10:00')}&to=${at('15:00')}&cursor=nonsense`, 'cursor'],
      [`from=${at('10:00')}&to=${at('15:00')}&vm=a`, 'vm'],
      [`from=${at('10:00')}&to=${at('15:00')}&source=1&vm=a%00b`, 'vm'],
      [`from=${at('10:00')}&to=${at('15:00')}&source=1&vm=${'k'.repeat(1001)}`, 'vm'],
    ]
  ) {
    const res = await changes(q);
    assert.is(res.status, 400, q);
    const body = (await res.json()).error;
    assert.is(body.code, 'invalid_query', q);
    assert.ok(
      body.issues.some((i: { path: string }) => i.path === path),
      `${q}: ${JSON.stringify(body)}`,
    );
    if (path === 'from' && q.startsWith('from=yesterday')) assert.match(body.message, /ISO 8601/);
  }
});

test('rebuilding from the facts (the migration backfill) gives the rows ingest wrote', async () => {
  const read = async () =>
    (await t.db.sql`select * from vm_changes order by source_id, vm_key, at, kind`).map((r) =>
      JSON.stringify(r)
    );
  const written = await read();
  assert.is(written.filter((r) => !r.includes('"deleted"')).length, 6);
  await t.db.sql`select vm_changes_rebuild(id, '-infinity', 'infinity') from sources`;
  assert.equal(await read(), written);
  // A window alone: its rows are recomputed against the facts before it.
  await t.db.sql`select vm_changes_rebuild(id, ${at('11:30')}, ${at('12:00')}) from sources`;
  assert.equal(await read(), written);
});

test.run();
