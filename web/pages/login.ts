/** The login page: sign in with an API token (admin or viewer). */
import { markup } from '../markup.ts';
import { page } from '../layout.ts';

export function loginPage(options: { next: string; error?: string }) {
  return page({
    title: 'Log in',
    body: markup`<section class="card login" aria-labelledby="login-h">
  <h1 id="login-h">vm<span class="muted">ledger</span></h1>
  <form method="post" action="/login">
    <input type="hidden" name="next" value="${options.next}">
    <label for="token">API token (admin or viewer)
      <input id="token" name="token" type="password" autocomplete="current-password" required autofocus${
      options.error ? markup` aria-invalid="true" aria-describedby="login-error"` : ''
    }>
    </label>
    ${
      options.error
        ? markup`<p class="error" role="alert" id="login-error">${options.error}</p>`
        : ''
    }
    <button type="submit">Log in</button>
  </form>
  <p class="muted small">The admin token is printed at first start and kept in the data folder (<code>admin-token</code>).</p>
</section>`,
  });
}
