/**
 * Bulk property retrieval, the way VMware's SDKs do it: a ContainerView over the object
 * types wanted, one PropertyFilterSpec traversing that view, RetrievePropertiesEx with
 * `maxObjects`, then ContinueRetrievePropertiesEx for as long as a token comes back.
 *
 * The token is ALWAYS followed: vCenter caps a page well below `maxObjects` (a govmomi
 * report saw ~100 of 10,000), so "one call" silently drops most of an estate. Each page
 * is parsed and handed to `onObject` before the next one is asked for, so memory holds
 * one page of XML at a time, not the whole inventory.
 */
import { CollectorError } from '../collector.ts';
import { type MoRef, moRefXml, readMoRef, type SoapClient, textXml } from './soap.ts';
import { child, childText, type XmlElement } from './xml.ts';

/** One object's requested properties: property path → its `<val>` element. */
export type ObjectContent = {
  obj: MoRef;
  props: Map<string, XmlElement>;
  /** Properties the server could not read, with the fault type (e.g. NoPermission). */
  missing: { path: string; fault: string }[];
};

/** Which properties to read for one managed object type. */
export type PropertySpec = { type: string; paths: readonly string[] };

export type RetrieveStats = { pages: number; objects: number };

/** Builds the `<specSet>` traversing a ContainerView to its objects. */
export function viewFilterSpecXml(view: MoRef, specs: readonly PropertySpec[]): string {
  const propSet = specs
    .map((s) =>
      `<propSet>${textXml('type', s.type)}${s.paths.length ? '' : '<all>false</all>'}${
        s.paths.map((p) => textXml('pathSet', p)).join('')
      }</propSet>`
    )
    .join('');
  const selectSet =
    '<selectSet xsi:type="TraversalSpec"><name>traverseView</name><type>ContainerView</type><path>view</path><skip>false</skip></selectSet>';
  return `<specSet>${propSet}<objectSet>${
    moRefXml('obj', view)
  }<skip>true</skip>${selectSet}</objectSet></specSet>`;
}

/** Builds the `<specSet>` for a single object's properties. */
export function objectFilterSpecXml(obj: MoRef, paths: readonly string[]): string {
  return `<specSet><propSet>${textXml('type', obj.type)}${
    paths.map((p) => textXml('pathSet', p)).join('')
  }</propSet><objectSet>${moRefXml('obj', obj)}<skip>false</skip></objectSet></specSet>`;
}

/** Reads one `<objects>` element of a RetrieveResult. */
export function readObjectContent(el: XmlElement): ObjectContent | null {
  let obj: MoRef | null = null;
  const props = new Map<string, XmlElement>();
  const missing: { path: string; fault: string }[] = [];
  for (const c of el.children) {
    if (c.name === 'propSet') {
      let name: string | undefined;
      let val: XmlElement | undefined;
      for (const p of c.children) {
        if (p.name === 'name') name = p.text;
        else if (p.name === 'val') val = p;
      }
      if (name !== undefined && val) props.set(name, val);
    } else if (c.name === 'obj') {
      obj = readMoRef(c);
    } else if (c.name === 'missingSet') {
      const fault = child(child(c, 'fault'), 'fault');
      missing.push({
        path: childText(c, 'path') ?? '?',
        fault: fault?.xsiType ?? fault?.name ?? 'unknown',
      });
    }
  }
  return obj ? { obj, props, missing } : null;
}

/** Reads a RetrieveResult (`returnval`): its objects and the continuation token. */
export function readRetrieveResult(
  res: XmlElement,
  onObject: (o: ObjectContent) => void,
): { token: string | null; count: number } {
  const rv = child(res, 'returnval');
  if (!rv) return { token: null, count: 0 }; // nothing matched: vCenter omits returnval
  let token: string | null = null;
  let count = 0;
  for (const c of rv.children) {
    if (c.name === 'objects') {
      const o = readObjectContent(c);
      if (o) {
        count++;
        onObject(o);
      }
    } else if (c.name === 'token') {
      token = c.text || null;
    }
  }
  return { token, count };
}

/** Creates a ContainerView of `types` under `root` (recursive). */
export async function createContainerView(
  soap: SoapClient,
  viewManager: MoRef,
  root: MoRef,
  types: readonly string[],
  signal: AbortSignal,
): Promise<MoRef> {
  const inner = moRefXml('container', root) + types.map((t) => textXml('type', t)).join('') +
    '<recursive>true</recursive>';
  const res = await soap.call('CreateContainerView', viewManager, inner, signal);
  const ref = readMoRef(child(res, 'returnval'));
  if (!ref) throw new CollectorError('protocol', 'CreateContainerView returned no view');
  return ref;
}

/** Destroys a view; failures are ignored (views die with the session anyway). */
export async function destroyView(
  soap: SoapClient,
  view: MoRef,
  signal: AbortSignal,
): Promise<void> {
  try {
    await soap.call('DestroyView', view, '', signal);
  } catch {
    // Logout frees it too.
  }
}

/**
 * Retrieves `specs` for every object in `view`, page by page, following every token.
 * `pageSize` is the `maxObjects` asked for; the server may return fewer per page.
 */
export function retrieveView(
  soap: SoapClient,
  propertyCollector: MoRef,
  view: MoRef,
  specs: readonly PropertySpec[],
  pageSize: number,
  signal: AbortSignal,
  onObject: (o: ObjectContent) => void,
  onPage?: () => Promise<void>,
): Promise<RetrieveStats> {
  const inner = viewFilterSpecXml(view, specs) +
    `<options>${textXml('maxObjects', pageSize)}</options>`;
  return retrievePaged(soap, propertyCollector, inner, signal, onObject, onPage);
}

/**
 * Runs RetrievePropertiesEx with a prepared spec and follows continuation tokens to the end.
 * `onPage`, when given, runs after each page's objects were handed to `onObject` and before
 * the next page is asked for: the caller can write the page out, and memory holds one page.
 */
export async function retrievePaged(
  soap: SoapClient,
  propertyCollector: MoRef,
  inner: string,
  signal: AbortSignal,
  onObject: (o: ObjectContent) => void,
  onPage?: () => Promise<void>,
): Promise<RetrieveStats> {
  const stats: RetrieveStats = { pages: 0, objects: 0 };
  let token: string | null = null;
  try {
    let res = await soap.call('RetrievePropertiesEx', propertyCollector, inner, signal);
    for (;;) {
      const page = readRetrieveResult(res, onObject);
      stats.pages++;
      stats.objects += page.count;
      token = page.token;
      if (onPage) await onPage();
      if (!token) return stats;
      res = await soap.call(
        'ContinueRetrievePropertiesEx',
        propertyCollector,
        textXml('token', token),
        signal,
      );
    }
  } catch (err) {
    // Free the server-side result set when stopping half-way (best effort).
    if (token && !signal.aborted) {
      await soap.call(
        'CancelRetrievePropertiesEx',
        propertyCollector,
        textXml('token', token),
        signal,
      ).catch(() => {});
    }
    throw err;
  }
}

/** Reads properties of one object (e.g. the CustomFieldsManager's field definitions). */
export async function retrieveObject(
  soap: SoapClient,
  propertyCollector: MoRef,
  obj: MoRef,
  paths: readonly string[],
  signal: AbortSignal,
): Promise<ObjectContent | null> {
  let found: ObjectContent | null = null;
  await retrievePaged(
    soap,
    propertyCollector,
    objectFilterSpecXml(obj, paths) + '<options/>',
    signal,
    (o) => {
      found = o;
    },
  );
  return found;
}
