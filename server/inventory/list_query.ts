/**
 * The VM list's vocabulary, shared by its data modules, routes and pages: what a list query
 * can ask (sorts, states, filters, the cursor of each sort) and the shape of its answer (an
 * item, the captures read as of a moment, a keyset page).
 */
import { z } from 'zod';
import { ColumnText, decodeCursor, encodeCursor, IntKey } from '../cursor.ts';

export const VM_SORTS = [
  'name',
  'source',
  'power',
  'vcpu',
  'ram',
  'disk',
  'created',
  'firstSeen',
] as const;
export type VmSort = (typeof VM_SORTS)[number];

/** Which VMs: live now, deleted, or both (with `at`: as they are now, of those present then). */
export const VM_STATES = ['live', 'deleted', 'all'] as const;
export type VmState = (typeof VM_STATES)[number];

/** Guest OS families, from the guest OS ids of vSphere (`windows9_64Guest`) and Proxmox (`win11`, `l26`). */
export const GUEST_FAMILIES = ['windows', 'linux', 'other'] as const;
export type GuestFamily = (typeof GUEST_FAMILIES)[number];

export type VmListQuery = {
  q?: string;
  /** Default: live, or all when `at` is given. */
  state?: VmState;
  /** The estate as each source's newest complete capture at or before this time recorded it. */
  at?: Date;
  sourceId?: number;
  cluster?: string;
  pool?: string;
  host?: string;
  /** A folder path: VMs in it or below it. */
  folder?: string;
  /** A tag: `Category:Name` (vSphere tag) or a plain tag / attribute (`Name=value`). */
  tag?: string;
  /** A datastore key: VMs with a disk on it. */
  datastore?: string;
  guestFamily?: GuestFamily;
  powerState?: 'poweredOn' | 'poweredOff' | 'suspended';
  template?: boolean;
  sort?: VmSort;
  order?: 'asc' | 'desc';
  limit: number;
  cursor?: string | null;
};

/** A live VM as the list (API, pages, CSV) shows it: declared once, typed from here. */
export const VmListItem = z.object({
  key: z.string(),
  sourceId: z.number().int(),
  sourceName: z.string(),
  sourceKind: z.string(),
  sourceVmId: z.string(),
  name: z.string(),
  powerState: z.string(),
  isTemplate: z.boolean(),
  vcpu: z.number().int(),
  memoryMib: z.number().int(),
  provisionedDiskGib: z.number(),
  usedDiskGib: z.number().nullable(),
  /** Deprecated aliases (the same binary values under their v1 names), kept for one version. */
  ramMb: z.number().int().describe('Deprecated: use memoryMib (same value, MiB).'),
  provisionedDiskGb: z.number().describe('Deprecated: use provisionedDiskGib (same value, GiB).'),
  usedDiskGb: z.number().nullable().describe('Deprecated: use usedDiskGib (same value, GiB).'),
  datacenter: z.string().nullable(),
  cluster: z.string().nullable(),
  host: z.string().nullable(),
  resourcePool: z.string().nullable(),
  folder: z.string().nullable(),
  guestOs: z.string().nullable(),
  ipAddresses: z.array(z.string()),
  tags: z.array(z.string()),
  biosUuid: z.string().nullable(),
  instanceUuid: z.string().nullable(),
  createdAt: z.string().nullable(),
  firstSeenAt: z.string(),
  lastSeenAt: z.string(),
  /** When the row's values were captured (with `at`: the capture read for its source). */
  stateAt: z.string(),
  /** Whether the VM exists now. */
  state: z.enum(['live', 'deleted']),
  /** When it was deleted (null while live). */
  deletedAt: z.string().nullable(),
  /** How the deletion was known: the source's deletion event, or absence from a complete capture. */
  deletedFrom: z.enum(['event', 'absence']).nullable(),
});
export type VmListItem = z.infer<typeof VmListItem>;

/** With `at`: the capture each source was read from, and the sources with none by then. */
export const VmAsOf = z.object({
  at: z.string(),
  captures: z.array(z.object({
    sourceId: z.number().int(),
    sourceName: z.string(),
    captureId: z.string(),
    capturedAt: z.string(),
    complete: z.boolean(),
    passedOverAt: z.string().nullable().describe(
      'a newer capture at or before `at` that was not read: incomplete, it may leave VMs out',
    ),
  })),
  sourcesWithoutCapture: z.array(z.object({ sourceId: z.number().int(), sourceName: z.string() })),
});
export type VmAsOf = z.infer<typeof VmAsOf>;

export type Page<T> = { items: T[]; total: number; next: string | null };

/**
 * A keyset page from `limit + 1` rows: the first `limit` as items, and the cursor after the
 * last of them when the extra row says more follow.
 */
export function keysetPage<R, T>(
  rows: R[],
  total: number,
  limit: number,
  item: (r: R) => T,
  key: (r: R) => unknown,
): Page<T> {
  const page = rows.slice(0, limit);
  return {
    items: page.map(item),
    total,
    next: rows.length > limit ? encodeCursor(key(page.at(-1)!)) : null,
  };
}

/** A page row's sort value: text, an integer, numeric as text, or a time (by the sort). */
export type SortRow = { sort_value: string | number | Date | null };

/** The largest `integer` (vCPUs, RAM in MB). */
const MAX_INT = 2 ** 31 - 1;
/** The largest time a Date holds, in ms either side of 1970. */
const MAX_TIME_MS = 8.64e15;
const Text = z.string().max(2000).refine((s) => !s.includes('\0'));
const Int = z.number().int().min(-MAX_INT).max(MAX_INT);
const Time = z.number().int().min(-MAX_TIME_MS).max(MAX_TIME_MS);
/** The sort key of a page's last row: value of the sort column, then source and key. */
const cursorOf = (v: z.ZodType<string | number>) =>
  z.object({ v: v.nullable(), s: IntKey, k: ColumnText });
/**
 * A cursor of any sort, and of each sort: every value must fit the column it is compared
 * with, or PostgreSQL refuses the query.
 */
const VmCursor = cursorOf(Text.or(Time));
const SORT_CURSOR: Record<VmSort, typeof VmCursor> = {
  name: cursorOf(Text),
  source: cursorOf(Text),
  power: cursorOf(Text),
  vcpu: cursorOf(Int),
  ram: cursorOf(Int),
  disk: cursorOf(z.string().regex(/^-?\d{1,20}(\.\d{1,10})?$/)),
  created: cursorOf(Time),
  firstSeen: cursorOf(Time),
};

/** The cursor in `value`; null when it is not one of ours, or (given `sort`) not one of that sort. */
export function decodeVmCursor(value: string, sort?: VmSort) {
  return decodeCursor(sort ? SORT_CURSOR[sort] : VmCursor, value);
}

/** Whether a list query has no filter beyond `at`, `state` and the source. */
export function onlyStateAndSource(query: VmListQuery): boolean {
  return !query.q && !query.cluster && !query.pool && !query.host && !query.folder && !query.tag &&
    !query.datastore && !query.guestFamily && !query.powerState && query.template === undefined;
}
