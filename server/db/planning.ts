/**
 * Statements whose best plan depends on their values. postgres.js prepares each statement text
 * once per connection (a named statement), and after five runs PostgreSQL may keep one generic
 * plan for every value, chosen when its estimate made without the values (a name search
 * matching 0.5 % of the rows) looks cheaper than the plans made with them. For a short name
 * search that estimate is far off either way: `db` has no trigram, so the trigram index
 * returns every row, and `web` matches a fifth of them. The generic plan of the list's count
 * for `q=db&source=3&power=poweredOff` read the whole trigram index and rechecked 25,000 rows
 * (300 ms); the plan made for the value walks the 1,923 rows of that source and power state
 * (5 ms).
 */

/**
 * `query`, sent as an unnamed statement: planned with its values on every run, as the first
 * runs of a prepared one are. postgres.js reads `prepare` from the query's options when it
 * sends it (the option `sql.unsafe(text, args, { prepare: false })` sets; a tagged template
 * takes none), so this must be called before the query is awaited.
 */
export function plannedWithValues<Q extends object>(query: Q): Q {
  const options = (query as { options?: { prepare?: boolean } }).options;
  if (!options) throw new Error('plannedWithValues: not a postgres.js query');
  options.prepare = false;
  return query;
}
