/** The API reference: every route from the OpenAPI document, grouped by tag, with roles and parameters. */
import { markup } from '../markup.ts';
import { badge, pageHead, table, type Tone } from '../components.ts';
import { page, type Viewer } from '../layout.ts';

type Operation = {
  summary: string;
  tags: string[];
  'x-roles': string[];
  parameters: {
    name: string;
    in: string;
    required: boolean;
    schema: { type?: string; enum?: string[]; description?: string; default?: unknown };
  }[];
  requestBody?: unknown;
  responses: Record<string, { description: string }>;
};
type Doc = { paths: Record<string, Record<string, Operation>> };

const METHOD_TONE: Record<string, Tone> = { get: 'ok', post: 'info', delete: 'bad' };

function paramText(p: Operation['parameters'][number]) {
  const s = p.schema ?? {};
  const kind = s.enum ? s.enum.join(' | ') : s.type ?? 'string';
  return markup`<code>${p.name}</code>${
    p.required ? '' : '?'
  } <span class="muted">${p.in}, ${kind}${
    s.default !== undefined ? `, default ${JSON.stringify(s.default)}` : ''
  }${s.description ? ` — ${s.description}` : ''}</span>`;
}

export function apiReferencePage(viewer: Viewer, doc: Doc) {
  const byTag = new Map<string, { method: string; path: string; op: Operation }[]>();
  for (const [path, ops] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(ops)) {
      const tag = op.tags[0] ?? 'Other';
      if (!byTag.has(tag)) byTag.set(tag, []);
      byTag.get(tag)!.push({ method, path, op });
    }
  }
  return page({
    title: 'API reference',
    viewer,
    body: markup`${
      pageHead('API reference', {
        sub:
          markup`Every route needs <code>Authorization: Bearer &lt;token&gt;</code>. Errors are <code>{"error": {"code", "message", …}}</code>.
        The machine-readable document is <code>GET /api/v1/openapi.json</code> (OpenAPI 3.1).`,
      })
    }
${
      [...byTag.entries()].map(([tag, routes]) =>
        markup`<section>
  <h2>${tag}</h2>
  ${
          table(
            `${tag} routes`,
            markup`<th scope="col">Route</th><th scope="col">What it does</th><th scope="col">Roles</th><th scope="col">Parameters</th><th scope="col">Answers</th>`,
            markup`${
              routes.map((r) =>
                markup`<tr>
      <td>${
                  badge(METHOD_TONE[r.method] ?? 'neutral', r.method.toUpperCase())
                } <code>${r.path}</code></td>
      <td>${r.op.summary}${
                  r.op.requestBody ? markup` <span class="muted">(JSON body)</span>` : ''
                }</td>
      <td>${r.op['x-roles'].join(', ')}</td>
      <td>${
                  r.op.parameters.length
                    ? r.op.parameters.map((p) => markup`<div>${paramText(p)}</div>`)
                    : markup`<span class="muted">–</span>`
                }</td>
      <td>${
                  Object.entries(r.op.responses).filter(([s]) => !['401', '403'].includes(s)).map((
                    [s, d],
                  ) =>
                    markup`<div><code>${s}</code> <span class="muted">${d.description}</span></div>`
                  )
                }</td>
    </tr>`
              )
            }`,
          )
        }
</section>`
      )
    }`,
  });
}
