/**
 * `vmledger-agent check` for a Proxmox source: can the token see the inventory, all of it,
 * and the guest agents? Three requests after `/version`; the token's effective permissions
 * decide the verdict (access.ts explains the traps).
 */
import type { CheckResult } from '../collector.ts';
import { CollectorError } from '../collector.ts';
import { canAuditVms, heldPrivileges, partialViewProblem, privilegeTrapMessage } from './access.ts';
import type { ProxmoxApi } from './api.ts';
import {
  type AnyResource,
  type ClusterStatusEntry,
  isGuest,
  type Permissions,
  type VersionInfo,
} from './api_shapes.ts';

const isPermission = (err: unknown) => err instanceof CollectorError && err.code === 'permission';

/** Guest-agent reads need VM.Monitor (PVE 8) or VM.GuestAgent.Audit (PVE 9); PVEAuditor has neither. */
export function agentPrivilegeNote(held: Set<string>): string | null {
  if (held.has('VM.Monitor') || held.has('VM.GuestAgent.Audit')) return null;
  return 'guest agents not readable (no VM.Monitor / VM.GuestAgent.Audit): Tools status, guest ' +
    'OS, IPs and guest disks of QEMU VMs stay unknown';
}

/** Checks one Proxmox endpoint with the given token; throws only on transport/auth errors. */
export async function checkProxmox(
  a: ProxmoxApi,
  tokenId: string,
  signal: AbortSignal,
): Promise<CheckResult> {
  const version = await a.get<VersionInfo>('/version', { signal });
  const [resources, perms, status] = await Promise.all([
    a.get<AnyResource[]>('/cluster/resources', { query: { type: 'vm' }, signal }),
    a.get<Permissions>('/access/permissions', { signal }).catch(() => null),
    a.get<ClusterStatusEntry[]>('/cluster/status', { signal }).catch((
      err,
    ) => (isPermission(err) ? null : Promise.reject(err))),
  ]);
  const held = heldPrivileges(perms);
  const guests = resources.filter(isGuest).length;
  const details: Record<string, unknown> = {
    version: version.version,
    guests,
    privileges: perms ? [...held].sort() : null,
  };
  if (status === null || (guests === 0 && perms && !canAuditVms(held))) {
    return { ok: false, message: privilegeTrapMessage(tokenId, held), details };
  }
  const nodes = status.filter((e) => e.type === 'node');
  const clusterName = status.find((e) => e.type === 'cluster')?.name ?? null;
  // The same id a capture carries (a lone node: its name).
  const cluster = clusterName ?? nodes.map((n) => n.name).sort()[0] ?? '?';
  const offline = nodes.filter((n) => n.online !== 1).map((n) => n.name);
  Object.assign(details, { cluster, nodes: nodes.length, offline });
  const partial = perms ? partialViewProblem(tokenId, perms) : null;
  const agentNote = perms ? agentPrivilegeNote(held) : null;
  const seen = `Proxmox VE ${version.version} at ${a.endpoint}: ${
    clusterName ? 'cluster' : 'node'
  } ${cluster}, ${nodes.length} node(s)${
    offline.length ? ` (offline: ${offline.join(', ')})` : ''
  }; token ${tokenId} sees ${guests} guest(s)`;
  const note = agentNote ? `; ${agentNote}` : '';
  const identity = { kind: 'proxmox' as const, id: cluster };
  if (partial) {
    // Captures still work, but every one is incomplete: the admin must fix the token.
    return { ok: false, warning: true, message: `${seen}; ${partial}${note}`, details, identity };
  }
  return {
    ok: true,
    message: seen + note + (!perms ? ' (privileges could not be verified)' : ''),
    details,
    identity,
  };
}
