// Shared set-up of the browser test files: the environment run.sh provides, a logged-in page
// in headless Chromium, API calls with the project's keys, polling and screenshots.

import assert from 'node:assert/strict';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

export const BASE = process.env.PERISCOPE_URL;
export const PUBLIC_KEY = process.env.PERISCOPE_PUBLIC_KEY;
export const SECRET_KEY = process.env.PERISCOPE_SECRET_KEY;
export const SEED = JSON.parse(readFileSync(process.env.PERISCOPE_SEED, 'utf8'));
export const VIEWPORT = { width: 1440, height: 900 };
export const TIMEOUT_MS = 15000;
const SHOTS = process.env.PERISCOPE_SCREENSHOTS;
const AUTH = 'Basic ' + Buffer.from(`${PUBLIC_KEY}:${SECRET_KEY}`).toString('base64');

/** Launches Chromium; `errors` collects page errors and CSP violations of watched pages. */
export async function launch() {
  const browser = await chromium.launch({
    executablePath: process.env.PERISCOPE_CHROMIUM || '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  const errors = [];
  const watch = (target) => {
    target.on('pageerror', (error) => errors.push(`pageerror: ${error.message}`));
    target.on('console', (message) => {
      if (message.type() === 'error' && !/status of (401|404)/.test(message.text())) errors.push(`console: ${message.text()}`);
    });
  };
  return { browser, errors, watch };
}

/** Returns a page of a new context, logged in through the login form. */
export async function loggedInPage(browser, watch, colorScheme = 'light') {
  const context = await browser.newContext({ viewport: VIEWPORT, colorScheme });
  context.setDefaultTimeout(TIMEOUT_MS);
  const page = await context.newPage();
  watch(page);
  await page.goto(`${BASE}/ui/#/login`);
  await page.fill('#public-key', PUBLIC_KEY);
  await page.fill('#secret-key', SECRET_KEY);
  await page.click('#login-form button[type=submit]');
  await page.locator('#traces-table tbody tr.clickable').first().waitFor();
  return page;
}

export async function api(method, path, body) {
  const response = await fetch(BASE + '/api/public' + path, {
    method,
    headers: { Authorization: AUTH, 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  assert.ok(response.ok, `${method} ${path} answered ${response.status}: ${text}`);
  return text ? JSON.parse(text) : null;
}

export const apiGet = (path) => api('GET', path);

export async function waitUntil(check, what, timeout = TIMEOUT_MS) {
  const deadline = Date.now() + timeout;
  let last;
  while (Date.now() < deadline) {
    last = await check();
    if (last) return last;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`timed out waiting for ${what} (last: ${JSON.stringify(last)})`);
}

export async function shot(target, name) {
  mkdirSync(SHOTS, { recursive: true });
  await target.screenshot({ path: join(SHOTS, name), fullPage: false });
}

/** Sends one trace through the legacy ingestion endpoint, as older SDKs do. */
export async function sendTrace(name, input, output) {
  const id = crypto.randomUUID().replaceAll('-', '');
  const now = new Date().toISOString();
  await api('POST', '/ingestion', {
    batch: [{ id: crypto.randomUUID(), type: 'trace-create', timestamp: now, body: { id, name, input, output, timestamp: now } }],
  });
  return id;
}
