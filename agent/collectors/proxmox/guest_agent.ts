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
