/**
 * The VM list's searches and filters as SQL conditions on its rows `i`: what a search means
 * by its shape, tags, datastores, guest OS families. Values are parameters, never text of
 * the statement.
 */
import type { Sql } from '../db/connect.ts';
import { constantFragment, type Fragment } from '../db/fragments.ts';
import { isUuid } from '../ids.ts';
import type { GuestFamily } from './list_query.ts';

const WINDOWS_OS = '^(win|w2k|wxp|wvista)|windows';
const LINUX_OS =
  'linux|ubuntu|rhel|centos|debian|sles|suse|fedora|oracle|photon|coreos|rocky|alma|amazon|flatcar|^l2[46]$';

/** Escapes LIKE wildcards so a search for "50%" means the characters, not a pattern. */
function likePattern(q: string): string {
  return `%${q.replace(/[\\%_]/g, (m) => `\\${m}`)}%`;
}

/** A search of this shape is an IP address (v4, or v6 by its colons). */
export const IP_SEARCH = /^(\d{1,3}\.){3}\d{1,3}$|^[0-9a-f:]+:[0-9a-f:.]*$/i;

/**
 * A condition on the VM's columns as they are known now, `x.…`, as a condition on `i`. The
 * rows of a list as of a past moment are facts, which hold no UUIDs, addresses or tags:
 * those are matched among the live and deleted VMs, whose identity they are.
 */
function knownNow(sql: Sql, at: Date | undefined, condition: (x: Fragment) => Fragment) {
  if (!at) return condition(constantFragment(sql, 'i'));
  const c = condition(constantFragment(sql, 'x'));
  return sql`(i.source_id, i.vm_key) in (
    select x.source_id, x.vm_key from vm_inventory x where ${c}
    union all select x.source_id, x.vm_key from vm_inventory_deleted x where ${c})`;
}

/**
 * What a search means depends on its shape: an IP address matches addresses, a UUID the
 * BIOS or instance UUID, anything else a name substring or an exact key / vmid / MoRef.
 * Few branches, each with its own index, keep the search an index lookup at any size.
 */
export function searchCondition(sql: Sql, q: string, at: Date | undefined) {
  if (IP_SEARCH.test(q)) {
    return sql`and ${knownNow(sql, at, (x) => sql`${x}.ip_addresses @> ${[q]}::text[]`)}`;
  }
  if (isUuid(q)) {
    const u = q.toLowerCase();
    const uuid = knownNow(
      sql,
      at,
      (x) => sql`(${x}.instance_uuid = ${u} or ${x}.bios_uuid = ${u})`,
    );
    return sql`and (${uuid} or i.vm_key = ${q})`;
  }
  // A fragment of four or more characters (a selective search, found by its trigrams and
  // sorted whole, whatever it matches) is handed to the plan as a sub-select's value, which the
  // planner does not estimate: custom plans then cost it as the generic plan does, and the
  // prepared statement settles on its generic plan (the same plan) unless a custom one still
  // looks cheaper (a limit far from a tenth of 0.5 % of the VMs). Its trigram estimate, a row
  // or two, made every custom plan look cheaper: at 100,000 VMs and pages of 50 the statement
  // was planned on every call, as long as it ran (tests/integration/vm_list.test.ts).
  const pattern = !at && q.length >= 4
    ? sql`(select ${likePattern(q)}::text)`
    : sql`${likePattern(q)}`;
  return sql`and (i.name ilike ${pattern} or i.source_vm_id = ${q} or i.vm_key = ${q})`;
}

/** The configuration documents in force: current ones, or (with `at`) those valid then. */
function configsIn(sql: Sql, at: Date | undefined) {
  return at
    ? sql`h.valid_from <= ${at} and (h.valid_to is null or h.valid_to > ${at})`
    : sql`h.valid_to is null`;
}

/** `Category:Name` is a vSphere tag (labels in the configuration); any tag matches a plain tag or attribute. */
export function tagCondition(sql: Sql, tag: string, at: Date | undefined) {
  const colon = tag.indexOf(':');
  const label = colon > 0
    ? sql`(i.source_id, i.vm_key) in (
        select h.source_id, h.vm_key from vm_config_history h
        where ${configsIn(sql, at)} and h.config -> 'labels' @> ${
      sql.json([{ category: tag.slice(0, colon), name: tag.slice(colon + 1) }])
    })`
    : sql`false`;
  return sql`and (${label} or ${knownNow(sql, at, (x) => sql`${x}.tags @> ${[tag]}::text[]`)})`;
}

export function datastoreCondition(sql: Sql, key: string, at: Date | undefined) {
  return sql`and (i.source_id, i.vm_key) in (
    select h.source_id, h.vm_key from vm_config_history h
    where ${configsIn(sql, at)} and h.config -> 'disks' @> ${sql.json([{ datastore: key }])})`;
}

export function guestFamilyCondition(sql: Sql, family: GuestFamily) {
  const windows = sql`coalesce(i.guest_os ~* ${WINDOWS_OS}, false)`;
  const linux = sql`coalesce(i.guest_os ~* ${LINUX_OS}, false)`;
  if (family === 'windows') return sql`and ${windows}`;
  if (family === 'linux') return sql`and ${linux} and not ${windows}`;
  return sql`and not ${windows} and not ${linux}`;
}

/**
 * A row's guest OS family as SQL text ('windows', 'linux' or 'other'), as guestFamilyCondition
 * decides it: the list's in-memory model reads it when it is built (list_model.ts).
 */
export function guestFamilySql(column: string): string {
  return `case when coalesce(${column} ~* '${WINDOWS_OS}', false) then 'windows' ` +
    `when coalesce(${column} ~* '${LINUX_OS}', false) then 'linux' else 'other' end`;
}

/** Whether a search matches few rows: an IP, a UUID, or a name fragment of 4+ characters. */
export function selectiveSearch(q: string | undefined): boolean {
  return !!q && (IP_SEARCH.test(q) || isUuid(q) || q.length >= 4);
}
