/**
 * Paging the capture list and the snapshot registry: rows that share a time across a page
 * boundary (every source's capture at the same minute; every source's daily rollup of the
 * same day) are each listed exactly once. Both lists once paged on the time alone and
 * skipped the rest of a tie.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { makeCapture } from '../support/captures.ts';
import { createTestApp, json, type TestApp } from '../support/app.ts';

const test = suite('history paging: ties across a page boundary');
let t: TestApp;
const AT = '2026-11-02T10:00:00Z';
const SOURCES = ['vc-a', 'vc-b', 'vc-c', 'vc-d', 'vc-e'];

test.before(async () => {
  t = await createTestApp('history_paging');
  for (const sourceId of SOURCES) {
    const capture = makeCapture({ sourceId, at: AT, vms: [{ key: `${sourceId}-1`, name: 'vm' }] });
    const res = await t.call('/api/v1/captures', { ...json(capture), token: t.tokens.admin });
    assert.is(res.status, 201, await res.clone().text());
  }
  // Every source's daily rollup of one day: the registry rows share period_start.
  await t.db.sql`
    insert into snapshot_registry (kind, source_id, period_start, period_end, row_count, complete)
    select 'daily', id, '2026-11-02', '2026-11-03', 1, true from sources`;
});
test.after(() => t.close());

/** Every item of a list, following `next` with pages of `limit`. */
async function everyItem<T>(path: string, limit: number): Promise<T[]> {
  const items: T[] = [];
  let cursor: string | null = null;
  do {
    const q = `${path}${path.includes('?') ? '&' : '?'}limit=${limit}` +
      (cursor ? `&cursor=${encodeURIComponent(cursor)}` : '');
    const res = await t.call(q, { token: t.tokens.viewer });
    assert.is(res.status, 200);
    const page = await res.json() as { items: T[]; next: string | null };
    items.push(...page.items);
    cursor = page.next;
  } while (cursor);
  return items;
}

test('captures at the same time: each listed once, pages of 2', async () => {
  const items = await everyItem<{ captureId: string }>('/api/v1/captures', 2);
  assert.is(items.length, SOURCES.length);
  assert.is(new Set(items.map((i) => i.captureId)).size, SOURCES.length);
});

test('registry entries of the same period: each listed once, pages of 2 and of 3', async () => {
  for (const limit of [2, 3]) {
    const items = await everyItem<{ kind: string; sourceId: number }>(
      '/api/v1/snapshots?kind=daily',
      limit,
    );
    assert.is(items.length, SOURCES.length);
    assert.is(new Set(items.map((i) => i.sourceId)).size, SOURCES.length);
  }
});

test('a hand-made cursor is refused with 400, not a database error', async () => {
  for (const path of ['/api/v1/captures', '/api/v1/snapshots']) {
    const bad = Buffer.from(JSON.stringify({ t: 'soon', id: 'x' })).toString('base64url');
    const res = await t.call(`${path}?cursor=${bad}`, { token: t.tokens.viewer });
    assert.is(res.status, 400);
    assert.is((await res.json()).error.code, 'invalid_query');
  }
});

test.run();
