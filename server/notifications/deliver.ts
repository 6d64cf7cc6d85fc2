/**
 * One delivery attempt of one notification: its message sent on its channel, the outcome
 * stored. A failed attempt is `retrying` (the pg-boss job throws and is retried with
 * backoff) until the last, which leaves it `dead` until someone retries it. A notification
 * already delivered is never sent again, so a job run twice sends once.
 */
import type { Sql } from '../db/connect.ts';
import { channelForDelivery } from './channels.ts';
import { sendEmail } from './email.ts';
import { messageOf } from './message.ts';
import { postMessage } from './payloads.ts';

export type DeliveryOutcome = 'delivered' | 'skipped';

/** The error text kept with a failed attempt: no URL (a Slack URL is a credential). */
function errorText(err: unknown): string {
  const e = err as Error & { cause?: Error; code?: string };
  const text = e.cause?.message ? `${e.message}: ${e.cause.message}` : String(e?.message ?? e);
  return text.replace(/https?:\/\/\S+/g, '<url>').slice(0, 500);
}

/**
 * Attempts notification `id`; after `maxAttempts` failed attempts in all it is dead.
 * Throws the attempt's error when it failed (pg-boss then retries or gives up).
 */
export async function deliverNotification(
  sql: Sql,
  id: string,
  maxAttempts: number,
  o: { evenDisabled?: boolean } = {},
): Promise<DeliveryOutcome> {
  const [n] = await sql`select channel_id, state, attempts from notifications
    where id = ${id}::uuid`;
  if (!n || n.state === 'delivered' || n.state === 'dead') return 'skipped';
  try {
    const channel = await channelForDelivery(sql, Number(n.channel_id));
    if (!channel) return 'skipped';
    if (!channel.enabled && !o.evenDisabled) throw new Error('the channel is disabled');
    const m = await messageOf(sql, id);
    if (!m) return 'skipped';
    if (channel.kind === 'email') await sendEmail(channel.config, channel.secret, m);
    else {
      const url = channel.kind === 'webhook' ? channel.config.url : channel.secret;
      if (!url) throw new Error('the channel has no URL');
      await postMessage(channel.kind, url, m, channel.secret);
    }
  } catch (err) {
    await sql`
      update notifications set
        attempts = attempts + 1, last_attempt_at = now(), last_error = ${errorText(err)},
        state = case when attempts + 1 >= ${maxAttempts} then 'dead' else 'retrying' end
      where id = ${id}::uuid`;
    throw err;
  }
  await sql`
    update notifications set attempts = attempts + 1, last_attempt_at = now(),
      delivered_at = now(), last_error = null, state = 'delivered'
    where id = ${id}::uuid`;
  return 'delivered';
}
