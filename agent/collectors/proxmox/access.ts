/**
 * The privilege trap: a privilege-separated API token (`privsep=1`, the default) has only
 * the ACLs given to the token itself. Without them PVE does not answer 403 on listings —
 * `/cluster/resources` and friends just come back empty. A collector that trusts that
 * would report a complete capture with zero VMs and the server would "delete" the fleet.
 * So an empty VM list is cross-checked against `/access/permissions`.
 *
 * The same trap, partly: a token with VM.Audit on a pool (or on some `/vms/{vmid}`) only
 * sees those guests, and the lists still look complete. Every capture therefore reads the
 * token's effective permissions first (`partialViewProblem`) and is marked incomplete —
 * the server then infers no deletions — unless VM.Audit holds for every guest.
 *
 * `/access/permissions` answers, for the caller, a map of path → (map of privilege →
 * propagate flag): `{"/": {"Sys.Audit": 1}, "/pool/prod": {"VM.Audit": 1, …}}`. A privilege
 * listed with 0 holds on that path only, 1 also on everything below it.
 */
import type { Permissions } from './api_shapes.ts';

/** Every privilege the token holds on any path (propagated or not). */
export function heldPrivileges(perms: Permissions | null | undefined): Set<string> {
  const out = new Set<string>();
  for (const privs of Object.values(perms ?? {})) {
    for (const priv of Object.keys(privs ?? {})) out.add(priv);
  }
  return out;
}

/** True when VM.Audit holds on every guest: on `/` or `/vms`, propagated. */
export function auditsAllVms(perms: Permissions): boolean {
  return perms['/']?.['VM.Audit'] === 1 || perms['/vms']?.['VM.Audit'] === 1;
}

/**
 * Null when the token can see every guest; else the sentence that goes into the capture's
 * `errors` (and `check`): what is missing, where VM.Audit does hold, and the fix.
 */
export function partialViewProblem(tokenId: string, perms: Permissions): string | null {
  if (auditsAllVms(perms)) return null;
  const where = Object.entries(perms)
    .filter(([path, privs]) => privs && 'VM.Audit' in privs && !/^\/vms\/\d+$/.test(path))
    .map(([path, privs]) => (privs['VM.Audit'] ? path : `${path} (not propagated)`));
  const members = Object.entries(perms)
    .filter(([path, privs]) => /^\/vms\/\d+$/.test(path) && privs && 'VM.Audit' in privs).length;
  const has = where.length || members
    ? `it has VM.Audit only on ${
      [...where, ...(members ? [`${members} single guest path(s) /vms/<vmid>`] : [])].join(', ')
    }`
    : 'it has VM.Audit nowhere';
  return (
    `partial view: API token ${tokenId} lacks VM.Audit on / (propagated) or /vms, so Proxmox ` +
    `lists only the guests it may see (${has}); the capture is marked incomplete so that no ` +
    `VM is reported deleted. Grant the PVEAuditor role on / to the token: ` +
    `pveum acl modify / --tokens '${tokenId}' --roles PVEAuditor`
  );
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
