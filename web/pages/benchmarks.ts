/**
 * Benchmarks: SQL vs TypeScript aggregation runs, their parity and both engines' plans; a
 * form (admins) that starts one, and a request page that shows its progress live (htmx
 * polling every second while it is queued or running) and then its result.
 */
import { markup } from '../markup.ts';
import { barChart } from '../charts/bar_chart.ts';
import { badge, csrfField, empty, kpi, pageHead, table, time, type Tone } from '../components.ts';
import { fmtInt, fmtMs, fmtNum } from '../format.ts';
import { page, type Viewer } from '../layout.ts';

/** One benchmark (run group): one source × one period, every engine R times. */
export type BenchGroup = {
  runGroup: string;
  kind: string;
  period: string;
  sourceId: number;
  sourceName: string | null;
  at: string;
  rowsIn: number;
  rowsOut: number;
  reps: number;
  /** Median milliseconds per path (null when the path did not run). */
  sqlMs: number | null;
  tsMs: number | null;
  floorMs: number | null;
  parity: boolean;
};

/** One timed run of one engine in a benchmark. */
export type BenchRun = {
  path: string;
  rep: number;
  ms: number;
  rowsOut: number;
  checksum: string;
  parity: string;
  notes: unknown;
};

function ratio(g: BenchGroup) {
  if (g.sqlMs === null || g.tsMs === null || g.sqlMs === 0) return '–';
  return `${fmtNum(g.tsMs / g.sqlMs, 2)}×`;
}

function winner(g: BenchGroup) {
  if (g.sqlMs === null || g.tsMs === null) return '';
  return g.sqlMs <= g.tsMs ? badge('info', 'SQL faster') : badge('info', 'TS faster');
}

/** A benchmark request as the pages show it. */
export type BenchRequestView = {
  id: string;
  kind: 'daily' | 'monthly' | 'usage' | 'costs';
  sourceId: number;
  sourceName: string | null;
  period: string;
  reps: number;
  engines: string[];
  state: 'queued' | 'running' | 'completed' | 'failed';
  done: number;
  total: number;
  runGroup: string | null;
  error: string | null;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
};

/** A finished benchmark: its group, every run and both engines' plans. */
export type BenchResultView = {
  group: BenchGroup;
  runs: BenchRun[];
  explain: string | null;
  explainTs: string | null;
};

/** What the start form shows: sources, defaults, and the last attempt's values and error. */
export type BenchFormView = {
  sources: { id: number; name: string }[];
  defaultDay: string;
  error?: string;
  values?: { kind?: string; source?: string; period?: string; reps?: string; engines?: string[] };
};

const ENGINE_LABEL: Record<string, string> = { sql: 'SQL', ts: 'TypeScript', floor: 'Floor' };
const STATE_TONE: Record<BenchRequestView['state'], Tone> = {
  queued: 'neutral',
  running: 'info',
  completed: 'ok',
  failed: 'bad',
};

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

function periodLabel(kind: string, period: string) {
  return kind === 'monthly' || kind === 'costs' ? period.slice(0, 7) : period;
}

/** What a benchmark of `kind` times, as a heading starts. */
function kindLabel(kind: string) {
  return kind === 'usage'
    ? 'Hourly usage tier'
    : kind === 'costs'
    ? 'Monthly costing'
    : kind === 'monthly'
    ? 'Monthly'
    : 'Daily';
}

/** The start form (admins). */
function startForm(viewer: Viewer, f: BenchFormView) {
  const v = f.values ?? {};
  const engines = v.engines ?? ['sql', 'ts', 'floor'];
  const kind = v.kind === 'monthly' || v.kind === 'usage' || v.kind === 'costs' ? v.kind : 'daily';
  return markup`<section class="card panel" aria-labelledby="bench-start-h"><h2 id="bench-start-h">Start a benchmark</h2>
${f.error ? markup`<div class="notice danger" role="alert">${f.error}</div>` : ''}
${
    f.sources.length === 0
      ? empty('No sources yet.', 'A benchmark runs on a source’s stored captures.')
      : markup`<form method="post" action="/benchmarks" class="form-grid" id="bench-start">
    ${csrfField(viewer.csrf)}
    <label for="b-source">Source<select id="b-source" name="source">${
        f.sources.map((s) =>
          markup`<option value="${String(s.id)}"${
            v.source === String(s.id) ? markup` selected` : ''
          }>${s.name}</option>`
        )
      }</select></label>
    <label for="b-kind">Kind<select id="b-kind" name="kind"><option value="daily"${
        kind === 'daily' ? markup` selected` : ''
      }>Daily (one day)</option><option value="monthly"${
        kind === 'monthly' ? markup` selected` : ''
      }>Monthly (one month)</option><option value="usage"${
        kind === 'usage' ? markup` selected` : ''
      }>Hourly usage tier (one day)</option><option value="costs"${
        kind === 'costs' ? markup` selected` : ''
      }>Costing (one month, chargeback)</option></select></label>
    <label for="b-period">Day or month<input id="b-period" name="period" required maxlength="10" value="${
        v.period ?? f.defaultDay
      }" placeholder="YYYY-MM-DD or YYYY-MM" aria-describedby="b-period-hint"></label>
    <label for="b-reps">Repetitions<input id="b-reps" name="reps" type="number" min="1" max="20" value="${
        v.reps ?? '3'
      }"></label>
    <fieldset class="engines"><legend>Engines</legend>${
        (['sql', 'ts', 'floor'] as const).map((e) =>
          markup`<label><input type="checkbox" name="engines" value="${e}"${
            engines.includes(e) ? markup` checked` : ''
          }> ${ENGINE_LABEL[e]}</label> `
        )
      }</fieldset>
    <div><button type="submit">Start benchmark</button></div>
  </form>
  <p class="muted small" id="b-period-hint">A daily or usage benchmark needs a day (YYYY-MM-DD), a monthly or costing one a month (YYYY-MM) whose days are aggregated. Each engine runs in a transaction that is rolled back: stored rollups are not changed. The floor is the bare single INSERT … SELECT of the same rows (for usage: of the VM hourly rows; for costing: a GROUP BY of the month's daily rollups per VM, unpriced).</p>`
  }
</section>`;
}

/** Recent requests with their state and progress. */
function requestsTable(requests: BenchRequestView[]) {
  return table(
    'Benchmark requests',
    markup`<th scope="col">Requested</th><th scope="col">Kind</th><th scope="col">Period</th><th scope="col">Source</th><th scope="col">Engines</th><th scope="col" class="num">Reps</th><th scope="col">State</th><th scope="col"></th>`,
    markup`${
      requests.map((r) =>
        markup`<tr><td>${time(r.createdAt)}</td><td>${r.kind}</td><td>${
          periodLabel(r.kind, r.period)
        }</td><td>${r.sourceName ?? `#${r.sourceId}`}</td><td>${
          r.engines.map((e) => ENGINE_LABEL[e] ?? e).join(', ')
        }</td><td class="num">${r.reps}</td><td>${
          badge(STATE_TONE[r.state], r.state, r.error ?? undefined)
        } ${
          r.state === 'running' ? `${r.done} of ${r.total}` : ''
        }</td><td><a href="/benchmarks/requests/${r.id}">${
          r.state === 'completed' ? 'Result' : 'Progress'
        }</a></td></tr>`
      )
    }`,
    { short: true },
  );
}

/** Durations per engine with their spread, parity and checksum, and both plans side by side. */
export function benchmarkResult(o: BenchResultView) {
  const g = o.group;
  const engines = ['sql', 'ts', 'floor'].filter((p) => o.runs.some((r) => r.path === p));
  const reference = o.runs.find((r) => r.path === 'sql') ?? o.runs[0];
  return markup`<div class="bench-result" id="bench-result">
<p class="sub">${g.sourceName ?? `source ${g.sourceId}`} · ${g.kind} ${
    periodLabel(g.kind, g.period)
  } · ${fmtInt(g.rowsIn)} rows in · ${fmtInt(g.rowsOut)} rows out · ${
    fmtInt(g.reps)
  } repetitions · ${time(g.at)}</p>
<p id="bench-parity">Parity: ${
    g.parity
      ? badge('ok', 'match', 'every engine wrote the same rows')
      : badge('bad', 'mismatch', 'the engines wrote different rows')
  } · checksum <code class="mono">${reference?.checksum ?? '–'}</code></p>
${
    table(
      'Durations per engine',
      markup`<th scope="col">Engine</th><th scope="col" class="num">Runs</th><th scope="col" class="num">Min</th><th scope="col" class="num">Median</th><th scope="col" class="num">Max</th><th scope="col" class="num">Rows out</th><th scope="col">Checksum</th><th scope="col">Parity</th>`,
      markup`${
        engines.map((e) => {
          const runs = o.runs.filter((r) => r.path === e);
          const ms = runs.map((r) => r.ms);
          const ok = runs.every((r) => r.parity === 'match');
          return markup`<tr data-engine="${e}"><th scope="row">${
            ENGINE_LABEL[e]
          }</th><td class="num">${runs.length}</td><td class="num">${
            fmtMs(Math.min(...ms))
          }</td><td class="num">${fmtMs(median(ms))}</td><td class="num">${
            fmtMs(Math.max(...ms))
          }</td><td class="num">${fmtInt(runs[0].rowsOut)}</td><td class="mono">${
            runs[0].checksum
          }</td><td>${ok ? badge('ok', 'match') : badge('bad', 'mismatch')}</td></tr>`;
        })
      }`,
      { id: 'bench-durations' },
    )
  }
<div class="grid-2 plans">
  <section aria-label="SQL plan"><h2>SQL plan</h2>${
    o.explain
      ? markup`<pre class="plan" id="plan-sql" tabindex="0" aria-label="EXPLAIN ANALYZE of the SQL path">${o.explain}</pre>`
      : empty('No SQL plan recorded for this run.')
  }</section>
  <section aria-label="TypeScript plan"><h2>TypeScript plan</h2>${
    o.explainTs
      ? markup`<pre class="plan" id="plan-ts" tabindex="0" aria-label="EXPLAIN ANALYZE of the TypeScript path's statements">${o.explainTs}</pre>`
      : empty('No TypeScript plan recorded for this run.')
  }</section>
</div>
</div>`;
}

/** A request's live status; polls itself every second until the job is done. */
export function benchmarkRequestStatus(r: BenchRequestView, result: BenchResultView | null) {
  const busy = r.state === 'queued' || r.state === 'running';
  return markup`<section id="bench-request" class="card panel" data-state="${r.state}" aria-live="polite"${
    busy
      ? markup` hx-get="/benchmarks/requests/${r.id}?part=status" hx-trigger="every 1s" hx-swap="outerHTML"`
      : ''
  }>
<p>${badge(STATE_TONE[r.state], r.state)} ${
    r.state === 'queued'
      ? 'Waiting for the benchmark job to pick it up.'
      : r.state === 'running'
      ? `Step ${r.done} of ${r.total} (each engine's plan, then every timed run).`
      : r.state === 'completed'
      ? markup`Done ${time(r.finishedAt)}.`
      : ''
  }</p>
${
    busy
      ? markup`<progress max="${String(r.total)}" value="${
        String(r.done)
      }" aria-label="Benchmark progress">${String(r.done)} of ${String(r.total)}</progress>`
      : ''
  }
${
    r.state === 'failed'
      ? markup`<div class="notice danger" role="alert">${r.error ?? 'failed'}</div>`
      : ''
  }
${
    result
      ? markup`${
        benchmarkResult(result)
      }<p><a href="/benchmarks/${result.group.runGroup}">Every repetition</a> · <a href="/benchmarks">All benchmarks</a></p>`
      : ''
  }
</section>`;
}

export function benchmarkRequestPage(
  viewer: Viewer,
  r: BenchRequestView,
  result: BenchResultView | null,
) {
  return page({
    title: `Benchmark ${r.kind} ${periodLabel(r.kind, r.period)}`,
    current: '/benchmarks',
    viewer,
    body: markup`${
      pageHead(
        `${kindLabel(r.kind)} benchmark, ${periodLabel(r.kind, r.period)}`,
        {
          crumbs: markup`<a href="/benchmarks">Benchmarks</a> › request`,
          sub: markup`${r.sourceName ?? `source ${r.sourceId}`} · ${
            r.engines.map((e) => ENGINE_LABEL[e] ?? e).join(', ')
          } · ${String(r.reps)} repetitions · requested ${time(r.createdAt)}`,
        },
      )
    }
${benchmarkRequestStatus(r, result)}`,
  });
}

export function benchmarksPage(
  viewer: Viewer,
  o: { groups: BenchGroup[]; requests: BenchRequestView[]; form: BenchFormView },
) {
  const chrono = [...o.groups].reverse().slice(-24);
  const mismatches = o.groups.filter((g) => !g.parity).length;
  const label = (g: BenchGroup) =>
    `${g.kind === 'monthly' || g.kind === 'costs' ? g.period.slice(0, 7) : g.period.slice(5)}${
      g.kind === 'usage' ? ' usage' : g.kind === 'costs' ? ' costs' : ''
    } · ${g.sourceName ?? `#${g.sourceId}`}`;
  return page({
    title: 'Benchmarks',
    current: '/benchmarks',
    viewer,
    body: markup`${
      pageHead('Aggregation benchmarks', {
        sub:
          'Daily and monthly aggregation, the hourly usage tier and monthly costing run as PL/pgSQL and as TypeScript on the same data; both must produce identical rows.',
      })
    }
${viewer.role === 'admin' ? startForm(viewer, o.form) : ''}
${o.requests.length ? requestsTable(o.requests) : ''}
${
      o.groups.length === 0
        ? empty(
          'No benchmark runs yet.',
          viewer.role === 'admin'
            ? 'Start one above: it runs as a job and its result appears here.'
            : 'An admin starts one on this page.',
        )
        : markup`<section class="cards" aria-label="Summary">
  ${kpi('Benchmark runs', fmtInt(o.groups.length))}
  ${kpi('Parity', mismatches === 0 ? 'all match' : `${mismatches} mismatch`, null)}
  ${kpi('Latest SQL', fmtMs(o.groups[0].sqlMs))}
  ${kpi('Latest TS', fmtMs(o.groups[0].tsMs))}
</section>
<div class="card panel">${
          barChart({
            id: 'chart-bench',
            title: 'Median duration per run: SQL vs TypeScript (ms)',
            unit: 'ms',
            format: (v) => fmtNum(v, 2),
            categories: chrono.map(label),
            series: [
              { label: 'SQL', values: chrono.map((g) => g.sqlMs) },
              { label: 'TypeScript', values: chrono.map((g) => g.tsMs) },
              ...(chrono.some((g) => g.floorMs !== null)
                ? [{
                  label: 'Floor',
                  values: chrono.map((g) => g.floorMs),
                }]
                : []),
            ],
          })
        }</div>
${
          table(
            'Benchmark runs',
            markup`<th scope="col">When</th><th scope="col">Kind</th><th scope="col">Period</th><th scope="col">Source</th><th scope="col" class="num">Rows in</th><th scope="col" class="num">Rows out</th><th scope="col" class="num">SQL</th><th scope="col" class="num">TS</th><th scope="col" class="num">TS/SQL</th><th scope="col">Parity</th><th scope="col"></th>`,
            markup`${
              o.groups.map((g) =>
                markup`<tr><td>${time(g.at)}</td><td>${g.kind}</td><td>${g.period}</td><td>${
                  g.sourceName ?? g.sourceId
                }</td>
        <td class="num">${fmtInt(g.rowsIn)}</td><td class="num">${
                  fmtInt(g.rowsOut)
                }</td><td class="num">${fmtMs(g.sqlMs)}</td><td class="num">${fmtMs(g.tsMs)}</td>
        <td class="num">${ratio(g)}</td><td>${
                  g.parity ? badge('ok', 'match') : badge('bad', 'mismatch')
                } ${winner(g)}</td>
        <td><a href="/benchmarks/${g.runGroup}">Runs and plan</a></td></tr>`
              )
            }`,
          )
        }`
    }`,
  });
}

export function benchmarkDetailPage(viewer: Viewer, o: BenchResultView) {
  const g = o.group;
  return page({
    title: `Benchmark ${g.kind} ${g.period}`,
    current: '/benchmarks',
    viewer,
    body: markup`${
      pageHead(`${kindLabel(g.kind)}${g.kind === 'costs' ? '' : ' aggregation'}, ${g.period}`, {
        crumbs: markup`<a href="/benchmarks">Benchmarks</a> › ${g.period}`,
        actions: g.parity ? badge('ok', 'parity: match') : badge('bad', 'parity: mismatch'),
      })
    }
<section class="cards" aria-label="Medians">
  ${kpi('SQL (median)', fmtMs(g.sqlMs))}${kpi('TypeScript (median)', fmtMs(g.tsMs))}${
      g.floorMs !== null ? kpi('Floor (median)', fmtMs(g.floorMs)) : ''
    }${kpi('TS / SQL', ratio(g))}
</section>
<div class="card panel">${
      barChart({
        id: 'chart-runs',
        title: 'Each repetition (ms)',
        unit: 'ms',
        format: (v) => fmtNum(v, 2),
        categories: [...new Set(o.runs.map((r) => `rep ${r.rep}`))],
        series: ['sql', 'ts', 'floor'].filter((p) => o.runs.some((r) => r.path === p)).map((p) => ({
          label: ENGINE_LABEL[p],
          values: [...new Set(o.runs.map((r) => r.rep))].map((rep) =>
            o.runs.find((r) => r.path === p && r.rep === rep)?.ms ?? null
          ),
        })),
      })
    }</div>
${
      table(
        'Runs',
        markup`<th scope="col">Path</th><th scope="col" class="num">Rep</th><th scope="col" class="num">Duration</th><th scope="col" class="num">Rows out</th><th scope="col">Checksum</th><th scope="col">Parity</th>`,
        markup`${
          o.runs.map((r) =>
            markup`<tr><td>${r.path}</td><td class="num">${r.rep}</td><td class="num">${
              fmtMs(r.ms)
            }</td><td class="num">${fmtInt(r.rowsOut)}</td><td class="mono">${r.checksum}</td><td>${
              r.parity === 'match' ? badge('ok', 'match') : badge('bad', 'mismatch')
            }</td></tr>`
          )
        }`,
      )
    }
<h2>Durations and parity</h2>
${benchmarkResult(o)}`,
  });
}
