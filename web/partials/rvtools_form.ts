/** The Reports page's RVTools form: one source or all, now or as of a past instant. */
import { markup } from '../markup.ts';
import { csrfField } from '../components.ts';

/** A source the workbook can show, with its newest capture. */
export type RvtoolsSourceOption = { id: number; name: string; kind: string };

export function rvtoolsForm(csrf: string, sources: RvtoolsSourceOption[]) {
  return markup`<section class="card panel" aria-labelledby="rvt-h"><h2 id="rvt-h">RVTools workbook</h2>
  <form method="post" action="/reports/rvtools" class="form-grid">
    ${csrfField(csrf)}
    <label for="rvt-source">Source<select id="rvt-source" name="source"><option value="">All sources</option>${
    sources.map((s) => markup`<option value="${s.id}">${s.name} (${s.kind})</option>`)
  }</select></label>
    <label for="rvt-asof">As of (UTC, optional)<input id="rvt-asof" name="asOf" type="datetime-local" step="1" aria-describedby="rvt-hint"></label>
    <label for="rvt-format">Format<select id="rvt-format" name="format"><option value="xlsx">Excel workbook</option><option value="csv">CSV files (zip)</option></select></label>
    <div><button type="submit">Generate</button></div>
  </form>
  <p class="muted small" id="rvt-hint">vInfo, vCPU, vMemory, vDisk, vPartition, vNetwork, vCD, vSnapshot, vTools, vRP, vCluster, vHost, vNIC, vSwitch, vPort, dvSwitch, dvPort, vDatastore, vSource, vHealth, vMetaData — with RVTools' column names and units. Empty "as of": the current inventory; otherwise each source as its newest capture at or before that instant showed it.</p>
</section>`;
}
