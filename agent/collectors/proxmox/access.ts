/**
 * The privilege trap: a privilege-separated API token (`privsep=1`, the default) has only
 * the ACLs given to the token itself. Without them PVE does not answer 403 on listings —
 * `/cluster/resources` and friends just come back empty. A collector that trusts that
 * would report a complete capture with zero VMs and the server would "delete" the fleet.
 * So an empty VM list is cross-checked against `/access/permissions`.
 */
import type { Permissions } from './api_shapes.ts';

/** Every privilege the token holds on any path. */
export function heldPrivileges(perms: Permissions | null | undefined): Set<string> {
  const out = new Set<string>();
  for (const privs of Object.values(perms ?? {})) {
    for (const [priv, on] of Object.entries(privs ?? {})) if (on) out.add(priv);
  }
  return out;
}

/** The message for a token that authenticates but cannot audit VMs (or nodes). */
export function privilegeTrapMessage(tokenId: string, held: Set<string>): string {
  const missing = ['VM.Audit', 'Sys.Audit', 'Datastore.Audit'].filter((p) => !held.has(p));
  return (
    `API token ${tokenId} is valid but cannot see the inventory: Proxmox answers a privilege-separated ` +
    `token without audit rights with empty lists, not 403 (missing: ${
      missing.join(', ') || 'none reported'
    }). ` +
    `Grant the PVEAuditor role on / to the token itself: pveum acl modify / --tokens '${tokenId}' --roles PVEAuditor`
  );
}

/** True when the token can list VMs (so an empty list really means "no VMs"). */
export function canAuditVms(held: Set<string>): boolean {
  return held.has('VM.Audit');
}
