/** The client's address as the socket saw it ("local" for in-process requests). */
import type { Context } from 'hono';

export function clientIp(c: Context): string {
  const env = c.env as {
    incoming?: { socket?: { remoteAddress?: string } };
    remoteAddr?: { hostname?: string };
  } | undefined;
  return env?.incoming?.socket?.remoteAddress ?? env?.remoteAddr?.hostname ?? 'local';
}
