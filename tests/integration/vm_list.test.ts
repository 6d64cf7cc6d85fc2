/**
 * The VM list read path: every sort in both directions pages through exactly the rows a
 * reference sort gives (no row twice, none missed) whichever plan serves it, and reused
 * answers are never stale: a stored capture is visible at once, also on another server
 * node that answered the same question before. So are the fleet totals and VMs per source
 * the dashboard and the sources show.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createApp } from '../../server/app.ts';
import { createPool } from '../../server/db/connect.ts';
import { fleetSummary, listVmsJson, setListModelMaxVms } from '../../server/inventory/list_vms.ts';
import type { Page, VmListItem } from '../../server/inventory/list_query.ts';
import { listSourcesDetailed } from '../../server/queries/sources.ts';
import { createTestApp, json, type TestApp } from '../support/app.ts';
import { rolledBack } from '../support/db.ts';
import { makeCapture } from '../support/captures.ts';

const test = suite('VM list: sorts, cursors, reused answers');
let t: TestApp;

// Source names sort differently from their ids (registered m, a, z).
const SOURCES = ['vc-m', 'vc-a', 'vc-z'];
const WORDS = ['web', 'app', 'db'];

function fleet(source: string, n: number) {
  return Array.from({ length: n }, (_, i) => ({
    key: `${source}:k${String(i).padStart(2, '0')}`,
    name: `${WORDS[i % 3]}-${source.slice(3)}${String((i * 7) % n).padStart(2, '0')}`,
    vcpu: 1 + (i % 4),
    memoryMib: 1024 * (1 + (i % 5)),
    provisionedDiskGib: 10 + (i % 6) * 2.5,
    powerState: i % 3 === 0 ? 'poweredOff' as const : 'poweredOn' as const,
    cluster: i % 2 ? 'c1' : 'c2',
    resourcePool: i % 2 ? 'Gold' : 'Silver',
    createdAt: i % 4 === 0 ? null : new Date(Date.UTC(2026, 0, 1 + i)).toISOString(),
    ipAddresses: [`10.9.${SOURCES.indexOf(source)}.${i}`],
  }));
}

test.before(async () => {
  // The database's answers and their cache: the in-memory model is off here (its answers are
  // compared with these in vm_list_model.test.ts).
  t = await createTestApp('vm_list', { listModelMaxVms: 0 });
  for (const [i, source] of SOURCES.entries()) {
    const r = await t.call('/api/v1/captures', {
      ...json(
        makeCapture({
          sourceId: source,
          at: `2026-05-10T1${i}:00:00Z`,
          vms: fleet(source, 20 + i * 3),
        }),
      ),
      token: t.tokens.agent,
    });
    assert.is(r.status, 201, await r.text());
  }
});
test.after(() => t.close());

/** One page of the VM list (asserting 200). */
const get = async (path: string, app = t): Promise<Page<VmListItem>> => {
  const res = await app.call(path, { token: t.tokens.viewer });
  assert.is(res.status, 200, path);
  return await res.json();
};

/** Every row of a list, page by page through its cursors. */
async function walk(query: string, limit: number): Promise<VmListItem[]> {
  const rows: VmListItem[] = [];
  let cursor: string | null = null;
  for (let pages = 0; pages < 100; pages++) {
    const body = await get(
      `/api/v1/vms?${query}&limit=${limit}${cursor ? `&cursor=${cursor}` : ''}`,
    );
    rows.push(...body.items);
    cursor = body.next;
    if (!cursor) return rows;
  }
  throw new Error('more than 100 pages');
}

const SORT_VALUE: Record<string, (v: VmListItem) => string | number> = {
  name: (v) => v.name.toLowerCase(),
  source: (v) => v.sourceName,
  power: (v) => v.powerState,
  vcpu: (v) => v.vcpu,
  ram: (v) => v.memoryMib,
  disk: (v) => v.provisionedDiskGib,
  created: (v) => (v.createdAt ? Date.parse(v.createdAt) : -Infinity),
  firstSeen: (v) => Date.parse(v.firstSeenAt),
};

function compare(a: string | number, b: string | number): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** What the list must return: the sort value, then source id, then key (the cursor's tie-break). */
function reference(all: VmListItem[], sort: string, order: string): string[] {
  const sign = order === 'desc' ? -1 : 1;
  return [...all]
    .sort((a, b) =>
      sign *
      (compare(SORT_VALUE[sort](a), SORT_VALUE[sort](b)) || a.sourceId - b.sourceId ||
        compare(a.key, b.key))
    )
    .map((v) => `${v.sourceId}/${v.key}`);
}

test('every sort, both directions, with and without filters, pages through exactly the reference order', async () => {
  const all = (await get('/api/v1/vms?limit=1000')).items;
  assert.is(all.length, 20 + 23 + 26);
  const filters: [string, (v: VmListItem) => boolean][] = [
    ['', () => true],
    ['cluster=c1&pool=Gold', (v) => v.cluster === 'c1' && v.resourcePool === 'Gold'],
    ['q=web', (v) => v.name.includes('web')],
    ['q=web-', (v) => v.name.includes('web-')],
    ['power=poweredOn&source=2', (v) => v.powerState === 'poweredOn' && v.sourceId === 2],
    // A short search with filters: its first page found with its total in one statement.
    ['q=ap&power=poweredOff', (v) => v.name.includes('ap') && v.powerState === 'poweredOff'],
  ];
  for (const [filter, keep] of filters) {
    const subset = all.filter(keep);
    for (const sort of Object.keys(SORT_VALUE)) {
      for (const order of ['asc', 'desc']) {
        const got = (await walk(`${filter}&sort=${sort}&order=${order}`, 7)).map((v) =>
          `${v.sourceId}/${v.key}`
        );
        assert.equal(got, reference(subset, sort, order), `${filter} sort=${sort} order=${order}`);
      }
    }
    // The total kept by the first page read (for a short search, with that page).
    assert.is((await get(`/api/v1/vms?${filter}&limit=7`)).total, subset.length, filter);
  }
});

test('a stored capture is visible at once to a node that answered the same question before', async () => {
  // A second server node: its own connection pool, so its own reused answers.
  const otherSql = createPool(t.db.url, { max: 2 });
  const other = createApp(otherSql, { maxBodyBytes: 1 << 20, sessionHours: 1, listModelMaxVms: 0 });
  const call = (path: string, init: RequestInit & { token?: string } = {}) => {
    const headers = new Headers(init.headers);
    if (init.token) headers.set('authorization', `Bearer ${init.token}`);
    return Promise.resolve(other.request(path, { ...init, headers }));
  };
  const otherNode = { ...t, call } as TestApp;
  try {
    const before = await get('/api/v1/vms?q=db&source=1&sort=vcpu', otherNode);
    assert.equal(
      await get('/api/v1/vms?q=db&source=1&sort=vcpu', otherNode),
      before,
      'asked twice: the same answer',
    );
    // A selective search's first page reads its generation in its own statement: reused too.
    const byKey = '/api/v1/vms?q=vc-m%3Ak00';
    const keyBefore = await get(byKey, otherNode);
    assert.is(keyBefore.total, 1);
    assert.equal(await get(byKey, otherNode), keyBefore, 'asked twice: the same answer');
    const vms = fleet('vc-m', 20);
    vms[0] = { ...vms[0], name: 'db-renamed', vcpu: 64 };
    const r = await t.call('/api/v1/captures', {
      ...json(makeCapture({ sourceId: 'vc-m', at: '2026-05-10T20:00:00Z', vms })),
      token: t.tokens.agent,
    });
    assert.is(r.status, 201);
    const after = await get('/api/v1/vms?q=db&source=1&sort=vcpu', otherNode);
    assert.is(after.total, before.total + 1);
    assert.is(after.items.at(-1)?.name, 'db-renamed');
    assert.is(after.items.at(-1)?.lastSeenAt, '2026-05-10T20:00:00.000Z');
    const keyAfter = await get(byKey, otherNode);
    assert.is(keyAfter.items[0].name, 'db-renamed');
    assert.is(keyAfter.items[0].vcpu, 64);

    const metrics = await (await call('/metrics', { token: t.tokens.admin })).text();
    const reused = Number(
      /vmledger_vm_list_answers_total\{served_from="cache"\} (\d+)/.exec(metrics)?.[1],
    );
    const read = Number(
      /vmledger_vm_list_answers_total\{served_from="database"\} (\d+)/.exec(metrics)?.[1],
    );
    assert.ok(reused >= 2, `reused ${reused}`);
    assert.ok(read >= 6, `read ${read}`);
  } finally {
    await otherSql.end();
  }
});

test('a short name search is planned with its value on every run; a selective one stays prepared, its generic plan reused', async () => {
  // One connection, so the statements it prepared are the ones pg_prepared_statements shows.
  const one = createPool(t.db.url, { max: 1 });
  setListModelMaxVms(one, 0);
  try {
    // Each a new answer (its own limit): read from the database, not reused.
    for (let limit = 1; limit <= 7; limit++) {
      for (const q of ['db', 'web', 'eb-']) {
        await listVmsJson(one, { q, sourceId: 2, powerState: 'poweredOff', sort: 'vcpu', limit });
      }
      await listVmsJson(one, { q: 'web-m', limit });
    }
    const prepared =
      await one`select statement, generic_plans, custom_plans from pg_prepared_statements`;
    const searches = prepared.filter((p) => p.statement.includes('ilike'));
    // The selective search's one statement (page and total) is prepared as before...
    assert.is(searches.length, 1, JSON.stringify(searches));
    assert.ok(!searches[0].statement.includes('power_state ='), searches[0].statement);

    // ...and the short one's count and page never were (no generic plan to settle on).
  } finally {
    await one.end();
  }
});

test('a selective name search reuses its generic plan where its trigrams estimate few rows', async () => {
  // Thousands of VMs with statistics (in a transaction rolled back: the other tests' estate
  // stays as it is): a fragment's trigram estimate is then a row or two, and a custom plan
  // built on it looked cheaper than the generic plan every time (planned on every call).
  const one = createPool(t.db.url, { max: 1 });
  try {
    await rolledBack(one, async (tx) => {
      await tx`
        insert into vm_inventory (source_id, vm_key, source_vm_id, name, power_state,
          is_template, vcpu, ram_mb, provisioned_disk_gb, first_seen_at, state_at,
          state_capture_id)
        select 2, 'plan-' || g, 'plan-' || g, 'plan-vm-' || lpad(g::text, 5, '0'), 'poweredOn',
          false, 2, 4096, 40, now(), now(), gen_random_uuid()
        from generate_series(1, 20000) g`;
      await tx`analyze vm_inventory`;
      for (let i = 1; i <= 8; i++) {
        await listVmsJson(tx, { q: `plan-vm-0${1000 + i}`, limit: 50 });
      }
      // (The text is a parameter: this statement's own must not match.)
      const [search, ...more] = await tx`
        select generic_plans, custom_plans from pg_prepared_statements
        where strpos(statement, ${'i.name ' + 'ilike'}) > 0`;
      // After the five custom plans PostgreSQL always tries, the generic plan is reused.
      assert.is(Number(search.custom_plans), 5, JSON.stringify([search, ...more]));
      assert.is(Number(search.generic_plans), 3, JSON.stringify(search));
      assert.is(more.length, 0, 'one statement');
    });
  } finally {
    await one.end();
  }
});

test('fleet totals and VMs per source are read again after each stored capture, also on a node that read them before', async () => {
  const otherSql = createPool(t.db.url, { max: 2 });
  const vmsBySource = async () =>
    Object.fromEntries((await listSourcesDetailed(otherSql)).map((s) => [s.externalId, s.vms]));
  try {
    const before = await fleetSummary(otherSql);
    assert.is(await fleetSummary(otherSql), before, 'asked twice: the answer reused');
    assert.equal(await vmsBySource(), { 'vc-m': 20, 'vc-a': 23, 'vc-z': 26 });
    // vc-z's next complete capture has 6 VMs fewer: they leave the live inventory.
    const r = await t.call('/api/v1/captures', {
      ...json(
        makeCapture({ sourceId: 'vc-z', at: '2026-05-10T21:00:00Z', vms: fleet('vc-z', 20) }),
      ),
      token: t.tokens.agent,
    });
    assert.is(r.status, 201);
    const after = await fleetSummary(otherSql);
    assert.is(after.vms, before.vms - 6);
    assert.equal(await vmsBySource(), { 'vc-m': 20, 'vc-a': 23, 'vc-z': 20 });
    const [direct] = await t.db.sql`
      select count(*)::int as vms, sum(vcpu)::int as vcpu,
             count(*) filter (where power_state = 'poweredOn')::int as on
      from vm_inventory where not is_template`;
    assert.equal([after.vms, after.vcpu, after.poweredOn], [direct.vms, direct.vcpu, direct.on]);
  } finally {
    await otherSql.end();
  }
});

test.run();
