/**
 * Constant fragments (a column list, a sort expression, `desc`, nothing at all) made once per
 * handle and reused by every statement that embeds them. Each `sql\`…\`` or `sql.unsafe(…)`
 * builds a postgres.js Query — a Promise subclass with its own closures, passed through the
 * handle's proxies (auth/scope.ts, db/tag.ts) — and a list page embedded ~40 of them, most
 * of them empty: a third of the page's own server CPU (issue 20's profile).
 *
 * Sound because postgres.js only reads an embedded fragment (its strings and arguments, see
 * `fragment` in postgres/src/types.js): the same object may sit in any number of statements,
 * concurrent ones included. These are never sent by themselves: do not await them.
 */
import type { Sql } from './connect.ts';

/** A fragment of a statement, as `sql.unsafe` makes it. */
export type Fragment = ReturnType<Sql['unsafe']>;

const made = new WeakMap<Sql, Map<string, Fragment>>();

/**
 * `sql.unsafe(text)`, made once for this handle: `text` must be one of the code's constants
 * (never a value: values are parameters), which also bounds the cache.
 */
export function constantFragment(sql: Sql, text: string): Fragment {
  let texts = made.get(sql);
  if (!texts) made.set(sql, texts = new Map());
  let fragment = texts.get(text);
  if (!fragment) texts.set(text, fragment = sql.unsafe(text));
  return fragment;
}

/** The empty fragment (`sql\`\``), made once for this handle. */
export function noFragment(sql: Sql): Fragment {
  return constantFragment(sql, '');
}
