/**
 * Only the layout our agent writes is read in parts (server/ingest/capture_text.ts): VMs
 * that begin with `key`, the VM array followed by hosts, datastores and events. The same
 * captures in other layouts, as another producer may write them, are parsed whole, or
 * refused halfway through the parts and then parsed whole, and must be stored exactly as
 * the agent's: each layout posts the same history to a source of its own, and every
 * table ingest writes is compared with the agent layout's source. (Which way each layout
 * is read: tests/unit/capture_text.test.ts.)
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { Capture } from '../../agent/capture/schema.ts';
import { demoCapture } from '../../agent/collectors/demo/fleet.ts';
import { createTestApp, type TestApp } from '../support/app.ts';

const test = suite('ingest: captures in other layouts are stored as the agent layout');
let t: TestApp;

test.before(async () => {
  t = await createTestApp('ingest_layouts');
});
test.after(() => t.close());

type Json = Record<string, unknown>;
/** `o` with its keys in the order of `keys`. */
const inOrder = (o: Json, keys: string[]): Json => Object.fromEntries(keys.map((k) => [k, o[k]]));
const TOP = Object.keys(Capture.shape);
const VMS = TOP.indexOf('vms');

/** Each layout rewrites a capture as older agents write it (JSON.stringify: the schema's order). */
const LAYOUTS: Record<string, (c: Json) => Json> = {
  agent: (c) => c,
  keyLast: (c) => ({
    ...c,
    vms: (c.vms as Json[]).map((vm) => inOrder(vm, [...Object.keys(vm).slice(1), 'key'])),
  }),
  eventsAfterVms: (c) =>
    inOrder(c, [...TOP.slice(0, VMS + 1), 'events', 'hosts', 'datastores', ...TOP.slice(VMS + 4)]),
  // Our agents' layout now (agent/capture/capture_text.ts): read as it arrives.
  vmsLast: (c) => inOrder(c, [...TOP.filter((k) => k !== 'vms'), 'vms']),
  // Read as it arrives until the text turns out to go on after the VMs: rolled back, whole.
  vmsLastThenAKey: (c) => ({
    ...inOrder(c, [...TOP.filter((k) => k !== 'vms'), 'vms']),
    producer: [{ key: 'a' }],
  }),
  errorsAfterVms: (c) =>
    inOrder(c, [
      ...TOP.slice(0, VMS).filter((k) => k !== 'errors'),
      'vms',
      'errors',
      ...TOP.slice(VMS + 1),
    ]),
  // Read in parts until the VM array turns out to end elsewhere: rolled back, parsed whole.
  unknownKeyAfterVms: (c) =>
    inOrder({ ...c, producer: [{ key: 'a' }, { key: 'b' }] }, [
      ...TOP.slice(0, VMS + 1),
      'producer',
      ...TOP.slice(VMS + 1),
    ]),
};

function captureAt(hour: number, layout: string): string {
  const at = new Date(Date.UTC(2026, 4, 1, hour));
  const c = JSON.parse(JSON.stringify(Capture.parse(demoCapture({
    flavor: 'vcenter',
    seed: 13,
    totalVms: 200,
    at,
    since: hour === 0 ? null : new Date(at.getTime() - 3600_000),
  }))));
  c.source = { ...c.source, id: layout, name: layout };
  c.complete = hour !== 1;
  c.errors = c.complete ? [] : ['hosts: timed out'];
  return JSON.stringify(LAYOUTS[layout](c));
}

/** A source's rows of every table ingest writes as JSON, without the columns that name the source or a capture. */
async function rows(source: string): Promise<Record<string, string[]>> {
  const of = async (table: string, order: string) =>
    (await t.db.sql.unsafe(
      `select x.* from ${table} x join sources s on s.id = x.source_id
       where s.external_id = $1 order by ${order}`,
      [source],
    )).map((row) =>
      JSON.stringify(row, (key, value) => /^source_id$|capture_id$/.test(key) ? undefined : value)
    );
  return {
    facts: await of('vm_hourly_stats', 'x.vm_key, x.snapshot_time'),
    lifecycle: await of('vm_lifecycle', 'x.vm_key'),
    inventory: await of('vm_inventory', 'x.vm_key'),
    deleted: await of('vm_inventory_deleted', 'x.vm_key'),
    events: await of('vm_events', 'x.at, x.type, x.vm_key, x.source_vm_id'),
    totals: await of('source_totals', 'x.captured_at'),
    hosts: await of('host_inventory', 'x.host_key'),
    datastores: await of('datastore_inventory', 'x.datastore_key'),
    vmConfig: await of('vm_config_history', 'x.vm_key, x.valid_from'),
    siteObjects: await of('site_object_history', 'x.kind, x.object_key, x.valid_from'),
  };
}

test('every layout stores a history exactly as the agent layout does', async () => {
  // Hour 1 is incomplete, hour 2 complete again; hour 3 arrives late, after hour 4.
  for (const hour of [0, 1, 2, 4, 3]) {
    for (const layout of Object.keys(LAYOUTS)) {
      const text = captureAt(hour, layout);
      const res = await t.call('/api/v1/captures', {
        method: 'POST',
        body: text,
        token: t.tokens.agent,
        headers: { 'content-type': 'application/json' },
      });
      assert.is(res.status, 201, `${layout} at hour ${hour}: ${await res.text()}`);
    }
    const reference = await rows('agent');
    assert.ok(reference.facts.length > 100);
    for (const layout of Object.keys(LAYOUTS).slice(1)) {
      const other = await rows(layout);
      for (const table of Object.keys(reference)) {
        const at = reference[table].findIndex((row, i) => other[table][i] !== row);
        assert.is(
          other[table].length,
          reference[table].length,
          `${layout}: ${table} after hour ${hour}`,
        );
        assert.is(other[table][at], reference[table][at], `${layout}: ${table} after hour ${hour}`);
      }
    }
  }
});

test.run();
