/**
 * The login page: the directory (LDAP user name and password) and single sign-on (OpenID
 * Connect) when configured, and always an API token (automation, the break-glass admin).
 */
import { markup } from '../markup.ts';
import { page } from '../layout.ts';

export type LoginOptions = {
  next: string;
  error?: string;
  /** Which form the error belongs to. */
  errorFor?: 'token' | 'ldap' | 'oidc';
  /** Show the user name and password form (LDAP is configured). */
  ldap?: boolean;
  /** Show the single sign-on button (OIDC is configured), with the provider's label. */
  oidc?: string | null;
  username?: string;
};

export function loginPage(options: LoginOptions) {
  const errorFor = options.error ? options.errorFor ?? 'token' : null;
  const invalid = (form: string) =>
    errorFor === form ? markup` aria-invalid="true" aria-describedby="login-error"` : '';
  const error = (form: string) =>
    errorFor === form
      ? markup`<p class="error" role="alert" id="login-error">${options.error}</p>`
      : '';
  const directory = options.ldap || options.oidc;
  return page({
    title: 'Log in',
    body: markup`<section class="card login" aria-labelledby="login-h">
  <h1 id="login-h">vm<span class="muted">ledger</span></h1>
  ${
      options.oidc
        ? markup`<div class="sso">
    ${error('oidc')}
    <!-- A link, not a form: the page's CSP (form-action 'self') stops a form's redirect to the provider. -->
    <p><a class="button" href="/login/oidc?next=${
          encodeURIComponent(options.next)
        }">Sign in with ${options.oidc}</a></p>
  </div>`
        : ''
    }
  ${
      options.ldap
        ? markup`<form method="post" action="/login/ldap" aria-label="Directory sign-in">
    <input type="hidden" name="next" value="${options.next}">
    <label for="username">User name
      <input id="username" name="username" autocomplete="username" required value="${
          options.username ?? ''
        }"${errorFor ? '' : markup` autofocus`}${invalid('ldap')}>
    </label>
    <label for="password">Password
      <input id="password" name="password" type="password" autocomplete="current-password" required${
          invalid('ldap')
        }>
    </label>
    ${error('ldap')}
    <button type="submit">Sign in</button>
  </form>`
        : ''
    }
  ${
      directory
        ? markup`<details${
          errorFor === 'token' ? markup` open` : ''
        }><summary>Sign in with an API token</summary>`
        : ''
    }
  <form method="post" action="/login">
    <input type="hidden" name="next" value="${options.next}">
    <label for="token">API token (admin or viewer)
      <input id="token" name="token" type="password" autocomplete="current-password" required${
      directory ? '' : markup` autofocus`
    }${invalid('token')}>
    </label>
    ${error('token')}
    <button type="submit">Log in</button>
  </form>
  <p class="muted small">The admin token is printed at first start and kept in the data folder (<code>admin-token</code>).</p>
  ${directory ? markup`</details>` : ''}
</section>`,
  });
}

/**
 * After the provider's redirect: the session cookie is SameSite=Strict, which a browser
 * does not send on a redirect that a cross-site navigation started; this same-site page
 * moves on instead.
 */
export function signedInPage(next: string) {
  return page({
    title: 'Signed in',
    body: markup`<meta http-equiv="refresh" content="0;url=${next}">
<section class="card login"><p>Signed in. <a href="${next}">Continue</a></p></section>`,
  });
}

/**
 * Signed out here; on to the identity provider to sign out there too (RP-initiated logout).
 * A page rather than a redirect: the form's CSP (form-action 'self') would stop a redirect of
 * the logout form to another origin.
 */
export function signedOutPage(providerLogout: string) {
  return page({
    title: 'Signed out',
    body: markup`<meta http-equiv="refresh" content="0;url=${providerLogout}">
<section class="card login"><p>Signed out of vmledger. <a href="${providerLogout}">Sign out of the identity provider too</a></p></section>`,
  });
}
