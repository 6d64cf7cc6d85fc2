/**
 * The Changes page's ranges: yesterday, the last 7 days, last month (UTC calendar), or a
 * custom one. Pure: the page calls it with the request's time.
 */
export const CHANGE_PRESETS = ['yesterday', '7d', 'month', 'custom'] as const;
export type ChangePreset = (typeof CHANGE_PRESETS)[number];

const DAY = 86400_000;
const day = (d: Date) => d.toISOString().slice(0, 10);

/**
 * The range of a preset as dates (`to` exclusive): yesterday = [today − 1, today); 7d = the
 * last 7 days, today included = [today − 6, today + 1); month = last calendar month. Custom
 * takes `from`/`to` as given, else falls back to 7d.
 */
export function presetRange(
  preset: ChangePreset,
  now: Date,
  custom: { from?: string; to?: string } = {},
): { from: string; to: string } {
  const today = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate()));
  switch (preset) {
    case 'yesterday':
      return { from: day(new Date(today.getTime() - DAY)), to: day(today) };
    case 'month':
      return {
        from: day(new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - 1, 1))),
        to: day(new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1))),
      };
    case 'custom':
      if (custom.from && custom.to) return { from: custom.from, to: custom.to };
      return presetRange('7d', now);
    default:
      return {
        from: day(new Date(today.getTime() - 6 * DAY)),
        to: day(new Date(today.getTime() + DAY)),
      };
  }
}
