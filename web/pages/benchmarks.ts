/** Benchmarks: SQL vs TypeScript aggregation runs, their parity and the SQL path's plan. */
import { markup } from '../markup.ts';
import type { BenchGroup, BenchRun } from '../../server/queries/pages_benchmarks.ts';
import { barChart } from '../charts/bar_chart.ts';
import { badge, empty, kpi, pageHead, table, time } from '../components.ts';
import { fmtInt, fmtMs, fmtNum } from '../format.ts';
import { page, type Viewer } from '../layout.ts';

function ratio(g: BenchGroup) {
  if (g.sqlMs === null || g.tsMs === null || g.sqlMs === 0) return '–';
  return `${fmtNum(g.tsMs / g.sqlMs, 2)}×`;
}

function winner(g: BenchGroup) {
  if (g.sqlMs === null || g.tsMs === null) return '';
  return g.sqlMs <= g.tsMs ? badge('info', 'SQL faster') : badge('info', 'TS faster');
}

export function benchmarksPage(viewer: Viewer, o: { groups: BenchGroup[] }) {
  const chrono = [...o.groups].reverse().slice(-24);
  const mismatches = o.groups.filter((g) => !g.parity).length;
  const label = (g: BenchGroup) =>
    `${g.kind === 'daily' ? g.period.slice(5) : g.period.slice(0, 7)} · ${
      g.sourceName ?? `#${g.sourceId}`
    }`;
  return page({
    title: 'Benchmarks',
    current: '/benchmarks',
    viewer,
    body: markup`${
      pageHead('Aggregation benchmarks', {
        sub:
          'Daily and monthly aggregation run as PL/pgSQL and as TypeScript on the same data; both must produce identical rows.',
      })
    }
${
      o.groups.length === 0
        ? empty(
          'No benchmark runs yet.',
          markup`Run <code>npm run bench:agg</code> or the benchmark job.`,
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

export function benchmarkDetailPage(
  viewer: Viewer,
  o: { group: BenchGroup; runs: BenchRun[]; explain: string | null },
) {
  const g = o.group;
  return page({
    title: `Benchmark ${g.kind} ${g.period}`,
    current: '/benchmarks',
    viewer,
    body: markup`${
      pageHead(`${g.kind === 'daily' ? 'Daily' : 'Monthly'} aggregation, ${g.period}`, {
        crumbs: markup`<a href="/benchmarks">Benchmarks</a> › ${g.period}`,
        sub: markup`${g.sourceName ?? `source ${g.sourceId}`} · ${fmtInt(g.rowsIn)} rows in · ${
          fmtInt(g.rowsOut)
        } rows out · ${time(g.at)}`,
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
          label: p === 'sql' ? 'SQL' : p === 'ts' ? 'TypeScript' : 'Floor',
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
<h2>SQL plan</h2>
${
      o.explain
        ? markup`<pre class="plan" tabindex="0" aria-label="EXPLAIN ANALYZE of the SQL path">${o.explain}</pre>`
        : empty('No plan recorded for this run.')
    }`,
  });
}
