// Browser tests of the evaluator pages against the seeded server and the stub judge
// (run.sh, judge.py): the create form with its preview on a real trace, then the funnel
// moving from matched to scored as new traces arrive, the jobs with the judge's score, and a
// backfill over the traces sent before the evaluator existed, estimated then run to the end.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { BASE, SEED, api, apiGet, launch, loggedInPage, sendTrace, shot, waitUntil } from './helpers.mjs';

const TARGET_NAME = 'ui-eval-target';
/** The scheduler reloads evaluators every 5 s; matching needs a trace sent after that. */
const FUNNEL_TIMEOUT_MS = 45000;

let session;
let page;
let evaluatorId;
const historyIds = [];

async function funnelValue(step) {
  const text = await page.locator(`#funnel [data-step="${step}"] .funnel-value`).textContent();
  return Number(text.replace(/,/g, ''));
}

describe('evaluators', () => {
  before(async () => {
    session = await launch();
    page = await loggedInPage(session.browser, session.watch);
  });

  after(async () => {
    if (session) await session.browser.close();
  });

  test('the form previews the template rendered on a real trace', async () => {
    // History for the backfill: matching traces that exist before the evaluator does.
    for (const question of ['Is there a Helm chart?', 'Does it run offline?']) {
      historyIds.push(await sendTrace(TARGET_NAME, question, { role: 'assistant', content: 'Yes.' }));
    }
    await page.goto(`${BASE}/ui/#/evaluators`);
    await page.locator('#evaluators-table tbody tr').first().waitFor();
    await page.click('#new-evaluator');
    await page.locator('#evaluator-form').waitFor();
    await page.selectOption('#ev-template', 'relevance@1');
    assert.equal(await page.inputValue('#ev-score-name'), 'relevance', 'the score is named after the template');
    assert.equal(await page.locator('#ev-mapping input').count(), 2, 'one field per template variable');
    assert.equal(await page.getAttribute('#map-input', 'placeholder'), 'input');
    await page.fill('#ev-score-name', 'ui-judge');
    assert.equal(await page.inputValue('#ev-connection'), SEED.connectionId);
    await page.fill('#ev-filter-name', TARGET_NAME);
    await page.fill('#ev-settle', '0.5');
    assert.equal(await page.locator('#ev-filter-level').isVisible(), false, 'observation filters are hidden for traces');

    await page.fill('#preview-trace', SEED.chatTraceIds[0]);
    await page.click('#preview-form button[type=submit]');
    await page.locator('.rendered-prompt').waitFor();
    const rendered = await page.locator('.rendered-prompt').textContent();
    assert.match(rendered, /What is Periscope\?/, 'the trace input');
    assert.match(rendered, /An open-source LLM observability platform\./, 'the trace output');
    // A mapping to a path that does not exist is flagged at once.
    await page.fill('#map-output', 'metadata.missing');
    await page.locator('#preview-variables tr[data-variable="output"] .error-text').waitFor();
    assert.match(await page.locator('.rendered-prompt').textContent(), /«output: missing»/);
    await page.fill('#map-output', 'output.content');
    await page.waitForFunction(() => !document.querySelector('#preview-variables .error-text'));
    await shot(page, 'evaluator-new.png');
  });

  test('creating an evaluator and sending traces moves its funnel to scored', async () => {
    await page.click('#ev-create');
    await page.waitForURL(/#\/evaluators\/(?!new$)[^/]+$/);
    evaluatorId = decodeURIComponent(page.url().split('#/evaluators/')[1]);
    await page.locator('#funnel').waitFor();
    assert.equal(await funnelValue('matched'), 0);
    const stored = await apiGet(`/evaluators/${evaluatorId}`);
    assert.deepEqual(stored.filter, { name: TARGET_NAME });
    assert.deepEqual(stored.variableMapping, { output: 'output.content' });
    assert.equal(stored.settleWindowMs, 500);

    // Until the scheduler has loaded the evaluator, a trace passes unjudged: keep sending.
    let sent = 0;
    await waitUntil(async () => {
      if ((await funnelValue('matched')) > 0) return true;
      await sendTrace(TARGET_NAME, 'How do I install Periscope?', { role: 'assistant', content: 'Download the binary.' });
      sent += 1;
      await new Promise((resolve) => setTimeout(resolve, 1500));
      return false;
    }, 'the funnel to count a match', FUNNEL_TIMEOUT_MS);
    await waitUntil(async () => (await funnelValue('scored')) >= 1, 'a scored job', FUNNEL_TIMEOUT_MS);
    assert.ok(sent >= 1);
    const succeeded = page.locator('#jobs-table tr[data-status="succeeded"]').first();
    await succeeded.waitFor();
    const cells = await succeeded.locator('td').allTextContents();
    assert.equal(cells[5], '1', 'the stub judge scores 1');
    assert.equal(cells[6], '42 / 7', 'tokens of the judge call');
    const traceId = (await succeeded.locator('td a').getAttribute('href')).split('/').pop();
    const scores = await apiGet(`/scores?traceId=${traceId}&name=ui-judge`);
    assert.equal(scores.data.length, 1);
    assert.equal(scores.data[0].source, 'EVAL');
  });

  test('a backfill is estimated, started, and its progress bar runs to the end', async () => {
    await waitUntil(async () => (await apiGet(`/traces?name=${TARGET_NAME}&limit=1`)).meta.totalItems >= 2, 'the history traces');
    await page.click('#backfill-estimate-button');
    await page.locator('#backfill-estimate').waitFor();
    const jobs = Number(await page.locator('#estimate-jobs').textContent());
    assert.ok(jobs >= historyIds.length, `judge calls estimated: ${jobs}`);
    await page.click('#backfill-start');
    const backfill = page.locator('#backfills li.backfill').first();
    await backfill.waitFor();
    await page.locator('#backfills li.backfill[data-state="completed"]').waitFor({ timeout: FUNNEL_TIMEOUT_MS });
    const bar = backfill.locator('[role=progressbar]');
    const [done, total] = [await bar.getAttribute('aria-valuenow'), await bar.getAttribute('aria-valuemax')];
    assert.equal(done, total, 'every target visited');
    assert.ok(Number(total) >= historyIds.length, `targets: ${total}`);
    assert.match(await backfill.textContent(), /\(100%\)/);
    const stored = (await apiGet(`/evaluators/${evaluatorId}/backfills`)).data[0];
    assert.equal(stored.state, 'completed');
    assert.ok(stored.emitted + stored.skipped >= historyIds.length, JSON.stringify(stored));
    // The history traces get their scores through the backfill's jobs.
    await waitUntil(async () => {
      const scored = await Promise.all(historyIds.map((id) => apiGet(`/scores?traceId=${id}&name=ui-judge`)));
      return scored.every((found) => found.data.length === 1);
    }, 'scores on the history traces', FUNNEL_TIMEOUT_MS);
    await shot(page, 'evaluator-backfill.png');
  });

  test('the list shows the evaluator, and pausing it is a new version', async () => {
    await page.locator('#evaluator-active').uncheck();
    await waitUntil(async () => (await apiGet(`/evaluators/${evaluatorId}`)).active === false, 'the evaluator to be paused');
    await page.goto(`${BASE}/ui/#/evaluators`);
    const row = page.locator(`#evaluators-table tr[data-evaluator-id="${evaluatorId}"]`);
    await row.waitFor();
    const text = await row.textContent();
    assert.match(text, /ui-judge/);
    assert.match(text, /relevance v1/);
    assert.match(text, /paused/);
    assert.match(text, /v2/);
    await api('PATCH', `/evaluators/${evaluatorId}`, { active: true });
  });

  test('no page raised a script error or a CSP violation', () => {
    assert.deepEqual(session.errors, []);
  });
});
