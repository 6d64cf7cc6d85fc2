/**
 * Shapes of API response bodies as the suites read them, and a typed JSON reader. The
 * bodies are not validated here: the tests' assertions are the check.
 */

/** A response's JSON body as the shape the test expects. */
export async function readJson<T>(res: Response): Promise<T> {
  return await res.json();
}

/** An API error: `{"error":{"code","message",...}}`; `issues` is there on 400s (bad input). */
export type ApiErrorBody = {
  error: { code: string; message: string; issues: { path: string; message: string }[] };
};

/** A capture as plain JSON, for tests that break it on purpose (wrong types, bad values). */
export type LooseCapture = Record<string, unknown> & { vms: Record<string, unknown>[] };
