/** Addresses and CIDRs: parsing and matching (trusted proxies, VMLEDGER_TRUSTED_PROXIES). */
import { BlockList, isIP } from 'node:net';

/** One address without an IPv4-mapped IPv6 prefix or brackets. */
export function plain(address: string): string {
  const a = address.trim().replace(/^\[(.*)\]$/, '$1');
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(a);
  return mapped ? mapped[1] : a;
}

/** Whether `entry` is an address or a CIDR (`10.0.0.0/8`, `fd00::/8`). */
export function isAddressOrCidr(entry: string): boolean {
  const [address, bits, extra] = entry.trim().split('/');
  const family = isIP(plain(address ?? ''));
  if (!family || extra !== undefined) return false;
  if (bits === undefined) return true;
  if (!/^\d{1,3}$/.test(bits)) return false;
  return Number(bits) <= (family === 4 ? 32 : 128);
}

/** A matcher for trusted proxies; throws on an entry that is not an address or a CIDR. */
export function trustedProxies(entries: readonly string[]): (address: string) => boolean {
  const list = new BlockList();
  for (const entry of entries) {
    if (!isAddressOrCidr(entry)) throw new Error(`not an address or CIDR: ${entry}`);
    const [address, bits] = entry.trim().split('/');
    const a = plain(address);
    const type = isIP(a) === 4 ? 'ipv4' : 'ipv6';
    if (bits === undefined) list.addAddress(a, type);
    else list.addSubnet(a, Number(bits), type);
  }
  return (address) => {
    const a = plain(address);
    const family = isIP(a);
    return family !== 0 && list.check(a, family === 4 ? 'ipv4' : 'ipv6');
  };
}
