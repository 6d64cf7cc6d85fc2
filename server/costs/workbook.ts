/**
 * The monthly chargeback workbook (report kind `chargeback`, period YYYY-MM): sheet Summary
 * (totals per currency, by owner and tier, by owner, by tier) and sheet Lines (one row per
 * cost line of the month's current runs: owner, VM, tier, rate-card version, days present,
 * the VM's average size that month, quantities, each cost component and total).
 *
 * Every amount is a line's rounded amount or a sum of them, read from the same snapshot,
 * so the Lines add up to the Summary and to `GET /api/v1/costs` exactly. Lines stream from
 * a cursor (1,000 a batch): a 100,000-VM month never sits in memory. Text is written as
 * text cells (XLSX) or neutralised (the CSV zip, `neutraliseFormula`), never as a formula.
 * Data access only (takes `sql`).
 */
import type { Sql } from '../db/connect.ts';
import { col, type Row } from '../reports/columns.ts';
import type { ReportWriter, SummaryBlock } from '../reports/report_writer.ts';
import { linesOf, NONE_LABEL, ownerExpr, ownerSetting } from './showback.ts';

const BATCH = 1000;

const amountCols = [
  col.dec('vcpu_cost', 'vCPU cost'),
  col.dec('ram_cost', 'RAM cost'),
  col.dec('disk_cost', 'Disk cost'),
  col.dec('vm_cost', 'VM fee'),
  col.dec('total', 'Total'),
];

/** Sheet Lines: one row per cost line. */
export const CHARGEBACK_LINES = {
  sheet: 'Lines',
  csv: 'lines',
  columns: [
    col.text('owner', 'Owner', 20),
    col.text('name', 'VM', 28),
    col.text('tier', 'Tier', 14),
    col.date('rate_from', 'Rate version from'),
    col.text('currency', 'Currency', 9),
    col.int('days', 'Days priced (d)'),
    col.dec('present_days', 'Days present (d)', 12, '#,##0.000'),
    col.dec('avg_vcpu', 'Avg vCPU (month)'),
    col.dec('avg_ram_gb', 'Avg RAM GB (month)'),
    col.dec('avg_disk_gb', 'Avg disk GB (month)'),
    col.dec('vcpu_hours', 'Powered-on vCPU-hours'),
    col.dec('ram_gb_hours', 'Powered-on RAM GB-hours'),
    col.dec('disk_gb_days', 'Disk GB-days', 14),
    ...amountCols,
    col.text('cluster', 'Cluster', 14),
    col.text('folder', 'Folder', 24),
    col.text('source', 'Source', 20),
    col.text('vm_key', 'VM key', 36),
  ],
};

const groupCols = [
  col.text('currency', 'Currency', 9),
  col.int('vms', 'VMs (count)'),
  col.int('lines', 'Lines (count)'),
  ...amountCols,
];
const BY_OWNER_TIER = {
  sheet: 'Summary',
  csv: 'summary_owner_tier',
  columns: [col.text('owner', 'Owner', 30), col.text('tier', 'Tier', 24), ...groupCols],
};
const BY_OWNER = {
  sheet: 'Summary',
  csv: 'summary_owner',
  columns: [col.text('owner', 'Owner', 30), ...groupCols],
};
const BY_TIER = {
  sheet: 'Summary',
  csv: 'summary_tier',
  columns: [col.text('tier', 'Tier', 30), ...groupCols],
};
const TOTALS = {
  sheet: 'Summary',
  csv: 'summary_totals',
  columns: [col.text('what', 'All lines', 30), ...groupCols],
};

/** Writes the workbook of `month` (YYYY-MM); returns the number of lines. */
export async function buildChargeback(
  tx: Sql,
  writer: ReportWriter,
  r: { period: string; generatedAt: Date },
): Promise<number> {
  const month = `${r.period}-01`;
  const owner = await ownerSetting(tx);
  const ownerOf = tx`coalesce(${ownerExpr(tx, owner)}, ${NONE_LABEL.owner})`;
  // Owner and tier of every line once, then the summaries from it: one pass over the lines.
  const grouped = await tx`
    with x as (
      select ${ownerOf} as owner, l.tier, l.currency, l.source_id, l.vm_key, l.vcpu_cost, l.ram_cost,
             l.disk_cost, l.vm_cost, l.total
      from ${linesOf(tx, [month], false)})
    select owner, tier, currency, grouping(owner) as g_owner, grouping(tier) as g_tier,
           count(distinct vm_key || '/' || source_id)::int as vms, count(*)::int as lines,
           sum(vcpu_cost)::text as vcpu_cost, sum(ram_cost)::text as ram_cost,
           sum(disk_cost)::text as disk_cost, sum(vm_cost)::text as vm_cost, sum(total)::text as total
    from x
    group by grouping sets ((currency, owner, tier), (currency, owner), (currency, tier), (currency))
    order by currency, owner nulls last, tier nulls last`;
  const pick = (o: boolean, t: boolean) =>
    grouped.filter((g) => (g.g_owner === 0) === o && (g.g_tier === 0) === t) as Row[];
  const totals: Row[] = pick(false, false).map((t) => ({ ...t, what: 'All' }));
  const [runs] = await tx`
    select count(*)::int as runs, coalesce(sum(line_count), 0)::int as lines
    from cost_runs where month = ${month}::date and superseded_at is null`;
  const blocks: SummaryBlock[] = [
    { title: 'Totals', spec: TOTALS, rows: totals },
    { title: 'By owner and tier', spec: BY_OWNER_TIER, rows: pick(true, true) },
    { title: 'By owner', spec: BY_OWNER, rows: pick(true, false) },
    { title: 'By tier', spec: BY_TIER, rows: pick(false, true) },
  ];
  await writer.summary({
    title: `Chargeback ${r.period}`,
    fields: [
      { label: 'Month', value: r.period, type: 'text' },
      { label: 'Generated (UTC)', value: r.generatedAt, type: 'datetime' },
      {
        label: 'Owner from',
        value: `${
          owner.ownerFrom === 'attribute' ? 'custom attribute' : 'tag category'
        } ${owner.ownerName}`,
        type: 'text',
      },
      { label: 'Cost runs (current)', value: runs.runs, type: 'int' },
      { label: 'Cost lines', value: runs.lines, type: 'int' },
      ...totals.map((t) => ({
        label: `Total (${t.currency})`,
        value: t.total,
        type: 'decimal' as const,
      })),
    ],
    blocks,
  });
  return await writer.table(CHARGEBACK_LINES, lineRows(tx, month, ownerOf));
}

/** The month's cost lines with owner, VM and its month's average size, by owner then VM. */
function lineRows(
  tx: Sql,
  month: string,
  ownerOf: ReturnType<typeof ownerExpr>,
): AsyncIterable<Row[]> {
  return tx`
    select ${ownerOf} as owner, coalesce(v.name, l.vm_key) as name, l.tier, rv.effective_from as rate_from,
           l.currency, l.days, l.present_days, m.avg_vcpu, m.avg_ram_gb, m.avg_disk_gb,
           l.vcpu_hours, l.ram_gb_hours, l.disk_gb_days, l.vcpu_cost, l.ram_cost, l.disk_cost,
           l.vm_cost, l.total, v.cluster, v.folder, s.name as source, l.vm_key
    from ${linesOf(tx, [month], false)}
    join sources s on s.id = l.source_id
    join rate_card_versions rv on rv.id = l.version_id
    left join vm_monthly_rollup m
      on m.source_id = l.source_id and m.month = l.month and m.vm_key = l.vm_key
    order by 1, 2, l.source_id, l.vm_key, l.tier, rv.effective_from`.cursor(BATCH);
}
