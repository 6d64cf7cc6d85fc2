/** The dashboard: fleet totals and a card per source. */
import { html } from 'hono/html';
import type { FleetSummary } from '../../server/inventory/list_vms.ts';
import { page } from '../layout.ts';

type SourceCard = { id: number; kind: string; name: string; lastCaptureAt: string | null; vms: number };

const fmt = new Intl.NumberFormat('en-US');

export function dashboardPage(options: { user: string; csrf: string; summary: FleetSummary; sources: SourceCard[] }) {
  const s = options.summary;
  const kpis: [string, number][] = [
    ['VMs', s.vms], ['Powered on', s.poweredOn], ['vCPU', s.vcpu], ['RAM GB', s.ramGb], ['Disk GB', s.diskGb],
  ];
  return page({
    title: 'Dashboard',
    current: '/',
    user: options.user,
    csrf: options.csrf,
    body: html`<h1>Fleet</h1>
<section class="cards" aria-label="Fleet totals">
  ${kpis.map(([label, value]) => html`<div class="card"><div class="label">${label}</div><div class="value">${fmt.format(value)}</div></div>`)}
</section>
<h2>Sources</h2>
${options.sources.length === 0
      ? html`<p class="empty">No source has sent a capture yet. Start an agent (see docs/agent.md) or run <code>npm start</code> with the demo.</p>`
      : html`<section class="cards" aria-label="Sources">
  ${options.sources.map((src) => html`<div class="card">
    <div class="label">${src.kind}</div>
    <div><a href="/vms?source=${src.id}">${src.name}</a></div>
    <div class="value">${fmt.format(src.vms)}</div>
    <div class="muted">last capture ${src.lastCaptureAt ? html`<time datetime="${src.lastCaptureAt}">${src.lastCaptureAt.replace('T', ' ').slice(0, 19)} UTC</time>` : 'never'}</div>
  </div>`)}
</section>`}`,
  });
}
