// Browser tests of the traces list's value filters (level, model, score, cost, latency and
// full-text search) against the three traces of tests/ui/seed_filters.py, which live in an
// environment of their own: every step keeps that environment filter, so the other test files'
// traces never show up, and checks exactly which of the three are listed.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { BASE, PUBLIC_KEY, SECRET_KEY, SEED, apiGet, launch, loggedInPage, shot, waitUntil } from './helpers.mjs';

const ENVIRONMENT = SEED.filterEnvironment;
const SHORT_NAMES = Object.fromEntries(Object.entries(SEED.filterTraceIds).map(([short, id]) => [id, short]));
const ALL = ['cheap', 'pricey', 'slow'];

let session;
let page;

/** Returns the short names (cheap, pricey, slow) of the listed traces, sorted. */
async function listed() {
  const ids = await page.locator('#traces-table tbody tr.clickable')
    .evaluateAll((rows) => rows.map((row) => row.dataset.traceId));
  return ids.map((id) => SHORT_NAMES[id] || `other trace ${id}`).sort();
}

/** Waits until exactly `expected` is listed (the previous step always listed something else). */
async function expectListed(expected, why) {
  const want = JSON.stringify([...expected].sort());
  let now;
  try {
    await waitUntil(async () => {
      const loading = await page.locator('#traces-table tbody tr').count() === 0;
      now = JSON.stringify(await listed());
      return !loading && now === want;
    }, why);
  } catch (error) {
    throw new Error(`${why}: expected ${want}, listed ${now} (${page.url()})`);
  }
}

/** Sets the controls (selector → value; '' empties one) and applies them with the button. */
async function apply(values) {
  for (const [selector, value] of Object.entries(values)) {
    const control = page.locator(selector);
    if (await control.evaluate((element) => element.tagName) === 'SELECT') await control.selectOption(value);
    else await control.fill(value);
  }
  await page.click('#trace-filters button[type=submit]');
}

async function openFiltered(query = '') {
  await page.goto(`${BASE}/ui/#/traces?environment=${ENVIRONMENT}${query}`);
  await page.locator('#trace-filters').waitFor();
}

async function apiStatus(query) {
  const auth = 'Basic ' + Buffer.from(`${PUBLIC_KEY}:${SECRET_KEY}`).toString('base64');
  const response = await fetch(`${BASE}/api/public/traces?${query}`, { headers: { Authorization: auth } });
  const body = await response.json();
  return { status: response.status, message: body.message };
}

describe('the traces list value filters', () => {
  before(async () => {
    session = await launch();
    page = await loggedInPage(session.browser, session.watch);
  });

  after(async () => {
    if (session) await session.browser.close();
  });

  test('every control is labelled and reachable from the keyboard', async () => {
    await openFiltered();
    await expectListed(ALL, 'the seeded environment');
    const labels = ['Search input and output', 'Level', 'Model', 'Score name', 'Minimum score', 'Maximum score',
      'Minimum cost in USD', 'Maximum cost in USD', 'Minimum latency in seconds', 'Maximum latency in seconds'];
    for (const label of labels) {
      const control = page.getByLabel(label, { exact: true });
      assert.equal(await control.count(), 1, `one control labelled ${label}`);
      await control.focus();
      assert.ok(await control.evaluate((element) => element === document.activeElement && element.tabIndex >= 0), label);
    }
    for (const caption of ['Score', 'Cost (USD)', 'Latency (s)']) {
      assert.equal(await page.getByRole('group', { name: caption, exact: true }).count(), 1, `the ${caption} group`);
    }
    // Enter in a field applies the form, as in the other filters.
    await page.getByLabel('Search input and output').fill('zeppelin');
    await page.keyboard.press('Enter');
    await expectListed(['pricey', 'slow'], 'search, case-insensitive, over input (pricey) and output (slow)');
    assert.match(page.url(), /search=zeppelin/);
    await shot(page, 'trace-filters.png');
  });

  test('level filters by the level of any observation', async () => {
    await openFiltered();
    await apply({ '#filter-level': 'ERROR' });
    await expectListed(['slow'], 'ERROR');
    assert.match(page.url(), /level=ERROR/);
    await apply({ '#filter-level': 'WARNING' });
    await expectListed(['pricey'], 'WARNING');
    await apply({ '#filter-level': '' });
    await expectListed(ALL, 'any level');
    assert.doesNotMatch(page.url(), /level=/);
  });

  test('model matches the whole model name', async () => {
    await openFiltered();
    await apply({ '#filter-model': 'gpt-4o' });
    await expectListed(['pricey'], 'gpt-4o, not gpt-4o-mini');
    await apply({ '#filter-model': 'gpt-4o-mini' });
    await expectListed(['cheap'], 'gpt-4o-mini');
    await apply({ '#filter-model': '' });
    await expectListed(ALL, 'any model');
  });

  test('score filters by name, then by an inclusive value range', async () => {
    await openFiltered();
    await apply({ '#filter-scoreName': SEED.filterScore });
    await expectListed(['cheap', 'pricey'], 'traces with the score');
    await apply({ '#filter-minScore': '3' });
    await expectListed(['pricey'], 'score >= 3');
    assert.match(page.url(), new RegExp(`scoreName=${SEED.filterScore}&minScore=3`));
    await apply({ '#filter-minScore': '', '#filter-maxScore': '3' });
    await expectListed(['cheap'], 'score <= 3');
    await apply({ '#filter-minScore': '2', '#filter-maxScore': '4' });
    await expectListed(['cheap', 'pricey'], 'both bounds inclusive');
    // A range needs a score name: the form refuses to go on and says why.
    const before = page.url();
    await page.fill('#filter-scoreName', '');
    await page.click('#trace-filters button[type=submit]');
    assert.match(await page.locator('#filter-scoreName').evaluate((input) => input.validationMessage), /Name the score/);
    assert.equal(page.url(), before, 'nothing was applied');
    await apply({ '#filter-minScore': '', '#filter-maxScore': '' });
    await expectListed(ALL, 'no score filter');
  });

  test('cost and latency ranges; an inverted range is refused on the field', async () => {
    await openFiltered();
    await apply({ '#filter-minCost': '0.01' });
    await expectListed(['pricey'], 'cost >= $0.01');
    await apply({ '#filter-minCost': '', '#filter-maxCost': '0.005' });
    await expectListed(['cheap', 'slow'], 'cost <= $0.005, a trace without costs counting as 0');
    await apply({ '#filter-minCost': '0.001', '#filter-maxCost': '0.01' });
    await expectListed(['cheap'], '$0.001 to $0.01');
    await apply({ '#filter-minCost': '', '#filter-maxCost': '' });
    await expectListed(ALL, 'no cost filter');

    await apply({ '#filter-minLatency': '1' });
    await expectListed(['slow'], 'latency >= 1 s');
    await apply({ '#filter-minLatency': '', '#filter-maxLatency': '1' });
    await expectListed(['cheap', 'pricey'], 'latency <= 1 s');

    const before = page.url();
    await page.fill('#filter-minLatency', '5');
    await page.click('#trace-filters button[type=submit]');
    assert.match(await page.locator('#filter-minLatency').evaluate((input) => input.validationMessage), /above the maximum/);
    assert.equal(page.url(), before, 'nothing was applied');
    await apply({ '#filter-minLatency': '', '#filter-maxLatency': '' });
    await expectListed(ALL, 'no latency filter');
  });

  test('the filters combine, live in the hash, reset paging and clear', async () => {
    // Page 2 of three traces is empty; applying a filter starts again at page 1.
    await openFiltered('&page=2&limit=25');
    await page.locator('#traces-table td.empty').waitFor();
    await apply({ '#filter-search': 'ZEPPELIN', '#filter-minLatency': '1' });
    await expectListed(['slow'], 'search and latency together, page 1');
    assert.doesNotMatch(page.url(), /page=2/);
    assert.match(page.url(), /limit=25/, 'the page size is kept');

    // A bookmarked view restores the controls and the list.
    await page.goto(`${BASE}/ui/#/traces?environment=${ENVIRONMENT}&model=gpt-4o&scoreName=${SEED.filterScore}`
      + '&minScore=4&maxCost=0.05&level=WARNING&search=zeppelin&maxLatency=1');
    await expectListed(['pricey'], 'every value filter at once');
    assert.equal(await page.inputValue('#filter-model'), 'gpt-4o');
    assert.equal(await page.inputValue('#filter-level'), 'WARNING');
    assert.equal(await page.inputValue('#filter-minScore'), '4');
    assert.equal(await page.inputValue('#filter-maxCost'), '0.05');
    assert.equal(await page.inputValue('#filter-search'), 'zeppelin');
    await apply({ '#filter-model': 'gpt-4o-mini' });
    await expectListed([], 'no trace has all of these');
    await page.locator('#traces-table td.empty').waitFor();

    await page.click('#trace-filters button.ghost');
    await page.waitForURL(/#\/traces$/);
    for (const id of ['search', 'level', 'model', 'scoreName', 'minScore', 'maxCost', 'maxLatency', 'environment']) {
      assert.equal(await page.inputValue(`#filter-${id}`), '', `${id} is cleared`);
    }
    const total = (await apiGet('/traces?limit=1')).meta.totalItems;
    await waitUntil(async () => await page.locator('#traces-table tbody tr.clickable').count() === Math.min(total, 50),
      `every trace again (${total})`);
  });

  test('the API refuses bad values with a message naming the parameter', async () => {
    const cases = [
      ['level=LOUD', /level: expected one of DEBUG, DEFAULT, WARNING, ERROR/],
      ['minCost=cheap', /minCost: expected a number/],
      ['minLatency=-1', /minLatency: must not be negative/],
      ['minCost=2&maxCost=1', /minCost: must not be greater than maxCost/],
      ['minScore=1', /minScore: needs scoreName/],
    ];
    for (const [query, message] of cases) {
      const answer = await apiStatus(query);
      assert.equal(answer.status, 400, query);
      assert.match(answer.message, message, query);
    }
    assert.equal((await apiStatus(`environment=${ENVIRONMENT}&level=error&search=Zeppelin`)).status, 200);
  });

  test('no page raised a script error or a CSP violation', () => {
    assert.deepEqual(session.errors, []);
  });
});
