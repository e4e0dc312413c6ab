// Browser tests of the annotation queue and dashboard pages against the seeded server
// (run.sh): working through a queue (scores checked through the API), and the dashboard's
// charts and breakdowns.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { BASE, SEED, apiGet, launch, loggedInPage, shot, waitUntil } from './helpers.mjs';

let session;
let page;

describe('annotation queues and the dashboard', () => {
  before(async () => {
    session = await launch();
    page = await loggedInPage(session.browser, session.watch);
  });

  after(async () => {
    if (session) await session.browser.close();
  });

  test('a queue is worked item by item with its score configs', async () => {
    await page.keyboard.press('g');
    await page.keyboard.press('q');
    const row = page.locator(`#queues-table tr[data-queue-id="${SEED.queueId}"]`);
    await row.waitFor();
    assert.match(await row.textContent(), /ui-review.*Review the chat answers.*2.*3.*0 \/ 3/s);
    await row.click();
    await page.locator('#queue-form').waitFor();
    assert.equal(await page.locator('#queue-items li').count(), 3);
    const first = await page.locator('#queue-items li.selected').getAttribute('data-item-id');
    // The current item's trace is shown with the usual trace view.
    await page.locator('#queue-object .tree-row').first().waitFor();
    assert.match(await page.locator('#queue-object').textContent(), /chat-turn/);
    await page.fill('#queue-form input[data-config="quality"]', '4');
    await page.selectOption('#queue-form select[data-config="tone"]', 'friendly');
    await page.fill('#queue-comment', 'clear and short');
    await shot(page, 'queue.png');
    await page.click('#queue-complete');
    await page.waitForFunction((id) => document.querySelector('#queue-items li.selected')?.dataset.itemId !== id, first);
    assert.equal(await page.locator('#queue-pending .stat-value').textContent(), '2');
    assert.equal(await page.locator(`#queue-items li[data-item-id="${first}"]`).getAttribute('data-status'), 'COMPLETED');

    const item = await apiGet(`/annotation-queues/${SEED.queueId}/items/${first}`);
    assert.equal(item.status, 'COMPLETED');
    const scores = await waitUntil(async () => {
      const found = await apiGet(`/scores?traceId=${item.objectId}&source=ANNOTATION`);
      return found.data.length === 2 ? found.data : null;
    }, 'the two annotation scores');
    const byName = Object.fromEntries(scores.map((s) => [s.name, s]));
    assert.equal(byName.quality.value, 4);
    assert.equal(byName.quality.comment, 'clear and short');
    assert.equal(byName.tone.stringValue, 'friendly');
    assert.equal(byName.tone.queueId, SEED.queueId);

    // Skip moves on without completing.
    const second = await page.locator('#queue-items li.selected').getAttribute('data-item-id');
    await page.click('#queue-skip');
    await page.waitForFunction((id) => document.querySelector('#queue-items li.selected')?.dataset.itemId !== id, second);
    assert.equal(await page.locator('#queue-pending .stat-value').textContent(), '2');
  });

  test('the dashboard plots volume, cost, tokens, latency and scores, with breakdowns', async () => {
    await page.goto(`${BASE}/ui/#/dashboard`);
    await page.locator('#chart-volume svg').waitFor();
    assert.equal(await page.locator('.chart-grid').getAttribute('data-source'), 'v2', 'aggregated by GET /v2/metrics');
    const traces = Number((await page.locator('#dash-traces .stat-value').textContent()).replace(/,/g, ''));
    assert.ok(traces >= 12, `traces: ${traces}`);
    assert.match(await page.locator('#dash-cost .stat-value').textContent(), /^\$/);
    assert.ok((await page.locator('#chart-volume path.line').count()) === 2, 'traces and observations');
    assert.ok((await page.locator('#chart-cost rect.bar').count()) >= 1, 'cost bars');
    const models = await page.locator('#chart-tokens .legend').textContent();
    assert.match(models, /gpt-4o-mini/);
    assert.match(models, /gpt-4o/);
    assert.ok((await page.locator('#chart-latency circle.dot').count()) >= 2, 'p50 and p95 points');
    const scoreSeries = await page.locator('#chart-scores g.series').evaluateAll((gs) => gs.map((g) => g.dataset.series));
    assert.ok(scoreSeries.includes('exact_match') && scoreSeries.includes('helpfulness'), `score series: ${scoreSeries}`);
    assert.equal(await page.locator('#by-user .breakdown-row[data-label="alice"] .breakdown-value').textContent(), '3');
    assert.equal(await page.locator('#by-environment .breakdown-row[data-label="sdk-experiment"] .breakdown-value').textContent(), '8');
    assert.ok(await page.locator('#by-model .breakdown-row[data-label="gpt-4o"]').count(), 'cost of gpt-4o');
    await shot(page, 'dashboard.png');

    await page.fill('#dash-environment', 'production');
    await page.click('#dashboard-filters button[type=submit]');
    await page.waitForURL(/environment=production/);
    await waitUntil(async () => (await page.locator('#dash-traces .stat-value').textContent()) === '4', 'the production traces only');
    assert.equal(await page.locator('#by-environment .breakdown-row').count(), 1);
  });

  test('no page raised a script error or a CSP violation', () => {
    assert.deepEqual(session.errors, []);
  });
});
