/**
 * VM lifecycle events from the EventManager: creations (created, cloned, deployed,
 * registered) and removals since the previous capture, read through an
 * EventHistoryCollector page by page (QueryEvents answers one capped page only).
 *
 * `since` is the agent's clock and vCenter has its own; the window starts a few minutes
 * early so clock skew cannot lose an event. A re-reported event is harmless (the server
 * keeps lifecycle facts idempotently); a lost one is not.
 */
import { moRefXml, readMoRef, type SoapClient, textXml } from './soap.ts';
import type { ServiceContent } from './session.ts';
import { child, type XmlElement } from './xml.ts';

export const CREATION_EVENT_TYPES = [
  'VmCreatedEvent',
  'VmClonedEvent',
  'VmDeployedEvent',
  'VmRegisteredEvent',
] as const;
export const REMOVAL_EVENT_TYPES = ['VmRemovedEvent'] as const;
/** Registration adds an existing VM to the inventory: it says nothing about when the VM was made. */
const ORIGIN_EVENT_TYPES = new Set(['VmCreatedEvent', 'VmClonedEvent', 'VmDeployedEvent']);

/** Events per ReadNextEvents call and latest-page size (vCenter's maximum page). */
const PAGE = 1000;
/** Clock-skew allowance for the `since` window. */
export const SINCE_OVERLAP_MS = 5 * 60_000;

export type VmEvent = {
  kind: 'created' | 'deleted';
  eventType: string;
  key: number;
  at: string;
  vmMoref: string | null;
  vmName: string | null;
  userName: string | null;
  /** True when the event tells when the VM itself came into being (not a registration). */
  isOrigin: boolean;
};

/** Builds the EventFilterSpec (elements in the order the vim25 schema requires). */
export function eventFilterXml(root: { type: string; value: string }, begin: Date | null): string {
  return (
    '<filter>' +
    `<entity>${moRefXml('entity', root)}<recursion>all</recursion></entity>` +
    (begin ? `<time>${textXml('beginTime', begin.toISOString())}</time>` : '') +
    // The formatted message is not used; skipping it saves the server work per event.
    '<disableFullMessage>true</disableFullMessage>' +
    [...CREATION_EVENT_TYPES, ...REMOVAL_EVENT_TYPES].map((t) => textXml('eventTypeId', t)).join(
      '',
    ) +
    // No `maxCount`: newer vCenters read it as a cap on the events returned, which would
    // silently truncate; the collector is paged instead (SetCollectorPageSize below).
    '</filter>'
  );
}

/** Reads one event element into a VmEvent; null for types this collector does not track. */
export function readVmEvent(el: XmlElement): VmEvent | null {
  const eventType = el.xsiType ?? el.name;
  const kind = (CREATION_EVENT_TYPES as readonly string[]).includes(eventType)
    ? 'created'
    : (REMOVAL_EVENT_TYPES as readonly string[]).includes(eventType)
    ? 'deleted'
    : null;
  if (!kind) return null;
  const created = child(el, 'createdTime')?.text;
  const t = created ? Date.parse(created) : NaN;
  if (!Number.isFinite(t)) return null;
  const vmArg = child(el, 'vm');
  return {
    kind,
    eventType,
    key: Number(child(el, 'key')?.text ?? 0),
    at: new Date(t).toISOString(),
    vmMoref: readMoRef(child(vmArg, 'vm'))?.value ?? null,
    vmName: child(vmArg, 'name')?.text ?? null,
    userName: child(el, 'userName')?.text || null,
    isOrigin: ORIGIN_EVENT_TYPES.has(eventType),
  };
}

/**
 * Reads VM lifecycle events newer than `since` (all retained ones when null), oldest
 * first, stopping after `maxEvents` so a huge event history cannot stall a capture.
 */
export async function readVmEvents(
  soap: SoapClient,
  content: ServiceContent,
  since: Date | null,
  signal: AbortSignal,
  maxEvents = 100_000,
): Promise<{ events: VmEvent[]; truncated: boolean }> {
  if (!content.eventManager) return { events: [], truncated: false };
  const begin = since ? new Date(since.getTime() - SINCE_OVERLAP_MS) : null;
  const res = await soap.call(
    'CreateCollectorForEvents',
    content.eventManager,
    eventFilterXml(content.rootFolder, begin),
    signal,
  );
  const collector = readMoRef(child(res, 'returnval'));
  if (!collector) throw new Error('CreateCollectorForEvents returned no collector');
  const events: VmEvent[] = [];
  const seen = new Set<number>();
  let truncated = false;
  try {
    // The latest page holds the newest events; vcsim only serves what fits in it, and a
    // real vCenter reads on past it from the oldest after the rewind.
    await soap.call('SetCollectorPageSize', collector, textXml('maxCount', PAGE), signal);
    await soap.call('RewindCollector', collector, '', signal);
    for (;;) {
      const page = await soap.call('ReadNextEvents', collector, textXml('maxCount', PAGE), signal);
      const items = page.children.filter((c) => c.name === 'returnval');
      if (items.length === 0) break;
      for (const item of items) {
        const e = readVmEvent(item);
        // Some servers ignore the time filter: apply it here too.
        if (!e || (begin && Date.parse(e.at) < begin.getTime()) || seen.has(e.key)) continue;
        seen.add(e.key);
        events.push(e);
      }
      if (events.length >= maxEvents) {
        truncated = true;
        break;
      }
    }
  } finally {
    await soap.call('DestroyCollector', collector, '', signal).catch(() => {});
  }
  events.sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : a.key - b.key));
  return { events, truncated };
}

/** Earliest origin event time per VM moref: the creation-time fallback for `config.createDate`. */
export function creationTimes(events: readonly VmEvent[]): Map<string, string> {
  const out = new Map<string, string>();
  for (const e of events) {
    if (!e.isOrigin || !e.vmMoref) continue;
    const prev = out.get(e.vmMoref);
    if (!prev || e.at < prev) out.set(e.vmMoref, e.at);
  }
  return out;
}
