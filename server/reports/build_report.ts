/**
 * What each report kind contains, in sheet order:
 *   daily     Summary, VMs (vm_daily_rollup), Pools
 *   monthly   Summary, VMs (vm_monthly_rollup), Daily Totals, Pools
 *   inventory Summary, vInfo, vHost and vDatastore (when captured), vSource
 * Reads through `tx`, one read-only snapshot, so the Summary and the tables agree.
 */
import type { Sql } from '../db/connect.ts';
import {
  capturedExtras,
  vDatastoreRows,
  vHostRows,
  vInfoRows,
  vSourceRows,
} from './inventory_rows.ts';
import {
  DAILY_TOTALS,
  DAILY_VMS,
  MONTHLY_VMS,
  POOLS,
  SUMMARY_INCOMPLETE,
  V_DATASTORE,
  V_HOST,
  V_INFO,
  V_SOURCE,
} from './layouts.ts';
import { periodDay, type ReportKind } from './period.ts';
import type { ReportWriter, Summary } from './report_writer.ts';
import { dailyTotalRows, poolRows, vmRollupRows } from './rollup_rows.ts';
import { incompleteCaptures, rollupSummary } from './summary_data.ts';

export type BuildRequest = { kind: ReportKind; period: string; tz: string; generatedAt: Date };

/** Writes the report's tables to `writer`; returns the row count of its main table. */
export async function buildReport(tx: Sql, writer: ReportWriter, r: BuildRequest): Promise<number> {
  if (r.kind === 'inventory') return buildInventory(tx, writer, r);
  const day = periodDay(r.kind, r.period);
  await writer.summary(
    await rollupSummary(tx, {
      kind: r.kind,
      period: r.period,
      day,
      tz: r.tz,
      generatedAt: r.generatedAt,
    }),
  );
  const rows = await writer.table(
    r.kind === 'daily' ? DAILY_VMS : MONTHLY_VMS,
    vmRollupRows(tx, r.kind, day),
  );
  if (r.kind === 'monthly') await writer.table(DAILY_TOTALS, dailyTotalRows(tx, day));
  await writer.table(POOLS, poolRows(tx, r.kind, day));
  return rows;
}

async function buildInventory(tx: Sql, writer: ReportWriter, r: BuildRequest): Promise<number> {
  const sources = await vSourceRows(tx);
  const extras = await capturedExtras(tx);
  const since = new Date(r.generatedAt.getTime() - 86400_000);
  const incomplete = await incompleteCaptures(tx, since, r.generatedAt);
  const sum = (k: string) => sources.reduce((a, s) => a + Number(s[k] ?? 0), 0);
  const times = sources.map((s) => s.last_capture_at).filter((d): d is Date => d instanceof Date)
    .map((d) => d.getTime());
  const summary: Summary = {
    title: `vmledger inventory — ${r.period}`,
    fields: [
      { label: 'Report', value: 'Inventory (current state, RVTools-style sheets)', type: 'text' },
      { label: 'As of (UTC)', value: r.generatedAt, type: 'datetime' },
      { label: 'Generated at (UTC)', value: r.generatedAt, type: 'datetime' },
      { label: 'Sources', value: sources.length, type: 'int' },
      { label: 'VMs (templates excluded)', value: sum('vms'), type: 'int' },
      { label: 'Powered on', value: sum('powered_on'), type: 'int' },
      { label: 'Templates', value: sum('templates'), type: 'int' },
      { label: 'vCPUs', value: sum('vcpu'), type: 'int' },
      { label: 'RAM (GB)', value: sum('ram_gb'), type: 'decimal' },
      { label: 'Provisioned disk (GB)', value: sum('provisioned_disk_gb'), type: 'decimal' },
      { label: 'Hosts', value: extras.hosts, type: 'int' },
      { label: 'Datastores', value: extras.datastores, type: 'int' },
      {
        label: 'Latest capture, any source (UTC)',
        value: times.length ? new Date(Math.max(...times)) : null,
        type: 'datetime',
      },
      {
        label: 'Least recent latest capture of a source (UTC)',
        value: times.length ? new Date(Math.min(...times)) : null,
        type: 'datetime',
      },
      {
        label: 'Sources whose latest capture was incomplete',
        value: sources.filter((s) => s.last_capture_complete === false).map((s) => s.source).join(
          ', ',
        ) || 'none',
        type: 'text',
      },
      { label: 'Incomplete captures in the last 24 hours', value: incomplete.total, type: 'int' },
    ],
    blocks: [{
      title: 'Incomplete captures (last 24 hours)',
      spec: SUMMARY_INCOMPLETE,
      rows: incomplete.rows,
    }],
  };
  await writer.summary(summary);
  const rows = await writer.table(V_INFO, vInfoRows(tx));
  if (extras.hosts > 0) await writer.table(V_HOST, vHostRows(tx));
  if (extras.datastores > 0) await writer.table(V_DATASTORE, vDatastoreRows(tx));
  await writer.table(
    V_SOURCE,
    (async function* () {
      yield sources;
    })(),
  );
  return rows;
}
