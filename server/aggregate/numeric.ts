/**
 * Exact decimal arithmetic for the TypeScript aggregation path, mirroring the SQL side
 * (sql/routines/rollup_ratio.sql) digit for digit. Values are scaled BigInts: a numeric
 * with scale 3 ("12.500") is the integer 12500n at scale 3. No floats anywhere.
 */

/** Derived values carry 6 decimals. */
export const SCALE = 6;
const MICRO = 1_000_000n;

/** Parses PostgreSQL numeric text ("12.5", "-3", "0.125") into an integer at `scale`; throws if it has more digits. */
export function parseScaled(text: string, scale: number): bigint {
  const m = /^(-?)(\d+)(?:\.(\d+))?$/.exec(text);
  if (!m) throw new Error(`not a decimal: ${JSON.stringify(text)}`);
  const frac = m[3] ?? '';
  if (frac.length > scale && /[1-9]/.test(frac.slice(scale))) {
    throw new Error(`decimal ${text} has more than ${scale} decimals`);
  }
  const digits = BigInt(m[2] + frac.slice(0, scale).padEnd(scale, '0'));
  return m[1] ? -digits : digits;
}

/** Formats an integer at `scale` as decimal text with exactly `scale` decimals (PostgreSQL's numeric output). */
export function formatScaled(value: bigint, scale: number): string {
  const neg = value < 0n;
  const abs = neg ? -value : value;
  if (scale === 0) return `${neg ? '-' : ''}${abs}`;
  const s = abs.toString().padStart(scale + 1, '0');
  return `${neg ? '-' : ''}${s.slice(0, -scale)}.${s.slice(-scale)}`;
}

/**
 * (pNum / pDen) / q rounded half up to 6 decimals, as an integer in millionths — the same
 * value as rollup_ratio(p, q) in SQL: floor((2·p·10⁶ + q) / (2·q)) with p = pNum/pDen.
 * For p >= 0 and q > 0 (everything aggregated is non-negative).
 */
export function ratioMicro(pNum: bigint, pDen: bigint, q: bigint): bigint {
  if (q <= 0n || pDen <= 0n) throw new RangeError('ratio needs a positive divisor');
  return (2n * pNum * MICRO + pDen * q) / (2n * pDen * q);
}

/** ratioMicro formatted as numeric text with 6 decimals. */
export function ratio(pNum: bigint, pDen: bigint, q: bigint): string {
  return formatScaled(ratioMicro(pNum, pDen, q), SCALE);
}

/** A jsonb object text with numeric values written verbatim (keeps the scale, e.g. 100.000000). */
export function jsonNumberMap(entries: [string, string][]): string {
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${v}`).join(',')}}`;
}

/**
 * A JS integer sum as BigInt, refusing one that may have lost precision (beyond 2^53).
 * Hot loops add plain numbers (much faster than BigInt) and convert once per VM.
 */
export function exact(sum: number, what: string): bigint {
  if (!Number.isSafeInteger(sum)) {
    throw new RangeError(`sum for ${what} exceeds exact integer range: ${sum}`);
  }
  return BigInt(sum);
}
