/**
 * The layer rules (docs/ARCHITECTURE.md, "Layers"), checked by dependency-cruiser in
 * `npm test` (scripts/test.ts) and by hand with
 *
 *   node node_modules/dependency-cruiser/bin/dependency-cruiser.mjs agent server shared web
 *
 * Every import counts, `import type` and `await import()` included: a type-only import still
 * ties one layer to another and still closes a cycle.
 */

/** Route wiring: the HTTP layer, the pages, route modules and the programs that assemble them. */
const HTTP = [
  '^server/http/',
  '^server/pages/',
  '^server/app[.]ts$',
  '^server/main[.]ts$',
  '^server/[^/]+/routes[.]ts$',
  // A feature's HTTP middleware (auth: Bearer tokens and roles).
  '^server/[^/]+/middleware[.]ts$',
];

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'No module may reach itself through its imports (type-only imports included).',
      from: { path: '^(agent|server|shared|web)/' },
      to: { circular: true },
    },
    {
      name: 'agent-is-standalone',
      severity: 'error',
      comment: 'The agent is bundled and shipped alone: it imports shared/ and npm packages, ' +
        'never server/ or web/.',
      from: { path: '^agent/' },
      to: { path: '^(server|web)/' },
    },
    {
      name: 'web-owns-its-view-types',
      severity: 'error',
      comment: 'Templates receive data and render it: web/ declares the shapes it renders ' +
        "(the server's values fit them structurally) and imports no server/ or agent/ module.",
      from: { path: '^web/' },
      to: { path: '^(server|agent)/' },
    },
    {
      name: 'shared-is-neutral',
      severity: 'error',
      comment: 'shared/ holds what agent and server both use (logger, issue formatting); ' +
        'it imports none of them.',
      from: { path: '^shared/' },
      to: { path: '^(agent|server|web)/' },
    },
    {
      name: 'data-access-knows-no-http',
      severity: 'error',
      comment: 'Every server module outside the HTTP layer (server/http/, server/pages/, ' +
        '*/routes.ts, app.ts, main.ts) takes a sql handle and knows nothing of HTTP or pages: ' +
        'no import of server/http/, server/pages/ or web/.',
      from: { path: '^server/', pathNot: HTTP },
      to: { path: ['^server/http/', '^server/pages/', '^web/'] },
    },
    {
      name: 'server-reads-only-the-capture-contract',
      severity: 'error',
      comment: 'The agent owns the wire contracts; the server may import agent/capture/ ' +
        '(schema.ts, heartbeat.ts) and nothing else of the agent.',
      from: { path: '^server/' },
      to: { path: '^agent/', pathNot: '^agent/capture/' },
    },
    {
      name: 'resolvable',
      severity: 'error',
      comment: 'Every import resolves (a rule checked against unresolved imports checks nothing).',
      from: { path: '^(agent|server|shared|web)/' },
      to: { couldNotResolve: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
      mainFields: ['module', 'main', 'types', 'typings'],
    },
    reporterOptions: { text: { highlightFocused: true } },
  },
};
