import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { z } from 'zod';
import { Capture, CaptureVm } from '../../agent/capture/schema.ts';
import { describeIssues } from '../../shared/issues.ts';
import { demoCapture } from '../../agent/collectors/demo/fleet.ts';
import { captureFromText, NeedsWholeParse } from '../../server/ingest/incoming_capture.ts';
import { storedHead, wholeStored } from '../support/stored_capture.ts';
import type { VmTextMemo } from '../../server/ingest/vm_text_memo.ts';
import {
  type CaptureIssue,
  parseCapture,
  vmValidation,
} from '../../server/ingest/validate_capture.ts';

const test = suite('validate capture (fast path agrees with zod)');

type Outcome = { success: true; data: unknown } | { success: false; issues: CaptureIssue[] };
type Validator = (body: unknown) => Outcome;
type Case = { label: string; input: unknown };
/** A JSON object as the cases bend it: any key (symbols too), any value. */
type Bag = { [key: PropertyKey]: unknown };
const isBag = (v: unknown): v is Bag => v !== null && typeof v === 'object';

const viaZod = (schema: z.ZodType): Validator => (body) => {
  const r = schema.safeParse(body);
  return r.success
    ? { success: true, data: r.data }
    : { success: false, issues: describeIssues(r.error) };
};
/** The interpreted parse the ingest API answered with before the fast path: the reference. */
const reference = viaZod(Capture);

/** Where two values first differ (null if nowhere), telling -0 from 0, own keys from inherited ones, arrays from objects. */
function difference(
  a: unknown,
  b: unknown,
  path = '',
): { path: string; a: unknown; b: unknown } | null {
  if (Object.is(a, b)) return null;
  const here = { path: path || '(root)', a, b };
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return here;
  if (Object.getPrototypeOf(a) !== Object.getPrototypeOf(b)) return here;
  // Every key of either side, a's first, without building their union (this runs for every
  // object of every case: the union's allocations were most of its time).
  for (const k of Object.keys(a)) {
    if (!Object.hasOwn(b, k)) return { path: `${path}.${k}`, a: (a as Bag)[k], b: (b as Bag)[k] };
    const d = difference((a as Bag)[k], (b as Bag)[k], `${path}.${k}`);
    if (d) return d;
  }
  for (const k of Object.keys(b)) {
    if (Object.prototype.propertyIsEnumerable.call(a, k)) continue; // compared above
    if (!Object.hasOwn(a, k)) return { path: `${path}.${k}`, a: (a as Bag)[k], b: (b as Bag)[k] };
    const d = difference((a as Bag)[k], (b as Bag)[k], `${path}.${k}`);
    if (d) return d;
  }
  return null;
}
const same = (a: unknown, b: unknown) => difference(a, b) === null;

/**
 * zod's answer for a case, computed once: the systematic and shape cases are made once
 * (below) and checked by several tests, and zod's interpreted parse of them was most of
 * this file's time.
 */
const referenceAnswers = new WeakMap<Case, Outcome>();
function referenceOf(c: Case): Outcome {
  let answer = referenceAnswers.get(c);
  if (!answer) {
    referenceAnswers.set(c, answer = reference(c.input));
    if (isBag(c.input)) answersByInput.set(c.input, answer);
  }
  return answer;
}

/**
 * Whether JSON.parse(JSON.stringify(v)) is `v` again, key for key (in the same order) and
 * value for value: plain extensible objects and arrays without holes, symbols, non-enumerable
 * keys or undefined, and finite numbers other than -0. zod then answers the text's parse as
 * it answered `v` (the cases define data properties only, never getters).
 */
function survivesJson(v: unknown): boolean {
  if (v === null || typeof v === 'string' || typeof v === 'boolean') return true;
  if (typeof v === 'number') return Number.isFinite(v) && !Object.is(v, -0);
  if (typeof v !== 'object' || !Object.isExtensible(v)) return false;
  const keys = Object.keys(v);
  if (Reflect.ownKeys(v).length !== keys.length + (Array.isArray(v) ? 1 : 0)) return false;
  if (Array.isArray(v)) {
    if (Object.getPrototypeOf(v) !== Array.prototype || keys.length !== v.length) return false;
    // Every index present, so the keys are the indices and nothing else.
    for (let i = 0; i < v.length; i++) {
      if (!Object.hasOwn(v, i) || !survivesJson(v[i])) return false;
    }
    return true;
  }
  if (Object.getPrototypeOf(v) !== Object.prototype) return false;
  for (const k of keys) if (!survivesJson((v as Bag)[k])) return false;
  return true;
}

/** zod's answer for a case's input, known once the case's is (mutants are handed the input only). */
const answersByInput = new WeakMap<object, Outcome>();
function referenceOfInput(body: unknown): Outcome {
  return (isBag(body) && answersByInput.get(body)) || reference(body);
}

function mismatch(validate: Validator, c: Case, expected = referenceOf(c)): string | null {
  const d = difference(validate(c.input), expected);
  if (!d) return null;
  const brief = (o: unknown) =>
    String(
      JSON.stringify(
        o,
        (_k, v) => (typeof v === 'string' && v.length > 40 ? `${v.slice(0, 40)}…(${v.length})` : v),
      ),
    ).slice(0, 300);
  return `${c.label}: at ${d.path} zod has ${brief(d.b)}, got ${brief(d.a)}`;
}

/** Runs every case; fails listing the first disagreements. Returns how many were valid. */
function assertAgree(cases: Iterable<Case>): { total: number; valid: number } {
  let total = 0;
  let valid = 0;
  const bad: string[] = [];
  for (const c of cases) {
    total++;
    const expected = referenceOf(c);
    const m = mismatch(parseCapture, c, expected);
    if (m) bad.push(m);
    else if (expected.success) valid++;
  }
  assert.ok(
    bad.length === 0,
    `${bad.length} of ${total} cases disagree with zod:\n${bad.slice(0, 5).join('\n')}`,
  );
  return { total, valid };
}

// ---------------------------------------------------------------------------------------------
// The base capture every case mutates: small, but with every kind of object present.

const baseJson = (() => {
  const c = JSON.parse(JSON.stringify(demoCapture({
    flavor: 'proxmox',
    seed: 3,
    totalVms: 40,
    at: new Date('2026-05-01T10:00:00Z'),
    since: new Date('2026-03-01T10:00:00Z'),
    captureId: '7d0c1f9a-5b8e-4c2d-9f3a-1e2b3c4d5e6f',
  })));
  c.vms = c.vms.slice(0, 4);
  c.hosts = c.hosts.slice(0, 2);
  c.datastores = c.datastores.slice(0, 2);
  c.events = c.events.slice(0, 2);
  c.complete = false;
  c.errors = ['datastore nfs-backup: timeout'];
  Object.assign(c.vms[1], {
    tags: ['prod', 'team:a'],
    ipAddresses: ['10.0.0.5', 'fe80::1'],
    annotation: 'owner: ops',
  });
  // v2: two of every detail object (cases mutate the one at index 1 of each array).
  const ds = c.datastores[0].key;
  Object.assign(c.vms[1], {
    disks: [
      { label: 'Hard disk 1', capacityMib: 40960, provisioning: 'thin', datastore: ds },
      { label: 'Hard disk 2', capacityMib: 1024, datastore: null, unitNumber: 1, inBackup: false },
    ],
    nics: [
      { label: 'Network adapter 1', macAddress: '00:50:56:aa:bb:cc', ipAddresses: ['10.0.0.7'] },
      { label: 'net1', macAddress: 'BC:24:11:00:00:01', vlanId: 20, firewall: true },
    ],
    cdroms: [
      { label: 'CD/DVD drive 1', connected: false, deviceType: 'iso', file: '[ds] a.iso' },
      { label: 'ide2', deviceType: 'none' },
    ],
    snapshots: [
      { id: 'snapshot-1', name: 'before upgrade', createdAt: '2026-04-01T10:00:00Z' },
      { id: 'snapshot-2', name: 'after', parentId: 'snapshot-1', current: true, sizeMib: 12.5 },
    ],
    tools: { status: 'toolsOk', runningStatus: 'guestToolsRunning', version: '12352' },
    guest: {
      hostName: 'db-01.example',
      state: 'running',
      disks: [{ path: '/', capacityMib: 40000, fileSystem: 'ext4' }, { path: '/var' }],
    },
    hardware: { version: 'vmx-19', firmware: 'efi', coresPerSocket: 2, cpuLimitMhz: -1 },
    settings: { changeTracking: true, monitors: 1, videoRamKib: 4096, bootDelayMs: 0 },
    labels: [{ category: 'env', name: 'prod' }, { category: null, name: 'web' }],
    attributes: [{ name: 'owner', value: 'ops' }, { name: 'cost centre', value: '42' }],
    haRestartPriority: 'high',
    consolidationNeeded: false,
  });
  Object.assign(c.hosts[1], {
    vendor: 'Dell',
    nics: [{ device: 'vmnic0', speedMbps: 10000, linkUp: true }, { device: 'vmnic1' }],
    switches: [{ name: 'vSwitch0', uplinks: ['vmnic0'] }, { name: 'vSwitch1', mtu: 9000 }],
  });
  Object.assign(c.datastores[1], { url: 'ds:///vmfs/volumes/1/', hostNames: ['esx-1'] });
  c.clusters = [{ key: 'domain-c1', name: 'C1', haEnabled: true }, {
    key: 'domain-c2',
    name: 'C2',
  }];
  c.resourcePools = [{ key: 'resgroup-1', name: 'prod', cpuLimitMhz: -1 }, {
    key: 'rp2',
    name: 'b',
  }];
  c.networks = [
    { key: 'network-1', name: 'VM Network', kind: 'standard', hostNames: ['esx-1'] },
    { key: 'dvportgroup-1', name: 'dv-prod', kind: 'distributed', vlanId: 10 },
  ];
  c.usage = [
    { key: c.vms[0].key, cpuUsageMhz: 120, guestMemoryMib: 512 },
    {
      key: c.vms[1].key,
      hostMemoryMib: 1024.5,
      guestDisks: [{ path: '/', freeMib: 12000.5 }, { path: '/var', freeMib: null }],
    },
  ];
  return JSON.stringify(Capture.parse(c));
})();
/** The base capture as JSON; its VMs are objects (until a case replaces one with anything). */
type CaptureBag = Bag & { vms: Bag[] };
const base = (): CaptureBag => JSON.parse(baseJson);

/** A zod schema, told apart by its `_zod.def.type`. */
type Schema = z.core.$ZodTypes;
/** `s` without its default, nullable and optional wrappers. */
const unwrap = (s: z.core.$ZodType): Schema => {
  const def = (s as Schema)._zod.def;
  return def.type === 'default' || def.type === 'nullable' || def.type === 'optional'
    ? unwrap(def.innerType)
    : (s as Schema);
};
const lengthCheck = (s: Schema, kind: 'max_length' | 'min_length'): number | undefined => {
  for (const c of s._zod.def.checks ?? []) {
    const d = (c as z.core.$ZodChecks)._zod.def;
    if (d.check === kind) return d.check === 'max_length' ? d.maximum : d.minimum;
  }
  return undefined;
};

/** Every object schema reachable from Capture, with where the base capture holds one: derived, so a new nested object is fuzzed too. */
function objectLocations(
  shape: z.core.$ZodShape,
  path: (string | number)[] = [],
): { path: (string | number)[]; shape: z.core.$ZodShape }[] {
  const out = [{ path, shape }];
  for (const [key, field] of Object.entries(shape)) {
    const def = unwrap(field)._zod.def;
    if (def.type === 'object') out.push(...objectLocations(def.shape, [...path, key]));
    if (def.type === 'array') {
      const element = unwrap(def.element)._zod.def;
      if (element.type === 'object') out.push(...objectLocations(element.shape, [...path, key, 1]));
    }
  }
  return out;
}
const locations = objectLocations(Capture.shape);
/** The object at `path` (the base capture holds one at every location). */
const at = (root: Bag, path: (string | number)[]) => path.reduce<Bag>((o, k) => o[k] as Bag, root);

const DATETIMES = [
  '2026-05-01T10:00:00Z',
  '2026-05-01T10:00:00.123Z',
  '2026-05-01T10:00:00.123456789Z',
  '2026-05-01T10:00:00+02:00',
  '2026-05-01T10:00:00-05:30',
  '2026-05-01T10:00:00.5+02:00',
  '2026-05-01T10:00:00+00:00',
  '2026-05-01T10:00Z',
  '2026-05-01T10:00:00',
  '2026-05-01 10:00:00Z',
  '2026-05-01t10:00:00z',
  '2026-13-01T10:00:00Z',
  '2026-02-30T10:00:00Z',
  '2024-02-29T00:00:00Z',
  '2025-02-29T00:00:00Z',
  '2000-02-29T00:00:00Z',
  '1900-02-29T00:00:00Z',
  '2026-05-01T24:00:00Z',
  '2026-05-01T10:60:00Z',
  '2026-05-01T10:00:60Z',
  '2026-05-01T10:00:00+24:00',
  '2026-05-01T10:00:00+0200',
  '2026-05-01T10:00:00+02',
  '2026-05-01',
  '2026-05-01T10:00:00.Z',
  ' 2026-05-01T10:00:00Z',
  '2026-05-01T10:00:00Z\n',
  '+002026-05-01T10:00:00Z',
  '0000-01-01T00:00:00Z',
  '9999-12-31T23:59:59.999Z',
];
const UUIDS = [
  '7d0c1f9a-5b8e-4c2d-9f3a-1e2b3c4d5e6f',
  '7D0C1F9A-5B8E-4C2D-9F3A-1E2B3C4D5E6F',
  '00000000-0000-0000-0000-000000000000',
  'ffffffff-ffff-ffff-ffff-ffffffffffff',
  '01890a5d-ac96-774b-bcce-b302099a8057',
  'c232ab00-9414-11ec-b3c8-9f6bdeced846',
  '7d0c1f9a-5b8e-4c2d-cf3a-1e2b3c4d5e6f',
  '7d0c1f9a-5b8e-0c2d-9f3a-1e2b3c4d5e6f',
  '7d0c1f9a5b8e4c2d9f3a1e2b3c4d5e6f',
  '{7d0c1f9a-5b8e-4c2d-9f3a-1e2b3c4d5e6f}',
  '7d0c1f9a-5b8e-4c2d-9f3a-1e2b3c4d5e6',
];
const GENERIC: [string, () => unknown][] = [
  ['undefined', () => undefined],
  ['null', () => null],
  ['""', () => ''],
  ['"x"', () => 'x'],
  ['" "', () => ' '],
  ['"1"', () => '1'],
  ['"true"', () => 'true'],
  ['0', () => 0],
  ['-0', () => -0],
  ['-1', () => -1],
  ['1', () => 1],
  ['1.5', () => 1.5],
  ['1e9', () => 1e9],
  ['1e9+1', () => 1e9 + 1],
  ['2**53', () => 2 ** 53],
  ['-(2**53)', () => -(2 ** 53)],
  ['NaN', () => NaN],
  ['Infinity', () => Infinity],
  ['-Infinity', () => -Infinity],
  ['true', () => true],
  ['false', () => false],
  ['{}', () => ({})],
  ['[]', () => []],
  ['["x"]', () => ['x']],
  ['[1]', () => [1]],
  ['[null]', () => [null]],
  ['[{}]', () => [{}]],
  ['Date', () => new Date(0)],
  ['String object', () => new String('x')],
  ['bigint', () => 1n],
  ['function', () => () => 'x'],
  ['"poweredOn"', () => 'poweredOn'],
  ['"vcenter"', () => 'vcenter'],
  ['"created"', () => 'created'],
];

/** Edge values for one field, read off its zod schema (limits, options, element type). */
function boundaries(field: z.core.$ZodType, sample: unknown): [string, () => unknown][] {
  const s = unwrap(field);
  const def = s._zod.def;
  const out: [string, () => unknown][] = [];
  if (def.type === 'string') {
    const max = lengthCheck(s, 'max_length');
    const min = lengthCheck(s, 'min_length');
    if (max !== undefined) {
      out.push(
        [`"a"×${max}`, () => 'a'.repeat(max)],
        [`"a"×${max + 1}`, () => 'a'.repeat(max + 1)],
        [`"😀"×${max} (${2 * max} units)`, () => '😀'.repeat(max)],
        [`"😀"×${max + 1}`, () => '😀'.repeat(max + 1)],
        [`"a"×${max - 1}+"😀" (${max + 1} units)`, () => 'a'.repeat(max - 1) + '😀'],
        [`"a"×${max}+"😀"`, () => 'a'.repeat(max) + '😀'],
        [`lone high surrogate×${max}`, () => '\uD83D'.repeat(max)],
        [`lone high surrogate×${max + 1}`, () => '\uD83D'.repeat(max + 1)],
        [`lone low+"a"×${max - 1}`, () => '\uDE00' + 'a'.repeat(max - 1)],
        [`"é"(combining)×${max}`, () => 'e\u0301'.repeat(Math.ceil(max / 2))],
      );
    }
    if (min !== undefined) {
      out.push(
        [`"a"×${min - 1}`, () => 'a'.repeat(min - 1)],
        [`"a"×${min}`, () => 'a'.repeat(min)],
        ['"😀"', () => '😀'],
      );
    }
    for (const d of DATETIMES) out.push([JSON.stringify(d), () => d]);
    for (const u of UUIDS) out.push([JSON.stringify(u), () => u]);
  }
  if (def.type === 'number') {
    const { minValue: lo, maxValue: hi } = s as z.ZodNumber;
    for (const [name, v] of [['min', lo], ['max', hi]] as const) {
      if (v === null || !Number.isFinite(v) || Math.abs(v) > 2 ** 53) continue;
      for (const d of [-1, -0.5, -Number.EPSILON, 0, 0.5, 1]) {
        out.push([`${name}${d >= 0 ? '+' : ''}${d}`, () => v + d]);
      }
    }
    out.push(
      ['MAX_SAFE_INTEGER', () => Number.MAX_SAFE_INTEGER],
      ['MAX_VALUE', () => Number.MAX_VALUE],
      ['5e-324', () => 5e-324],
      ['1e-7', () => 1e-7],
    );
  }
  if (def.type === 'array') {
    const max = lengthCheck(s, 'max_length');
    const element = unwrap(def.element);
    const item = Array.isArray(sample) && sample.length
      ? sample[0]
      : element._zod.def.type === 'string'
      ? 'x'
      : {};
    // A million-item vms array takes zod seconds per parse; its length check is zod's own either way.
    if (max !== undefined && max <= 10_000) {
      out.push([`${max} items`, () => Array(max).fill(item)], [
        `${max + 1} items`,
        () => Array(max + 1).fill(item),
      ]);
    }
    out.push(
      ['[item, null]', () => [item, null]],
      ['[item, 1]', () => [item, 1]],
      ['[item, "x"]', () => [item, 'x']],
      ['[item, []]', () => [item, []]],
      ['sparse [item, , item]', () => [item, , item]],
      ['array-like object', () => ({ 0: item, length: 1 })],
    );
    if (element._zod.def.type !== 'object') {
      for (const [label, make] of boundaries(element, undefined)) {
        out.push([`[item, ${label}]`, () => [item, make()]]);
      }
    }
  }
  if (def.type === 'enum') {
    for (const o of (s as z.ZodEnum).options) {
      out.push([JSON.stringify(o), () => o], [
        `${JSON.stringify(o)} upper`,
        () => String(o).toUpperCase(),
      ], [`${JSON.stringify(o)}+" "`, () => `${o} `]);
    }
  }
  if (def.type === 'literal') {
    for (const v of def.values) {
      out.push([`literal ${String(v)}`, () => v], [
        `literal+1`,
        () => (typeof v === 'string' ? v + 1 : Number(v) + 1),
      ], [
        `String(literal)`,
        () => String(v),
      ]);
    }
  }
  if (def.type === 'object') {
    out.push(['inherits every field', () => Object.create(structuredClone(sample) as object)], [
      'with unknown key',
      () => ({ ...(sample as object), unknownKey: 1 }),
    ], ['Map', () => new Map()]);
  }
  return out;
}

const ownKey = (o: object, k: string, v: unknown) =>
  Object.defineProperty(o, k, { value: v, enumerable: true, writable: true, configurable: true });

/** For every key of every object in the capture: missing, wrong types, and the edges of its own schema. */
/** The systematic cases, made once (no test changes a case). */
let systematic: Case[] | null = null;
const systematicCases = (): Case[] => (systematic ??= [...makeSystematicCases()]);
let shapes: Case[] | null = null;
const shapeCases = (): Case[] => (shapes ??= [...makeShapeCases()]);

/**
 * The base capture the systematic cases share: each case copies only the objects on the path
 * to the one it edits (as a whole copy has them: same keys in the same order, arrays still
 * arrays) and shares every other object with this one, which nothing writes to (the
 * validators build fresh objects; upgradeV1Capture renames only v1 keys, which no
 * systematic case holds). A whole copy per case (~16,000) was most of their making time and
 * of the memory the collector kept walking while they are checked.
 *
 * It holds the base capture's first two VMs only: every systematic case edits the VM at index
 * 1 (or the capture around it), so VMs 2 and 3 were 30% of the text each case is parsed,
 * read in parts and compared for, and nothing a case is about. A VM after the edited one, a
 * VM edited at another index and duplicate keys among four VMs are the random and shape
 * cases' (they still start from the whole base capture).
 */
const sharedBase: CaptureBag = base();
sharedBase.vms = sharedBase.vms.slice(0, 2);
function copiedAlong(path: (string | number)[]): { root: CaptureBag; target: Bag } {
  const root: CaptureBag = { ...sharedBase };
  let copy: Bag = root;
  for (const k of path) {
    const original: unknown = copy[k];
    copy = copy[k] = Array.isArray(original)
      ? (original.slice() as unknown as Bag)
      : { ...(original as Bag) };
  }
  return { root, target: copy };
}

function* makeSystematicCases(): Generator<Case> {
  for (const { path, shape } of locations) {
    const where = path.join('.') || '(root)';
    const sample = at(sharedBase, path);
    for (const [key, field] of Object.entries(shape)) {
      const { root, target } = copiedAlong(path);
      delete target[key];
      yield { label: `${where}.${key} missing`, input: root };
      for (const [label, make] of [...GENERIC, ...boundaries(field, sample[key])]) {
        const { root, target } = copiedAlong(path);
        target[key] = make();
        yield { label: `${where}.${key} = ${label}`, input: root };
      }
    }
    for (const extra of ['unknownKey', '__proto__', 'constructor', 'toString', 'hasOwnProperty']) {
      const { root, target } = copiedAlong(path);
      ownKey(target, extra, { nested: [1] });
      yield { label: `${where} + own key ${extra}`, input: root };
    }
    if (path.length) {
      const { root, target: parent } = copiedAlong(path.slice(0, -1));
      parent[path[path.length - 1]] = Object.setPrototypeOf({ ...sample }, { inheritedExtra: 1 });
      yield { label: `${where} with an inherited extra key`, input: root };
    }
  }
}

function* makeShapeCases(): Generator<Case> {
  for (const [label, make] of GENERIC) yield { label: `body = ${label}`, input: make() };
  yield { label: 'body = [capture]', input: [base()] };
  yield { label: 'body = capture as prototype', input: Object.create(base()) };
  yield {
    label: 'body = JSON with own __proto__',
    input: JSON.parse(baseJson.replace('{', '{"__proto__":{"complete":true},')),
  };
  for (const [label, make] of GENERIC) {
    const c = base();
    (c.vms as unknown[])[2] = make();
    yield { label: `vms[2] = ${label}`, input: c };
  }
  const withVms = (label: string, edit: (vms: Bag[]) => void) => {
    const c = base();
    edit(c.vms);
    return { label, input: c };
  };
  yield withVms('no VMs', (vms) => vms.splice(0));
  yield withVms('vms[2] has vms[0] key', (vms) => (vms[2].key = vms[0].key));
  yield withVms('vms[1] has vms[0] key', (vms) => (vms[1].key = vms[0].key));
  yield withVms('one key three times', (vms) => (vms[1].key = vms[3].key = vms[0].key));
  yield withVms(
    'two duplicate pairs',
    (vms) => ((vms[1].key = vms[0].key), (vms[3].key = vms[2].key)),
  );
  yield withVms('same VM object twice', (vms) => vms.push(vms[0]));
  yield withVms(
    'duplicate key, other VM invalid',
    (vms) => ((vms[1].key = vms[0].key), (vms[2].vcpu = -1)),
  );
  yield withVms(
    'keys differing in case only',
    (vms) => (vms[1].key = String(vms[0].key).toUpperCase()),
  );
  yield withVms('keys differing by trailing space', (vms) => (vms[1].key = `${vms[0].key} `));
  yield withVms(
    'keys equal after normalisation only',
    (vms) => ((vms[0].key = 'caf\u00e9'), (vms[1].key = 'cafe\u0301')),
  );
  yield withVms('VM with a symbol key', (vms) => (vms[0][Symbol('x')] = 1));
  yield withVms('VM with only inherited fields', (vms) => (vms[0] = Object.create(vms[0])));
  yield withVms(
    'VM as a class instance',
    (vms) => (vms[0] = Object.assign(new (class Vm {})(), vms[0])),
  );
  yield withVms(
    'VM with null prototype',
    (vms) => (vms[0] = Object.assign(Object.create(null), vms[0])),
  );
  yield withVms('frozen VM', (vms) => Object.freeze(vms[0]));
  yield withVms('all nullable fields null, defaults missing', (vms) => {
    for (const [key, field] of Object.entries<z.ZodType>(CaptureVm.shape)) {
      if (field.type === 'default') delete vms[0][key];
      else if (field.safeParse(null).success) vms[0][key] = null;
    }
  });
}

// ---------------------------------------------------------------------------------------------
// Seeded random mutations: up to three edits at once, mostly with the field's own edge values so
// that a good share of the results is still valid and reaches the accepting path.

function mulberry32(seed: number) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function* randomCases(count: number, seed: number): Generator<Case> {
  const rnd = mulberry32(seed);
  const pick = <T>(list: readonly T[]): T => list[Math.floor(rnd() * list.length)];
  const sampleBase = base();
  for (let n = 0; n < count; n++) {
    const c = base();
    const edits: string[] = [];
    const k = 1 + Math.floor(rnd() * 3);
    for (let e = 0; e < k; e++) {
      const loc = pick(locations);
      // Spread edits over every element, not only the one the systematic cases use.
      const path: (string | number)[] = [];
      let target: unknown = c;
      for (const p of loc.path) {
        if (!isBag(target)) break;
        const step = typeof p === 'number' && Array.isArray(target) && target.length
          ? Math.floor(rnd() * target.length)
          : p;
        path.push(step);
        target = target[step];
      }
      if (!isBag(target)) continue;
      const roll = rnd();
      if (roll < 0.05 && c.vms.length > 1) {
        const [i, j] = [Math.floor(rnd() * c.vms.length), Math.floor(rnd() * c.vms.length)];
        if (c.vms[i] && typeof c.vms[i] === 'object' && c.vms[j] && typeof c.vms[j] === 'object') {
          c.vms[i].key = c.vms[j].key;
        }
        edits.push(`vms[${i}].key = vms[${j}].key`);
        continue;
      }
      if (roll < 0.1) {
        const extra = pick(['unknownKey', '__proto__', 'x']);
        ownKey(target, extra, pick(GENERIC)[1]());
        edits.push(`${path.join('.')} + ${extra}`);
        continue;
      }
      const key = pick(Object.keys(loc.shape));
      if (roll < 0.2) {
        delete target[key];
        edits.push(`${path.join('.')}.${key} missing`);
        continue;
      }
      const own = boundaries(loc.shape[key], at(sampleBase, loc.path)[key]);
      const [label, make] = roll < 0.6 && own.length ? pick(own) : pick(GENERIC);
      target[key] = make();
      edits.push(`${path.join('.')}.${key} = ${label}`);
    }
    yield { label: `random #${n} (${edits.join('; ')})`, input: c };
  }
}

// ---------------------------------------------------------------------------------------------

test('the reference is the interpreted zod parser, not a compiled one', () => {
  // Were zod's global compile mode on (import "zod/compile"), both sides would be the same code.
  assert.is((Capture._zod.run as { __originalRun?: unknown }).__originalRun, undefined);
});

test('the capture schema compiles entirely (otherwise parseCapture silently runs at zod speed)', () => {
  z.compile(Capture, { strict: true });
});

test('a realistic capture: output identical to zod', () => {
  for (
    const input of [
      demoCapture({
        flavor: 'vcenter',
        seed: 7,
        totalVms: 3000,
        at: new Date('2026-05-01T10:00:00Z'),
        since: null,
      }),
      JSON.parse(JSON.stringify(demoCapture({
        flavor: 'proxmox',
        seed: 4,
        totalVms: 2000,
        at: new Date('2026-05-01T10:00:00Z'),
        since: new Date('2026-01-15T00:00:00Z'),
      }))),
    ]
  ) {
    const expected = reference(input);
    assert.ok(expected.success, 'the demo capture is valid');
    const actual = parseCapture(input);
    assert.ok(actual.success);
    assert.ok(same(actual, expected), 'same data as zod');
    assert.equal(actual, expected);
  }
});

test('valid output: defaults filled, unknown keys stripped, fresh objects', () => {
  const c = base();
  for (const [key, field] of Object.entries<z.ZodType>(CaptureVm.shape)) {
    if (field.type === 'default') delete c.vms[0][key];
  }
  c.vms[0].extra = 1;
  c.extra = 1;
  delete c.schemaVersion;
  const r = parseCapture(c);
  if (!r.success) throw new Error(JSON.stringify(r.issues));
  assert.equal(r, reference(c));
  assert.is(r.data.schemaVersion, 2);
  assert.is(r.data.vms[0].createdAt, null);
  assert.equal(r.data.vms[0].tags, []);
  assert.not.ok('extra' in r.data.vms[0]);
  assert.not.ok('extra' in r.data);
  assert.ok(r.data.vms[0] !== c.vms[0], 'a new VM object');
  assert.equal(Object.keys(r.data.vms[0]).sort(), Object.keys(CaptureVm.shape).sort());
});

test('every key of every object: missing, wrong types, boundaries, extra keys', () => {
  const { total, valid } = assertAgree(systematicCases());
  // Guards against a generator gone blind: the edge values must hit both sides of each limit.
  assert.ok(total > 3000, `only ${total} cases`);
  assert.ok(
    valid > 500,
    `only ${valid} of ${total} cases valid: the accepting path is barely exercised`,
  );
});

test('non-object bodies and VMs, vms not an array, duplicate VM keys', () => {
  const { total, valid } = assertAgree(shapeCases());
  assert.ok(total > 60 && valid > 5, `${total} cases, ${valid} valid`);
});

test('seeded random mutations', () => {
  const { total, valid } = assertAgree(randomCases(4000, 20260501));
  assert.is(total, 4000);
  assert.ok(valid > 400, `only ${valid} of ${total} random cases valid`);
});

/** A validated capture as ingest stores it: the VMs as their digests (server/ingest/vm_lines.ts). */
function digested(outcome: Outcome): Outcome {
  if (!outcome.success) return outcome;
  return { success: true, data: wholeStored(outcome.data as Capture) };
}

/**
 * The ingest reads a capture's text in parts (server/ingest/capture_text.ts) and falls back
 * to the whole parse whenever it cannot vouch for them: what it accepts must be exactly
 * what zod accepts of JSON.parse(text), with the same data. Parts of one VM each here.
 * Each case is read twice: alone, and with the memo of the valid base capture's VM texts
 * (server/ingest/vm_text_memo.ts), whose unchanged VMs are then not parsed at all. A capture's
 * first VMs are validated by zod's interpreted parse (vmValidation): each reading is made
 * that way and again with the generated validator from the first VM on.
 */
test('read in parts from its JSON text, a capture gets exactly the answer of the whole parse', async () => {
  const plainParseVms = vmValidation.plainParseVms;
  try {
    for (const plainFirst of [plainParseVms, 0]) {
      vmValidation.plainParseVms = plainFirst;
      await readingsInPartsAgree(plainFirst === 0 ? ' (generated validator)' : '');
    }
  } finally {
    vmValidation.plainParseVms = plainParseVms;
  }
});

async function readingsInPartsAgree(way: string): Promise<void> {
  let baseMemo: VmTextMemo | undefined;
  await captureFromText(baseJson, 1)!.vms.all({ previous: undefined, keep: (m) => (baseMemo = m) });
  assert.is(baseMemo?.size, 4, 'every VM of the base capture is remembered');
  let total = 0;
  let inParts = 0;
  let remembered = 0;
  const bad: string[] = [];
  for (const c of [...systematicCases(), ...shapeCases(), ...randomCases(2000, 20261125)]) {
    let text: string | undefined;
    try {
      text = JSON.stringify(c.input);
    } catch {
      continue; // a BigInt or a cycle: no client can send it
    }
    if (text === undefined) continue;
    const json = text;
    total++;
    // The whole parse is zod's answer for JSON.parse(text): the one already known for the
    // case when the text is the case again. Worked out only when a reading in parts has
    // something to compare (most cases are sent to the whole parse, which needs no check).
    let whole: Outcome | undefined;
    const expected = () =>
      whole ??= digested(survivesJson(c.input) ? referenceOf(c) : reference(JSON.parse(json)));
    for (const memo of [undefined, { previous: baseMemo, keep: () => {} }]) {
      const incoming = captureFromText(text, 1);
      if (!incoming) continue;
      let actual: Outcome;
      try {
        const vms = await incoming.vms.all(memo);
        actual = { success: true, data: { ...storedHead(incoming, vms), vms } };
        inParts++;
        if (memo && vms.some((vm) => [0, 1, 2, 3].some((i) => vm === baseMemo!.digest(i)))) {
          remembered++;
        }
      } catch (err) {
        if (!(err instanceof NeedsWholeParse)) throw err;
        continue; // the whole parse answers, as in ingest_capture.ts
      }
      const d = difference(actual, expected());
      if (d) {
        bad.push(
          `${c.label}${memo ? ' (memo)' : ''}${way}: at ${d.path} the whole parse has ${
            JSON.stringify(d.b)?.slice(0, 200)
          }, in parts ${JSON.stringify(d.a)?.slice(0, 200)}`,
        );
      }
    }
  }
  assert.ok(
    bad.length === 0,
    `${bad.length} of ${total} cases differ:\n${bad.slice(0, 5).join('\n')}`,
  );
  assert.ok(
    inParts > 2000,
    `only ${inParts} readings of ${total} cases were in parts: the parts path is barely exercised`,
  );
  assert.ok(
    remembered > 1000,
    `only ${remembered} readings took VMs from the memo: the memo is barely exercised`,
  );
}

test('the cases catch validators that differ from zod in one way', () => {
  // The real duplicate-key refinement, reused so that only the named difference remains.
  const withVm = (vm: z.ZodType) =>
    z.object({ ...Capture.shape, vms: z.array(vm).max(1_000_000) }).check(
      ...((Capture.def.checks ?? []) as z.core.$ZodCheck<unknown>[]),
    );
  // Each mutant names the cases about what it changes (a label prefix).
  const mutants: [string, string, Validator][] = [
    ['no duplicate-key rule', '(root).vms', viaZod(z.object(Capture.shape))],
    ['keeps unknown VM keys', 'vms.1 + own key', viaZod(withVm(CaptureVm.loose()))],
    [
      'accepts fractional vcpu',
      'vms.1.vcpu',
      viaZod(withVm(CaptureVm.extend({ vcpu: z.number().min(0).max(100_000) }))),
    ],
    [
      'no default for tags',
      'vms.1.tags',
      viaZod(withVm(CaptureVm.extend({ tags: z.array(z.string().max(256)).max(256).optional() }))),
    ],
    [
      'datetime without offsets',
      'vms.1.createdAt',
      viaZod(withVm(CaptureVm.extend({ createdAt: z.iso.datetime().nullable().default(null) }))),
    ],
    [
      'ipAddresses max 255',
      'vms.1.ipAddresses',
      viaZod(
        withVm(CaptureVm.extend({ ipAddresses: z.array(z.string().max(64)).max(255).default([]) })),
      ),
    ],
    // Differs only on acceptance (a schema refine would also differ on every over-long ASCII name's issues).
    ['measures VM names in UTF-16 units', 'vms.1.name', (body) => {
      const r = referenceOfInput(body);
      return r.success && (r.data as Capture).vms.some((vm) => vm.name.length > 512)
        ? { success: false, issues: [] }
        : r;
    }],
  ];
  const cases = [...systematicCases(), ...shapeCases()];
  for (const [name, about, validate] of mutants) {
    // Whether some case catches a mutant does not depend on the order they are tried in: those
    // about what it changes go first (a zod parse per case tried was most of this test's time).
    const first = cases.filter((c) => c.label.startsWith(about));
    assert.ok(first.length > 0, `no case is about ${about}`);
    let caught = false;
    for (const c of [...first, ...cases.filter((c) => !first.includes(c))]) {
      if ((caught = mismatch(validate, c) !== null)) break;
    }
    assert.ok(caught, `a validator that "${name}" passes every case`);
  }
});

test.run();
