/**
 * vSphere tags with their categories, from vCenter's tagging service (the vAPI REST
 * endpoints under `/rest/com/vmware/cis`, which vCenter 6.5 to 8 serve and vcsim simulates):
 * one session, the category and tag definitions, then the attachments of every VM in a few
 * batch `list-attached-tags-on-objects` calls, never one call per VM.
 *
 * Tags are an addition to the inventory, not part of it: the collector runs this beside the
 * property retrieval and, when it fails (no tagging service, no privilege), records why and
 * captures the VMs without tags.
 */
import type { VmLabel } from '../../capture/details.ts';
import type { HttpClient } from '../../runtime/http_client.ts';
import { CollectorError } from '../collector.ts';

/** VMs per `list-attached-tags-on-objects` call: big enough to be few, small enough to be quick. */
export const TAG_BATCH = 2000;
/** Definitions fetched at once (one GET per category and per tag: the API has no batch read). */
const PARALLEL = 8;

export type TaggingOptions = {
  http: HttpClient;
  /** The SDK URL (`https://vc/sdk`); the REST root is `https://vc/rest`. */
  sdkUrl: string;
  username: string;
  password: string;
  timeoutMs: number;
};

type Session = {
  call<T>(method: 'GET' | 'POST' | 'DELETE', path: string, body?: unknown): Promise<T>;
  close(): Promise<void>;
};

async function openSession(o: TaggingOptions, signal: AbortSignal): Promise<Session> {
  const root = new URL('/rest', o.sdkUrl).toString();
  let sessionId: string | null = null;
  async function call<T>(method: string, path: string, body?: unknown): Promise<T> {
    const headers: Record<string, string> = { Accept: 'application/json' };
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    if (sessionId) headers['vmware-api-session-id'] = sessionId;
    else {
      const basic = Buffer.from(`${o.username}:${o.password}`).toString('base64');
      headers.Authorization = `Basic ${basic}`;
    }
    const res = await o.http.request(`${root}${path}`, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      signal,
      timeoutMs: o.timeoutMs,
    });
    if (res.status >= 300) {
      const what = res.status === 401 || res.status === 403
        ? ' (does the account have read access to tags?)'
        : res.status === 404
        ? ' (no vAPI tagging endpoint here)'
        : '';
      throw new CollectorError('http', `${method} ${path}: HTTP ${res.status}${what}`);
    }
    const text = res.body.toString('utf8');
    if (text === '') return undefined as T;
    try {
      return (JSON.parse(text) as { value: T }).value;
    } catch {
      throw new CollectorError('protocol', `${method} ${path}: not JSON`);
    }
  }
  sessionId = await call<string>('POST', '/com/vmware/cis/session');
  if (typeof sessionId !== 'string' || !sessionId) {
    throw new CollectorError('protocol', 'tagging: the session call returned no session id');
  }
  return {
    call: call as Session['call'],
    async close() {
      await call('DELETE', '/com/vmware/cis/session').catch(() => {});
    },
  };
}

/** Runs `f` over `items`, `PARALLEL` at a time, keeping the results in order. */
async function mapLimited<T, R>(items: readonly T[], f: (t: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await f(items[i]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(PARALLEL, items.length) }, worker));
  return out;
}

function byCategoryThenName(x: VmLabel, y: VmLabel): number {
  const a = `${x.category ?? ''}\u0000${x.name}`;
  const b = `${y.category ?? ''}\u0000${y.name}`;
  return a < b ? -1 : a > b ? 1 : 0;
}

type Category = { id: string; name: string };
type Tag = { id: string; name: string; category_id: string };
type Attached = { object_id: { type: string; id: string }; tag_ids: string[] | null };

/**
 * The tags on each VM (by moref), with their categories' names, sorted by category then
 * name so that an unchanged VM's labels read the same in every capture.
 */
export async function readVmTags(
  o: TaggingOptions,
  vmMorefs: readonly string[],
  signal: AbortSignal,
): Promise<Map<string, VmLabel[]>> {
  const s = await openSession(o, signal);
  try {
    const [categoryIds, tagIds] = await Promise.all([
      s.call<string[]>('GET', '/com/vmware/cis/tagging/category'),
      s.call<string[]>('GET', '/com/vmware/cis/tagging/tag'),
    ]);
    const [categories, tags] = await Promise.all([
      mapLimited(
        categoryIds ?? [],
        (id) => s.call<Category>('GET', `/com/vmware/cis/tagging/category/id:${encodeURI(id)}`),
      ),
      mapLimited(
        tagIds ?? [],
        (id) => s.call<Tag>('GET', `/com/vmware/cis/tagging/tag/id:${encodeURI(id)}`),
      ),
    ]);
    const categoryName = new Map(categories.map((c) => [c.id, c.name]));
    const label = new Map<string, VmLabel>();
    for (const t of tags) {
      label.set(t.id, {
        category: categoryName.get(t.category_id)?.slice(0, 256) ?? null,
        name: t.name.slice(0, 256),
      });
    }
    const out = new Map<string, VmLabel[]>();
    if (label.size === 0) return out; // no tags defined: nothing can be attached
    for (let i = 0; i < vmMorefs.length; i += TAG_BATCH) {
      const objectIds = vmMorefs.slice(i, i + TAG_BATCH).map((id) => ({
        type: 'VirtualMachine',
        id,
      }));
      const attached = await s.call<Attached[]>(
        'POST',
        '/com/vmware/cis/tagging/tag-association?~action=list-attached-tags-on-objects',
        { object_ids: objectIds },
      );
      for (const a of attached ?? []) {
        if (!a.tag_ids?.length) continue;
        const labels = a.tag_ids.map((id) => label.get(id)).filter((l): l is VmLabel => !!l);
        labels.sort(byCategoryThenName);
        if (labels.length) out.set(a.object_id.id, labels.slice(0, 256));
      }
    }
    return out;
  } finally {
    await s.close();
  }
}
