// Browser tests of the datasets pages against the seeded server (run.sh): the datasets list,
// a dataset's items and runs with their aggregates, the side-by-side run comparison, and
// "Add to dataset" from a trace (checked through the API).

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { BASE, SEED, apiGet, launch, loggedInPage, shot } from './helpers.mjs';

let session;
let page;

describe('datasets and experiments', () => {
  before(async () => {
    session = await launch();
    page = await loggedInPage(session.browser, session.watch);
  });

  after(async () => {
    if (session) await session.browser.close();
  });

  test('the list shows the seeded dataset with its item and run counts', async () => {
    await page.keyboard.press('g');
    await page.keyboard.press('d');
    const row = page.locator(`#datasets-table tr[data-dataset="${SEED.dataset}"]`);
    await row.waitFor();
    const cells = await row.locator('td').allTextContents();
    assert.equal(cells[2], '4', 'items');
    assert.equal(cells[3], '2', 'runs');
    assert.match(cells[4], /improved/, 'the newest run');
  });

  test('a dataset lists its items with input, expected output, metadata and status', async () => {
    await page.locator(`#datasets-table tr[data-dataset="${SEED.dataset}"]`).click();
    await page.locator('#items-table tbody tr[data-item-id]').first().waitFor();
    assert.equal(await page.locator('#items-table tbody tr[data-item-id]').count(), 4);
    const japan = await page.locator(`#items-table tr[data-item-id="${SEED.dataset}-japan"]`).textContent();
    assert.match(japan, /"country":"Japan"/);
    assert.match(japan, /"capital":"Tokyo"/);
    assert.match(japan, /"continent":"Asia"/);
    assert.match(japan, /ACTIVE/);
    await shot(page, 'dataset-items.png');
  });

  test('the runs tab aggregates scores, latency and cost per run', async () => {
    await page.locator('.tabs a[data-tab="runs"]').click();
    const baseline = page.locator('#runs-table tr[data-run="baseline"]');
    await baseline.locator('td[data-score="exact_match"]').waitFor();
    const improved = page.locator('#runs-table tr[data-run="improved"]');
    assert.match(await baseline.locator('td[data-score="exact_match"]').textContent(), /exact_match: 0\.50/);
    assert.match(await improved.locator('td[data-score="exact_match"]').textContent(), /exact_match: 1$/);
    assert.match(await baseline.textContent(), /accuracy: 0\.50/, 'the run-level score');
    const cells = async (row) => row.locator('td').allTextContents();
    const [b, i] = [await cells(baseline), await cells(improved)];
    assert.equal(b[3], '4');
    assert.match(b[4], /^\d+ms$/, `latency ${b[4]}`);
    assert.ok(parseInt(b[4], 10) > parseInt(i[4], 10), `baseline is slower: ${b[4]} vs ${i[4]}`);
    assert.match(b[5], /^\$/, 'cost');
    await shot(page, 'dataset-runs.png');
  });

  test('two runs compare side by side, item by item', async () => {
    await page.locator('#runs-table tr[data-run="baseline"] input[type=checkbox]').check();
    await page.locator('#runs-table tr[data-run="improved"] input[type=checkbox]').check();
    await page.click('#compare-runs');
    await page.locator('#compare-table tbody tr').first().waitFor();
    const runs = await page.locator('#compare-table thead th[data-run]').evaluateAll((ths) => ths.map((th) => th.dataset.run));
    assert.deepEqual(runs, ['baseline', 'improved']);
    assert.equal(await page.locator('#compare-table tbody tr').count(), 4);
    const japan = page.locator(`#compare-table tr[data-item-id="${SEED.dataset}-japan"] td`);
    assert.match(await japan.nth(1).textContent(), /Kyoto.*exact_match: 0/s);
    assert.match(await japan.nth(2).textContent(), /Tokyo.*exact_match: 1/s);
    assert.match(await japan.nth(2).locator('.latency').textContent(), /ms$/);
    assert.equal(await page.locator('#compare-table td.run-cell.matches').count(), 6, 'outputs equal to the expected output');
    await shot(page, 'dataset-compare.png');
    await page.check('#only-differing');
    const differing = await page.locator('#compare-table tbody tr').evaluateAll((rows) => rows.map((r) => r.dataset.itemId));
    assert.deepEqual(differing.sort(), [`${SEED.dataset}-japan`, `${SEED.dataset}-peru`]);
  });

  test('"Add to dataset" turns a trace into an item of a new dataset', async () => {
    const traceId = SEED.chatTraceIds[2];
    await page.goto(`${BASE}/ui/#/traces/${traceId}`);
    await page.locator('#dataset-select option[value="ui-capitals"]').waitFor({ state: 'attached' });
    assert.match(await page.inputValue('#item-input'), /How do I share a trace\?/, 'prefilled with the trace input');
    await page.selectOption('#dataset-select', { label: 'New dataset…' });
    await page.fill('#new-dataset-name', 'ui-from-traces');
    await page.fill('#item-expected', '{"answer": "Use the share toggle."}');
    await page.fill('#item-metadata', '{"picked": "by hand"}');
    await page.click('#add-to-dataset button[type=submit]');
    await page.locator('#dataset-link').waitFor();
    const items = await apiGet(`/dataset-items?sourceTraceId=${traceId}`);
    assert.equal(items.data.length, 1);
    assert.equal(items.data[0].datasetName, 'ui-from-traces');
    assert.deepEqual(items.data[0].expectedOutput, { answer: 'Use the share toggle.' });
    assert.deepEqual(items.data[0].metadata, { picked: 'by hand' });
    assert.equal(items.data[0].input[1].content, 'How do I share a trace?');
    await page.click('#dataset-link');
    await page.locator('#items-table tbody tr[data-item-id]').waitFor();
    assert.equal(await page.locator('#items-table a[href^="#/traces/"]').getAttribute('href'), `#/traces/${traceId}`);
  });

  test('no page raised a script error or a CSP violation', () => {
    assert.deepEqual(session.errors, []);
  });
});
