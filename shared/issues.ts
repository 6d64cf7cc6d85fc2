/**
 * Validation issues as `{path, message}` pairs: what the agent logs when its own capture
 * fails the schema, and what the server answers in a `400`. Structural (zod's `ZodError`
 * fits), so this module needs no dependency.
 */
export type Issue = { path: string; message: string };

/** One `{path, message}` per issue; the path joined with dots, `(root)` when empty. */
export function describeIssues(
  error: { issues: readonly { path: readonly PropertyKey[]; message: string }[] },
): Issue[] {
  return error.issues.map((issue) => ({
    path: issue.path.map(String).join('.') || '(root)',
    message: issue.message,
  }));
}
