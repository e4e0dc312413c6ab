// The UI's cookie session: the login form sets an HttpOnly, SameSite=Strict cookie that
// scripts cannot read, a reload keeps the session, logout ends it on the server, and forged,
// ended or cross-site uses of a cookie are refused.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { BASE, PUBLIC_KEY, SECRET_KEY, launch, loggedInPage } from './helpers.mjs';

const COOKIE = 'periscope_session';

/** Calls the API from outside the browser with only the given cookie value. */
async function withCookie(path, value, init = {}) {
  return fetch(BASE + path, {
    ...init,
    headers: { ...(init.headers || {}), Cookie: `${COOKIE}=${value}` },
  });
}

async function sessionCookie(context) {
  const cookies = await context.cookies(BASE);
  return cookies.find((cookie) => cookie.name === COOKIE);
}

describe('UI sessions', () => {
  let launched;

  before(async () => {
    launched = await launch();
  });

  after(async () => {
    if (launched) await launched.browser.close();
  });

  test('the login form sets an HttpOnly, SameSite=Strict cookie that scripts cannot read', async () => {
    const page = await loggedInPage(launched.browser, launched.watch);
    try {
      const cookie = await sessionCookie(page.context());
      assert.ok(cookie, 'a session cookie is set');
      assert.equal(cookie.httpOnly, true);
      assert.equal(cookie.sameSite, 'Strict');
      assert.equal(cookie.path, '/');
      assert.equal(cookie.secure, false, 'plain http: no Secure flag, or the browser drops it');
      assert.match(cookie.value, /^[A-Za-z0-9_-]{43}$/, '256 random bits, base64url');
      assert.equal(await page.evaluate(() => document.cookie.includes('periscope_session')), false);
      const stored = await page.evaluate(() => JSON.stringify({ ...sessionStorage, ...localStorage }));
      assert.ok(!stored.includes(SECRET_KEY), 'the secret key is not kept in the browser');

      // The cookie alone authenticates the API (same as Basic auth), and says who is logged in.
      const traces = await withCookie('/api/public/traces?page=1&limit=50', cookie.value);
      assert.equal(traces.status, 200);
      const who = await (await withCookie('/ui/api/session', cookie.value)).json();
      assert.equal(who.publicKey, PUBLIC_KEY);
      assert.equal(who.secretKey, undefined);

      // A reload keeps the session: the app asks the server instead of a stored key pair.
      await page.reload();
      await page.locator('#traces-table tbody tr.clickable').first().waitFor();
      assert.match(page.url(), /#\/traces/);
      assert.match(await page.locator('#project').textContent(), /^Project: /);
    } finally {
      await page.context().close();
    }
  });

  test('logout ends the session on the server: its cookie gets 401 afterwards', async () => {
    const page = await loggedInPage(launched.browser, launched.watch);
    try {
      const { value } = await sessionCookie(page.context());
      await page.click('#logout');
      await page.locator('#login-form').waitFor();
      assert.equal(await sessionCookie(page.context()), undefined, 'the browser dropped the cookie');
      const reused = await withCookie('/api/public/traces?page=1&limit=50', value);
      assert.equal(reused.status, 401, 'a copy of the ended cookie no longer works');
      assert.equal((await withCookie('/ui/api/session', value)).status, 401);
      // With the cookie gone, the app sends any page back to the login.
      await page.goto(`${BASE}/ui/#/sessions`);
      await page.locator('#login-form').waitFor();
    } finally {
      await page.context().close();
    }
  });

  test('forged cookies get 401 and cross-site writes with a real cookie get 403', async () => {
    for (const forged of ['A'.repeat(43), 'not-a-token', '']) {
      const response = await withCookie('/api/public/traces', forged);
      assert.equal(response.status, 401, `cookie ${JSON.stringify(forged)}`);
    }
    const page = await loggedInPage(launched.browser, launched.watch);
    try {
      const { value } = await sessionCookie(page.context());
      const write = (headers) => withCookie('/api/public/comments', value, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', ...headers },
        body: JSON.stringify({ objectType: 'TRACE', objectId: 'x', content: 'csrf' }),
      });
      assert.equal((await write({ 'Sec-Fetch-Site': 'cross-site' })).status, 403);
      assert.equal((await write({ Origin: 'https://evil.example' })).status, 403);
      const login = await fetch(BASE + '/ui/api/login', {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', 'Sec-Fetch-Site': 'cross-site' },
        body: JSON.stringify({ publicKey: PUBLIC_KEY, secretKey: SECRET_KEY }),
      });
      assert.equal(login.status, 403, 'no login from another site (login CSRF)');
      const wrong = await fetch(BASE + '/ui/api/login', {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ publicKey: PUBLIC_KEY, secretKey: 'sk-wrong' }),
      });
      assert.equal(wrong.status, 401);
      assert.equal(wrong.headers.get('set-cookie'), null, 'no cookie for a wrong pair');
    } finally {
      await page.context().close();
    }
  });

  test('the share page works without a session', async () => {
    const context = await launched.browser.newContext();
    try {
      const page = await context.newPage();
      launched.watch(page);
      await page.goto(`${BASE}/ui/share/traces/not-a-shared-trace`);
      await page.locator('#not-shared').waitFor();
      assert.deepEqual(await context.cookies(BASE), []);
    } finally {
      await context.close();
    }
  });
});
