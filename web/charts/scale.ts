/** Axis scales for the SVG charts: "nice" numeric ticks and calendar-aware time ticks. */

/** About `count` round tick values covering [min, max] (1, 2, 2.5, 5 × 10^n steps). */
export function niceTicks(min: number, max: number, count = 4): number[] {
  if (!Number.isFinite(min) || !Number.isFinite(max)) return [0, 1];
  if (min === max) {
    const pad = Math.abs(min) > 0 ? Math.abs(min) * 0.5 : 1;
    min -= min > 0 && min - pad < 0 ? min : pad;
    max += pad;
  }
  const raw = (max - min) / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag;
  const start = Math.floor(min / step) * step;
  const ticks: number[] = [];
  for (let v = start; v <= max + step * 0.5 && ticks.length < 20; v += step) {
    ticks.push(Number(v.toFixed(10)));
  }
  if (ticks[ticks.length - 1] < max) {
    ticks.push(Number((ticks[ticks.length - 1] + step).toFixed(10)));
  }
  return ticks;
}

const HOUR = 3600_000;
const DAY = 24 * HOUR;
const STEPS: [number, 'hour' | 'day' | 'month'][] = [
  [HOUR, 'hour'],
  [3 * HOUR, 'hour'],
  [6 * HOUR, 'hour'],
  [12 * HOUR, 'hour'],
  [DAY, 'day'],
  [2 * DAY, 'day'],
  [7 * DAY, 'day'],
  [14 * DAY, 'day'],
  [30 * DAY, 'month'],
  [91 * DAY, 'month'],
  [182 * DAY, 'month'],
  [365 * DAY, 'month'],
];

/** Tick times (UTC ms) for a time axis with labels at whole hours, days or months. */
export function timeTicks(from: number, to: number, count = 5): { at: number; label: string }[] {
  const span = Math.max(to - from, 1);
  const [step, unit] = STEPS.find(([s]) => span / s <= count) ?? STEPS[STEPS.length - 1];
  const out: { at: number; label: string }[] = [];
  const d = new Date(from);
  if (unit === 'month') {
    const months = Math.max(1, Math.round(step / (30 * DAY)));
    let t = Date.UTC(
      d.getUTCFullYear(),
      d.getUTCMonth() + (d.getUTCDate() > 1 || d.getUTCHours() > 0 ? 1 : 0),
      1,
    );
    while (t <= to && out.length < 24) {
      const m = new Date(t);
      out.push({
        at: t,
        label: m.getUTCMonth() === 0 || out.length === 0
          ? `${m.toISOString().slice(0, 7)}`
          : MONTHS[m.getUTCMonth()],
      });
      t = Date.UTC(m.getUTCFullYear(), m.getUTCMonth() + months, 1);
    }
    return out;
  }
  let t = Math.ceil(from / step) * step;
  while (t <= to && out.length < 24) {
    const iso = new Date(t).toISOString();
    out.push({
      at: t,
      label: unit === 'hour'
        ? (t % DAY === 0 ? iso.slice(5, 10) : `${iso.slice(11, 16)}`)
        : iso.slice(5, 10),
    });
    t += step;
  }
  return out;
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
