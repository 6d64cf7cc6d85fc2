/** Small pieces the site pages share: definition rows, state badges, percentages, VM tables. */
import { markup } from '../markup.ts';
import { badge, type Content, empty, powerBadge, table, type Tone } from '../components.ts';
import { fmtInt, fmtNum } from '../format.ts';

/** A `<dt>/<dd>` pair; a missing value shows a dash. */
export function row(label: string, value: Content | number | null | undefined) {
  return markup`<dt>${label}</dt><dd>${
    value === null || value === undefined || value === ''
      ? markup`<span class="muted">–</span>`
      : value
  }</dd>`;
}

const HOST_STATE: Record<string, [Tone, string]> = {
  connected: ['ok', 'connected'],
  maintenance: ['warn', 'maintenance'],
  disconnected: ['bad', 'disconnected'],
  notResponding: ['bad', 'not responding'],
  gone: ['neutral', 'gone'],
};

/** A host's state as a badge (text, never colour alone). */
export function hostStateBadge(state: string) {
  const [tone, label] = HOST_STATE[state] ?? ['neutral', state];
  return badge(tone, label);
}

/** "42.5 %" or a dash. */
export function pct(v: number | null | undefined): string {
  return v === null || v === undefined ? '–' : `${fmtNum(v)} %`;
}

/** "1.25 : 1" or a dash. */
export function ratio(v: number | null | undefined): string {
  return v === null || v === undefined ? '–' : `${fmtNum(v, 2)} : 1`;
}

/** A usage meter with its percentage as text; past 85 % it warns, past 95 % it alarms. */
export function meter(v: number | null | undefined, label: string) {
  if (v === null || v === undefined) return markup`<span class="muted">–</span>`;
  const tone = v >= 95 ? 'bad' : v >= 85 ? 'warn' : 'ok';
  return markup`<span class="meter-cell"><meter min="0" max="100" low="85" high="95" optimum="0" value="${
    Math.min(100, v)
  }" aria-label="${label}" class="${tone}">${fmtNum(v)} %</meter> ${fmtNum(v)} %</span>`;
}

/** A VM placed on a host, a datastore or a network. */
export type PlacedVm = {
  key: string;
  name: string;
  powerState: string;
  isTemplate: boolean;
  vcpu: number;
  memoryMib: number;
  provisionedDiskGib: number;
  cluster: string | null;
  host: string | null;
};

/** A link to a VM's page. */
export function vmLink(sourceId: number, vm: { key: string; name: string }) {
  return markup`<a href="/vms/${sourceId}/${encodeURIComponent(vm.key)}">${vm.name}</a>`;
}

/** The VMs of an object, with an extra column when given. */
export function vmTable<T extends PlacedVm>(
  caption: string,
  sourceId: number,
  vms: T[],
  extra?: { label: string; cell: (vm: T) => Content },
) {
  if (!vms.length) return empty(`No ${caption.toLowerCase()}.`);
  return table(
    caption,
    markup`<th scope="col">Name</th><th scope="col">Power</th><th scope="col" class="num">vCPU</th><th scope="col" class="num">RAM GiB</th><th scope="col">Host</th>${
      extra ? markup`<th scope="col">${extra.label}</th>` : ''
    }`,
    markup`${
      vms.map((vm) =>
        markup`<tr><td>${vmLink(sourceId, vm)}${
          vm.isTemplate ? markup` ${badge('neutral', 'template')}` : ''
        }</td><td>${powerBadge(vm.powerState)}</td><td class="num">${
          fmtInt(vm.vcpu)
        }</td><td class="num">${fmtNum(vm.memoryMib / 1024)}</td><td>${
          vm.host
            ? markup`<a href="/hosts/${sourceId}/${encodeURIComponent(vm.host)}">${vm.host}</a>`
            : ''
        }</td>${extra ? markup`<td>${extra.cell(vm)}</td>` : ''}</tr>`
      )
    }`,
  );
}
