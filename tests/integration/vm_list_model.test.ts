/**
 * The VM list's in-memory model of the present (server/inventory/list_model.ts) answers
 * exactly what the database answers: the same bytes for every search shape, filter, state,
 * sort, direction and page (its cursors followed, and handed to the other path), over an
 * estate with mixed-case and non-ASCII names, LIKE wildcards, nested folders, deleted VMs and
 * tied sort values. After a capture it answers the new generation or nothing (never the old
 * one); a cursor of a VM it does not hold is answered by the database; above its size limit it
 * is not built.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createPool, type Sql } from '../../server/db/connect.ts';
import { ListModelHolder } from '../../server/inventory/list_model.ts';
import {
  listVmsJson,
  setListModelMaxVms,
  vmListCacheStats,
} from '../../server/inventory/list_vms.ts';
import {
  GUEST_FAMILIES,
  VM_SORTS,
  VM_STATES,
  type VmListQuery,
} from '../../server/inventory/list_query.ts';
import { createTestApp, json, type TestApp } from '../support/app.ts';
import { makeCapture } from '../support/captures.ts';

const test = suite('VM list: the in-memory model answers as the database does');
let t: TestApp;
/** The database's answers (no model) and the model's (the pool the model is built for). */
let plain: Sql;
let modeled: Sql;

const SOURCES = ['vc-b', 'vc-a', 'pve-c'];
const NAMES = [
  'web-01',
  'WEB-02',
  'Web-Ärger',
  'web-ärger',
  'db_50%',
  'db-500',
  'straße-db',
  'İstanbul-app',
  'app-x',
  'APP-x',
  'cache-1',
  'build',
];
const FOLDERS = ['dc1/vm/prod', 'dc1/vm/prod/web', 'dc1/vm/production', null];
const GUESTS = ['windows9_64Guest', 'win11', 'l26', 'ubuntu64Guest', 'otherGuest', null];

function estate(source: string, n: number, skip: Set<number> = new Set()) {
  const s = SOURCES.indexOf(source);
  return Array.from({ length: n }, (_, i) => i).filter((i) => !skip.has(i)).map((i) => ({
    key: `${source}:vm-${i}`,
    name: `${NAMES[(i + s) % NAMES.length]}${i % 5 === 0 ? '' : `-${i}`}`,
    vcpu: 1 + (i % 3),
    memoryMib: 1024 * (1 + (i % 4)),
    provisionedDiskGib: 10 + (i % 5) * 2.5,
    powerState: i % 4 === 0
      ? 'poweredOff' as const
      : i % 7 === 0
      ? 'suspended' as const
      : 'poweredOn' as const,
    isTemplate: i % 9 === 0,
    cluster: `c${i % 3}`,
    host: `h${i % 4}`,
    resourcePool: ['Gold', 'Silver', 'Bronze'][i % 3],
    folder: FOLDERS[i % FOLDERS.length],
    guestOs: GUESTS[i % GUESTS.length],
    createdAt: i % 4 === 1
      ? null
      : new Date(Date.UTC(2026, 0, 1 + (i % 6), 0, 0, 0, i)).toISOString(),
    ipAddresses: i % 10 === 3 ? ['10.0.0.1'] : [`10.${s}.0.${i}`],
    biosUuid: `4200${String(s)}${String(i).padStart(3, '0')}-0000-4000-8000-00000000000${s}`,
    instanceUuid: i % 6 === 0
      ? `4200${String(s)}${String(i).padStart(3, '0')}-0000-4000-8000-00000000000${s}`
      : `5000${String(s)}${String(i).padStart(3, '0')}-0000-4000-8000-00000000000${s}`,
  }));
}

async function capture(source: string, at: string, vms: ReturnType<typeof estate>, events = []) {
  const r = await t.call('/api/v1/captures', {
    ...json(
      makeCapture({
        sourceId: source,
        kind: source.startsWith('pve') ? 'proxmox' : 'vcenter',
        at,
        vms,
        events,
      }),
    ),
    token: t.tokens.agent,
  });
  assert.is(r.status, 201, await r.text());
}

test.before(async () => {
  t = await createTestApp('vm_list_model');
  for (const [i, source] of SOURCES.entries()) {
    await capture(source, `2026-05-10T0${i}:00:00Z`, estate(source, 30 + i * 4));
  }
  // Deleted by absence from a complete capture: four of vc-a's VMs.
  await capture('vc-a', '2026-05-10T05:00:00Z', estate('vc-a', 34, new Set([2, 5, 11, 20])));
  plain = createPool(t.db.url, { max: 2 });
  setListModelMaxVms(plain, 0);
  modeled = createPool(t.db.url, { max: 2 });
});
test.after(async () => {
  await plain.end();
  await modeled.end();
  await t.close();
});

const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);

/** Asks the model's pool until its model (of the current generation) answers. */
async function modelReady() {
  const before = vmListCacheStats(modeled).memory;
  for (let i = 0; i < 200; i++) {
    await listVmsJson(modeled, { limit: 1 });
    if (vmListCacheStats(modeled).memory > before) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error('the model was not built');
}

/** Every page of `query` from the model, each compared with the database's; returns the pages. */
async function compare(query: VmListQuery, label: string): Promise<number> {
  let cursor: string | null = null;
  for (let pages = 1; pages < 200; pages++) {
    const q: VmListQuery = { ...query, cursor };
    const before = vmListCacheStats(modeled).memory;
    const fromModel = text(await listVmsJson(modeled, q));
    assert.is(vmListCacheStats(modeled).memory, before + 1, `${label}: answered by the model`);
    const fromDatabase = text(await listVmsJson(plain, q));
    assert.is(fromModel, fromDatabase, `${label}, page ${pages}`);
    cursor = JSON.parse(fromModel).next;
    if (!cursor) return pages;
  }
  throw new Error(`${label}: more than 200 pages`);
}

const FILTERS: Partial<VmListQuery>[] = [
  {},
  { q: 'web' },
  { q: 'WEB' },
  { q: 'We' },
  { q: 'ärger' },
  { q: 'ÄRGER' },
  { q: 'İst' },
  { q: 'straße' },
  { q: '50%' },
  { q: 'db_' },
  { q: '_' },
  { q: 'vm-7' },
  { q: 'vc-a:vm-3' },
  { q: 'web-01-21' },
  { q: '10.0.0.1' },
  { q: '10.1.0.7' },
  { q: '42001007-0000-4000-8000-000000000001' },
  { q: '50000012-0000-4000-8000-000000000000'.toUpperCase() },
  { q: 'vc-b:vm-4', sourceId: 1 },
  { sourceId: 2 },
  { sourceId: 99 },
  { cluster: 'c1' },
  { cluster: 'c1', pool: 'Gold' },
  { pool: 'Bronze', host: 'h2' },
  { host: 'nope' },
  { folder: 'dc1/vm/prod' },
  { folder: 'dc1/vm/prod/web' },
  { folder: 'dc1/vm' },
  { folder: 'dc1/vm/pro' },
  { powerState: 'suspended' },
  { powerState: 'poweredOff', template: false },
  { template: true },
  ...GUEST_FAMILIES.map((guestFamily) => ({ guestFamily })),
  { q: 'app', guestFamily: 'linux', powerState: 'poweredOn', folder: 'dc1/vm/prod' },
];

test('every search, filter, state, sort and direction, page by page: the same bytes', async () => {
  await modelReady();
  let pages = 0;
  let n = 0;
  for (const filter of FILTERS) {
    for (const state of VM_STATES) {
      n++;
      const sort = VM_SORTS[n % VM_SORTS.length];
      const order = n % 2 ? 'asc' : 'desc';
      pages += await compare(
        { ...filter, state, sort, order, limit: 4 + (n % 9) },
        `${JSON.stringify(filter)} ${state} ${sort} ${order}`,
      );
    }
  }
  // Every sort both ways over the whole list (live and deleted), small pages.
  for (const sort of VM_SORTS) {
    for (const order of ['asc', 'desc'] as const) {
      pages += await compare({ state: 'all', sort, order, limit: 13 }, `all ${sort} ${order}`);
    }
  }
  assert.ok(pages > 300, `${pages} pages compared`);
});

test("each path follows the other's cursors", async () => {
  await modelReady();
  for (const sort of VM_SORTS) {
    const query: VmListQuery = { state: 'all', sort, order: 'desc', limit: 11 };
    const first = JSON.parse(text(await listVmsJson(plain, query)));
    const second = { ...query, cursor: first.next };
    assert.is(
      text(await listVmsJson(modeled, second)),
      text(await listVmsJson(plain, second)),
      sort,
    );
    const fromModel = JSON.parse(text(await listVmsJson(modeled, second)));
    const third = { ...query, cursor: fromModel.next };
    assert.is(text(await listVmsJson(plain, third)), text(await listVmsJson(modeled, third)), sort);
  }
});

test('after a capture: the new generation or the database, never the old model; a gone cursor row is the database', async () => {
  await modelReady();
  const query: VmListQuery = { sourceId: 1, sort: 'name', limit: 5 };
  const first = JSON.parse(text(await listVmsJson(modeled, query)));
  const cursorRow = first.items.at(-1);
  // vc-b again: its cursor row deleted (absence), one renamed, one resized.
  const vms = estate('vc-b', 30).filter((v) => v.key !== cursorRow.key).map((v) =>
    v.key === 'vc-b:vm-1' ? { ...v, name: 'aaa-renamed', vcpu: 32 } : v
  );
  await capture('vc-b', '2026-05-10T06:00:00Z', vms);
  const renamed = { q: 'aaa-renamed', limit: 5 };
  // Asked at once: the database answers (the model is rebuilt behind it) with the change.
  const memory = vmListCacheStats(modeled).memory;
  const now = JSON.parse(text(await listVmsJson(modeled, renamed)));
  assert.is(vmListCacheStats(modeled).memory, memory, 'the old model did not answer');
  assert.is(now.total, 1);
  assert.is(now.items[0].vcpu, 32);
  await modelReady();
  assert.is(text(await listVmsJson(modeled, renamed)), text(await listVmsJson(plain, renamed)));
  // The cursor's row is deleted now (and so in the model with another state's rows): the
  // live list after it is the database's answer from the cursor's values.
  const next = { ...query, cursor: first.next };
  const before = vmListCacheStats(modeled).memory;
  const afterCursor = text(await listVmsJson(modeled, next));
  assert.is(afterCursor, text(await listVmsJson(plain, next)));
  assert.is(vmListCacheStats(modeled).memory, before + 1, 'the deleted row is in the model');
  const gone = {
    ...query,
    cursor: Buffer.from(JSON.stringify({ v: 'zzz', s: 1, k: 'vc-b:none' })).toString('base64url'),
  };
  const beforeGone = vmListCacheStats(modeled).memory;
  assert.is(text(await listVmsJson(modeled, gone)), text(await listVmsJson(plain, gone)));
  assert.is(vmListCacheStats(modeled).memory, beforeGone, 'a row it does not hold: the database');
});

test('above its size limit no model is built; the database answers', async () => {
  const small = createPool(t.db.url, { max: 1 });
  try {
    setListModelMaxVms(small, 10);
    for (let i = 0; i < 5; i++) {
      const query: VmListQuery = { q: 'web', limit: 3 };
      assert.is(text(await listVmsJson(small, query)), text(await listVmsJson(plain, query)));
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.is(vmListCacheStats(small).memory, 0);
  } finally {
    await small.end();
  }
});

test('a generation younger than the last build took gets no build: none is started', async () => {
  const pool = createPool(t.db.url, { max: 1 });
  try {
    const holder = new ListModelHolder();
    const [{ generation }] =
      await pool`select coalesce(sum(generation), 0)::float8 as generation from sources`;
    assert.is(holder.current(pool, generation), null, 'the first build starts at once');
    assert.is(holder.builds, 1);
    const t0 = performance.now();
    while (holder.current(pool, generation) === null) {
      await new Promise((r) => setTimeout(r, 5));
    }
    const took = performance.now() - t0;
    // A newer generation (as a busy ingest makes them): the model is dropped at once, and no
    // build starts until the generation has lasted as long as the last build took.
    assert.is(holder.current(pool, generation + 1), null);
    assert.ok(holder.unavailable, 'waited for: not even the generation is read');
    assert.is(holder.builds, 1, 'no build for a generation seen just now');
    await new Promise((r) => setTimeout(r, took + 20));
    assert.ok(!holder.unavailable);
    holder.current(pool, generation + 1);
    assert.is(holder.builds, 2, 'built once the generation lasted');
    while (holder.unavailable) await new Promise((r) => setTimeout(r, 5));
  } finally {
    await pool.end();
  }
});

test('a transaction or a reserved connection gets no model: no build is tried on it', async () => {
  const pool = createPool(t.db.url, { max: 1 });
  try {
    const [{ generation }] =
      await pool`select coalesce(sum(generation), 0)::float8 as generation from sources`;
    await pool.begin((tx) => {
      const holder = new ListModelHolder();
      assert.is(holder.current(tx as unknown as Sql, generation), null);
      assert.is(holder.builds, 0);
      assert.ok(holder.unavailable, 'not even the generation is read again');
    });
    const reserved = await pool.reserve();
    try {
      const holder = new ListModelHolder();
      assert.is(holder.current(reserved, generation), null);
      assert.is(holder.builds, 0);
    } finally {
      reserved.release();
    }
  } finally {
    await pool.end();
  }
});

test('the API answers from the model: /metrics counts it', async () => {
  const ask = () => t.call('/api/v1/vms?q=web&sort=vcpu&limit=3', { token: t.tokens.viewer });
  let served = 0;
  for (let i = 0; i < 100 && served === 0; i++) {
    assert.is((await ask()).status, 200);
    const metrics = await (await t.call('/metrics', { token: t.tokens.admin })).text();
    served = Number(
      /vmledger_vm_list_answers_total\{served_from="memory"\} (\d+)/.exec(metrics)?.[1],
    );
    if (served === 0) await new Promise((r) => setTimeout(r, 25));
  }
  assert.ok(served > 0, 'served from memory');
});

test.run();
