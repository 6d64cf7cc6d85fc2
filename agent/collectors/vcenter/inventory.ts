/**
 * The inventory around the VMs, fetched in bulk: every folder, datacenter, cluster,
 * compute resource, host, resource pool, vApp and datastore with its `name` and `parent`
 * in one paged retrieval over a ContainerView. VM locations (datacenter, cluster, host,
 * pool, folder path) are then resolved by walking parents in memory, never by one
 * request per VM: an estate of 10,000 VMs costs the same few calls as one of ten.
 */
import type { CaptureDatastoreInput, CaptureHostInput } from '../../capture/schema.ts';
import { type MoRef, readMoRef, type SoapClient } from './soap.ts';
import {
  createContainerView,
  destroyView,
  type ObjectContent,
  type PropertySpec,
  retrieveView,
} from './retrieve.ts';
import type { ServiceContent } from './session.ts';
import type { XmlElement } from './xml.ts';

/** A managed entity reduced to what location resolution needs. */
export type Entity = { type: string; value: string; name: string; parent: string | null };

/** `Type:value`, the key entities are stored under (moref values are unique per type). */
export function refKey(ref: MoRef): string {
  return `${ref.type}:${ref.value}`;
}

/** Entity types whose names and parents locate a VM, plus hosts and datastores themselves. */
export const INVENTORY_TYPES = [
  'Folder',
  'StoragePod',
  'Datacenter',
  'ComputeResource',
  'ClusterComputeResource',
  'HostSystem',
  'ResourcePool',
  'VirtualApp',
  'Datastore',
] as const;

const HOST_PATHS = [
  'runtime.connectionState',
  'runtime.powerState',
  'summary.hardware.numCpuCores',
  'summary.hardware.cpuMhz',
  'summary.hardware.memorySize',
  'summary.config.product.fullName',
] as const;
const DATASTORE_PATHS = [
  'summary.capacity',
  'summary.freeSpace',
  'summary.accessible',
  'summary.type',
] as const;

const INVENTORY_SPECS: PropertySpec[] = [
  // One spec on the base type covers every subtype in the view (name and parent for all).
  { type: 'ManagedEntity', paths: ['name', 'parent'] },
  { type: 'HostSystem', paths: HOST_PATHS },
  { type: 'Datastore', paths: DATASTORE_PATHS },
];

const GIB = 1024 ** 3;
const MIB = 1024 ** 2;

/** Decodes the `%2f`, `%5c`, `%25` escapes vCenter applies to entity names. */
export function decodeEntityName(name: string): string {
  return name.indexOf('%') < 0
    ? name
    : name.replace(/%2f/gi, '/').replace(/%5c/gi, '\\').replace(/%25/g, '%');
}

function num(el: XmlElement | undefined): number | null {
  if (!el || el.text === '') return null;
  const n = Number(el.text);
  return Number.isFinite(n) ? n : null;
}

function round3(n: number): number {
  return Math.round(n * 1000) / 1000;
}

/** The located inventory: entity lookup plus the capture's host and datastore rows. */
export class Inventory {
  readonly entities = new Map<string, Entity>();
  readonly hostObjects: ObjectContent[] = [];
  readonly datastoreObjects: ObjectContent[] = [];
  private readonly dcCache = new Map<string, string | null>();
  private readonly pathCache = new Map<string, string | null>();

  /** Adds one retrieved object (used by `loadInventory` and by tests). */
  add(o: ObjectContent): void {
    const nameEl = o.props.get('name');
    const parent = readMoRef(o.props.get('parent'));
    this.entities.set(refKey(o.obj), {
      type: o.obj.type,
      value: o.obj.value,
      name: nameEl ? nameEl.text : o.obj.value,
      parent: parent ? refKey(parent) : null,
    });
    if (o.obj.type === 'HostSystem') this.hostObjects.push(o);
    else if (o.obj.type === 'Datastore') this.datastoreObjects.push(o);
  }

  /** Name of an entity by key, decoded for display; null when unknown. */
  name(key: string | null): string | null {
    if (!key) return null;
    const e = this.entities.get(key);
    return e ? decodeEntityName(e.name) : null;
  }

  /** Name of the datacenter containing `key` (walking parents), or null. */
  datacenterOf(key: string | null): string | null {
    if (!key) return null;
    const cached = this.dcCache.get(key);
    if (cached !== undefined) return cached;
    let result: string | null = null;
    const seen = new Set<string>();
    for (
      let cur = this.entities.get(key);
      cur && !seen.has(cur.value);
      cur = cur.parent ? this.entities.get(cur.parent) : undefined
    ) {
      seen.add(cur.value);
      if (cur.type === 'Datacenter') {
        result = decodeEntityName(cur.name);
        break;
      }
    }
    this.dcCache.set(key, result);
    return result;
  }

  /**
   * Inventory path of `key` as govc prints it (`/DC0/vm/Prod/Web`): names from below the
   * root folder down to the entity. Names stay escaped so `/` in a name cannot be
   * mistaken for a separator. Null when the chain is broken (unknown parent).
   */
  pathOf(key: string | null): string | null {
    if (!key) return null;
    const cached = this.pathCache.get(key);
    if (cached !== undefined) return cached;
    const e = this.entities.get(key);
    let result: string | null = null;
    if (e) {
      if (!e.parent) result = ''; // the root folder itself
      else {
        const parentPath = this.pathOf(e.parent);
        result = parentPath === null ? null : `${parentPath}/${e.name}`;
      }
    }
    this.pathCache.set(key, result);
    return result;
  }

  /** Host name and its cluster (null for a standalone host). */
  hostPlacement(hostKey: string | null): { host: string | null; cluster: string | null } {
    if (!hostKey) return { host: null, cluster: null };
    const h = this.entities.get(hostKey);
    if (!h) return { host: null, cluster: null };
    const parent = h.parent ? this.entities.get(h.parent) : undefined;
    return {
      host: decodeEntityName(h.name),
      cluster: parent && parent.type === 'ClusterComputeResource'
        ? decodeEntityName(parent.name)
        : null,
    };
  }

  /** The capture's host rows; `prefix` (the vCenter instance uuid) keeps keys unique across vCenters. */
  hosts(prefix: string): CaptureHostInput[] {
    return this.hostObjects.map((o) => {
      const key = refKey(o.obj);
      const p = (path: string) => o.props.get(path);
      const mem = num(p('summary.hardware.memorySize'));
      return {
        key: `${prefix}:${o.obj.value}`,
        name: this.name(key) ?? o.obj.value,
        datacenter: this.datacenterOf(key),
        cluster: this.hostPlacement(key).cluster,
        connectionState: p('runtime.connectionState')?.text || null,
        powerState: p('runtime.powerState')?.text || null,
        cpuCores: num(p('summary.hardware.numCpuCores')),
        cpuMhz: num(p('summary.hardware.cpuMhz')),
        memoryMib: mem === null ? null : Math.round(mem / MIB),
        version: p('summary.config.product.fullName')?.text || null,
      };
    });
  }

  /** The capture's datastore rows. */
  datastores(prefix: string): CaptureDatastoreInput[] {
    return this.datastoreObjects.map((o) => {
      const p = (path: string) => o.props.get(path);
      const cap = num(p('summary.capacity'));
      const free = num(p('summary.freeSpace'));
      const acc = p('summary.accessible')?.text;
      return {
        key: `${prefix}:${o.obj.value}`,
        name: this.name(refKey(o.obj)) ?? o.obj.value,
        type: p('summary.type')?.text || null,
        capacityGib: cap === null ? null : round3(cap / GIB),
        freeGib: free === null ? null : round3(free / GIB),
        accessible: acc === 'true' ? true : acc === 'false' ? false : null,
      };
    });
  }
}

/** Retrieves every inventory entity (names, parents, host and datastore details) in bulk. */
export async function loadInventory(
  soap: SoapClient,
  content: ServiceContent,
  pageSize: number,
  signal: AbortSignal,
): Promise<{ inventory: Inventory; pages: number }> {
  const inventory = new Inventory();
  const view = await createContainerView(
    soap,
    content.viewManager,
    content.rootFolder,
    INVENTORY_TYPES,
    signal,
  );
  try {
    // The root folder is not inside its own view; add it so paths terminate cleanly.
    inventory.entities.set(refKey(content.rootFolder), {
      ...content.rootFolder,
      name: 'Datacenters',
      parent: null,
    });
    const stats = await retrieveView(
      soap,
      content.propertyCollector,
      view,
      INVENTORY_SPECS,
      pageSize,
      signal,
      (o) => inventory.add(o),
    );
    return { inventory, pages: stats.pages };
  } finally {
    await destroyView(soap, view, signal);
  }
}
