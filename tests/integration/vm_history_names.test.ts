/**
 * The VM list as of a moment, sorted by name, when names change: the page is walked along the
 * VMs' current names, so VMs renamed since, renamed while deleted and seen again, renamed by a
 * late capture, or differing only in case must still come in the order of their names then.
 * Checked against hand-computed orders and, at many moments, states, directions and page sizes,
 * against the same list read from every fact of the captures (a filter that matches every VM
 * takes that way).
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createTestApp, json, type TestApp } from '../support/app.ts';
import { makeCapture } from '../support/captures.ts';

const test = suite('VM list as of a moment by name: renames');
let t: TestApp;

const at = (hhmm: string) => `2026-06-01T${hhmm}:00.000Z`;
const vm = (key: string, name: string) => ({ key, name });

test.before(async () => {
  t = await createTestApp('vm_history_names');
  const steps = [
    makeCapture({
      sourceId: 'names-a',
      at: at('00:00'),
      vms: [vm('a1', 'alpha'), vm('a2', 'delta'), vm('a3', 'golf'), vm('a4', 'kilo')],
    }),
    makeCapture({
      sourceId: 'names-b',
      at: at('00:30'),
      vms: [vm('b1', 'bravo'), vm('b2', 'echo')],
    }),
    // a1 renamed; a5 created with the name b1 has in the other source.
    makeCapture({
      sourceId: 'names-a',
      at: at('01:00'),
      vms: [
        vm('a1', 'zulu'),
        vm('a2', 'delta'),
        vm('a3', 'golf'),
        vm('a4', 'kilo'),
        vm('a5', 'bravo'),
      ],
    }),
    // Incomplete: a2 left out is not deleted; a4 renamed to a name differing only in case.
    makeCapture({
      sourceId: 'names-a',
      at: at('02:00'),
      complete: false,
      vms: [vm('a1', 'zulu'), vm('a3', 'golf'), vm('a4', 'Kilo'), vm('a5', 'bravo')],
    }),
    // a3 absent from a complete capture: deleted.
    makeCapture({
      sourceId: 'names-a',
      at: at('03:00'),
      vms: [vm('a1', 'zulu'), vm('a2', 'delta'), vm('a4', 'Kilo'), vm('a5', 'bravo')],
    }),
    // b1 renamed; b2 deleted.
    makeCapture({ sourceId: 'names-b', at: at('03:30'), vms: [vm('b1', 'aardvark')] }),
    // a3 seen again under another name.
    makeCapture({
      sourceId: 'names-a',
      at: at('04:00'),
      vms: [
        vm('a1', 'zulu'),
        vm('a2', 'delta'),
        vm('a3', 'echo'),
        vm('a4', 'Kilo'),
        vm('a5', 'bravo'),
      ],
    }),
    // Late: a1 had yet another name at 01:30.
    makeCapture({
      sourceId: 'names-a',
      at: at('01:30'),
      vms: [
        vm('a1', 'yankee'),
        vm('a2', 'delta'),
        vm('a3', 'golf'),
        vm('a4', 'kilo'),
        vm('a5', 'bravo'),
      ],
    }),
  ];
  for (const body of steps) {
    const res = await t.call('/api/v1/captures', { ...json(body), token: t.tokens.agent });
    assert.is(res.status, 201, await res.text());
  }
});
test.after(() => t.close());

type Item = { key: string; name: string };
type ListBody = { items: Item[]; total: number; next: string | null };

async function list(query: string): Promise<ListBody> {
  const res = await t.call(`/api/v1/vms?${query}`, { token: t.tokens.viewer });
  assert.is(res.status, 200, await res.clone().text());
  return await res.json();
}

/** Every VM of a list as `key name`, page by page; and the total each page said. */
async function walk(query: string, limit: number): Promise<{ rows: string[]; totals: number[] }> {
  const rows: string[] = [];
  const totals: number[] = [];
  let cursor = '';
  for (let pages = 0; pages < 50; pages++) {
    const page = await list(`${query}&limit=${limit}${cursor}`);
    rows.push(...page.items.map((i) => `${i.key} ${i.name}`));
    totals.push(page.total);
    if (!page.next) return { rows, totals };
    cursor = `&cursor=${encodeURIComponent(page.next)}`;
  }
  throw new Error('more than 50 pages');
}

test('hand-computed: names then, not now', async () => {
  const names = async (time: string, order = 'asc') =>
    (await walk(`at=${at(time)}&sort=name&order=${order}`, 2)).rows;
  assert.equal(await names('00:45'), [
    'a1 alpha',
    'b1 bravo',
    'a2 delta',
    'b2 echo',
    'a3 golf',
    'a4 kilo',
  ]);
  // Same name in two sources: by source, then key. a1 by its late capture's name (01:30,
  // complete, is the newest of source a by then).
  assert.equal(await names('01:45'), [
    'a5 bravo',
    'b1 bravo',
    'a2 delta',
    'b2 echo',
    'a3 golf',
    'a4 kilo',
    'a1 yankee',
  ]);
  assert.equal(await names('03:45', 'desc'), [
    'a1 zulu',
    'a4 Kilo',
    'a2 delta',
    'a5 bravo',
    'b1 aardvark',
  ]);
  assert.equal(await names('04:00'), [
    'b1 aardvark',
    'a5 bravo',
    'a2 delta',
    'a3 echo',
    'a4 Kilo',
    'a1 zulu',
  ]);
});

test('at every moment, state, direction and page size: as the facts give it', async () => {
  const times = [
    '00:00',
    '00:45',
    '01:00',
    '01:15',
    '01:30',
    '01:45',
    '02:15',
    '03:00',
    '03:45',
    '05:00',
  ];
  let compared = 0;
  for (const time of times) {
    for (const state of ['', '&state=live', '&state=deleted']) {
      for (const order of ['asc', 'desc']) {
        const query = `at=${at(time)}&sort=name&order=${order}${state}`;
        // template=false matches every VM here, and takes the way that reads every fact.
        const all = await list(`${query}&template=false&limit=100`);
        const expected = all.items.map((i) => `${i.key} ${i.name}`);
        for (const limit of [1, 2, 5]) {
          const { rows, totals } = await walk(query, limit);
          assert.equal(rows, expected, `${query} limit ${limit}`);
          assert.ok(totals.every((n) => n === all.total), `${query} totals ${totals}`);
          compared++;
        }
      }
    }
  }
  assert.is(compared, times.length * 3 * 2 * 3);
});

test('one source as of a moment by name', async () => {
  const [source] = (await list('q=zulu')).items as unknown as { sourceId: number }[];
  const { rows, totals } = await walk(`at=${at('04:00')}&sort=name&source=${source.sourceId}`, 2);
  assert.equal(rows, ['a5 bravo', 'a2 delta', 'a3 echo', 'a4 Kilo', 'a1 zulu']);
  assert.equal(totals, [5, 5, 5]);
});

test.run();
