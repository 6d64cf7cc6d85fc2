/** The VM table: rows of the live inventory, with a pager. Rendered alone for htmx swaps. */
import { html } from 'hono/html';
import type { Page, VmListItem } from '../../server/inventory/list_vms.ts';

const fmt = new Intl.NumberFormat('en-US', { maximumFractionDigits: 1 });
const POWER: Record<string, [string, string]> = {
  poweredOn: ['on', 'On'], poweredOff: ['off', 'Off'], suspended: ['suspended', 'Suspended'],
};

export function vmTable(result: Page<VmListItem>, nextUrl: string | null) {
  if (result.items.length === 0) return html`<div id="vm-table"><p class="empty">No VMs match.</p></div>`;
  return html`<div id="vm-table">
<p class="muted" aria-live="polite">${fmt.format(result.total)} VMs</p>
<div class="table-wrap">
<table>
  <thead><tr>
    <th scope="col">Name</th><th scope="col">Source</th><th scope="col">Power</th>
    <th scope="col" class="num">vCPU</th><th scope="col" class="num">RAM GB</th><th scope="col" class="num">Disk GB</th>
    <th scope="col">Cluster</th><th scope="col">Host</th><th scope="col">Pool</th>
  </tr></thead>
  <tbody>
  ${result.items.map((vm) => {
    const [cls, label] = POWER[vm.powerState] ?? ['off', vm.powerState];
    return html`<tr>
    <td>${vm.name}${vm.isTemplate ? html` <span class="badge off">template</span>` : ''}</td>
    <td>${vm.sourceName}</td>
    <td><span class="badge ${cls}">${label}</span></td>
    <td class="num">${vm.vcpu}</td>
    <td class="num">${fmt.format(vm.ramMb / 1024)}</td>
    <td class="num">${fmt.format(vm.provisionedDiskGb)}</td>
    <td>${vm.cluster ?? ''}</td><td>${vm.host ?? ''}</td><td>${vm.resourcePool ?? ''}</td>
  </tr>`;
  })}
  </tbody>
</table>
</div>
${nextUrl ? html`<div class="pager"><a class="button" href="${nextUrl}" hx-get="${nextUrl}" hx-target="#vm-table" hx-swap="outerHTML" hx-push-url="true">Next page</a></div>` : ''}
</div>`;
}
