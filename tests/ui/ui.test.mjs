// Browser tests of the web UI against a real, seeded `periscope serve` (see run.sh).
// Each test drives the pages as a person would and checks the result on the page and, where
// the UI changes data, through the public API too.

import assert from 'node:assert/strict';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { chromium } from 'playwright-core';

const BASE = process.env.PERISCOPE_URL;
const PUBLIC_KEY = process.env.PERISCOPE_PUBLIC_KEY;
const SECRET_KEY = process.env.PERISCOPE_SECRET_KEY;
const SEED = JSON.parse(readFileSync(process.env.PERISCOPE_SEED, 'utf8'));
const SHOTS = process.env.PERISCOPE_SCREENSHOTS;
const VIEWPORT = { width: 1440, height: 900 };
const TIMEOUT_MS = 15000;

let browser;
let context;
let page;
const pageErrors = [];

function watch(target) {
  target.on('pageerror', (error) => pageErrors.push(`pageerror: ${error.message}`));
  target.on('console', (message) => {
    if (message.type() === 'error' && !/status of (401|404)/.test(message.text())) pageErrors.push(`console: ${message.text()}`);
  });
}

async function apiGet(path) {
  const auth = 'Basic ' + Buffer.from(`${PUBLIC_KEY}:${SECRET_KEY}`).toString('base64');
  const response = await fetch(BASE + '/api/public' + path, { headers: { Authorization: auth } });
  assert.equal(response.status, 200, `GET ${path} answered ${response.status}`);
  return response.json();
}

async function waitUntil(check, what, timeout = TIMEOUT_MS) {
  const deadline = Date.now() + timeout;
  let last;
  while (Date.now() < deadline) {
    last = await check();
    if (last) return last;
    await new Promise((resolve) => setTimeout(resolve, 150));
  }
  throw new Error(`timed out waiting for ${what} (last: ${JSON.stringify(last)})`);
}

async function shot(target, name) {
  mkdirSync(SHOTS, { recursive: true });
  await target.screenshot({ path: join(SHOTS, name), fullPage: false });
}

async function traceRows(target) {
  await target.locator('#traces-table tbody tr').first().waitFor();
  await target.waitForFunction(() => !document.querySelector('#traces-table .loading'));
  return target.locator('#traces-table tbody tr.clickable');
}

async function openTraces(query = '') {
  await page.goto(`${BASE}/ui/#/traces${query}`);
  return traceRows(page);
}

describe('Periscope web UI', () => {
  before(async () => {
    browser = await chromium.launch({
      executablePath: process.env.PERISCOPE_CHROMIUM || '/usr/bin/chromium',
      // playwright-core gives every launch a fresh temporary --user-data-dir of its own.
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
        '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    context = await browser.newContext({ viewport: VIEWPORT, colorScheme: 'light' });
    context.setDefaultTimeout(TIMEOUT_MS);
    page = await context.newPage();
    watch(page);
  });

  after(async () => {
    if (browser) await browser.close();
  });

  test('the root asks for keys, refuses wrong ones and logs in with the right pair', async () => {
    await page.goto(BASE + '/');
    await page.locator('#login-form').waitFor();
    assert.match(page.url(), /#\/login/);
    await shot(page, 'login.png');
    await page.fill('#public-key', PUBLIC_KEY);
    await page.fill('#secret-key', 'sk-wrong-secret');
    await page.click('#login-form button[type=submit]');
    await page.locator('.error-text').waitFor();
    assert.match(await page.locator('.error-text').textContent(), /not valid/);
    await page.fill('#secret-key', SECRET_KEY);
    await page.click('#login-form button[type=submit]');
    const rows = await traceRows(page);
    const total = (await apiGet('/traces?limit=1')).meta.totalItems;
    assert.ok(total >= 12, `the seeded traces (four, and eight of the dataset runs): ${total}`);
    assert.equal(await rows.count(), Math.min(total, 50), 'one row per trace, 50 per page');
    assert.equal(await page.locator('#project').textContent(), 'Project: UI tests');
    // The login left a session cookie that scripts cannot read, and no keys in storage.
    const cookies = await context.cookies(BASE);
    assert.deepEqual(cookies.map((cookie) => cookie.name), ['periscope_session']);
    assert.equal(await page.evaluate(() => document.cookie), '');
    const stored = await page.evaluate(() => JSON.stringify({ ...sessionStorage, ...localStorage }));
    assert.ok(!stored.includes(SECRET_KEY), `the secret key is stored: ${stored}`);
    await shot(page, 'traces.png');
  });

  test('a trace opens from the list with its tree, timeline, chat input and usage', async () => {
    const rows = await openTraces();
    await rows.filter({ hasText: 'chat-turn' }).first().click();
    await page.locator('.tree-row').first().waitFor();
    const names = await page.locator('.tree-row .name').allTextContents();
    assert.deepEqual(names, ['chat-turn', 'handle-chat', 'search-docs', 'llm-answer', 'format-answer']);
    const widths = await page.locator('.tree-row .bar').evaluateAll((bars) => bars.map((b) => b.getBoundingClientRect().width));
    assert.ok(widths.every((w) => w > 0), `every bar is visible: ${widths}`);
    assert.ok(widths[0] >= Math.max(...widths), 'the trace bar spans the whole timeline');
    const durations = await page.locator('.tree-row .duration').allTextContents();
    assert.ok(durations.every((d) => /\d(ms|s)$/.test(d)), `durations: ${durations}`);
    // The trace's own input is chat-shaped: rendered as messages, not JSON.
    assert.equal(await page.locator('#detail-pane .message.role-user').count(), 1);
    await page.locator('.tree-row', { hasText: 'llm-answer' }).click();
    const detail = await page.locator('#detail-pane').textContent();
    assert.match(detail, /gpt-4o-mini/);
    assert.match(detail, /in · .* out · .* total/);
    assert.equal(await page.locator('#detail-pane .message.role-system').count(), 1);
    assert.match(await page.locator('.trace-view > .card').first().textContent(), /gpt-4o-mini/, 'usage by model');
    assert.match(await page.locator('#scores').textContent(), /helpfulness/);
    await shot(page, 'trace.png');
    await page.keyboard.press('j');
    assert.match(await page.locator('#detail-pane h3').first().textContent(), /format-answer/, 'j selects the next observation');
  });

  test('large bodies stay collapsed until clicked, and errors are flagged', async () => {
    await page.goto(`${BASE}/ui/#/traces/${SEED.otherTraceId}`);
    await page.locator('.tree-row', { hasText: 'store-report' }).click();
    const expand = page.locator('#detail-pane button.expand');
    await expand.waitFor();
    assert.match(await expand.textContent(), /Show all \(\d+(\.\d)? KB\)/);
    await expand.click();
    assert.equal(await page.locator('#detail-pane pre.collapsed').count(), 0);
    assert.match(await page.locator('.tree-row', { hasText: 'notify' }).textContent(), /ERROR/);
  });

  test('the list filters by session, tag, user and environment', async () => {
    await openTraces();
    await page.fill('#filter-sessionId', SEED.session);
    await page.click('#trace-filters button[type=submit]');
    await waitUntil(async () => (await page.locator('#traces-table tbody tr.clickable').count()) === 3, '3 session rows');
    const sessions = await page.locator('#traces-table tbody tr.clickable').evaluateAll((rows) => rows.map((r) => r.children[3].textContent));
    assert.deepEqual(sessions, [SEED.session, SEED.session, SEED.session]);
    assert.match(page.url(), /sessionId=ui-session-alice/);

    let rows = await openTraces('?tags=batch');
    assert.equal(await rows.count(), 1);
    assert.match(await rows.first().textContent(), /nightly-summary/);
    rows = await openTraces(`?tags=chat&userId=bob`);
    await page.locator('#traces-table td.empty').waitFor();
    rows = await openTraces('?environment=production&range=24h');
    assert.equal(await rows.count(), 4);
    rows = await openTraces('?environment=staging');
    await page.locator('#traces-table td.empty').waitFor();
    assert.equal(await page.inputValue('#filter-environment'), 'staging', 'the form shows the active filter');
  });

  test('keyboard: j and Enter open a trace, g s goes to sessions', async () => {
    await openTraces();
    await page.keyboard.press('j');
    await page.keyboard.press('Enter');
    await page.waitForURL(/#\/traces\/[0-9a-f]+/);
    await page.locator('.tree-row').first().waitFor();
    await page.keyboard.press('g');
    await page.keyboard.press('s');
    await page.waitForURL(/#\/sessions$/);
  });

  test('the annotate form adds a score that the API returns', async () => {
    const traceId = SEED.chatTraceIds[1];
    await page.goto(`${BASE}/ui/#/traces/${traceId}`);
    await page.locator('#annotate-form').waitFor();
    await page.fill('#score-name', 'correctness');
    await page.fill('#score-value', '0.75');
    await page.fill('#score-comment', 'checked by hand');
    await page.click('#annotate-form button[type=submit]');
    await page.locator('#scores tr[data-score-name="correctness"]').waitFor();
    assert.match(await page.locator('#scores tr[data-score-name="correctness"]').textContent(), /0\.75.*NUMERIC.*checked by hand/);
    const scores = await apiGet(`/scores?traceId=${traceId}&name=correctness`);
    assert.equal(scores.data.length, 1);
    assert.equal(scores.data[0].value, 0.75);
    assert.equal(scores.data[0].comment, 'checked by hand');
  });

  test('sharing a trace gives a link that opens without login', async () => {
    const traceId = SEED.chatTraceIds[0];
    const fresh = await browser.newContext({ viewport: VIEWPORT });
    const anonymous = await fresh.newPage();
    watch(anonymous);
    try {
      await anonymous.goto(`${BASE}/ui/share/traces/${traceId}`);
      await anonymous.locator('#not-shared').waitFor();

      await page.goto(`${BASE}/ui/#/traces/${traceId}`);
      await page.locator('#share-toggle').waitFor();
      assert.equal(await page.isChecked('#share-toggle'), false);
      await page.check('#share-toggle');
      await page.locator('#share-link').waitFor({ state: 'visible' });
      const link = await page.getAttribute('#share-link', 'href');
      assert.equal(link, `${BASE}/ui/share/traces/${traceId}`);

      await anonymous.goto(link);
      await anonymous.locator('.tree-row').first().waitFor();
      assert.equal(await anonymous.locator('.tree-row').count(), 5);
      assert.equal(await anonymous.evaluate(() => sessionStorage.length), 0, 'no keys in the fresh context');
      assert.equal(await anonymous.locator('#annotate-form, #share-toggle').count(), 0, 'read only');
      await shot(anonymous, 'share.png');

      await page.reload();
      await page.locator('#share-toggle').waitFor();
      assert.equal(await page.isChecked('#share-toggle'), true, 'the toggle reads the share state back');
      await page.uncheck('#share-toggle');
      await page.locator('#share-link').waitFor({ state: 'hidden' });
      await anonymous.reload();
      await anonymous.locator('#not-shared').waitFor();
    } finally {
      await fresh.close();
    }
  });

  test('sessions list and a session as a conversation in time order', async () => {
    await page.goto(`${BASE}/ui/#/sessions`);
    await page.locator(`#sessions-table tr[data-session-id="${SEED.session}"]`).click();
    await page.locator('#conversation').waitFor();
    const turns = page.locator('#conversation > li');
    assert.equal(await turns.count(), 3);
    const ids = await turns.evaluateAll((items) => items.map((i) => i.dataset.traceId));
    assert.deepEqual(ids, SEED.chatTraceIds);
    const first = await turns.first().textContent();
    assert.match(first, /What is Periscope\?/);
    assert.match(first, /An open-source LLM observability platform\./);
    await shot(page, 'session.png');
  });

  test('prompts: versions, test render, and promoting a version to production', async () => {
    await page.goto(`${BASE}/ui/#/prompts`);
    await page.locator(`#prompts-table tr[data-prompt="${SEED.prompt}"]`).click();
    await page.locator('#versions li').first().waitFor();
    assert.equal(await page.locator('#versions li').count(), 2);
    assert.match(await page.locator('#prompt-version h3').textContent(), /Version 1/, 'production is shown first');
    await page.locator('#versions li[data-version="2"] a').click();
    await page.waitForFunction(() => /Version 2/.test(document.querySelector('#prompt-version h3')?.textContent || ''));
    await page.fill('#var-product', 'Periscope');
    await page.fill('#var-question', 'Is it fast?');
    assert.equal(await page.locator('#rendered-text').textContent(),
      'Answer briefly and cite the docs. Product: Periscope. Question: Is it fast?');
    await page.click('#promote');
    await page.waitForFunction(() => document.querySelector('#promote')?.disabled === true);
    assert.match(await page.locator('#version-labels').textContent(), /production/);
    const production = await apiGet(`/v2/prompts/${SEED.prompt}?label=production`);
    assert.equal(production.version, 2);
    await page.fill('#var-product', 'Periscope');
    await page.fill('#var-question', 'Is it fast?');
    await shot(page, 'prompt.png');

    await page.goto(`${BASE}/ui/#/prompts/${SEED.chatPrompt}`);
    await page.locator('#test-render').waitFor();
    await page.fill('#var-persona', 'a pirate');
    await page.fill('#placeholder-history', '[{"role":"user","content":"earlier question"}]');
    const rendered = await page.locator('#render-output').textContent();
    assert.match(rendered, /You are a pirate\./);
    assert.match(rendered, /earlier question/);
  });

  test('dark mode follows the system and the toggle', async () => {
    const dark = await browser.newContext({ viewport: VIEWPORT, colorScheme: 'dark' });
    const darkPage = await dark.newPage();
    watch(darkPage);
    try {
      await darkPage.goto(`${BASE}/ui/#/login`);
      await darkPage.fill('#public-key', PUBLIC_KEY);
      await darkPage.fill('#secret-key', SECRET_KEY);
      await darkPage.click('#login-form button[type=submit]');
      await traceRows(darkPage);
      const background = () => darkPage.evaluate(() => getComputedStyle(document.body).backgroundColor);
      assert.equal(await background(), 'rgb(18, 18, 24)');
      await darkPage.goto(`${BASE}/ui/#/traces/${SEED.chatTraceIds[0]}`);
      await darkPage.locator('.tree-row', { hasText: 'llm-answer' }).click();
      await shot(darkPage, 'trace-dark.png');
      await darkPage.click('#theme-toggle'); // system → light
      assert.equal(await background(), 'rgb(247, 247, 251)');
      await darkPage.click('#theme-toggle'); // light → dark
      assert.equal(await darkPage.evaluate(() => document.documentElement.dataset.theme), 'dark');
      assert.equal(await background(), 'rgb(18, 18, 24)');
    } finally {
      await dark.close();
    }
  });

  test('Langfuse htmlPath links open the trace in the UI, and logout ends the session', async () => {
    const trace = await apiGet(`/traces/${SEED.otherTraceId}`);
    await page.goto(BASE + trace.htmlPath);
    await page.waitForURL(new RegExp(`#/traces/${SEED.otherTraceId}$`));
    await page.locator('.tree-row').first().waitFor();
    await page.click('#logout');
    await page.locator('#login-form').waitFor();
    assert.deepEqual(await context.cookies(BASE), [], 'the cookie is cleared');
    await page.goto(`${BASE}/ui/#/traces`);
    await page.locator('#login-form').waitFor();
  });

  test('no page raised a script error or a CSP violation', () => {
    assert.deepEqual(pageErrors, []);
  });
});
