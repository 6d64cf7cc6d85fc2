/**
 * The VM list's in-memory model of a past moment (server/inventory/as_of_model.ts) answers
 * exactly what the database answers as of that moment: the same bytes (items, total, cursor,
 * asOf) for every search shape, filter, state, sort, direction and page, over a history built
 * through the real ingest path — creations, deletions by event and by absence, a reappearance,
 * resizes, a move, a rename, an incomplete capture, a late capture and a source first seen
 * later — at a capture's exact time and between captures. A moment gets a model only once
 * the database's answers of it cost what a build is expected to; a newer generation is never
 * answered by an older model.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createPool, type Sql } from '../../server/db/connect.ts';
import { AsOfModelHolder } from '../../server/inventory/as_of_model.ts';
import {
  listVmsJson,
  setListModelMaxVms,
  vmListCacheStats,
} from '../../server/inventory/list_vms.ts';
import { VM_SORTS, VM_STATES, type VmListQuery } from '../../server/inventory/list_query.ts';
import { createTestApp, json, type TestApp } from '../support/app.ts';
import { makeCapture } from '../support/captures.ts';

const test = suite('VM list as of a past moment: the in-memory model answers as the database does');
let t: TestApp;
let plain: Sql;
let modeled: Sql;

const NAMES = ['web-01', 'WEB-02', 'Web-Ärger', 'db_50%', 'straße-db', 'app-x', 'cache-1'];

function vm(source: string, i: number, change: Record<string, unknown> = {}) {
  const s = source.length;
  return {
    key: `${source}:vm-${i}`,
    name: `${NAMES[(i + s) % NAMES.length]}-${i}`,
    vcpu: 1 + (i % 3),
    memoryMib: 1024 * (1 + (i % 4)),
    provisionedDiskGib: 10 + (i % 5) * 2.5,
    powerState: i % 4 === 0 ? 'poweredOff' as const : 'poweredOn' as const,
    isTemplate: i % 9 === 0,
    cluster: `c${i % 3}`,
    host: `h${i % 4}`,
    resourcePool: ['Gold', 'Silver', 'Bronze'][i % 3],
    folder: ['dc1/vm/prod', 'dc1/vm/prod/web', 'dc1/vm/test', null][i % 4],
    guestOs: ['windows9_64Guest', 'ubuntu64Guest', 'otherGuest', null][i % 4],
    createdAt: i % 4 === 1 ? null : new Date(Date.UTC(2026, 0, 1 + (i % 6))).toISOString(),
    ipAddresses: i % 10 === 3 ? ['10.0.0.1'] : [`10.${s}.0.${i}`],
    biosUuid: `4200${s}${String(i).padStart(3, '0')}-0000-4000-8000-000000000001`,
    ...change,
  };
}

const range = (n: number) => Array.from({ length: n }, (_, i) => i);

async function capture(
  source: string,
  at: string,
  vms: ReturnType<typeof vm>[],
  options: { complete?: boolean; events?: Parameters<typeof makeCapture>[0]['events'] } = {},
) {
  const r = await t.call('/api/v1/captures', {
    ...json(makeCapture({ sourceId: source, at, vms, ...options })),
    token: t.tokens.agent,
  });
  assert.is(r.status, 201, await r.text());
}

const at = (hhmm: string) => `2026-05-01T${hhmm}:00Z`;

test.before(async () => {
  t = await createTestApp('vm_as_of_model');
  const a = (n: number, change: (i: number) => Record<string, unknown> = () => ({})) =>
    range(n).map((i) => vm('vc-a', i, change(i)));
  await capture('vc-a', at('00:00'), a(30));
  // vm-3 deleted by event, vm-4 by absence; vm-5 resized and moved; vm-6 renamed.
  await capture(
    'vc-a',
    at('01:00'),
    a(30, (i) => i === 5 ? { vcpu: 16, host: 'h9' } : i === 6 ? { name: 'renamed-six' } : {})
      .filter((v) => v.key !== 'vc-a:vm-3' && v.key !== 'vc-a:vm-4'),
    {
      events: [{
        type: 'deleted',
        at: at('00:30'),
        vmKey: 'vc-a:vm-3',
        sourceVmId: 'vm-3',
        vmName: 'x',
      }],
    },
  );
  // Incomplete: vm-7 left out is not deleted.
  await capture(
    'vc-a',
    at('02:00'),
    a(30, (i) => i === 5 ? { vcpu: 16, host: 'h9' } : i === 6 ? { name: 'renamed-six' } : {})
      .filter((v) => !['vc-a:vm-3', 'vc-a:vm-4', 'vc-a:vm-7'].includes(v.key)),
    { complete: false },
  );
  // vm-4 back, vm-30 created.
  await capture(
    'vc-a',
    at('03:00'),
    [...a(31, (i) => i === 5 ? { vcpu: 16, host: 'h9' } : i === 6 ? { name: 'renamed-six' } : {})]
      .filter((v) => v.key !== 'vc-a:vm-3'),
  );
  // Late: a capture between 00:00 and 01:00 that arrives last (vm-3 still there).
  await capture('vc-a', at('00:40'), a(30));
  const b = (n: number) => range(n).map((i) => vm('pve-b', i));
  await capture('pve-b', at('01:30'), b(20));
  await capture('pve-b', at('02:30'), b(18));
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

/** Asks the model's pool as of `moment` until a model answers; returns how many asks it took. */
async function momentReady(moment: Date): Promise<number> {
  for (let i = 1; i <= 300; i++) {
    const before = vmListCacheStats(modeled).memory;
    // Each a query not asked before (an answer reused costs nothing and is not charged).
    await listVmsJson(modeled, { at: moment, sort: 'vcpu', limit: i });
    if (vmListCacheStats(modeled).memory > before) return i;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`no model as of ${moment.toISOString()}`);
}

/** Every page of `query` from the model, each compared with the database's; returns the pages. */
async function compare(query: VmListQuery, label: string): Promise<number> {
  let cursor: string | null = null;
  for (let pages = 1; pages < 100; pages++) {
    const q: VmListQuery = { ...query, cursor };
    const before = vmListCacheStats(modeled).memory;
    const fromModel = text(await listVmsJson(modeled, q));
    assert.is(vmListCacheStats(modeled).memory, before + 1, `${label}: answered by the model`);
    assert.is(fromModel, text(await listVmsJson(plain, q)), `${label}, page ${pages}`);
    cursor = JSON.parse(fromModel).next;
    if (!cursor) return pages;
  }
  throw new Error(`${label}: more than 100 pages`);
}

const FILTERS: Partial<VmListQuery>[] = [
  {},
  { q: 'web' },
  { q: 'ÄRGER' },
  { q: 'renamed' },
  { q: 'six' },
  { q: '50%' },
  { q: 'vc-a:vm-4' },
  { q: '10.0.0.1' },
  { q: '10.4.0.3' },
  { q: '42004005-0000-4000-8000-000000000001' },
  { sourceId: 1 },
  { cluster: 'c1', pool: 'Silver' },
  { host: 'h9' },
  { folder: 'dc1/vm/prod' },
  { powerState: 'poweredOff', template: false },
  { guestFamily: 'windows' },
  { guestFamily: 'other', q: 'db' },
];

/**
 * On a capture's exact time, between captures, after the incomplete capture (read: the
 * complete one before it), after the late one, before the second source's first capture.
 */
const MOMENTS = ['01:00', '00:50', '02:15', '00:45', '03:30'].map((m) => new Date(at(m)));

test('every search, filter, state, sort and direction at five moments: the same bytes', async () => {
  let pages = 0;
  let n = 0;
  for (const moment of MOMENTS) {
    await momentReady(moment);
    for (const filter of FILTERS) {
      for (const state of [undefined, ...VM_STATES]) {
        n++;
        const sort = VM_SORTS[n % VM_SORTS.length];
        const order = n % 2 ? 'asc' : 'desc';
        pages += await compare(
          { ...filter, at: moment, state, sort, order, limit: 4 + (n % 9) },
          `${moment.toISOString()} ${JSON.stringify(filter)} ${state} ${sort} ${order}`,
        );
      }
    }
    // Another moment between the same captures: the same model, its own `asOf.at`.
    const nearby = new Date(moment.getTime() + 1_000);
    pages += await compare({ at: nearby, sort: 'name', limit: 7 }, `${nearby.toISOString()}`);
  }
  assert.ok(pages > 250, `${pages} pages compared`);
});

test('a moment gets a model only once what the database answered of it costs a build', async () => {
  const pool = createPool(t.db.url, { max: 1 });
  try {
    const holder = new AsOfModelHolder();
    const moment = new Date(at('00:50'));
    // 100 VMs at the first guess of a build's cost per VM (0.04 ms): 4 ms.
    holder.charge(pool, 'k', moment, 1.5, 100);
    holder.charge(pool, 'other', moment, 3, 100);
    holder.charge(pool, 'k', moment, 1.5, 100);
    assert.is(holder.builds, 0, 'not yet');
    holder.charge(pool, 'k', moment, 1.5, 100);
    assert.is(holder.builds, 1, 'charged 4.5 ms: built');
    while (holder.empty) await new Promise((r) => setTimeout(r, 5));
    const [{ generation }] =
      await pool`select coalesce(sum(generation), 0)::float8 as generation from sources`;
    assert.is(holder.model(generation, 'k'), null, 'keyed by the captures the build read');
    const [{ key }] = await pool`
      select string_agg(s.id || ':' || coalesce(c.capture_id::text, ''), ',' order by s.id::text) as key
      from sources s left join lateral (
        select capture_id from captures c where c.source_id = s.id and c.complete
          and c.captured_at <= ${moment} order by c.captured_at desc limit 1) c on true`;
    assert.match(key, /^\d+:[0-9a-f-]{36},\d+:$/, 'pve-b had no capture by 00:50');
    assert.ok(holder.model(generation, key));
    assert.is(holder.model(generation + 1, key), null, 'a newer generation: dropped');
    assert.ok(holder.empty);
  } finally {
    await pool.end();
  }
});

test('after a capture the old moment model never answers; the database does, then a new model', async () => {
  const moment = new Date(at('01:30'));
  await momentReady(moment);
  const query: VmListQuery = { at: moment, state: 'live', sort: 'disk', limit: 50 };
  await compare(query, 'before');
  // vm-8 deleted now: as of 01:30 it is still listed, but no longer live now.
  await capture(
    'vc-a',
    at('04:00'),
    range(31).map((i) => vm('vc-a', i)).filter((v) => !['vc-a:vm-3', 'vc-a:vm-8'].includes(v.key)),
  );
  const memory = vmListCacheStats(modeled).memory;
  const answer = text(await listVmsJson(modeled, query));
  assert.is(vmListCacheStats(modeled).memory, memory, 'the old model did not answer');
  assert.is(answer, text(await listVmsJson(plain, query)));
  assert.not.ok(JSON.parse(answer).items.some((v: { key: string }) => v.key === 'vc-a:vm-8'));
  await momentReady(moment);
  await compare(query, 'after');
  await compare({ ...query, state: 'deleted' }, 'after, deleted now');
});

test("the API answers a moment from its model: /metrics counts it, the body is the database's", async () => {
  const base = `/api/v1/vms?at=${encodeURIComponent(at('02:45'))}&sort=ram&order=desc`;
  let served = 0;
  for (let i = 1; i < 300 && served === 0; i++) {
    const r = await t.call(`${base}&limit=${i}`, { token: t.tokens.viewer });
    assert.is(r.status, 200);
    await r.arrayBuffer();
    const metrics = await (await t.call('/metrics', { token: t.tokens.admin })).text();
    served = Number(
      /vmledger_vm_list_answers_total\{served_from="memory"\} (\d+)/.exec(metrics)?.[1],
    );
  }
  assert.ok(served > 0, 'served from memory');
  const body = await (await t.call(`${base}&limit=5`, { token: t.tokens.viewer })).text();
  assert.is(
    body,
    text(
      await listVmsJson(plain, { at: new Date(at('02:45')), sort: 'ram', order: 'desc', limit: 5 }),
    ),
  );
});

test.run();
