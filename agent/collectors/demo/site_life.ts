/**
 * The demo estate's site life, a pure function of (seed, source, time) like the rest of the
 * fleet: hosts going into maintenance and disconnecting, datastores filling, and the daily
 * cycle usage follows.
 *
 * - Maintenance: each week one host of a source gets an evening patch window of 2–5 hours on
 *   a weekday, and reboots at its end.
 * - Disconnects: every 10 days one host stops responding for 1–8 hours (unless it is in
 *   maintenance then).
 * - Datastores follow a life per layout position: filling (a sawtooth: used space grows
 *   steadily for 150 days, then the store is cleaned up), filling up (the same, but it reaches
 *   full and stays full until the clean-up), falling (old data moving off) or flat.
 * - Usage follows the working day: low at night (03:00 UTC), high mid-afternoon (15:00 UTC),
 *   lower at the weekend.
 */
import { hash } from './fleet_hash.ts';

const HOUR = 3600_000;
const DAY = 24 * HOUR;
const WEEK = 7 * DAY;
const DISCONNECT_PERIOD = 10 * DAY;

export type HostState = 'ok' | 'maintenance' | 'down';

type Window = { host: number; from: number; to: number };

/** The maintenance window of week `week` (weeks counted from the Unix epoch). */
function maintenanceWindow(seed: number, fc: number, hosts: number, week: number): Window {
  const h = hash(seed, fc, week, 80);
  const from = week * WEEK + (h >>> 4) % 5 * DAY + (19 + (h >>> 8) % 4) * HOUR +
    (h >>> 12) % 60 * 60_000;
  return { host: h % hosts, from, to: from + (2 + (h >>> 16) % 4) * HOUR };
}

/** The disconnect of 10-day period `period`. */
function disconnectWindow(seed: number, fc: number, hosts: number, period: number): Window {
  const h = hash(seed, fc, period, 81);
  const from = period * DISCONNECT_PERIOD + (h >>> 4) % 9 * DAY + (h >>> 8) % 24 * HOUR +
    (h >>> 13) % 60 * 60_000;
  return { host: h % hosts, from, to: from + (1 + (h >>> 18) % 8) * HOUR };
}

const within = (w: Window, t: number) => t >= w.from && t < w.to;

/** The state of host `i` of a source with `hosts` hosts at t. */
export function hostStateAt(
  seed: number,
  fc: number,
  hosts: number,
  i: number,
  t: number,
): HostState {
  const m = maintenanceWindow(seed, fc, hosts, Math.floor(t / WEEK));
  if (m.host === i && within(m, t)) return 'maintenance';
  const d = disconnectWindow(seed, fc, hosts, Math.floor(t / DISCONNECT_PERIOD));
  if (d.host === i && within(d, t)) return 'down';
  return 'ok';
}

/** The states of all hosts of a source at t. */
export function hostStatesAt(seed: number, fc: number, hosts: number, t: number): HostState[] {
  return Array.from({ length: hosts }, (_, i) => hostStateAt(seed, fc, hosts, i, t));
}

/**
 * The latest maintenance window of host `i` that ended by t, looking `weeks` weeks back, with
 * when the host was up again (it reboots at the end); null when there was none.
 */
export function lastMaintenance(
  seed: number,
  fc: number,
  hosts: number,
  i: number,
  t: number,
  weeks: number,
): { from: number; to: number; upAt: number } | null {
  const week = Math.floor(t / WEEK);
  for (let w = week; w > week - weeks; w--) {
    const m = maintenanceWindow(seed, fc, hosts, w);
    if (m.host === i && m.to <= t) {
      return { from: m.from, to: m.to, upAt: m.to + (hash(seed, fc, w, 82) % 600) * 1000 };
    }
  }
  return null;
}

/** When host `i` last booted before t: at the end of its latest maintenance window (12 weeks back), else `fallback`. */
export function hostBootTime(
  seed: number,
  fc: number,
  hosts: number,
  i: number,
  t: number,
  fallback: number,
): number {
  return lastMaintenance(seed, fc, hosts, i, t, 12)?.upAt ?? fallback;
}

/** How a datastore's used space moves over time. */
export type DatastoreLife = 'filling' | 'fillsUp' | 'falling' | 'flat';

/** The length of a filling datastore's cycle: it fills for this long, then is cleaned up. */
export const FILL_CYCLE_DAYS = 150;
/** Before this instant the falling datastores had not started to empty (Unix ms). */
const FALL_START = Date.UTC(2025, 0, 1);

/**
 * A datastore's free space at t, in GiB: never negative, never above capacity; a datastore
 * that fills up stays at exactly 0 free until its clean-up. `phase` (0–1) staggers cycles.
 */
export function datastoreFreeGib(
  life: DatastoreLife,
  capacityGib: number,
  phase: number,
  t: number,
  noise: number,
): number {
  const days = t / DAY;
  let fraction: number;
  if (life === 'filling' || life === 'fillsUp') {
    const e = (((days / FILL_CYCLE_DAYS + phase) % 1) + 1) % 1;
    // filling: 55% free down to 5% over the cycle; fillsUp: 35% down to full at 70% of it.
    fraction = life === 'filling' ? 0.55 - 0.5 * e : Math.max(0, 0.35 - 0.5 * e);
  } else if (life === 'falling') {
    const d = Math.max(0, (t - FALL_START) / DAY);
    fraction = 0.2 + 0.5 * (1 - Math.exp(-d / 365));
  } else {
    fraction = 0.3 + phase * 0.4;
  }
  // Snapshots and backups come and go within the day, and a few GiB move from one capture to
  // the next (`noise`, -1–1): both shrink to nothing as the datastore fills, so a full one
  // stays exactly full and a flat one does not look like it fills.
  const base = capacityGib * fraction;
  const free = base * (1 + 0.004 * Math.sin((2 * Math.PI * (t % DAY)) / DAY)) +
    2 * noise * Math.min(1, base / 100);
  return Math.round(Math.max(0, Math.min(capacityGib, free)) * 1000) / 1000;
}

/**
 * How busy the estate is at t (0–1): the working day's curve, low at 03:00 UTC and high at
 * 15:00 UTC, damped at the weekend.
 */
export function dailyLoad(t: number): number {
  const hourOfDay = (t % DAY) / HOUR;
  const curve = 0.5 - 0.5 * Math.cos((2 * Math.PI * (hourOfDay - 3)) / 24);
  const weekday = new Date(t).getUTCDay();
  return weekday === 0 || weekday === 6 ? curve * 0.4 : curve;
}
