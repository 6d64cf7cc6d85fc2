/**
 * Admin · Rates: chargeback tiers, the ordered tier rules that map resource pools to them,
 * and the rate cards with their effective-dated versions (add a version; edit one in
 * place). The same actions as `/api/v1/cost-tiers…`, `/tier-rules…`, `/rate-cards…`; a
 * refusal is shown on the page, naming the field.
 */
import { markup } from '../markup.ts';
import { badge, type Content, csrfField, empty, table } from '../components.ts';
import type { Viewer } from '../layout.ts';
import { adminPage } from './admin.ts';

export type RateTier = { name: string; position: number; builtIn: boolean };
export type RateRule = {
  id: number;
  position: number;
  field: string;
  match: string;
  pattern: string;
  tier: string;
};
export type RateTierPrice = {
  tier: string;
  multiplier: string;
  vcpuHour: string | null;
  ramGbHour: string | null;
  diskGbMonth: string | null;
  vmMonth: string | null;
};
export type RateVersion = {
  id: number;
  effectiveFrom: string;
  effectiveUntil: string | null;
  vcpuHour: string;
  ramGbHour: string;
  diskGbMonth: string;
  usedDiskGbMonth: string | null;
  vmMonth: string;
  tiers: RateTierPrice[];
};
export type RateCardItem = {
  id: number;
  name: string;
  currency: string;
  isDefault: boolean;
  versions: RateVersion[];
};
export type RatesFlash = { done?: string; error?: string };
export type OwnerSettingView = { ownerFrom: string; ownerName: string };

/** Where the Costs page reads a VM's owner from. */
function ownerSection(viewer: Viewer, o: OwnerSettingView) {
  return markup`<h2>Owner</h2>
<p class="muted small">The Costs page and the chargeback workbook split costs by owner: the value of a VM's custom attribute, or the name of its vSphere tag in a category. VMs without one are "(no owner)".</p>
<form method="post" action="/admin/rates/owner" class="form-grid" id="owner-form">
  ${csrfField(viewer.csrf)}
  <label for="o-from">Owner from<select id="o-from" name="ownerFrom">${
    option('attribute', 'Custom attribute', o.ownerFrom)
  }${option('tag_category', 'Tag category', o.ownerFrom)}</select></label>
  <label for="o-name">Attribute or category name<input id="o-name" name="ownerName" required maxlength="256" value="${o.ownerName}"></label>
  <div><button type="submit">Save owner setting</button></div>
</form>`;
}

const option = (value: string, label: string, current?: string) =>
  markup`<option value="${value}"${
    value === (current ?? '') ? markup` selected` : ''
  }>${label}</option>`;

/** Trailing zeros off a decimal for display ("0.010000" → "0.01"). */
const dec = (
  v: string | null,
) => (v === null ? '' : v.replace(/(\.\d*?)0+$/, '$1').replace(/\.$/, ''));

function tierSection(viewer: Viewer, tiers: RateTier[]) {
  const rows = tiers.map((t) =>
    markup`<tr><td>${t.name}</td><td class="num">${t.position}</td><td>${
      t.builtIn
        ? badge('neutral', 'built in', 'VMs no rule maps land here; priced at the base prices')
        : markup`<form method="post" action="/admin/rates/tiers/delete" class="inline">${
          csrfField(viewer.csrf)
        }<input type="hidden" name="name" value="${t.name}"><button class="quiet small" type="submit" aria-label="Delete tier ${t.name}">Delete</button></form>`
    }</td></tr>`
  );
  return markup`<h2>Tiers</h2>
${
    table(
      'Service tiers',
      markup`<th scope="col">Tier</th><th scope="col" class="num">Order</th><th scope="col"></th>`,
      markup`${rows}`,
      { short: true },
    )
  }
<form method="post" action="/admin/rates/tiers" class="form-grid" id="tier-form">
  ${csrfField(viewer.csrf)}
  <label for="t-name">Tier name<input id="t-name" name="name" required maxlength="40"></label>
  <label for="t-pos">Order<input id="t-pos" name="position" inputmode="numeric" value="0"></label>
  <div><button type="submit">Add tier</button></div>
</form>`;
}

function ruleSection(viewer: Viewer, rules: RateRule[], tiers: RateTier[]) {
  const rows = rules.map((r) =>
    markup`<tr><td class="num">${r.position}</td><td>${r.field}</td><td>${r.match}</td><td><code>${r.pattern}</code></td><td>${r.tier}</td><td><form method="post" action="/admin/rates/rules/${r.id}/delete" class="inline">${
      csrfField(viewer.csrf)
    }<button class="quiet small" type="submit" aria-label="Delete rule ${r.position}">Delete</button></form></td></tr>`
  );
  return markup`<h2>Tier rules</h2>
<p class="muted small">Rules match a VM's resource pool (vCenter resource pool, Proxmox pool) or one of its tags (Proxmox tags; vSphere tags as <code>category:name</code>) as they were that day, in order; the first match wins. A VM no rule matches is in the tier <strong>unassigned</strong>, priced at the base prices — never free.</p>
${
    rules.length
      ? table(
        'Tier rules, first match wins',
        markup`<th scope="col" class="num">Order</th><th scope="col">Field</th><th scope="col">Match</th><th scope="col">Pattern</th><th scope="col">Tier</th><th scope="col"></th>`,
        markup`${rows}`,
        { short: true },
      )
      : empty('No tier rules yet.', 'Every VM is unassigned until a rule maps its pool.')
  }
<form method="post" action="/admin/rates/rules" class="form-grid" id="rule-form">
  ${csrfField(viewer.csrf)}
  <label for="r-pos">Order<input id="r-pos" name="position" inputmode="numeric" required value="${
    String((rules.at(-1)?.position ?? 0) + 10)
  }"></label>
  <label for="r-field">Field<select id="r-field" name="field">${option('pool', 'pool')}${
    option('tag', 'tag')
  }</select></label>
  <label for="r-match">Match<select id="r-match" name="match">${option('exact', 'exact')}${
    option('prefix', 'prefix')
  }${option('regex', 'regex')}</select></label>
  <label for="r-pattern">Pool, tag or pattern<input id="r-pattern" name="pattern" required maxlength="200"></label>
  <label for="r-tier">Tier<select id="r-tier" name="tier">${
    tiers.filter((t) => !t.builtIn).map((t) => option(t.name, t.name))
  }</select></label>
  <div><button type="submit">Add rule</button></div>
</form>`;
}

/** A version form: base prices and, per tier, a multiplier (prices of its own via the API). */
function versionForm(
  viewer: Viewer,
  card: RateCardItem,
  tiers: RateTier[],
  v: RateVersion | null,
) {
  const id = v ? `v${v.id}` : `new${card.id}`;
  const mult = (tier: string) => dec(v?.tiers.find((t) => t.tier === tier)?.multiplier ?? '1');
  const field = (name: string, label: string, value: string | null) =>
    markup`<label for="${id}-${name}">${label}<input id="${id}-${name}" name="${name}" inputmode="decimal" value="${
      dec(value)
    }"></label>`;
  return markup`<form method="post" action="/admin/rates/cards/${card.id}/versions${
    v ? `/${v.id}` : ''
  }" class="form-grid">
  ${csrfField(viewer.csrf)}
  <label for="${id}-from">Effective from<input id="${id}-from" name="effectiveFrom" type="date" required value="${
    v?.effectiveFrom ?? ''
  }"></label>
  ${field('vcpuHour', `vCPU-hour (${card.currency})`, v?.vcpuHour ?? null)}
  ${field('ramGbHour', 'GB RAM-hour', v?.ramGbHour ?? null)}
  ${field('diskGbMonth', 'GB-month disk', v?.diskGbMonth ?? null)}
  ${field('vmMonth', 'VM-month fee', v?.vmMonth ?? null)}
  ${
    tiers.map((t) =>
      markup`<label for="${id}-m-${t.name}">× ${t.name}<input id="${id}-m-${t.name}" name="mult:${t.name}" inputmode="decimal" value="${
        mult(t.name)
      }"></label>`
    )
  }
  <div><button type="submit">${v ? 'Save version' : 'Add version'}</button></div>
</form>`;
}

function cardSection(viewer: Viewer, card: RateCardItem, tiers: RateTier[]) {
  const rows = card.versions.map((v) =>
    markup`<tr><td>${v.effectiveFrom}</td><td>${
      v.effectiveUntil ?? markup`<span class="muted">open</span>`
    }</td><td class="num">${dec(v.vcpuHour)}</td><td class="num">${
      dec(v.ramGbHour)
    }</td><td class="num">${dec(v.diskGbMonth)}</td><td class="num">${dec(v.vmMonth)}</td><td>${
      v.tiers.map((t) =>
        markup`<span class="small">${t.tier} ×${dec(t.multiplier)}${
          t.vmMonth !== null ? markup`, VM-month ${dec(t.vmMonth)}` : ''
        }</span> `
      )
    }</td><td><details><summary>Edit</summary>${
      versionForm(viewer, card, tiers, v)
    }</details></td></tr>`
  );
  return markup`<section class="card panel" aria-labelledby="card-${card.id}-h"><h2 id="card-${card.id}-h">${card.name} <span class="muted small">${card.currency}</span> ${
    card.isDefault ? badge('info', 'default', 'costing uses this card') : ''
  }</h2>
${
    card.versions.length
      ? table(
        `Versions of ${card.name}; each applies until the next starts`,
        markup`<th scope="col">From</th><th scope="col">Until (exclusive)</th><th scope="col" class="num">vCPU-h</th><th scope="col" class="num">GB RAM-h</th><th scope="col" class="num">GB-month disk</th><th scope="col" class="num">VM-month</th><th scope="col">Tiers</th><th scope="col"></th>`,
        markup`${rows}`,
        { short: true },
      )
      : empty(
        'No versions yet.',
        'A month can be costed once a version is in effect on all its days.',
      )
  }
<h3>Add a version</h3>
${versionForm(viewer, card, tiers, null)}
</section>`;
}

/** The Rates page. */
export function ratesPage(
  viewer: Viewer,
  o: {
    tiers: RateTier[];
    rules: RateRule[];
    cards: RateCardItem[];
    owner: OwnerSettingView;
    flash: RatesFlash;
  },
) {
  const f = o.flash;
  const body: Content = markup`
${f.done ? markup`<div class="notice success" role="status">${f.done}</div>` : ''}
${f.error ? markup`<div class="notice danger" role="alert">${f.error}</div>` : ''}
<p class="muted small">Prices are exact decimals; a cost line's components are rounded once, half up, to cents. Powered-off time pays disk and the VM fee only. <strong>Templates are not charged</strong>: the daily rollups leave them out, so no rate applies to them. See docs/chargeback.md.</p>
${tierSection(viewer, o.tiers)}
${ruleSection(viewer, o.rules, o.tiers)}
<h2>Rate cards</h2>
${o.cards.map((c) => cardSection(viewer, c, o.tiers))}
<form method="post" action="/admin/rates/cards" class="form-grid" id="card-form">
  ${csrfField(viewer.csrf)}
  <label for="k-name">Card name<input id="k-name" name="name" required maxlength="80"></label>
  <label for="k-cur">Currency<input id="k-cur" name="currency" required maxlength="3" value="USD"></label>
  <label for="k-def">Default<select id="k-def" name="isDefault">${option('true', 'Yes')}${
    option('false', 'No')
  }</select></label>
  <div><button type="submit">Add rate card</button></div>
</form>
${ownerSection(viewer, o.owner)}`;
  return adminPage(viewer, 'rates', body);
}
