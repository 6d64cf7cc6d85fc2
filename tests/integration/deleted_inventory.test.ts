/**
 * A deleted VM's row carries its lifecycle's last sighting, deletion time and how the deletion
 * was known (migration 0071), which the deleted list reads instead of the lifecycle. Through
 * the real ingest, after every capture of a history with a deletion by event, one by absence,
 * an incomplete capture, a reappearance, a deletion event refining an absence and late
 * captures that move a deleted VM's last sighting (replacing its row, or not), every stored
 * copy must equal vm_lifecycle's, and so must the list's answer.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createTestApp, json, type TestApp } from '../support/app.ts';
import { makeCapture } from '../support/captures.ts';

const test = suite('deleted VMs carry their lifecycle');
let t: TestApp;

const SRC = 'gone';
const at = (hhmm: string) => `2026-05-01T${hhmm}:00.000Z`;
const vms = (...keys: string[]) => keys.map((key) => ({ key }));
const deletedEvent = (key: string, time: string) => ({
  type: 'deleted' as const,
  at: at(time),
  vmKey: key,
  sourceVmId: key,
  vmName: `vm-${key}`,
  detail: null,
});

test.before(async () => {
  t = await createTestApp('deleted_inventory');
});
test.after(() => t.close());

type Stored = { vm_key: string; last_seen_at: string; deleted_at: string; deleted_from: string };

/** The deleted rows' stored copies and their lifecycle's values, by key. */
async function storedAndLifecycle(): Promise<{ stored: Stored[]; lifecycle: Stored[] }> {
  const iso = (c: string) => `to_char(${c} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;
  // As a plain array (a result carries its statement's details too).
  const read = async (table: string) => [
    ...await t.db.sql.unsafe<Stored[]>(
      `select d.vm_key, ${iso('x.last_seen_at')} as last_seen_at,
         ${iso('x.deleted_at')} as deleted_at, x.deleted_from
       from vm_inventory_deleted d
       left join ${table} x on x.source_id = d.source_id and x.vm_key = d.vm_key
       order by d.vm_key`,
    ),
  ];
  return {
    stored: await read('vm_inventory_deleted'),
    lifecycle: await read('vm_lifecycle'),
  };
}

/** Stores a capture through the API, then checks every deleted row and the list against the lifecycle. */
async function store(body: ReturnType<typeof makeCapture>): Promise<Stored[]> {
  const res = await t.call('/api/v1/captures', { ...json(body), token: t.tokens.agent });
  assert.is(res.status, 201, await res.text());
  const { stored, lifecycle } = await storedAndLifecycle();
  assert.equal(stored, lifecycle, `stored copies after the capture at ${body.capturedAt}`);
  for (const row of lifecycle) {
    assert.ok(row.deleted_at, `${row.vm_key} is deleted in its lifecycle (${body.capturedAt})`);
  }
  const list = await t.call('/api/v1/vms?state=deleted&limit=1000', { token: t.tokens.viewer });
  assert.is(list.status, 200);
  const items = ((await list.json()) as { items: Record<string, string>[] }).items
    .map((i) => ({
      vm_key: i.key,
      last_seen_at: i.lastSeenAt,
      deleted_at: i.deletedAt,
      deleted_from: i.deletedFrom,
    }))
    .sort((a, b) => a.vm_key < b.vm_key ? -1 : 1);
  assert.equal(items, lifecycle, `the deleted list after the capture at ${body.capturedAt}`);
  return lifecycle;
}

const byKey = (rows: Stored[]) => Object.fromEntries(rows.map((r) => [r.vm_key, r]));

test('deletion by event, by absence, reappearance, a refining event and late captures', async () => {
  await store(makeCapture({ sourceId: SRC, at: at('00:00'), vms: vms('a', 'b', 'c', 'd', 'e') }));
  // d deleted by its event at 00:30, e by absence at 01:00.
  let rows = byKey(
    await store(makeCapture({
      sourceId: SRC,
      at: at('01:00'),
      vms: vms('a', 'b', 'c'),
      events: [deletedEvent('d', '00:30')],
    })),
  );
  assert.equal(rows.d, {
    vm_key: 'd',
    last_seen_at: at('00:00'),
    deleted_at: at('00:30'),
    deleted_from: 'event',
  });
  assert.equal(rows.e, {
    vm_key: 'e',
    last_seen_at: at('00:00'),
    deleted_at: at('01:00'),
    deleted_from: 'absence',
  });
  // Incomplete: c left out is not deleted.
  rows = byKey(
    await store(
      makeCapture({ sourceId: SRC, at: at('02:00'), complete: false, vms: vms('a', 'b') }),
    ),
  );
  assert.equal(Object.keys(rows).sort(), ['d', 'e']);
  // c deleted by absence; e seen again leaves the deleted rows.
  rows = byKey(
    await store(makeCapture({ sourceId: SRC, at: at('03:00'), vms: vms('a', 'b', 'e') })),
  );
  assert.equal(Object.keys(rows).sort(), ['c', 'd']);
  assert.equal(rows.c, {
    vm_key: 'c',
    last_seen_at: at('01:00'),
    deleted_at: at('03:00'),
    deleted_from: 'absence',
  });
  // c's deletion event arrives later: it refines the absence.
  rows = byKey(
    await store(makeCapture({
      sourceId: SRC,
      at: at('04:00'),
      vms: vms('a', 'b', 'e'),
      events: [deletedEvent('c', '02:30')],
    })),
  );
  assert.equal(rows.c.deleted_at, at('02:30'));
  assert.equal(rows.c.deleted_from, 'event');
  // Late at 01:30: c seen then (its last sighting moves, its row is replaced by that state),
  // and f, seen only then, deleted by the next complete capture (03:00).
  rows = byKey(
    await store(makeCapture({ sourceId: SRC, at: at('01:30'), vms: vms('a', 'b', 'c', 'f') })),
  );
  assert.equal(rows.c, {
    vm_key: 'c',
    last_seen_at: at('01:30'),
    deleted_at: at('02:30'),
    deleted_from: 'event',
  });
  assert.equal(rows.f, {
    vm_key: 'f',
    last_seen_at: at('01:30'),
    deleted_at: at('03:00'),
    deleted_from: 'absence',
  });
  // Late at 00:15, before d's deletion event: d's last sighting moves.
  rows = byKey(
    await store(makeCapture({ sourceId: SRC, at: at('00:15'), vms: vms('a', 'b', 'c', 'd', 'e') })),
  );
  assert.equal(rows.d, {
    vm_key: 'd',
    last_seen_at: at('00:15'),
    deleted_at: at('00:30'),
    deleted_from: 'event',
  });
  const [{ state_at }] = await t.db.sql`
    select state_at from vm_inventory_deleted where vm_key = 'c'`;
  assert.is((state_at as Date).toISOString(), at('01:30'), "c's row is its late state");
});

test('a late capture moves the last sighting of a VM another capture deleted', async () => {
  const src = 'gone-late';
  await store(makeCapture({ sourceId: src, at: at('00:00'), vms: vms('x', 'y') }));
  // 02:00 deletes x; 01:00, complete too, arrives after it and changes nothing for x.
  await store(makeCapture({ sourceId: src, at: at('02:00'), vms: vms('y') }));
  await store(makeCapture({ sourceId: src, at: at('01:00'), vms: vms('y') }));
  // Late at 00:30, x seen: its next complete capture (01:00) is not the one that deleted it,
  // so its row keeps its state, but its last sighting moves.
  const rows = byKey(
    await store(makeCapture({ sourceId: src, at: at('00:30'), vms: vms('x', 'y') })),
  );
  assert.equal(rows.x, {
    vm_key: 'x',
    last_seen_at: at('00:30'),
    deleted_at: at('02:00'),
    deleted_from: 'absence',
  });
});

test.run();
