/**
 * The task log as a source of lifecycle facts: which guests were created and destroyed
 * since the last capture, which configs may have changed, and when an LXC was created
 * (LXC configs carry no `ctime`, so the `vzcreate` task time is the creation time).
 *
 * `/cluster/tasks` takes no parameters and keeps only the latest tasks of each node; when
 * it does not reach back to `since` for a node, that node's own log is read with PVE's
 * documented `since` filter (see `nodesNeedingBackfill`).
 */
import type { CaptureEvent } from '../../capture/schema.ts';
import type { TaskEntry } from './api_shapes.ts';

const CREATE_TYPES = new Set(['qmcreate', 'vzcreate']);
/** PVE logs clones under the *source* vmid; the new vmid is not in the task entry. */
const CLONE_TYPES = new Set(['qmclone', 'vzclone']);
const DESTROY_TYPES = new Set(['qmdestroy', 'vzdestroy']);
/** Tasks after which a guest's config may differ (see config_cache.ts, signal 3). */
const CONFIG_CHANGING = new Set([
  'qmcreate',
  'vzcreate',
  'qmdestroy',
  'vzdestroy',
  'qmrestore',
  'vzrestore',
  'qmconfig',
  'vzconfig',
  'qmresize',
  'vzresize',
  'resize',
  'qmmove',
  'move_volume',
  'qmrollback',
  'vzrollback',
  'qmtemplate',
  'vztemplate',
  'qmigrate',
  'vzmigrate',
  'hamigrate',
  // Snapshots live in the config file: taking or deleting one moves its digest.
  'qmsnapshot',
  'qmdelsnapshot',
  'vzsnapshot',
  'vzdelsnapshot',
]);

/** The numeric vmid a task is about, or null (node tasks, bulk vzdump jobs). */
export function taskVmid(t: TaskEntry): number | null {
  return t.id && /^\d+$/.test(t.id) ? Number(t.id) : null;
}

const succeeded = (t: TaskEntry) => t.endtime != null && t.status === 'OK';

/** Tasks that finished successfully after `sinceSec` (all finished ones when null). */
export function finishedSince(tasks: readonly TaskEntry[], sinceSec: number | null): TaskEntry[] {
  return tasks.filter((t) => succeeded(t) && (sinceSec == null || t.endtime! > sinceSec));
}

/** Vmids whose config may have changed according to these tasks. */
export function touchedVmids(tasks: readonly TaskEntry[]): Set<number> {
  const out = new Set<number>();
  for (const t of tasks) {
    const vmid = taskVmid(t);
    if (vmid != null && CONFIG_CHANGING.has(t.type)) out.add(vmid);
  }
  return out;
}

/** Vmids with a successful destroy task in `tasks`. */
export function destroyedVmids(tasks: readonly TaskEntry[]): Set<number> {
  const out = new Set<number>();
  for (const t of tasks) {
    const vmid = taskVmid(t);
    if (vmid != null && DESTROY_TYPES.has(t.type) && succeeded(t)) out.add(vmid);
  }
  return out;
}

/** Vmids created or destroyed in `tasks` (a vmid may have been reused). */
export function lifecycleVmids(tasks: readonly TaskEntry[]): Set<number> {
  const out = new Set<number>();
  for (const t of tasks) {
    const vmid = taskVmid(t);
    if (vmid != null && (CREATE_TYPES.has(t.type) || DESTROY_TYPES.has(t.type))) out.add(vmid);
  }
  return out;
}

/** Latest successful `vzcreate` start time per vmid: the LXC creation time (and generation). */
export function lxcCreationTimes(tasks: readonly TaskEntry[]): Map<number, number> {
  const out = new Map<number, number>();
  for (const t of tasks) {
    const vmid = taskVmid(t);
    if (vmid == null || t.type !== 'vzcreate' || !succeeded(t)) continue;
    if ((out.get(vmid) ?? -1) < t.starttime) out.set(vmid, t.starttime);
  }
  return out;
}

/**
 * Nodes whose slice of `/cluster/tasks` may be truncated: every listed task of the node
 * started after `sinceSec`, so older ones in the window may have been pushed out.
 */
export function nodesNeedingBackfill(
  tasks: readonly TaskEntry[],
  nodes: readonly string[],
  sinceSec: number | null,
): string[] {
  if (sinceSec == null) return [];
  return nodes.filter((node) => {
    const mine = tasks.filter((t) => t.node === node);
    return mine.length > 0 && Math.min(...mine.map((t) => t.starttime)) > sinceSec;
  });
}

/** Merges task lists, one entry per UPID. */
export function mergeTasks(...lists: readonly TaskEntry[][]): TaskEntry[] {
  const byUpid = new Map<string, TaskEntry>();
  for (const list of lists) for (const t of list) byUpid.set(t.upid, t);
  return [...byUpid.values()];
}

export type PresentVm = { key: string; name: string; createdAtSec: number | null };
export type KnownVm = { key: string; name: string };

const iso = (sec: number) => new Date(sec * 1000).toISOString();

/**
 * Turns the window's tasks into capture events.
 * - `deleted` (qmdestroy/vzdestroy): keyed by what this agent last saw under that vmid,
 *   unless that same key is still present (then the destroyed guest is not the one we knew).
 * - `created` (qmcreate/vzcreate): keyed by the present guest with that vmid, unless it was
 *   destroyed again after the create.
 * - `created` (qmclone/vzclone): the entry names the source; the clone is matched by its
 *   creation time falling inside the task, when exactly one guest matches.
 */
export function toCaptureEvents(
  window: readonly TaskEntry[],
  present: ReadonlyMap<number, PresentVm>,
  lastKnown: ReadonlyMap<number, KnownVm>,
): CaptureEvent[] {
  const events: CaptureEvent[] = [];
  const sorted = [...window].sort((a, b) =>
    a.starttime - b.starttime || a.upid.localeCompare(b.upid)
  );
  for (const t of sorted) {
    const vmid = taskVmid(t);
    if (vmid == null) continue;
    const detail = `${t.type} on ${t.node}${t.user ? ` by ${t.user}` : ''} (${t.upid})`.slice(
      0,
      1024,
    );
    if (DESTROY_TYPES.has(t.type)) {
      const known = lastKnown.get(vmid);
      const now = present.get(vmid);
      const key = known && known.key !== now?.key ? known.key : null;
      events.push({
        type: 'deleted',
        at: iso(t.endtime ?? t.starttime),
        vmKey: key,
        sourceVmId: String(vmid),
        vmName: known?.name ?? null,
        detail,
      });
    } else if (CREATE_TYPES.has(t.type)) {
      const destroyedLater = sorted.some((d) =>
        DESTROY_TYPES.has(d.type) && taskVmid(d) === vmid && d.starttime >= t.starttime
      );
      const now = destroyedLater ? undefined : present.get(vmid);
      events.push({
        type: 'created',
        at: iso(t.starttime),
        vmKey: now?.key ?? null,
        sourceVmId: String(vmid),
        vmName: now?.name ?? null,
        detail,
      });
    } else if (CLONE_TYPES.has(t.type)) {
      const end = t.endtime ?? t.starttime;
      const matches = [...present.entries()].filter(([, vm]) =>
        vm.createdAtSec != null && vm.createdAtSec >= t.starttime - 1 && vm.createdAtSec <= end + 1
      );
      const match = matches.length === 1 ? matches[0] : undefined;
      events.push({
        type: 'created',
        at: iso(t.starttime),
        vmKey: match?.[1].key ?? null,
        sourceVmId: match ? String(match[0]) : null,
        vmName: match?.[1].name ?? null,
        detail: `clone of vmid ${vmid}: ${detail}`.slice(0, 1024),
      });
    }
  }
  return events;
}
