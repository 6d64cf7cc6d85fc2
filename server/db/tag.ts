/**
 * Module tags by construction (issue 24): every statement a pool created by createPool sends
 * from a tagged template (or `unsafe`) written in `server/<module>/…` ends with the comment
 * `/* vmledger:<module> *\/`, so pg_stat_statements' text (the first occurrence's, comments
 * kept) says which part of vmledger issues it — the Database page's "Module" column. The
 * tag is at the end: PostgreSQL 18 drops a statement's leading comments, and a reader of
 * pg_stat_activity that matches a statement's start (`copy capture_stage%`) still matches.
 *
 * The module is the folder of the call site's file, found once per call site: a template's
 * strings array is the same object on every call, so the tagged copy is cached by it. Calls
 * from outside server/ (tests, scripts) and from server/db/ stay untagged, and so does a
 * statement that already names its module. Transactions (`begin`, `savepoint`) and reserved
 * connections tag the same way. Fragments (`sql\`and x = ${y}\``) are left alone: only a
 * text that starts a statement (select, with, insert, update, delete, merge, values, copy,
 * table, call) is tagged.
 */
import type postgres from 'postgres';

type Sql = postgres.Sql;

const STATEMENT =
  /^\s*(?:\(\s*)*(select|with|insert|update|delete|merge|values|copy|table|call)\b/i;
const TAGGED = /\/\*\s*vmledger:/;
const FRAME = /[/\\]server[/\\]([a-z0-9_]+)[/\\]([^/\\:]+)\.ts:\d+/;
/** Files every statement may pass through on its way (the request's scoped handle): not a sender. */
const PASS_THROUGH = new Set(['auth/scope']);

/** The module (folder under server/) of the first caller outside server/db/, or null. */
function callerModule(): string | null {
  const holder: { stack?: string } = {};
  // This file's own frames (server/db/) are passed over below.
  Error.captureStackTrace(holder);
  for (const line of (holder.stack ?? '').split('\n').slice(1)) {
    if (line.includes('node_modules')) continue;
    const m = FRAME.exec(line);
    if (!m) return null;
    if (m[1] === 'db' || PASS_THROUGH.has(`${m[1]}/${m[2]}`)) continue;
    return m[1];
  }
  return null;
}

/** `text` with the module's tag at its end (a line of its own: a trailing `--` stays closed). */
export function withTag(text: string, module: string): string {
  return `${text}\n/* vmledger:${module} */`;
}

type Template = TemplateStringsArray;
const templates = new WeakMap<Template, Template>();
const texts = new Map<string, string>();

function taggedTemplate(strings: Template): Template {
  let t = templates.get(strings);
  if (!t) {
    const module = STATEMENT.test(strings[0]) && !strings.some((s) => TAGGED.test(s))
      ? callerModule()
      : null;
    if (module) {
      const last = strings.length - 1;
      const cooked = strings.map((s, i) => (i === last ? withTag(s, module) : s));
      const raw = strings.raw.map((s, i) => (i === last ? withTag(s, module) : s));
      t = Object.freeze(Object.assign(cooked, { raw: Object.freeze(raw) })) as unknown as Template;
    } else {
      t = strings;
    }
    templates.set(strings, t);
  }
  return t;
}

function taggedText(text: string): string {
  if (!STATEMENT.test(text) || TAGGED.test(text)) return text;
  let t = texts.get(text);
  if (t === undefined) {
    const module = callerModule();
    t = module ? withTag(text, module) : text;
    // The texts of `unsafe` are the code's constants; a bound keeps any built text from
    // growing the cache without end.
    if (texts.size < 2000) texts.set(text, t);
  }
  return t;
}

const wrapped = new WeakSet<object>();

/** `sql` whose statements carry their module's tag (see above). */
export function tagByModule<T extends Sql>(sql: T): T {
  if (wrapped.has(sql)) return sql;
  const proxy: T = new Proxy(sql, {
    apply(target, self, args: unknown[]) {
      const strings = args[0] as Template | undefined;
      if (Array.isArray(strings) && Array.isArray((strings as Template).raw)) {
        args = [taggedTemplate(strings as Template), ...args.slice(1)];
      }
      return Reflect.apply(target as never, self, args);
    },
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver);
      if (typeof value !== 'function') return value;
      switch (prop) {
        case 'unsafe': {
          const unsafe = (text: unknown, ...rest: unknown[]) =>
            (value as (...a: unknown[]) => unknown)(
              typeof text === 'string' ? taggedText(text) : text,
              ...rest,
            );
          return unsafe;
        }
        case 'begin':
        case 'savepoint':
          // The callback (the last argument) gets a transaction that tags too.
          return (...args: unknown[]) => {
            const fn = args.at(-1);
            if (typeof fn === 'function') {
              args[args.length - 1] = (tx: Sql) => (fn as (tx: Sql) => unknown)(tagByModule(tx));
            }
            return (value as (...a: unknown[]) => unknown)(...args);
          };
        case 'reserve':
          return async () => tagByModule(await (value as () => Promise<Sql>)());
        default:
          return value;
      }
    },
  });
  wrapped.add(proxy);
  return proxy;
}
