/**
 * The Database page (admin; issue 24): whether pg_stat_statements can be read (and what to
 * run when not), the cache hit ratio, the top statements by a chosen order with their trend,
 * the largest tables with a bloat estimate, unused indexes; the rules' findings arrive after
 * the first paint (HTMX, /database/findings). A statement's page shows its plan on demand as
 * a tree with chips.
 */
import { markup } from '../markup.ts';
import {
  badge,
  type Content,
  empty,
  kpi,
  pageHead,
  segmented,
  table,
  type Tone,
} from '../components.ts';
import { page, type Viewer } from '../layout.ts';

export type DbStatus = {
  ready: boolean;
  hypopg: boolean;
  role: boolean;
  serverVersion: number;
  database: string;
  missing: string[];
  run: string[];
};
export type DbTrend = {
  since: string;
  until: string | null;
  calls: number;
  totalMs: number;
  meanMs: number | null;
  rows: number;
  sharedBlksRead: number;
};
export type DbSnapshot = { id: string; takenAt: string; statements: number };
export type DbWindow = { from: DbSnapshot; to: DbSnapshot | null; resetBetween: boolean };
export type DbStatement = {
  id: string;
  query: string;
  module: string | null;
  calls: number;
  totalMs: number;
  meanMs: number;
  rows: number;
  sharedBlksRead: number;
  trend: DbTrend | null;
};
export type DbTable = {
  name: string;
  liveRows: number;
  tableBytes: number;
  indexBytes: number;
  bloatBytes: number;
  seqScans: number;
  seqRowsRead: number;
  indexScans: number;
};
export type DbIndex = {
  name: string;
  table: string;
  bytes: number;
  scans: number;
  unique: boolean;
  constraint: boolean;
};
export type DbFinding = {
  rule: string;
  title: string;
  ddl: string | null;
  rationale: string;
  confidence: 'high' | 'medium' | 'low';
  statementId: string | null;
  estimate: { before: number; after: number } | null;
  estimateNote: string | null;
};
export type DbParameter = {
  n: number;
  type: string;
  value: string | null;
  column: string | null;
  source: string | null;
};
const SOURCE: Record<string, string> = {
  most_common_value: 'most common value',
  histogram: 'histogram bound',
  table_row: 'a row of the table',
  limit: 'a small limit',
  offset: 'no offset',
};

/** Which value each `$n` was given, and where it came from. */
function parametersList(ps: DbParameter[], refused: string | null) {
  if (!ps.length) return markup`<p class="muted small">No parameters.</p>`;
  return markup`<ul class="small" id="db-parameters">${
    ps.map((p) =>
      markup`<li><code class="mono">$${String(p.n)}</code> ${p.type} = ${
        p.value === null
          ? markup`<code class="mono">null</code>`
          : markup`<code class="mono">${p.value}</code>`
      } <span class="muted">(${
        p.value === null
          ? 'unknown'
          : `${p.column ? `${p.column}, ` : ''}${SOURCE[p.source ?? ''] ?? p.source}`
      })</span></li>`
    )
  }</ul>${
    refused
      ? markup`<p class="muted small">Samples refused by the parameters' types (${refused}): explained with nulls.</p>`
      : ''
  }`;
}

export type DbChip = { kind: string; text: string };
export type DbPlanNode = {
  node: string;
  relation: string | null;
  detail: string | null;
  estimatedRows: number;
  actualRows: number | null;
  cost: number;
  chips: DbChip[];
  children: DbPlanNode[];
};

const ORDERS: [string, string][] = [
  ['total', 'Total time'],
  ['mean', 'Mean time'],
  ['calls', 'Calls'],
  ['rows', 'Rows'],
  ['reads', 'Buffer reads'],
];

function bytes(n: number): string {
  if (n >= 1 << 30) return `${(n / (1 << 30)).toFixed(1)} GiB`;
  if (n >= 1 << 20) return `${(n / (1 << 20)).toFixed(1)} MiB`;
  return `${Math.round(n / 1024)} KiB`;
}
const num = (n: number) => Math.round(n).toLocaleString('en-US');
const ms = (n: number) => (n >= 1000 ? `${(n / 1000).toFixed(1)} s` : `${n.toFixed(1)} ms`);
const pct = (n: number | null) => (n === null ? '–' : `${(n * 100).toFixed(1)} %`);

/** What is missing and exactly what to run. */
function statusNotice(s: DbStatus) {
  if (s.ready && s.role) return '';
  return markup`<div class="notice${s.ready ? '' : ' danger'}" role="status" id="db-status">
<p><strong>${
    s.ready
      ? 'Statistics are read as the connection\u2019s own user.'
      : 'pg_stat_statements is not available on this database.'
  }</strong> ${s.missing.join('; ')}</p>
<p>Run, as a superuser:</p><pre class="mono">${s.run.join('\n')}</pre></div>`;
}

function trendCell(t: DbTrend | null, full: boolean) {
  if (!t) return markup`<span class="muted">–</span>`;
  const mean = t.meanMs === null ? '–' : ms(t.meanMs);
  return markup`<span title="${t.since} → ${t.until ?? 'now'}">${
    full
      ? `${num(t.calls)} calls · ${ms(t.totalMs)} total · ${mean} mean · ${num(t.rows)} rows · ${
        num(t.sharedBlksRead)
      } reads`
      : `${num(t.calls)} calls, ${mean} mean`
  }</span>`;
}

/** A snapshot's time as the pickers show it (UTC, to the minute). */
const when = (iso: string) => `${iso.slice(0, 16).replace('T', ' ')} UTC`;

export function statementsTable(rows: DbStatement[], window: DbWindow | null = null) {
  if (!rows.length) {
    return empty(
      window ? 'No statement was called between these snapshots' : 'No statements recorded yet',
    );
  }
  return table(
    'Top statements',
    markup`<th scope="col">Statement</th><th scope="col">Module</th><th scope="col" class="num">Calls</th><th scope="col" class="num">Total</th><th scope="col" class="num">Mean</th><th scope="col" class="num">Rows</th><th scope="col" class="num">Reads</th><th scope="col">${
      window
        ? `Change ${when(window.from.takenAt)} → ${window.to ? when(window.to.takenAt) : 'now'}`
        : 'Since snapshot'
    }</th>`,
    markup`${
      rows.map((s) =>
        markup`<tr><td><a class="mono" href="/database/statements/${s.id}">${
          s.query.replace(/\s+/g, ' ').slice(0, 120)
        }</a></td><td>${s.module ?? markup`<span class="muted">–</span>`}</td><td class="num">${
          num(s.calls)
        }</td><td class="num">${ms(s.totalMs)}</td><td class="num">${
          ms(s.meanMs)
        }</td><td class="num">${num(s.rows)}</td><td class="num">${num(s.sharedBlksRead)}</td><td>${
          trendCell(s.trend, !!window)
        }</td></tr>`
      )
    }`,
    { id: 'db-statements' },
  );
}

const TONE: Record<DbFinding['confidence'], Tone> = { high: 'bad', medium: 'warn', low: 'neutral' };

/** The rules' findings (the partial HTMX loads after the first paint). */
export function findingsPartial(
  f: { items: DbFinding[]; ms: number; statementsScanned: number; statementsExplained: number },
) {
  return markup`<section id="db-findings" aria-live="polite"><p class="muted small">${f.items.length} findings from ${f.statementsExplained} of ${f.statementsScanned} statements explained, in ${
    ms(f.ms)
  }.</p>${
    f.items.length
      ? table(
        'Findings',
        markup`<th scope="col">Confidence</th><th scope="col">Finding</th><th scope="col">DDL</th><th scope="col">Planner cost before → after</th>`,
        markup`${
          f.items.map((i) =>
            markup`<tr><td>${
              badge(TONE[i.confidence], i.confidence)
            }</td><td><strong>${i.title}</strong><br><span class="small">${i.rationale}</span>${
              i.statementId
                ? markup` <a class="small" href="/database/statements/${i.statementId}">statement</a>`
                : ''
            }</td><td>${i.ddl ? markup`<code class="mono">${i.ddl}</code>` : '–'}</td><td>${
              i.estimate
                ? `${i.estimate.before.toFixed(0)} → ${i.estimate.after.toFixed(0)}`
                : markup`<span class="muted small">${i.estimateNote ?? '–'}</span>`
            }</td></tr>`
          )
        }`,
        { id: 'db-findings-table' },
      )
      : empty('No findings', 'Nothing the rules would change.')
  }</section>`;
}

export function databasePage(
  viewer: Viewer,
  v: {
    status: DbStatus;
    order: string;
    cacheHit: { tables: number | null; indexes: number | null };
    statements: DbStatement[];
    tables: DbTable[];
    unusedIndexes: DbIndex[];
    snapshots: DbSnapshot[];
    window: DbWindow | null;
  },
) {
  const w = v.window;
  const keep = w ? `&from=${w.from.id}${w.to ? `&to=${w.to.id}` : ''}` : '';
  const snapOption = (x: DbSnapshot, current: string | undefined) =>
    markup`<option value="${x.id}"${x.id === current ? markup` selected` : ''}>${
      when(x.takenAt)
    } · ${num(x.statements)} statements</option>`;
  const body: Content = markup`${
    pageHead('Database', {
      sub: `${v.status.database} · PostgreSQL ${
        Math.floor(v.status.serverVersion / 10000)
      } · hypopg ${v.status.hypopg ? 'on' : 'off'}`,
    })
  }
${statusNotice(v.status)}
<div class="cards">${kpi('Cache hit, tables', pct(v.cacheHit.tables))}${
    kpi('Cache hit, indexes', pct(v.cacheHit.indexes))
  }${kpi('Statements', num(v.statements.length))}${
    kpi('Snapshots kept', num(v.snapshots.length))
  }</div>
<h2>Findings</h2>
<div hx-get="/database/findings" hx-trigger="load" hx-swap="outerHTML"><p class="muted" id="db-findings-wait">Running the rules over the top statements…</p></div>
<h2>Top statements</h2>
<div class="toolbar">${
    segmented(
      'Order statements by',
      ORDERS.map(([o, label]) => ({
        href: `/database?order=${o}${keep}`,
        label,
        current: o === v.order,
      })),
    )
  }</div>
<form class="toolbar" id="db-window" aria-label="Compare two snapshots" action="/database" method="get">
  <input type="hidden" name="order" value="${v.order}">
  <label for="db-from">From snapshot
    <select id="db-from" name="from">
      <option value="">Newest (totals)</option>
      ${v.snapshots.map((x) => snapOption(x, w?.from.id))}
    </select>
  </label>
  <label for="db-to">To
    <select id="db-to" name="to">
      <option value="">Now</option>
      ${v.snapshots.map((x) => snapOption(x, w?.to?.id))}
    </select>
  </label>
  <button type="submit">Compare</button>
</form>
${
    w?.resetBetween
      ? markup`<p class="notice" role="status">pg_stat_statements was reset between these snapshots: the change counts from the reset.</p>`
      : ''
  }
${statementsTable(v.statements, w)}
<h2>Largest tables</h2>
${
    table(
      'Largest tables',
      markup`<th scope="col">Table</th><th scope="col" class="num">Rows</th><th scope="col" class="num">Table</th><th scope="col" class="num">Indexes</th><th scope="col" class="num">Bloat (est.)</th><th scope="col" class="num">Seq scans</th><th scope="col" class="num">Rows read by seq scans</th><th scope="col" class="num">Index scans</th>`,
      markup`${
        v.tables.map((t) =>
          markup`<tr><td class="mono">${t.name}</td><td class="num">${
            num(t.liveRows)
          }</td><td class="num">${bytes(t.tableBytes)}</td><td class="num">${
            bytes(t.indexBytes)
          }</td><td class="num">${bytes(t.bloatBytes)}</td><td class="num">${
            num(t.seqScans)
          }</td><td class="num">${num(t.seqRowsRead)}</td><td class="num">${
            num(t.indexScans)
          }</td></tr>`
        )
      }`,
      { id: 'db-tables' },
    )
  }
<h2>Unused indexes</h2>
${
    v.unusedIndexes.length
      ? table(
        'Unused indexes',
        markup`<th scope="col">Index</th><th scope="col">Table</th><th scope="col" class="num">Size</th>`,
        markup`${
          v.unusedIndexes.map((i) =>
            markup`<tr><td class="mono">${i.name}</td><td class="mono">${i.table}</td><td class="num">${
              bytes(i.bytes)
            }</td></tr>`
          )
        }`,
        { id: 'db-unused' },
      )
      : empty('Every index has been scanned')
  }`;
  return page({ title: 'Database', current: '/database', viewer, body });
}

function planNode(n: DbPlanNode): Content {
  return markup`<li><strong>${n.node}</strong>${
    n.relation ? markup` on <span class="mono">${n.relation}</span>` : ''
  } <span class="muted small">est. ${num(n.estimatedRows)} rows${
    n.actualRows !== null ? `, actual ${num(n.actualRows)}` : ''
  }, cost ${n.cost.toFixed(0)}</span>${
    n.chips.length
      ? markup` <ul class="chips">${
        n.chips.map((c) => markup`<li class="chip" data-kind="${c.kind}">${c.text}</li>`)
      }</ul>`
      : ''
  }${n.detail ? markup`<div class="mono small">${n.detail}</div>` : ''}${
    n.children.length ? markup`<ul>${n.children.map(planNode)}</ul>` : ''
  }</li>`;
}

export function statementPage(
  viewer: Viewer,
  v: {
    statement: DbStatement;
    explain: {
      analyzed: boolean;
      executionMs: number | null;
      parameterTypes: string[];
      parameters: DbParameter[];
      samplesRefused: string | null;
      tree: DbPlanNode;
    } | null;
    refusal: string | null;
  },
) {
  const s = v.statement;
  const body = markup`${
    pageHead(`Statement ${s.id}`, {
      crumbs: markup`<a href="/database">Database</a> / statement`,
      sub: `${num(s.calls)} calls · ${ms(s.totalMs)} total · ${ms(s.meanMs)} mean${
        s.module ? ` · module ${s.module}` : ''
      }`,
    })
  }
<pre class="mono" id="db-query">${s.query}</pre>
<div class="toolbar"><a class="button" href="/database/statements/${s.id}?explain=plan">Explain (generic plan)</a> <a class="button" href="/database/statements/${s.id}?explain=analyze">Explain analyze (read-only, rolled back)</a></div>
${
    v.refusal
      ? markup`<div class="notice danger" role="alert" id="db-refusal">${v.refusal}</div>`
      : ''
  }
${
    v.explain
      ? markup`<h2>Plan${
        v.explain.analyzed ? ' (analyzed, with the samples below)' : ' (generic)'
      }</h2>
<p class="muted small">Parameters: ${v.explain.parameterTypes.join(', ') || 'none'}${
        v.explain.executionMs !== null ? ` · executed in ${ms(v.explain.executionMs)}` : ''
      }</p>
${parametersList(v.explain.parameters, v.explain.samplesRefused)}
<ul class="plan" id="db-plan">${planNode(v.explain.tree)}</ul>`
      : ''
  }`;
  return page({ title: `Statement ${s.id}`, current: '/database', viewer, body });
}
