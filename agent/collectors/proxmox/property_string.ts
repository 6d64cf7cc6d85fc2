/**
 * Proxmox property strings (`local-lvm:vm-100-disk-0,size=32G,ssd=1`) and sizes (`32G`):
 * the two notations every guest config value is written in.
 */
const UNIT: Record<string, number> = { '': 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3, T: 1024 ** 4 };

/** Parses a Proxmox disk size (`32G`, `528K`, `1.5T`, bare bytes) into bytes; null when unreadable. */
export function parseSize(text: string | undefined | null): number | null {
  if (text == null) return null;
  const m = /^\s*(\d+(?:\.\d+)?)\s*([KMGT]?)B?\s*$/i.exec(String(text));
  if (!m) return null;
  return Math.round(Number(m[1]) * UNIT[m[2].toUpperCase()]);
}

/**
 * Splits a property string (`local-lvm:vm-100-disk-0,size=32G,ssd=1`) into key/values;
 * the leading value without `=` goes under `defaultKey` (the volume).
 */
export function parsePropertyString(text: string, defaultKey = 'file'): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of String(text).split(',')) {
    if (!part) continue;
    const eq = part.indexOf('=');
    if (eq < 0) {
      if (!(defaultKey in out)) out[defaultKey] = part;
    } else {
      out[part.slice(0, eq).trim()] = part.slice(eq + 1).trim();
    }
  }
  return out;
}
