/** Formatting shared by every page: numbers, sizes, times and ages (all in UTC, stated). */

const int = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });
const one = new Intl.NumberFormat('en-US', { maximumFractionDigits: 1 });
const two = new Intl.NumberFormat('en-US', { maximumFractionDigits: 2 });

/** 12,345 */
export function fmtInt(n: number | null | undefined): string {
  return n === null || n === undefined || !Number.isFinite(n) ? '–' : int.format(n);
}

/** 1,234.5 (at most one decimal) */
export function fmtNum(n: number | null | undefined, digits: 1 | 2 = 1): string {
  if (n === null || n === undefined || !Number.isFinite(n)) return '–';
  return (digits === 1 ? one : two).format(n);
}

/** Compact axis labels: 950, 1.2k, 3.4M. */
export function fmtCompact(n: number): string {
  const a = Math.abs(n);
  if (a >= 1e9) return `${one.format(n / 1e9)}G`;
  if (a >= 1e6) return `${one.format(n / 1e6)}M`;
  if (a >= 1e4) return `${one.format(n / 1e3)}k`;
  return two.format(n);
}

/** GB with a TB step above 10,000 GB. */
export function fmtGb(gb: number | null | undefined): string {
  if (gb === null || gb === undefined || !Number.isFinite(gb)) return '–';
  return gb >= 10_000 ? `${one.format(gb / 1024)} TiB` : `${one.format(gb)} GiB`;
}

/** "2026-05-04 10:00 UTC" from an ISO time; a plain date stays a date. */
export function fmtTime(iso: string | null | undefined): string {
  if (!iso) return '–';
  if (/^\d{4}-\d{2}-\d{2}$/.test(iso)) return iso;
  return `${iso.slice(0, 10)} ${iso.slice(11, 16)} UTC`;
}

/** "5 min ago", "3 h ago", "2 d ago" relative to `now`. */
export function fmtAge(iso: string | null | undefined, now = Date.now()): string {
  if (!iso) return 'never';
  const s = Math.round((now - new Date(iso).getTime()) / 1000);
  if (s < 0) return 'just now';
  if (s < 90) return `${s} s ago`;
  if (s < 5400) return `${Math.round(s / 60)} min ago`;
  if (s < 172_800) return `${Math.round(s / 3600)} h ago`;
  return `${Math.round(s / 86400)} d ago`;
}

/** Milliseconds as "850 ms" or "2.4 s". */
export function fmtMs(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return '–';
  return ms < 1000 ? `${two.format(ms)} ms` : `${two.format(ms / 1000)} s`;
}

/**
 * A time as a datetime-local field's value: UTC, to the minute (a date is its midnight);
 * '' for none or no time.
 */
export function fmtLocalField(v: string | undefined): string {
  if (!v) return '';
  const t = Date.parse(v.length === 10 ? `${v}T00:00:00Z` : v);
  return Number.isNaN(t) ? '' : new Date(t).toISOString().slice(0, 16);
}
