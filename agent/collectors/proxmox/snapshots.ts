/**
 * Guest snapshots from `GET /nodes/{node}/{qemu|lxc}/{vmid}/snapshot`, asked only for
 * guests whose config names a `parent` (a guest without snapshots has none), and only
 * when the config digest moved since the list was read: PVE's digest is over the whole
 * config file, snapshot sections included, so a new, deleted or edited snapshot changes it.
 *
 * The list ends with the `current` pseudo-entry ("You are here!"): not a snapshot, but
 * its `parent` is the snapshot the guest runs from (`current: true`).
 */
import type { VmSnapshot } from '../../capture/details.ts';
import { CollectorError } from '../collector.ts';
import type { ProxmoxApi } from './api.ts';
import type { GuestResource, SnapshotEntry } from './api_shapes.ts';
import type { ParsedGuestConfig } from './config_parse.ts';
import { type NodeGate, SKIPPED } from './node_health.ts';

export type Snapshot = VmSnapshot;

const iso = (sec: number) => new Date(sec * 1000).toISOString();

/**
 * The snapshot list as capture records, in the API's order. Whatever the API says, the
 * result is a tree the capture contract accepts: one record per name, a parent that is
 * not in the list becomes null, and a cycle is cut where it closes.
 */
export function toSnapshots(entries: readonly SnapshotEntry[]): Snapshot[] {
  if (!Array.isArray(entries)) return [];
  const here = entries.find((e) => e?.name === 'current');
  const byName = new Map<string, SnapshotEntry>();
  for (const e of entries) {
    if (!e || typeof e.name !== 'string' || !e.name || e.name === 'current') continue;
    if (!byName.has(e.name)) byName.set(e.name, e);
  }
  const parentOf = new Map<string, string | null>();
  for (const [name, e] of byName) {
    parentOf.set(name, e.parent && byName.has(e.parent) ? e.parent : null);
  }
  // Cut cycles: walk up from each snapshot; meeting itself means its parent link closes one.
  for (const name of parentOf.keys()) {
    let at = parentOf.get(name) ?? null;
    for (let steps = 0; at !== null; steps++) {
      if (at === name || steps > parentOf.size) {
        parentOf.set(name, null);
        break;
      }
      at = parentOf.get(at) ?? null;
    }
  }
  return [...byName.values()].slice(0, 512).map((e) => ({
    id: e.name.slice(0, 300),
    name: e.name.slice(0, 512),
    description: typeof e.description === 'string' && e.description.trim()
      ? e.description.trimEnd().slice(0, 8192)
      : null,
    createdAt: typeof e.snaptime === 'number' && e.snaptime > 0 ? iso(e.snaptime) : null,
    parentId: parentOf.get(e.name) ?? null,
    quiesced: null,
    // With the RAM state saved the guest resumes running on rollback, as a vSphere memory
    // snapshot does; without, it comes back powered off.
    powerState: e.vmstate ? 'poweredOn' : 'poweredOff',
    sizeMib: null,
    current: here?.parent === e.name,
  }));
}

export type SnapshotCache = {
  /** The cached list when it was read under this digest; undefined when it must be read. */
  fresh(vmid: number, digest: string | null): Snapshot[] | undefined;
  /** The last list read for the vmid, whatever its digest (used when a read fails). */
  last(vmid: number): Snapshot[] | undefined;
  store(vmid: number, digest: string | null, snapshots: Snapshot[]): void;
  forget(vmid: number): void;
};

/** Creates the per-collector cache of snapshot lists, by vmid and config digest. */
export function createSnapshotCache(): SnapshotCache {
  const entries = new Map<number, { digest: string | null; snapshots: Snapshot[] }>();
  return {
    fresh(vmid, digest) {
      const hit = entries.get(vmid);
      return hit && digest !== null && hit.digest === digest ? hit.snapshots : undefined;
    },
    last: (vmid) => entries.get(vmid)?.snapshots,
    store: (vmid, digest, snapshots) => void entries.set(vmid, { digest, snapshots }),
    forget: (vmid) => void entries.delete(vmid),
  };
}

/**
 * A guest's snapshots: none without `parent` in its config; the cached list while the
 * config digest is unchanged; else the snapshot API. A failed read keeps the last list and
 * adds to `errors` (the capture is then incomplete): an empty list would read as "all
 * deleted".
 */
export async function readSnapshots(
  cache: SnapshotCache,
  ctx: { api: ProxmoxApi; gate: NodeGate; signal: AbortSignal; errors: string[] },
  r: GuestResource,
  parsed: ParsedGuestConfig,
): Promise<Snapshot[]> {
  if (!parsed.details.hasSnapshots) {
    cache.store(r.vmid, parsed.digest, []);
    return [];
  }
  const cached = cache.fresh(r.vmid, parsed.digest);
  if (cached) return cached;
  const path = `/nodes/${encodeURIComponent(r.node)}/${r.type}/${r.vmid}/snapshot`;
  try {
    const list = await ctx.gate.run(
      r.node,
      () => ctx.api.get<SnapshotEntry[]>(path, { signal: ctx.signal }),
    );
    if (list !== SKIPPED) {
      const snaps = toSnapshots(list);
      cache.store(r.vmid, parsed.digest, snaps);
      return snaps;
    }
  } catch (err) {
    if (ctx.signal.aborted || (err instanceof CollectorError && err.code === 'auth')) throw err;
    ctx.errors.push(
      `snapshots of ${r.type} ${r.vmid} on ${r.node} could not be read: ${
        (err as Error).message
      }; its last known snapshots are reported`,
    );
  }
  return cache.last(r.vmid) ?? [];
}
