/**
 * Guest configs kept across captures, so an unchanged cluster is not re-read VM by VM.
 *
 * PVE offers no bulk or conditional read of configs (`/cluster/resources` carries no
 * digest, the API has no ETag), so "changed?" is decided from what we already get for
 * free, and the config is fetched only when one of these says it may have changed:
 *   1. a vmid never seen (or seen as another type) — new guest, or a reused vmid;
 *   2. the guest's `/cluster/resources` fingerprint changed (node, name, vCPU, memory,
 *      boot disk size, template flag, tags) — most edits show up there;
 *   3. a config-changing task for that vmid since the last capture (create, destroy,
 *      clone, restore, resize, move, rollback, async config) — catches an added data
 *      disk, which `/cluster/resources` does not show, and a vmid reused between captures;
 *   4. the entry is older than `maxAgeMs` (spread per vmid so refreshes do not bunch up) —
 *      the backstop for edits no signal above reveals (a synchronous `PUT …/config`
 *      adding a disk). This bounds how stale provisioned disk can be.
 * A refetched config whose `digest` is unchanged keeps its parsed form (nothing changed).
 */
import type { GuestResource } from './api_shapes.ts';
import type { ParsedGuestConfig } from './config_parse.ts';

export type CachedConfig = {
  type: 'qemu' | 'lxc';
  node: string;
  digest: string | null;
  parsed: ParsedGuestConfig;
  fingerprint: string;
  fetchedAtMs: number;
};

export type ConfigCache = {
  get(vmid: number): CachedConfig | undefined;
  /** Why the config must be (re)fetched, or null when the cached one is still good. */
  refetchReason(r: GuestResource, touched: ReadonlySet<number>, nowMs: number): string | null;
  /** Stores a fetched config; `changed` is false when the digest matched the cached one. */
  store(r: GuestResource, parsed: ParsedGuestConfig, nowMs: number): { changed: boolean };
  forget(vmid: number): void;
  vmids(): number[];
};

/** What `/cluster/resources` shows of a guest's config; a change means "refetch". */
export function resourceFingerprint(r: GuestResource): string {
  return [
    r.type,
    r.node,
    r.name ?? '',
    r.maxcpu ?? '',
    r.maxmem ?? '',
    r.maxdisk ?? '',
    r.template ?? 0,
    r.tags ?? '',
  ].join('|');
}

/** A stable spread in [0.75, 1) per vmid, so entries cached together do not all expire together. */
function spread(vmid: number): number {
  const h = Math.imul(vmid ^ 0x9e3779b9, 0x85ebca6b) >>> 0;
  return 0.75 + (h % 1000) / 4000;
}

/** Creates an empty cache; `maxAgeMs` bounds how long a config is trusted without a refetch. */
export function createConfigCache(maxAgeMs: number): ConfigCache {
  const entries = new Map<number, CachedConfig>();
  return {
    get: (vmid) => entries.get(vmid),
    refetchReason(r, touched, nowMs) {
      const hit = entries.get(r.vmid);
      if (!hit) return 'not cached';
      if (hit.type !== r.type) return 'type changed (vmid reused)';
      if (touched.has(r.vmid)) return 'config-changing task since last capture';
      if (hit.fingerprint !== resourceFingerprint(r)) return 'resource fields changed';
      if (nowMs - hit.fetchedAtMs >= maxAgeMs * spread(r.vmid)) return 'cache entry expired';
      return null;
    },
    store(r, parsed, nowMs) {
      const prev = entries.get(r.vmid);
      const same = !!prev && prev.type === r.type && prev.digest !== null &&
        prev.digest === parsed.digest;
      entries.set(r.vmid, {
        type: r.type,
        node: r.node,
        digest: parsed.digest,
        parsed: same ? prev.parsed : parsed,
        fingerprint: resourceFingerprint(r),
        fetchedAtMs: nowMs,
      });
      return { changed: !same };
    },
    forget: (vmid) => void entries.delete(vmid),
    vmids: () => [...entries.keys()],
  };
}
