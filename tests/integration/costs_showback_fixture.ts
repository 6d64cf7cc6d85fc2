/**
 * A small hand-built estate for the showback suites, through the real parts: captures posted
 * to the API (ingest), daily and monthly aggregation, rates set through the API, and
 * February and March 2026 costed through POST /cost-runs (SQL engine for February, the
 * TypeScript one for March).
 *
 * Source vc-show: alpha (Gold, c1, folder Prod/Web, Owner=team-a, tag web) and bravo
 * (Silver-1, c2, Owner=team-b) both months; from March: charlie (Lab → unassigned, c1,
 * folder Prod/Web, tag "<b>lab</b>", no owner) and a VM named like a formula (Gold, c2,
 * Owner "=cmd|x", tags web and db; vSphere tag Team:ops). Source vc-two: echo (Gold, no
 * cluster, no tags) both months. Captures at 12:00 on Feb 1–2 and Mar 1–3. Tags travel as a
 * real agent sends them: the inventory's text tags and, in the configuration, the custom
 * attributes (name=value) and uncategorized (Proxmox-style) labels they come from.
 */
import * as assert from 'uvu/assert';
import { runAggregation } from '../../server/aggregate/run.ts';
import { json, type TestApp } from '../support/app.ts';
import { makeCapture } from '../support/captures.ts';

export const MONTH = '2026-03';
export const PREV = '2026-02';
export const FORMULA_NAME = '=HYPERLINK("http://x","y")';
const FEB = ['2026-02-01', '2026-02-02'];
const MAR = ['2026-03-01', '2026-03-02', '2026-03-03'];

type VmSpec = Parameters<typeof makeCapture>[0]['vms'][number];

function vmsOf(source: 'vc-show' | 'vc-two', day: string): VmSpec[] {
  if (source === 'vc-two') {
    return [{
      key: 'echo',
      name: 'echo',
      resourcePool: 'Gold',
      cluster: null,
      vcpu: 1,
      memoryMib: 1024,
      provisionedDiskGib: 10,
    }];
  }
  const vms: VmSpec[] = [
    {
      key: 'alpha',
      name: 'alpha',
      resourcePool: 'Gold',
      cluster: 'c1',
      folder: 'Prod/Web',
      tags: ['Owner=team-a', 'web'],
      attributes: [{ name: 'Owner', value: 'team-a' }],
      labels: [{ category: null, name: 'web' }],
      vcpu: 2,
      memoryMib: 4096,
      provisionedDiskGib: 40,
    },
    {
      key: 'bravo',
      name: 'bravo',
      resourcePool: 'Silver-1',
      cluster: 'c2',
      tags: ['Owner=team-b'],
      attributes: [{ name: 'Owner', value: 'team-b' }],
      vcpu: 4,
      memoryMib: 8192,
      provisionedDiskGib: 100,
      powerState: day === '2026-03-02' ? 'poweredOff' : 'poweredOn',
    },
  ];
  if (day >= '2026-03-01') {
    vms.push(
      {
        key: 'charlie',
        name: 'charlie',
        resourcePool: 'Lab',
        cluster: 'c1',
        folder: 'Prod/Web',
        tags: ['<b>lab</b>'],
        labels: [{ category: null, name: '<b>lab</b>' }],
        vcpu: 1,
        memoryMib: 2048,
        provisionedDiskGib: 25,
      },
      {
        key: 'delta',
        name: FORMULA_NAME,
        resourcePool: 'Gold',
        cluster: 'c2',
        tags: ['Owner==cmd|x', 'web', 'db'],
        attributes: [{ name: 'Owner', value: '=cmd|x' }],
        labels: [
          { category: 'Team', name: 'ops' },
          { category: null, name: 'web' },
          { category: null, name: 'db' },
        ],
        vcpu: 8,
        memoryMib: 16384,
        provisionedDiskGib: 200,
      },
    );
  }
  return vms;
}

export type Seeded = {
  show: number;
  two: number;
  admin: (path: string, body: unknown, method?: string) => Promise<Response>;
};

export async function seedShowback(t: TestApp): Promise<Seeded> {
  for (const day of [...FEB, ...MAR]) {
    for (const source of ['vc-show', 'vc-two'] as const) {
      const body = makeCapture({
        sourceId: source,
        at: `${day}T12:00:00Z`,
        vms: vmsOf(source, day),
      });
      const res = await t.call('/api/v1/captures', { ...json(body), token: t.tokens.agent });
      assert.equal(res.status, 201, `capture stored: ${await res.clone().text()}`);
    }
  }
  const ids = new Map(
    (await t.db.sql`select id, name from sources`).map((r) => [r.name as string, r.id as number]),
  );
  for (const sourceId of ids.values()) {
    for (const day of [...FEB, ...MAR]) {
      await runAggregation(t.db.sql, 'sql', { kind: 'daily', sourceId, period: day, tz: 'UTC' });
    }
    for (const m of [PREV, MONTH]) {
      await runAggregation(t.db.sql, 'sql', {
        kind: 'monthly',
        sourceId,
        period: `${m}-01`,
        tz: 'UTC',
      });
    }
  }
  const admin = (path: string, body: unknown, method = 'POST') =>
    t.call(`/api/v1${path}`, { ...json(body), method, token: t.tokens.admin });
  const ok = async (res: Promise<Response>) => {
    const r = await res;
    assert.ok(r.status < 300, `${r.status}: ${await r.clone().text()}`);
    return await r.json();
  };
  await ok(admin('/cost-tiers', { name: 'Gold', position: 1 }));
  await ok(admin('/cost-tiers', { name: 'Silver', position: 2 }));
  await ok(admin('/tier-rules', { position: 1, match: 'exact', pattern: 'Gold', tier: 'Gold' }));
  await ok(
    admin('/tier-rules', { position: 2, match: 'prefix', pattern: 'Silver', tier: 'Silver' }),
  );
  const card = await ok(admin('/rate-cards', { name: 'Std', currency: 'EUR', isDefault: true }));
  await ok(admin(`/rate-cards/${card.id}/versions`, {
    effectiveFrom: '2026-01-01',
    vcpuHour: '0.01',
    ramGbHour: '0.005',
    diskGbMonth: '0.10',
    vmMonth: '3.00',
    tiers: [{ tier: 'Gold', multiplier: '2' }, { tier: 'Silver', multiplier: '1.5' }],
  }));
  for (const [month, engine] of [[PREV, 'sql'], [MONTH, 'ts']] as const) {
    for (const sourceId of ids.values()) {
      await ok(admin('/cost-runs', { sourceId, month, engine }));
    }
  }
  return { show: ids.get('vc-show')!, two: ids.get('vc-two')!, admin };
}

/** A VM's total of a month in cents (current runs), from the lines in the database. */
export async function vmTotals(t: TestApp, month: string): Promise<Map<string, bigint>> {
  const rows = await t.db.sql`
    select l.vm_key, sum(l.total)::text as total
    from cost_runs r join vm_cost_lines l on l.run_id = r.id
    where r.month = ${`${month}-01`}::date and r.superseded_at is null
    group by l.vm_key`;
  return new Map(rows.map((r) => [r.vm_key as string, cents(r.total)]));
}

/** "12.34" → 1234n (amounts have two decimals). */
export function cents(v: string | number): bigint {
  const s = typeof v === 'number' ? v.toFixed(2) : v;
  const neg = s.startsWith('-');
  const [i, f = ''] = (neg ? s.slice(1) : s).split('.');
  const c = BigInt(i) * 100n + BigInt((f + '00').slice(0, 2));
  return neg ? -c : c;
}
