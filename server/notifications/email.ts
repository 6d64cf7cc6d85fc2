/**
 * E-mail channels: one message over SMTP with nodemailer, as text and HTML. The HTML is built
 * with Hono's `html` tag (the `markup` of web/markup.ts; web/ is out of reach of a data
 * module), so every value is escaped by construction. STARTTLS is required by default (the
 * message is not sent in clear if the server does not offer it); `tls` is implicit TLS (465).
 * The Message-ID is the delivery id, so a mail client shows a resent message once.
 */
import { html as markup } from 'hono/html';
import nodemailer from 'nodemailer';
import type { ChannelConfig } from './channels.ts';
import type { Message } from './message.ts';

/** The text part: the title, then one line per object. */
export function emailText(m: Message): string {
  const list = m.alerts.map((a) => `- ${a.objectName} (${a.objectKind}): ${a.summary}`);
  return [
    m.title,
    '',
    ...(m.kind === 'test' ? ['This is a test of the channel. Nothing is wrong.'] : list),
    '',
    `Severity: ${m.severity}. Delivery id: ${m.deliveryId}.`,
  ].join('\n');
}

/** The HTML part, escaped by construction. */
export async function emailHtml(m: Message): Promise<string> {
  const rows = m.alerts.map((a) =>
    markup`<tr><td>${a.objectName}</td><td>${a.objectKind}</td><td>${a.severity}</td><td>${a.summary}</td></tr>`
  );
  const body = markup`<!doctype html>
<html><body style="font-family: sans-serif">
<h2>${m.title}</h2>
${
    m.kind === 'test'
      ? markup`<p>This is a test of the channel. Nothing is wrong.</p>`
      : markup`<table cellpadding="4" border="1" style="border-collapse: collapse">
<thead><tr><th>Object</th><th>Kind</th><th>Severity</th><th>Summary</th></tr></thead>
<tbody>${rows}</tbody></table>`
  }
<p style="color: #666">Severity: ${m.severity}. Delivery id: ${m.deliveryId}.</p>
</body></html>`;
  return String(await body);
}

/** Sends the message to the channel's addresses; throws when the server refuses or is unreachable. */
export async function sendEmail(
  c: ChannelConfig,
  password: string | null,
  m: Message,
): Promise<void> {
  const transport = nodemailer.createTransport({
    host: c.host,
    port: c.port,
    secure: c.tls === 'tls',
    requireTLS: c.tls === 'starttls',
    ignoreTLS: c.tls === 'none',
    auth: c.user ? { user: c.user, pass: password ?? '' } : undefined,
    tls: c.ca ? { ca: c.ca } : undefined,
    connectionTimeout: 10_000,
    greetingTimeout: 10_000,
    socketTimeout: 20_000,
  });
  try {
    await transport.sendMail({
      from: c.from,
      to: c.to,
      subject: m.title,
      text: emailText(m),
      html: await emailHtml(m),
      messageId: `<${m.deliveryId}@vmledger>`,
      headers: { 'X-Vmledger-Delivery': m.deliveryId },
    });
  } finally {
    transport.close();
  }
}
