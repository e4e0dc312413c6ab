// Browser-side time of the UI's two heavy pages, for bench/ui.sh: logs in through the form in
// headless Chromium, then N times loads the traces list (until its 50 rows are drawn) and the
// trace page of the given trace (until its tree rows are drawn). Prints p50/p99/max in ms,
// measured from navigation to the last row on screen (server time + transfer + rendering).
//
// Usage: node bench/ui_render.mjs BASE_URL PUBLIC_KEY SECRET_KEY TRACE_ID [N]
// Uses tests/ui's playwright-core (npm ci in tests/ui) and Debian's chromium.

import { chromium } from '../tests/ui/node_modules/playwright-core/index.mjs';

const [base, publicKey, secretKey, traceId, runs = '10'] = process.argv.slice(2);

function summary(name, values) {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (p) => sorted[Math.min(sorted.length - 1, Math.round((p / 100) * (sorted.length - 1)))];
  console.log(`${name}: n=${sorted.length} p50 ${at(50).toFixed(0)} ms, p99 ${at(99).toFixed(0)} ms, max ${sorted.at(-1).toFixed(0)} ms`);
}

async function timed(page, url, ready) {
  await page.goto('about:blank');
  const start = performance.now();
  await page.goto(url);
  await ready();
  return performance.now() - start;
}

const browser = await chromium.launch({
  executablePath: process.env.PERISCOPE_CHROMIUM || '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run'],
});
try {
  const page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
  page.setDefaultTimeout(60000);
  await page.goto(`${base}/ui/#/login`);
  await page.fill('#public-key', publicKey);
  await page.fill('#secret-key', secretKey);
  await page.click('#login-form button[type=submit]');
  await page.locator('#traces-table tbody tr.clickable').first().waitFor();

  const list = [];
  const detail = [];
  for (let run = 0; run < Number(runs); run += 1) {
    list.push(await timed(page, `${base}/ui/#/traces`, () =>
      page.waitForFunction(() => document.querySelectorAll('#traces-table tbody tr.clickable').length === 50)));
    detail.push(await timed(page, `${base}/ui/#/traces/${traceId}`, () =>
      page.waitForFunction(() => document.querySelectorAll('.tree-row').length >= 1000)));
  }
  summary('browser: traces list, first page drawn', list);
  summary('browser: trace of 1,000 observations drawn', detail);
} finally {
  await browser.close();
}
