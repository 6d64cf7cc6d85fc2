/**
 * The HTTP channels' bodies and how they are sent: the generic webhook (JSON, signed), a
 * Slack-compatible incoming webhook (`text` plus blocks) and a Teams-compatible one
 * (MessageCard). docs/alerts-notifications.md shows a receiver verifying the signature.
 */
import { createHmac } from 'node:crypto';
import type { Message } from './message.ts';

/** Objects listed in a chat message before "and N more" (Slack caps a section at 3,000 characters). */
const CHAT_LIST_MAX = 20;

/** The generic webhook's JSON: the message as it is, every alert listed. */
export function webhookBody(m: Message) {
  return {
    deliveryId: m.deliveryId,
    kind: m.kind,
    title: m.title,
    rule: m.ruleId ? { id: m.ruleId, name: m.ruleName } : null,
    groupKey: m.groupKey,
    severity: m.severity,
    count: m.alerts.length,
    alerts: m.alerts,
    createdAt: m.createdAt,
    sentAt: new Date().toISOString(),
  };
}

/**
 * The signature headers of a webhook body: `X-Vmledger-Timestamp` (Unix seconds, this
 * attempt) and `X-Vmledger-Signature: v1=<hex HMAC-SHA256 of "<timestamp>.<body bytes>">`.
 * Signing the timestamp with the body lets a receiver refuse an old request replayed.
 */
export function signatureHeaders(
  secret: string,
  body: string,
  now = Date.now(),
): Record<string, string> {
  const timestamp = String(Math.floor(now / 1000));
  const mac = createHmac('sha256', secret).update(`${timestamp}.`).update(body, 'utf8')
    .digest('hex');
  return { 'x-vmledger-timestamp': timestamp, 'x-vmledger-signature': `v1=${mac}` };
}

/** Slack's mrkdwn treats &, < and > as control characters: they are escaped, nothing else is interpreted. */
export function slackEscape(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function lines(m: Message, fmt: (s: string) => string): string[] {
  const shown = m.alerts.slice(0, CHAT_LIST_MAX).map((a) =>
    `• ${fmt(a.objectName)} (${fmt(a.objectKind)}): ${fmt(a.summary)}`
  );
  const more = m.alerts.length - shown.length;
  return more > 0 ? [...shown, `… and ${more} more`] : shown;
}

/** A Slack-compatible incoming-webhook body: `text` (the fallback and notification line) and blocks. */
export function slackBody(m: Message) {
  const list = lines(m, slackEscape).join('\n');
  return {
    text: slackEscape(m.title),
    blocks: [
      { type: 'header', text: { type: 'plain_text', text: m.title.slice(0, 150) } },
      ...(list ? [{ type: 'section', text: { type: 'mrkdwn', text: list.slice(0, 3000) } }] : []),
      {
        type: 'context',
        elements: [{
          type: 'mrkdwn',
          text: slackEscape(
            `severity ${m.severity} · ${m.alerts.length} object(s) · delivery ${m.deliveryId}`,
          ),
        }],
      },
    ],
  };
}

const COLOUR: Record<string, string> = { critical: 'D13438', warning: 'FFB900', info: '0078D7' };

/** Teams' MessageCard text is Markdown: its control characters are escaped. */
export function teamsEscape(s: string): string {
  return s.replace(/[\\`*_{}[\]()#+\-.!<>|&]/g, (c) => `\\${c}`);
}

/** A Teams-compatible incoming-webhook body (Office 365 connector MessageCard). */
export function teamsBody(m: Message) {
  return {
    '@type': 'MessageCard',
    '@context': 'https://schema.org/extensions',
    summary: m.title,
    themeColor: m.kind === 'resolved' ? '107C10' : (COLOUR[m.severity] ?? COLOUR.info),
    title: teamsEscape(m.title),
    sections: [{
      facts: [
        { name: 'Severity', value: m.severity },
        { name: 'Objects', value: String(m.alerts.length) },
        ...(m.ruleId ? [{ name: 'Rule', value: teamsEscape(m.ruleName ?? m.ruleId) }] : []),
        { name: 'Delivery', value: m.deliveryId },
      ],
      text: lines(m, teamsEscape).join('\n\n'),
    }],
  };
}

/** Sends one HTTP channel's message; throws on a network error, a timeout or a non-2xx answer. */
export async function postMessage(
  kind: 'webhook' | 'slack' | 'teams',
  url: string,
  m: Message,
  secret: string | null,
  timeoutMs = 10_000,
): Promise<void> {
  const body = JSON.stringify(
    kind === 'webhook' ? webhookBody(m) : kind === 'slack' ? slackBody(m) : teamsBody(m),
  );
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    'user-agent': 'vmledger-notifications/1',
    'x-vmledger-delivery': m.deliveryId,
    ...(kind === 'webhook' && secret ? signatureHeaders(secret, body) : {}),
  };
  const res = await fetch(url, {
    method: 'POST',
    headers,
    body,
    redirect: 'error',
    signal: AbortSignal.timeout(timeoutMs),
  });
  // The answer is read (and bounded) only to free the connection; receivers' text is not kept.
  await res.body?.cancel().catch(() => {});
  if (!res.ok) throw new Error(`${kind} answered HTTP ${res.status}`);
}
