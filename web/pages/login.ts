/** The login page: sign in with an API token (admin or viewer). */
import { html } from 'hono/html';
import { page } from '../layout.ts';

export function loginPage(options: { next: string; error?: string }) {
  return page({
    title: 'Log in',
    body: html`<section class="card login">
  <h1>vmledger</h1>
  <form method="post" action="/login">
    <input type="hidden" name="next" value="${options.next}">
    <label for="token">API token (admin or viewer)
      <input id="token" name="token" type="password" autocomplete="current-password" required autofocus>
    </label>
    ${options.error ? html`<p class="error" role="alert">${options.error}</p>` : ''}
    <button type="submit">Log in</button>
  </form>
  <p class="muted">The admin token is printed at first start and kept in the data folder (<code>admin-token</code>).</p>
</section>`,
  });
}
