/**
 * The capture's rows for what surrounds the VMs: hosts (with their physical NICs and
 * standard switches), datastores, clusters, resource pools and networks, built from the
 * objects `loadInventory` retrieved in bulk. `prefix` (the vCenter instance uuid) keeps keys
 * unique across vCenters; references between rows use the same `prefix:moref` keys.
 */
import type { CaptureCluster, CaptureNetwork, CaptureResourcePool } from '../../capture/details.ts';
import type { CaptureDatastoreInput, CaptureHostInput } from '../../capture/schema.ts';
import { type Inventory, num, portgroupVlan, refKey } from './inventory.ts';
import type { ObjectContent } from './retrieve.ts';
import { readMoRef } from './soap.ts';
import { isoOrNull } from './vm_details.ts';
import { child, childText, type XmlElement } from './xml.ts';

const GIB = 1024 ** 3;
const MIB = 1024 ** 2;

function round3(n: number): number {
  return Math.round(n * 1000) / 1000;
}

function bool(el: XmlElement | undefined): boolean | null {
  return el?.text === 'true' ? true : el?.text === 'false' ? false : null;
}

function int(el: XmlElement | undefined): number | null {
  const n = num(el);
  return n !== null && Number.isInteger(n) && n >= 0 && n < 2 ** 31 ? n : null;
}

function text(el: XmlElement | undefined): string | null {
  return el?.text || null;
}

/** Names of the hosts a list of references (or of `<key>` holders) points at. */
function hostNames(inv: Inventory, list: XmlElement | undefined): string[] {
  const out: string[] = [];
  for (const c of list?.children ?? []) {
    const ref = readMoRef(c) ?? readMoRef(child(c, 'key'));
    const name = ref ? inv.name(refKey(ref)) : null;
    if (name && out.length < 4096) out.push(name.slice(0, 512));
  }
  return out;
}

/** The number of references in an ArrayOfManagedObjectReference (`vm`); null when unread. */
function count(list: XmlElement | undefined): number | null {
  return list ? list.children.length : null;
}

/** `summary.hardware.otherIdentifyingInfo`: the service tag / serial number, when reported. */
function serialNumber(hw: XmlElement | undefined): string | null {
  for (const c of hw?.children ?? []) {
    if (c.name !== 'otherIdentifyingInfo') continue;
    const type = childText(child(c, 'identifierType'), 'key');
    if (type === 'SerialNumberTag' || type === 'ServiceTag') {
      return childText(c, 'identifierValue') || null;
    }
  }
  return null;
}

function hostNetwork(o: ObjectContent): Pick<CaptureHostInput, 'nics' | 'switches'> {
  const deviceByKey = new Map<string, string>();
  const switchOf = new Map<string, string>();
  const switches: NonNullable<CaptureHostInput['switches']> = [];
  for (const pn of o.props.get('config.network.pnic')?.children ?? []) {
    const key = childText(pn, 'key');
    const device = childText(pn, 'device');
    if (key && device) deviceByKey.set(key, device);
  }
  for (const vs of o.props.get('config.network.vswitch')?.children ?? []) {
    const name = childText(vs, 'name') ?? '';
    const uplinks: string[] = [];
    for (const c of vs.children) {
      if (c.name !== 'pnic') continue;
      const device = deviceByKey.get(c.text);
      if (device) {
        uplinks.push(device);
        switchOf.set(device, name);
      }
    }
    switches.push({
      name,
      ports: int(child(vs, 'numPorts')),
      mtu: int(child(vs, 'mtu')),
      uplinks: uplinks.slice(0, 64),
    });
  }
  const nics: NonNullable<CaptureHostInput['nics']> = [];
  for (const pn of o.props.get('config.network.pnic')?.children ?? []) {
    const device = childText(pn, 'device');
    if (!device) continue;
    const speed = child(pn, 'linkSpeed');
    nics.push({
      device,
      driver: text(child(pn, 'driver')),
      macAddress: text(child(pn, 'mac')),
      speedMbps: speed ? int(child(speed, 'speedMb')) : null,
      // vSphere leaves linkSpeed out when the link is down.
      linkUp: o.props.has('config.network.pnic') ? speed !== undefined : null,
      switchName: switchOf.get(device) ?? null,
    });
  }
  return { nics: nics.slice(0, 64), switches: switches.slice(0, 64) };
}

export function hostRows(inv: Inventory, prefix: string): CaptureHostInput[] {
  return inv.hostObjects.map((o) => {
    const key = refKey(o.obj);
    const p = (path: string) => o.props.get(path);
    const hw = p('summary.hardware');
    const product = p('summary.config.product');
    const mem = num(child(hw, 'memorySize'));
    const memUse = num(p('summary.quickStats.overallMemoryUsage'));
    const cpuUse = num(p('summary.quickStats.overallCpuUsage'));
    return {
      key: `${prefix}:${o.obj.value}`,
      name: inv.name(key) ?? o.obj.value,
      datacenter: inv.datacenterOf(key),
      cluster: inv.hostPlacement(key).cluster,
      connectionState: text(p('runtime.connectionState')),
      powerState: text(p('runtime.powerState')),
      cpuCores: int(child(hw, 'numCpuCores')),
      cpuMhz: num(child(hw, 'cpuMhz')),
      memoryMib: mem === null ? null : Math.round(mem / MIB),
      version: childText(product, 'fullName') || null,
      vendor: text(child(hw, 'vendor')),
      model: text(child(hw, 'model')),
      cpuModel: text(child(hw, 'cpuModel')),
      cpuSockets: int(child(hw, 'numCpuPkgs')),
      cpuThreads: int(child(hw, 'numCpuThreads')),
      build: childText(product, 'build') || null,
      maintenanceMode: bool(p('runtime.inMaintenanceMode')),
      bootTime: isoOrNull(p('runtime.bootTime')?.text),
      cpuUsageMhz: cpuUse !== null && cpuUse >= 0 ? cpuUse : null,
      memoryUsageMib: memUse !== null && memUse >= 0 ? memUse : null,
      serialNumber: serialNumber(hw),
      ...hostNetwork(o),
    };
  });
}

export function datastoreRows(inv: Inventory, prefix: string): CaptureDatastoreInput[] {
  return inv.datastoreObjects.map((o) => {
    const s = o.props.get('summary');
    const cap = num(child(s, 'capacity'));
    const free = num(child(s, 'freeSpace'));
    const uncommitted = num(child(s, 'uncommitted'));
    return {
      key: `${prefix}:${o.obj.value}`,
      name: inv.name(refKey(o.obj)) ?? o.obj.value,
      type: text(child(s, 'type')),
      capacityGib: cap === null ? null : round3(cap / GIB),
      freeGib: free === null ? null : round3(free / GIB),
      accessible: bool(child(s, 'accessible')),
      url: text(child(s, 'url')),
      uncommittedGib: uncommitted === null ? null : round3(uncommitted / GIB),
      maintenanceMode: text(child(s, 'maintenanceMode')),
      shared: bool(child(s, 'multipleHostAccess')),
      hostNames: hostNames(inv, o.props.get('host')),
      vmCount: count(o.props.get('vm')),
    };
  });
}

export function clusterRows(inv: Inventory, prefix: string): CaptureCluster[] {
  return inv.clusterObjects.map((o) => {
    const key = refKey(o.obj);
    const cfg = o.props.get('configurationEx');
    const s = o.props.get('summary');
    const totalMem = num(child(s, 'totalMemory'));
    return {
      key: `${prefix}:${o.obj.value}`,
      name: inv.name(key) ?? o.obj.value,
      datacenter: inv.datacenterOf(key),
      haEnabled: bool(child(child(cfg, 'dasConfig'), 'enabled')),
      drsEnabled: bool(child(child(cfg, 'drsConfig'), 'enabled')),
      drsBehavior: text(child(child(cfg, 'drsConfig'), 'defaultVmBehavior')),
      hostCount: int(child(s, 'numHosts')),
      effectiveHostCount: int(child(s, 'numEffectiveHosts')),
      cpuCores: int(child(s, 'numCpuCores')),
      cpuThreads: int(child(s, 'numCpuThreads')),
      totalCpuMhz: num(child(s, 'totalCpu')),
      effectiveCpuMhz: num(child(s, 'effectiveCpu')),
      // totalMemory is in bytes, effectiveMemory already in MB (binary), as vSphere defines them.
      totalMemoryMib: totalMem === null ? null : Math.round(totalMem / MIB),
      effectiveMemoryMib: num(child(s, 'effectiveMemory')),
    };
  });
}

function allocation(el: XmlElement | undefined) {
  const limit = num(child(el, 'limit'));
  return {
    reservation: int(child(el, 'reservation')),
    limit: limit !== null && Number.isInteger(limit) && limit >= -1 ? limit : null,
    expandable: bool(child(el, 'expandableReservation')),
    shares: int(child(child(el, 'shares'), 'shares')),
  };
}

export function resourcePoolRows(inv: Inventory, prefix: string): CaptureResourcePool[] {
  return inv.poolObjects.map((o) => {
    const key = refKey(o.obj);
    const cpu = allocation(o.props.get('config.cpuAllocation'));
    const mem = allocation(o.props.get('config.memoryAllocation'));
    const cluster = inv.ancestor(key, ['ClusterComputeResource']);
    return {
      key: `${prefix}:${o.obj.value}`,
      name: inv.name(key) ?? o.obj.value,
      path: inv.pathOf(key)?.slice(0, 2048) ?? null,
      cluster: cluster ? inv.name(`${cluster.type}:${cluster.value}`) : null,
      cpuReservationMhz: cpu.reservation,
      cpuLimitMhz: cpu.limit,
      cpuExpandable: cpu.expandable,
      cpuShares: cpu.shares,
      memoryReservationMib: mem.reservation,
      memoryLimitMib: mem.limit,
      memoryExpandable: mem.expandable,
      memoryShares: mem.shares,
      vmCount: count(o.props.get('vm')),
      comment: null,
    };
  });
}

export function networkRows(inv: Inventory, prefix: string): CaptureNetwork[] {
  return inv.networkObjects.map((o) => {
    const key = refKey(o.obj);
    const name = inv.name(key) ?? o.obj.value;
    let kind: CaptureNetwork['kind'] = 'standard';
    let switchName: string | null = null;
    let vlanId: number | null = null;
    if (o.obj.type === 'DistributedVirtualPortgroup') {
      kind = 'distributed';
      const dvs = readMoRef(o.props.get('config.distributedVirtualSwitch'));
      switchName = dvs ? inv.name(refKey(dvs)) : null;
      vlanId = portgroupVlan(o.props.get('config.defaultPortConfig'));
    } else if (o.obj.type === 'OpaqueNetwork') {
      kind = 'opaque';
    } else {
      const pg = inv.standardPortgroup(name);
      switchName = pg?.vswitch ?? null;
      vlanId = pg?.vlanId ?? null;
    }
    return {
      key: `${prefix}:${o.obj.value}`,
      name,
      kind,
      switchName,
      vlanId,
      hostNames: hostNames(inv, o.props.get('host')),
      vmCount: count(o.props.get('vm')),
    };
  });
}
