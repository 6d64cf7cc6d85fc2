import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { pageSession } from '../support/jobs.ts';
import { createTestApp, type TestApp } from '../support/app.ts';
import { parseCsv } from '../support/csv.ts';
import { EVIL, storeSiteEstate } from '../support/site_estate.ts';

const test = suite('site pages: hosts, clusters, datastores, networks, dashboard capacity');
let t: TestApp;
let src = 0;
let viewer: { cookie: string };

test.before(async () => {
  t = await createTestApp('site_pages');
  src = await storeSiteEstate(t);
  viewer = await pageSession(t.app, t.tokens.viewer);
});
test.after(() => t.close());

const get = async (path: string) => {
  const res = await t.app.request(path, { headers: { cookie: viewer.cookie } });
  return { status: res.status, text: await res.text(), res };
};

test('every site page renders with data, escaped, without inline script', async () => {
  const pages: [string, RegExp[]][] = [
    ['/hosts', [/esx-1/, /esx-2/, /disconnected/, /0\.5 : 1/]],
    [`/hosts/${src}/host-2`, [/maintenance/, /State timeline/, /db-01/, /id="host-usage"/]],
    [`/hosts/${src}/esx-1`, [/app-01/, /PowerEdge R750/]],
    ['/clusters', [/c1/, /0\.75 : 1/]],
    [`/clusters/${src}/c1`, [/fullyAutomated/, /id="cluster-vcpu"/, /esx-2/]],
    ['/datastores', [/filling-ds/, /41 days/, /not filling/]],
    [`/datastores/${src}/ds-1`, [/Least-squares/, /app-01/, /Hard disk 1: 100 GiB/]],
    ['/networks', [/VM Network/, /DMZ/]],
    [`/networks/${src}/net-20`, [/db-01/, /00:50:56:00:00:02/]],
    ['/', [/Fullest datastores/, /Most overcommitted clusters/, /esx-2/]],
  ];
  for (const [path, patterns] of pages) {
    const { status, text } = await get(path);
    assert.is(status, 200, path);
    for (const p of patterns) assert.match(text, p, `${path}: ${p}`);
    assert.not.match(text, /<img src=x/, `${path}: markup from a VM name is escaped`);
    assert.not.match(text, /<script>/, path);
  }
  // The template's name is shown, escaped, on its host's page.
  assert.ok(
    (await get(`/hosts/${src}/host-1`)).text.includes('&lt;img src=x onerror=alert(1)&gt;'),
  );
  assert.ok(EVIL.includes('<img'));
});

test('filters, sorts and bad values on the pages', async () => {
  const only = (await get('/hosts?state=disconnected')).text;
  assert.match(only, /esx-2/);
  assert.not.match(only, />esx-1</);
  assert.match((await get('/datastores?forecast=notFilling')).text, /1 datastores/);
  // A value the API refuses is dropped, not a 400 page.
  const bad = await get('/hosts?state=bogus&sort=nope');
  assert.is(bad.status, 200);
  assert.match(bad.text, /2 hosts/);
  const sorted = (await get('/hosts?sort=name&order=desc')).text;
  assert.ok(sorted.indexOf('>esx-2<') < sorted.indexOf('>esx-1<'));
  assert.is((await get(`/hosts/${src}/nope`)).status, 404);
  assert.is((await get(`/datastores/${src}/nope`)).status, 404);
});

test('links between hosts, VMs, datastores and clusters', async () => {
  const host = (await get(`/hosts/${src}/host-1`)).text;
  assert.match(host, new RegExp(`href="/vms/${src}/vm-a"`));
  assert.match(host, new RegExp(`href="/clusters/${src}/c1"`));
  const ds = (await get(`/datastores/${src}/ds-1`)).text;
  assert.match(ds, new RegExp(`href="/vms/${src}/vm-b"`));
  assert.match(ds, new RegExp(`href="/hosts/${src}/esx-2"`));
  const vm = (await get(`/vms/${src}/vm-a`)).text;
  assert.match(vm, new RegExp(`href="/hosts/${src}/esx-1"`));
  assert.match(vm, new RegExp(`href="/clusters/${src}/c1"`));
  assert.match(vm, new RegExp(`href="/datastores/${src}/ds-1"`));
  assert.match(vm, new RegExp(`href="/networks/${src}/net-10"`));
  const list = (await get('/datastores')).text;
  assert.match(list, new RegExp(`href="/datastores/${src}/ds-1"`));
});

test('CSV exports of the pages', async () => {
  const { status, text, res } = await get('/datastores.csv?forecast=filling');
  assert.is(status, 200);
  assert.match(res.headers.get('content-type')!, /text\/csv/);
  const rows = parseCsv(text);
  assert.is(rows.length, 2);
  assert.is(rows[1][rows[0].indexOf('name')], 'filling-ds');
});

test.run();
