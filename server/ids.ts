/**
 * Shapes of identifiers that reach SQL casts from URLs. A value that is not the shape is
 * "no such thing", never a failed `::uuid` cast (a 500).
 */
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function isUuid(value: string): boolean {
  return UUID.test(value);
}
