/**
 * The inventory around the VMs, fetched in bulk: every folder, datacenter, cluster,
 * compute resource, host, resource pool, vApp and datastore with its `name` and `parent`
 * in one paged retrieval over a ContainerView. VM locations (datacenter, cluster, host,
 * pool, folder path) are then resolved by walking parents in memory, never by one
 * request per VM: an estate of 10,000 VMs costs the same few calls as one of ten.
 */
import { type MoRef, readMoRef, type SoapClient } from './soap.ts';
import {
  createContainerView,
  destroyView,
  type ObjectContent,
  type PropertySpec,
  retrieveView,
} from './retrieve.ts';
import type { ServiceContent } from './session.ts';
import { child, childText, type XmlElement } from './xml.ts';

/** A managed entity reduced to what location resolution needs. */
export type Entity = { type: string; value: string; name: string; parent: string | null };

/** `Type:value`, the key entities are stored under (moref values are unique per type). */
export function refKey(ref: MoRef): string {
  return `${ref.type}:${ref.value}`;
}

/** Entity types whose names and parents locate a VM, plus what the capture lists itself. */
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
  'Network',
  'DistributedVirtualSwitch',
] as const;

export const HOST_PATHS = [
  'runtime.connectionState',
  'runtime.powerState',
  'runtime.inMaintenanceMode',
  'runtime.bootTime',
  'summary.hardware',
  'summary.config.product',
  'summary.quickStats.overallCpuUsage',
  'summary.quickStats.overallMemoryUsage',
  'config.network.pnic',
  'config.network.vswitch',
  'config.network.portgroup',
] as const;
export const DATASTORE_PATHS = ['summary', 'host', 'vm'] as const;
export const CLUSTER_PATHS = ['configurationEx', 'summary'] as const;
export const POOL_PATHS = ['config.cpuAllocation', 'config.memoryAllocation', 'vm'] as const;
/** On Network, so also on its subtypes (DistributedVirtualPortgroup, OpaqueNetwork). */
export const NETWORK_PATHS = ['host', 'vm'] as const;
export const PORTGROUP_PATHS = [
  'config.distributedVirtualSwitch',
  'config.defaultPortConfig',
] as const;

export const INVENTORY_SPECS: PropertySpec[] = [
  // One spec on the base type covers every subtype in the view (name and parent for all).
  { type: 'ManagedEntity', paths: ['name', 'parent'] },
  { type: 'HostSystem', paths: HOST_PATHS },
  { type: 'Datastore', paths: DATASTORE_PATHS },
  { type: 'ClusterComputeResource', paths: CLUSTER_PATHS },
  { type: 'ResourcePool', paths: POOL_PATHS },
  { type: 'Network', paths: NETWORK_PATHS },
  { type: 'DistributedVirtualPortgroup', paths: PORTGROUP_PATHS },
];

/** Decodes the `%2f`, `%5c`, `%25` escapes vCenter applies to entity names. */
export function decodeEntityName(name: string): string {
  return name.indexOf('%') < 0
    ? name
    : name.replace(/%2f/gi, '/').replace(/%5c/gi, '\\').replace(/%25/g, '%');
}

/** A number element's value; null when absent, empty or not a number. */
export function num(el: XmlElement | undefined): number | null {
  if (!el || el.text === '') return null;
  const n = Number(el.text);
  return Number.isFinite(n) ? n : null;
}

/** The located inventory: entity lookup plus the capture's host and datastore rows. */
export class Inventory {
  readonly entities = new Map<string, Entity>();
  readonly hostObjects: ObjectContent[] = [];
  readonly datastoreObjects: ObjectContent[] = [];
  readonly clusterObjects: ObjectContent[] = [];
  /** Resource pools (not vApps, which are pools too), networks and distributed port groups. */
  readonly poolObjects: ObjectContent[] = [];
  readonly networkObjects: ObjectContent[] = [];
  private readonly dcCache = new Map<string, string | null>();
  private readonly pathCache = new Map<string, string | null>();
  private readonly haCache = new Map<string, HaSettings>();
  private portgroupCache: Map<string, { vlanId: number | null; vswitch: string | null }> | null =
    null;

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
    switch (o.obj.type) {
      case 'HostSystem':
        this.hostObjects.push(o);
        break;
      case 'Datastore':
        this.datastoreObjects.push(o);
        break;
      case 'ClusterComputeResource':
        this.clusterObjects.push(o);
        break;
      case 'ResourcePool':
        this.poolObjects.push(o);
        break;
      case 'Network':
      case 'DistributedVirtualPortgroup':
      case 'OpaqueNetwork':
        this.networkObjects.push(o);
        break;
      default:
        // Everything else is only a name and a parent; drop its other properties.
        if (o.props.size > 2) {
          for (const k of [...o.props.keys()]) {
            if (k !== 'name' && k !== 'parent') o.props.delete(k);
          }
        }
    }
  }

  /** The nearest ancestor (or `key` itself) of one of `types`, or undefined. */
  ancestor(key: string | null, types: readonly string[]): Entity | undefined {
    const seen = new Set<string>();
    for (
      let cur = key ? this.entities.get(key) : undefined;
      cur && !seen.has(cur.value);
      cur = cur.parent ? this.entities.get(cur.parent) : undefined
    ) {
      seen.add(cur.value);
      if (types.includes(cur.type)) return cur;
    }
    return undefined;
  }

  /**
   * The HA restart priority of a VM: its own (`configurationEx.dasVmConfig`), else its
   * cluster's default; null outside a cluster or without the cluster's configuration.
   */
  haRestartPriority(hostKey: string | null, vmMoref: string): string | null {
    const cluster = this.ancestor(hostKey, ['ClusterComputeResource']);
    if (!cluster) return null;
    const key = `${cluster.type}:${cluster.value}`;
    let ha = this.haCache.get(key);
    if (!ha) {
      const o = this.clusterObjects.find((c) => c.obj.value === cluster.value);
      ha = readHaSettings(o?.props.get('configurationEx'));
      this.haCache.set(key, ha);
    }
    const own = ha.perVm.get(vmMoref);
    return own && own !== 'clusterRestartPriority' ? own : ha.default;
  }

  /** The VLAN of a network: a distributed port group's default, a standard one's on the hosts. */
  vlanOf(key: string): number | null {
    if (key.startsWith('DistributedVirtualPortgroup:')) {
      const o = this.networkObjects.find((n) => refKey(n.obj) === key);
      return o ? portgroupVlan(o.props.get('config.defaultPortConfig')) : null;
    }
    return this.standardPortgroup(this.name(key))?.vlanId ?? null;
  }

  /** A standard port group by name, from the hosts' `config.network.portgroup` (the first host wins). */
  standardPortgroup(
    name: string | null,
  ): { vlanId: number | null; vswitch: string | null } | undefined {
    if (!name) return undefined;
    if (!this.portgroupCache) {
      this.portgroupCache = new Map();
      for (const h of this.hostObjects) {
        for (const pg of h.props.get('config.network.portgroup')?.children ?? []) {
          const spec = child(pg, 'spec');
          const pgName = childText(spec, 'name');
          if (!pgName || this.portgroupCache.has(pgName)) continue;
          const vlan = num(child(spec, 'vlanId'));
          this.portgroupCache.set(pgName, {
            vlanId: vlan !== null && vlan >= 0 ? vlan : null,
            vswitch: childText(spec, 'vswitchName') || null,
          });
        }
      }
    }
    return this.portgroupCache.get(name);
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
}

type HaSettings = { default: string | null; perVm: Map<string, string> };

/** `configurationEx` (ClusterConfigInfoEx): the default restart priority and per-VM ones. */
export function readHaSettings(cfg: XmlElement | undefined): HaSettings {
  const perVm = new Map<string, string>();
  const das = child(cfg, 'dasConfig');
  const def = childText(child(das, 'defaultVmSettings'), 'restartPriority') || null;
  for (const c of cfg?.children ?? []) {
    if (c.name !== 'dasVmConfig') continue;
    const vm = readMoRef(child(c, 'key'))?.value;
    const p = childText(child(c, 'dasSettings'), 'restartPriority') ||
      childText(c, 'restartPriority');
    if (vm && p) perVm.set(vm, p);
  }
  return { default: def, perVm };
}

/** A distributed port group's VLAN id from `config.defaultPortConfig`; null for trunks and none. */
export function portgroupVlan(cfg: XmlElement | undefined): number | null {
  const vlan = child(cfg, 'vlan');
  if (!vlan || (vlan.xsiType && vlan.xsiType !== 'VmwareDistributedVirtualSwitchVlanIdSpec')) {
    return null;
  }
  const id = num(child(vlan, 'vlanId'));
  return id !== null && id >= 0 && Number.isInteger(id) ? id : null;
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
