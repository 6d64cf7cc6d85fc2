/**
 * The vCenter collector: one session per capture, the VM retrieval and the bulk inventory,
 * datastores, custom attribute names and lifecycle events fetched concurrently on that
 * session, then joined in memory into a capture.
 *
 * Only the VM retrieval is essential: if it fails the capture throws (a failed poll).
 * Any other part failing still yields a capture, marked `complete: false` with the
 * reason in `errors`, so the server never infers deletions from it.
 */
import {
  CAPTURE_SCHEMA_VERSION,
  type CaptureEvent,
  type CaptureInput,
  type CaptureVmInput,
} from '../../capture/schema.ts';
import type { VmLabel, VmUsage } from '../../capture/details.ts';
import { resolveSecret, type VcenterSourceConfig } from '../../config.ts';
import type { Logger } from '../../../shared/log.ts';
import { createHttpClient, type HttpClient } from '../../runtime/http_client.ts';
import {
  type CaptureOptions,
  type CheckResult,
  type Collector,
  CollectorError,
} from '../collector.ts';
import { creationTimes, readVmEvents, type VmEvent } from './events.ts';
import { type Inventory, loadInventory } from './inventory.ts';
import { createContainerView, destroyView, retrieveObject, retrieveView } from './retrieve.ts';
import { createSoapClient, type SoapClient, SoapFault } from './soap.ts';
import { login, logout, retrieveServiceContent, type ServiceContent } from './session.ts';
import { type RawVm, readRawVm, toCaptureVm, toUsage, VM_SPEC } from './vms.ts';
import {
  clusterRows,
  datastoreRows,
  hostRows,
  networkRows,
  resourcePoolRows,
} from './inventory_rows.ts';
import { readVmTags } from './tags.ts';
import { childText } from './xml.ts';

/** The SDK endpoint for a configured URL: `https://vc` and `https://vc/` mean `https://vc/sdk`. */
export function sdkUrlFor(url: string): string {
  const u = new URL(url);
  if (u.pathname === '' || u.pathname === '/') u.pathname = '/sdk';
  u.username = '';
  u.password = '';
  return u.toString();
}

type Session = {
  soap: SoapClient;
  http: HttpClient;
  content: ServiceContent;
  password: string;
};

/** Turns anything thrown into a one-line reason for `errors` / CheckResult. */
function reason(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/**
 * Assigns VM keys per DESIGN.md: `<vc uuid>:<config.instanceUuid>`, or `<vc uuid>:moref:<vm-id>`
 * without one. If two VMs share an instanceUuid (vCenter should prevent it, but copies of
 * .vmx files happen), the lowest moref keeps the uuid key and the others fall back to their
 * moref, deterministically, so keys do not flap between captures.
 */
export function assignKeys(vcUuid: string, vms: readonly RawVm[]): string[] {
  const owner = new Map<string, string>();
  const morefOrder = (m: string) => Number(/(\d+)$/.exec(m)?.[1] ?? Number.MAX_SAFE_INTEGER);
  for (const vm of vms) {
    if (!vm.instanceUuid) continue;
    const prev = owner.get(vm.instanceUuid);
    if (
      prev === undefined || morefOrder(vm.moref) < morefOrder(prev) ||
      (morefOrder(vm.moref) === morefOrder(prev) && vm.moref < prev)
    ) {
      owner.set(vm.instanceUuid, vm.moref);
    }
  }
  return vms.map((vm) =>
    vm.instanceUuid && owner.get(vm.instanceUuid) === vm.moref
      ? `${vcUuid}:${vm.instanceUuid}`
      : `${vcUuid}:moref:${vm.moref}`
  );
}

/** Maps lifecycle events to capture events, resolving keys of VMs still present. */
export function toCaptureEvents(
  events: readonly VmEvent[],
  keyByMoref: Map<string, string>,
): CaptureEvent[] {
  return events.map((e) => ({
    type: e.kind,
    at: e.at,
    vmKey: e.vmMoref ? (keyByMoref.get(e.vmMoref) ?? null) : null,
    sourceVmId: e.vmMoref,
    vmName: e.vmName,
    detail: `${e.eventType}${e.userName ? ` by ${e.userName}` : ''} (event ${e.key})`.slice(
      0,
      1024,
    ),
  }));
}

/** Creates the collector for one configured vCenter source. */
export function createVcenterCollector(config: VcenterSourceConfig, log: Logger): Collector {
  const sdkUrl = sdkUrlFor(config.url);
  const where = `sources.${config.name}`;
  const timeoutMs = config.timeoutSeconds * 1000;

  async function open(signal: AbortSignal): Promise<Session> {
    // Resolved per session so a rotated password file is picked up without a restart.
    let password: string;
    try {
      password =
        (await resolveSecret(config as unknown as Record<string, unknown>, 'password', where))!;
    } catch (err) {
      throw new CollectorError('config', reason(err));
    }
    const http = createHttpClient(
      { insecure: config.insecure, caFile: config.caFile, thumbprint: config.thumbprint },
      (msg) => log.warn(msg, { source: config.name }),
    );
    const soap = createSoapClient({ http, sdkUrl, timeoutMs });
    try {
      const content = await retrieveServiceContent(soap, signal);
      await login(soap, content, config.username, password, signal);
      return { soap, http, content, password };
    } catch (err) {
      http.close();
      throw asCollectorError(err);
    }
  }

  async function close(s: Session, signal: AbortSignal): Promise<void> {
    // Log out even when the capture was aborted: a fresh short signal, not the dead one.
    await logout(s.soap, s.content, signal.aborted ? AbortSignal.timeout(5000) : signal);
    s.http.close();
  }

  async function retrieveVms(
    s: Session,
    signal: AbortSignal,
  ): Promise<{ vms: RawVm[]; pages: number }> {
    const vms: RawVm[] = [];
    const view = await createContainerView(s.soap, s.content.viewManager, s.content.rootFolder, [
      'VirtualMachine',
    ], signal);
    try {
      const stats = await retrieveView(
        s.soap,
        s.content.propertyCollector,
        view,
        [VM_SPEC],
        config.pageSize,
        signal,
        (o) => {
          vms.push(readRawVm(o));
        },
      );
      return { vms, pages: stats.pages };
    } finally {
      await destroyView(s.soap, view, signal);
    }
  }

  async function customFieldNames(s: Session, signal: AbortSignal): Promise<Map<string, string>> {
    const names = new Map<string, string>();
    if (!s.content.customFieldsManager) return names;
    const o = await retrieveObject(
      s.soap,
      s.content.propertyCollector,
      s.content.customFieldsManager,
      ['field'],
      signal,
    );
    for (const def of o?.props.get('field')?.children ?? []) {
      const key = childText(def, 'key');
      const name = childText(def, 'name');
      if (key && name) names.set(key, name);
    }
    return names;
  }

  async function capture(options: CaptureOptions): Promise<CaptureInput> {
    const { signal } = options;
    const at = options.at ?? new Date();
    const t0 = performance.now();
    const s = await open(signal);
    try {
      const about = s.content.about;
      const vcUuid = about.instanceUuid ?? new URL(sdkUrl).host;
      // Everything on one session, concurrently: the server works while we parse.
      const [vmsR, invR, fieldsR, eventsR] = await Promise.allSettled([
        retrieveVms(s, signal),
        loadInventory(s.soap, s.content, Math.max(config.pageSize, 1000), signal),
        customFieldNames(s, signal),
        readVmEvents(s.soap, s.content, options.since, signal),
      ]);
      if (vmsR.status === 'rejected') {
        throw asCollectorError(vmsR.reason, 'retrieving the VM inventory failed');
      }
      const errors: string[] = [];
      let inventory: Inventory | null = null;
      if (invR.status === 'fulfilled') inventory = invR.value.inventory;
      else {errors.push(
          `inventory (hosts, clusters, pools, folders, datastores): ${reason(invR.reason)}`,
        );}
      let fieldNames = new Map<string, string>();
      if (fieldsR.status === 'fulfilled') fieldNames = fieldsR.value;
      else errors.push(`custom attribute names: ${reason(fieldsR.reason)}`);
      let events: VmEvent[] = [];
      if (eventsR.status === 'fulfilled') {
        events = eventsR.value.events;
        if (eventsR.value.truncated) {
          errors.push(
            `events: more than ${events.length} lifecycle events since the last capture; the rest were not read`,
          );
        }
      } else errors.push(`events: ${reason(eventsR.reason)}`);

      const raw = vmsR.value.vms;
      // Tags after the VMs: the batch attachment calls name the VMs the capture holds.
      let labels = new Map<string, VmLabel[]>();
      try {
        labels = await readVmTags(
          {
            http: s.http,
            sdkUrl,
            username: config.username,
            password: s.password,
            timeoutMs,
          },
          raw.map((vm) => vm.moref),
          signal,
        );
      } catch (err) {
        if (signal.aborted) throw asCollectorError(err);
        errors.push(`vSphere tags (tagging service): ${reason(err)}; VMs captured without tags`);
      }
      const keys = assignKeys(vcUuid, raw);
      const ctx = {
        inventory,
        prefix: vcUuid,
        labels,
        fieldNames,
        createdFromEvents: creationTimes(events),
        now: at,
      };
      const vms: CaptureVmInput[] = new Array(raw.length);
      const usage: VmUsage[] = [];
      const keyByMoref = new Map<string, string>();
      let missingProps = 0;
      for (let i = 0; i < raw.length; i++) {
        vms[i] = toCaptureVm(raw[i], keys[i], ctx);
        const use = toUsage(raw[i], keys[i]);
        if (use) usage.push(use);
        keyByMoref.set(raw[i].moref, keys[i]);
        if (raw[i].missing.length) missingProps++;
      }
      if (missingProps) {
        log.warn('some VM properties were not readable (permissions?)', {
          source: config.name,
          vms: missingProps,
          example: raw.find((v) => v.missing.length)?.missing,
        });
      }
      log.info('vcenter capture', {
        source: config.name,
        vms: vms.length,
        vmPages: vmsR.value.pages,
        hosts: inventory?.hostObjects.length ?? null,
        events: events.length,
        ms: Math.round(performance.now() - t0),
        complete: errors.length === 0,
      });
      return {
        schemaVersion: CAPTURE_SCHEMA_VERSION,
        captureId: crypto.randomUUID(),
        source: {
          kind: 'vcenter',
          id: vcUuid,
          name: config.name,
          endpoint: sdkUrl,
          version: about.fullName,
        },
        capturedAt: at.toISOString(),
        complete: errors.length === 0,
        errors,
        vms,
        hosts: inventory ? hostRows(inventory, vcUuid) : [],
        datastores: inventory ? datastoreRows(inventory, vcUuid) : [],
        events: toCaptureEvents(events, keyByMoref),
        clusters: inventory ? clusterRows(inventory, vcUuid) : [],
        resourcePools: inventory ? resourcePoolRows(inventory, vcUuid) : [],
        networks: inventory ? networkRows(inventory, vcUuid) : [],
        usage,
      };
    } finally {
      await close(s, signal);
    }
  }

  async function check(signal: AbortSignal): Promise<CheckResult> {
    let s: Session;
    try {
      s = await open(signal);
    } catch (err) {
      return { ok: false, message: reason(err) };
    }
    try {
      const about = s.content.about;
      const view = await createContainerView(s.soap, s.content.viewManager, s.content.rootFolder, [
        'VirtualMachine',
      ], signal);
      let vms = 0;
      try {
        await retrieveView(
          s.soap,
          s.content.propertyCollector,
          view,
          [{ type: 'VirtualMachine', paths: [] }],
          10_000,
          signal,
          () => {
            vms++;
          },
        );
      } finally {
        await destroyView(s.soap, view, signal);
      }
      const who = `${about.fullName ?? 'vCenter'} at ${sdkUrl} as ${config.username}`;
      return {
        ok: true,
        message: vms > 0
          ? `${who}: ${vms} VMs visible`
          : `${who}: 0 VMs visible (does this account have read access to the inventory?)`,
        details: {
          vms,
          version: about.fullName,
          apiVersion: about.apiVersion,
          instanceUuid: about.instanceUuid,
          apiType: about.apiType,
        },
        // The id captures carry (collector.ts: instanceUuid, else the SDK host).
        identity: { kind: 'vcenter', id: about.instanceUuid ?? new URL(sdkUrl).host },
      };
    } catch (err) {
      return { ok: false, message: reason(asCollectorError(err)) };
    } finally {
      await close(s, signal);
    }
  }

  return { check, capture };
}

/** Keeps CollectorErrors as they are; wraps SOAP faults and the rest with context. */
function asCollectorError(err: unknown, context?: string): CollectorError {
  if (err instanceof CollectorError) {
    return context ? new CollectorError(err.code, `${context}: ${err.message}`) : err;
  }
  if (err instanceof SoapFault) {
    const code = err.faultType === 'NotAuthenticated' ? 'auth' : 'vcenter_fault';
    return new CollectorError(code, context ? `${context}: ${err.message}` : err.message);
  }
  const e = err as Error & { name?: string };
  if (e?.name === 'AbortError' || e?.name === 'TimeoutError') {
    return new CollectorError('aborted', `capture aborted: ${e.message}`);
  }
  return new CollectorError('vcenter', `${context ? `${context}: ` : ''}${reason(err)}`);
}
