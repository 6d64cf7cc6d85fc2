/**
 * What running guests tell about themselves: IP addresses and used disk space.
 * QEMU through the guest agent (`agent/network-get-interfaces`, `agent/get-fsinfo`),
 * LXC through `lxc/{vmid}/interfaces`. Pure decoding here; fetching lives in the collector.
 */

type AgentInterface = {
  name?: string;
  'ip-addresses'?: { 'ip-address'?: string; 'ip-address-type'?: string }[];
};
type AgentFilesystem = { name?: string; mountpoint?: string; type?: string; 'used-bytes'?: number };
type LxcInterface = { name?: string; inet?: string; inet6?: string };

/** Loopback and link-local addresses say nothing about where a VM is reachable. */
function usefulIp(ip: string): boolean {
  const lower = ip.toLowerCase();
  return !(lower.startsWith('127.') || lower === '::1' || lower.startsWith('fe80:') ||
    lower.startsWith('169.254.'));
}

function unique(ips: string[]): string[] {
  return [...new Set(ips.filter(usefulIp))].slice(0, 256);
}

/** IPs from `network-get-interfaces` (`{result: [...]}` or the bare list). */
export function ipsFromAgent(answer: unknown): string[] {
  const list = (Array.isArray(answer) ? answer : (answer as { result?: unknown })?.result) as
    | AgentInterface[]
    | undefined;
  if (!Array.isArray(list)) return [];
  const ips: string[] = [];
  for (const nic of list) {
    if (nic.name === 'lo') continue;
    for (const a of nic['ip-addresses'] ?? []) if (a['ip-address']) ips.push(a['ip-address']);
  }
  return unique(ips);
}

/** IPs from LXC `interfaces` (`inet: "10.0.0.5/24"`). */
export function ipsFromLxc(answer: unknown): string[] {
  if (!Array.isArray(answer)) return [];
  const ips: string[] = [];
  for (const nic of answer as LxcInterface[]) {
    if (nic.name === 'lo') continue;
    for (const cidr of [nic.inet, nic.inet6]) if (cidr) ips.push(cidr.split('/')[0]);
  }
  return unique(ips);
}

/** Pseudo and network filesystems: not space on this guest's disks. */
const NOT_LOCAL =
  /^(tmpfs|devtmpfs|ramfs|squashfs|overlay|iso9660|udf|proc|sysfs|cgroup2?|autofs|nfs4?|cifs|smb3|fuse\..*|9p|virtiofs)$/i;

/**
 * Used bytes from `get-fsinfo`, summed once per device (bind mounts list a filesystem
 * twice); null when the agent reported no usable filesystem.
 */
export function usedBytesFromFsinfo(answer: unknown): number | null {
  const list = (Array.isArray(answer) ? answer : (answer as { result?: unknown })?.result) as
    | AgentFilesystem[]
    | undefined;
  if (!Array.isArray(list)) return null;
  const byDevice = new Map<string, number>();
  for (const fs of list) {
    if (typeof fs['used-bytes'] !== 'number' || NOT_LOCAL.test(fs.type ?? '')) continue;
    byDevice.set(fs.name ?? fs.mountpoint ?? String(byDevice.size), fs['used-bytes']);
  }
  if (byDevice.size === 0) return null;
  let total = 0;
  for (const v of byDevice.values()) total += v;
  return total;
}

const MiB = 1024 ** 2;
const mib = (bytes: number) => Math.round(bytes / MiB);

type AgentNic = AgentInterface & { 'hardware-address'?: string };
type LxcNic = LxcInterface & { hwaddr?: string };

/** The agent's answer list, whether wrapped in `{result}` or bare. */
function resultOf(answer: unknown): unknown {
  return Array.isArray(answer) ? answer : (answer as { result?: unknown } | null)?.result;
}

/**
 * IPs per NIC, by lower-case MAC, from `network-get-interfaces` or LXC `interfaces`: what
 * the guest reports on each NIC (loopback and link-local left out).
 */
export function ipsByMac(answer: unknown, kind: 'agent' | 'lxc'): Map<string, string[]> {
  const out = new Map<string, string[]>();
  const list = kind === 'agent' ? resultOf(answer) : answer;
  if (!Array.isArray(list)) return out;
  for (const nic of list as (AgentNic & LxcNic)[]) {
    const mac = (kind === 'agent' ? nic['hardware-address'] : nic.hwaddr)?.toLowerCase();
    if (!mac || nic.name === 'lo') continue;
    const ips = kind === 'agent'
      ? (nic['ip-addresses'] ?? []).map((a) => a['ip-address'] ?? '')
      : [nic.inet, nic.inet6].filter((c): c is string => !!c).map((c) => c.split('/')[0]);
    out.set(mac, unique([...(out.get(mac) ?? []), ...ips.filter(Boolean)]).slice(0, 64));
  }
  return out;
}

/** `get-osinfo`: the pretty name (`Debian GNU/Linux 12 (bookworm)`, `Microsoft Windows 11 Pro`). */
export function osFromAgent(answer: unknown): string | null {
  const r = resultOf(answer) as Record<string, unknown> | undefined;
  if (!r || typeof r !== 'object') return null;
  const pretty = r['pretty-name'] ?? (r.name && r.version ? `${r.name} ${r.version}` : r.name);
  return typeof pretty === 'string' && pretty ? pretty.slice(0, 512) : null;
}

/** `get-host-name`: `{result: {"host-name": "db01"}}`. */
export function hostNameFromAgent(answer: unknown): string | null {
  const name = (resultOf(answer) as Record<string, unknown> | undefined)?.['host-name'];
  return typeof name === 'string' && name ? name.slice(0, 512) : null;
}

/** `agent/info`: the agent's version (`7.2.0`). */
export function versionFromAgent(answer: unknown): string | null {
  const version = (resultOf(answer) as Record<string, unknown> | undefined)?.version;
  return typeof version === 'string' && version ? version.slice(0, 64) : null;
}

export type GuestFs = { path: string; capacityMib: number; freeMib: number; fileSystem: string };

/**
 * Guest disks from `get-fsinfo`: each mounted local filesystem once per mount point, with
 * capacity and free MiB (what RVTools' vPartition shows); pseudo and network filesystems
 * left out, sorted by mount point.
 */
export function guestDisksFromFsinfo(answer: unknown): GuestFs[] {
  const list = resultOf(answer) as (AgentFilesystem & { 'total-bytes'?: number })[] | undefined;
  if (!Array.isArray(list)) return [];
  const byPath = new Map<string, GuestFs>();
  for (const fs of list) {
    const total = fs['total-bytes'];
    const used = fs['used-bytes'];
    if (typeof total !== 'number' || typeof used !== 'number' || NOT_LOCAL.test(fs.type ?? '')) {
      continue;
    }
    const path = (fs.mountpoint ?? fs.name ?? '').slice(0, 1024);
    if (!path) continue;
    byPath.set(path, {
      path,
      capacityMib: mib(total),
      freeMib: mib(Math.max(0, total - used)),
      fileSystem: (fs.type ?? '').slice(0, 64),
    });
  }
  return [...byPath.values()].sort((a, b) => a.path.localeCompare(b.path)).slice(0, 256);
}
