// Browser tests of the prompt version diff against the seeded server (run.sh): the diff
// functions of prompt_diff.js as the binary serves them, the seeded text prompt's two versions
// compared line by line, a version compared with itself, a chat prompt's messages and the
// dark theme.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { BASE, SEED, api, apiGet, launch, loggedInPage, shot } from './helpers.mjs';

const CHAT_PROMPT = 'ui-diff-chat';

let session;
let page;

/** Returns the shown lines of one diff section as "<marker> <text>", folded runs left out. */
async function shownLines(target, sectionId) {
  return target.locator(`#${sectionId} .diff-line`).evaluateAll((lines) => lines.map((line) =>
    `${line.querySelector('.diff-marker').textContent} ${line.querySelector('.diff-text').textContent}`));
}

async function linesOf(target, sectionId, kind) {
  return target.locator(`#${sectionId} .diff-${kind} .diff-text`).allTextContents();
}

async function summaryOf(target, id) {
  return target.locator(`[data-summary="${id}"]`).textContent();
}

async function openPrompt(target, name, query = '') {
  await target.goto(`${BASE}/ui/#/prompts/${encodeURIComponent(name)}${query}`);
  await target.locator('#diff-sections .diff-section').first().waitFor();
}

describe('prompt version diff', () => {
  before(async () => {
    session = await launch();
    page = await loggedInPage(session.browser, session.watch);
  });

  after(async () => {
    if (session) await session.browser.close();
  });

  test('the diff functions: an LCS line script, its summary and the lines of each part', async () => {
    const results = await page.evaluate(async () => {
      const diff = await import('/ui/assets/prompt_diff.js');
      const script = (before, after) => diff.diffLines(before, after).map((line) => `${line.kind} ${line.text}`);
      return {
        mixed: script(['a', 'b', 'c', 'd'], ['a', 'c', 'd', 'e']),
        replaced: script(['x', 'keep', 'y'], ['z', 'keep', 'w']),
        fromNothing: script([], ['new']),
        identical: script(['same', 'lines'], ['same', 'lines']),
        summary: diff.summaryText(diff.countChanges(diff.diffLines(['a', 'b', 'c'], ['a', 'x', 'y']))),
        chat: diff.promptLines([{ role: 'system', content: 'one\ntwo' }, { type: 'placeholder', name: 'history' },
          { role: 'user', content: '{{q}}' }]),
        text: diff.promptLines('first\nsecond'),
        noConfig: diff.configLines(undefined),
        config: diff.configLines({ model: 'm', temperature: 0.5 }),
        labels: diff.labelLines({ labels: ['staging', 'latest'], tags: ['b', 'a'] }),
      };
    });
    assert.deepEqual(results.mixed, ['same a', 'removed b', 'same c', 'same d', 'added e']);
    assert.deepEqual(results.replaced, ['removed x', 'added z', 'same keep', 'removed y', 'added w']);
    assert.deepEqual(results.fromNothing, ['added new']);
    assert.deepEqual(results.identical, ['same same', 'same lines']);
    assert.equal(results.summary, '+2 \u22122');
    assert.deepEqual(results.chat, ['system: one', 'system: two', 'placeholder: {{history}}', 'user: {{q}}']);
    assert.deepEqual(results.text, ['first', 'second']);
    assert.deepEqual(results.noConfig, ['{}']);
    assert.deepEqual(results.config, ['{', '  "model": "m",', '  "temperature": 0.5', '}']);
    assert.deepEqual(results.labels, ['label: latest', 'label: staging', 'tag: a', 'tag: b']);
  });

  test('a text prompt: the selected version against the one before it, line by line', async () => {
    await openPrompt(page, SEED.prompt, '?version=2');
    assert.equal(await page.inputValue('#diff-from'), '1', 'the version before the selected one');
    assert.equal(await page.inputValue('#diff-to'), '2', 'the selected version');

    assert.deepEqual(await linesOf(page, 'diff-prompt', 'removed'), ['Answer the question about {{product}}: {{question}}']);
    assert.deepEqual(await linesOf(page, 'diff-prompt', 'added'),
      ['Answer briefly and cite the docs. Product: {{product}}. Question: {{question}}']);
    assert.equal(await summaryOf(page, 'diff-prompt'), '+1 \u22121');

    assert.deepEqual(await shownLines(page, 'diff-config'),
      ['  {', '    "model": "gpt-4o-mini",', '-   "temperature": 0.1', '+   "temperature": 0.3', '  }']);
    assert.equal(await summaryOf(page, 'diff-config'), '+1 \u22121');
    // Removed and added lines are <del>/<ins> with a text marker, not only a colour.
    assert.deepEqual(await page.locator('#diff-config del.diff-removed .diff-marker').allTextContents(), ['-']);
    assert.deepEqual(await page.locator('#diff-config ins.diff-added .diff-marker').allTextContents(), ['+']);

    // Labels move between versions as other tests promote them, so expect what the API says.
    const [first, second] = await Promise.all([1, 2].map((v) => apiGet(`/v2/prompts/${SEED.prompt}?version=${v}`)));
    const labelLines = (version) => [...version.labels].sort().map((label) => `label: ${label}`);
    const removedLabels = labelLines(first).filter((line) => !labelLines(second).includes(line));
    const addedLabels = labelLines(second).filter((line) => !labelLines(first).includes(line));
    assert.ok(addedLabels.includes('label: latest'), `the newest version is "latest": ${addedLabels}`);
    assert.deepEqual(await linesOf(page, 'diff-labels', 'removed'), removedLabels);
    assert.deepEqual(await linesOf(page, 'diff-labels', 'added'), addedLabels);
    assert.deepEqual(await linesOf(page, 'diff-labels', 'same'), ['tag: ui-test'], 'tags belong to every version');

    assert.equal(await page.textContent('#diff-summary'), `+${2 + addedLabels.length} \u2212${2 + removedLabels.length}`);
    assert.equal(await page.textContent('#diff-status'), 'Changes from v1 to v2.');
    await page.locator('#prompt-diff').scrollIntoViewIfNeeded();
    await shot(page, 'prompt-diff.png');
  });

  test('a version compared with itself shows no changes, and the pair survives a reload', async () => {
    await openPrompt(page, SEED.prompt, '?version=2');
    await page.selectOption('#diff-from', '2');
    await page.waitForFunction(() => document.querySelector('#diff-status')?.textContent === 'No changes between v2 and v2.');
    assert.equal(await page.textContent('#diff-summary'), '+0 \u22120');
    for (const id of ['diff-prompt', 'diff-config', 'diff-labels']) assert.equal(await summaryOf(page, id), '+0 \u22120');
    assert.equal(await page.locator('#diff-sections .diff-added, #diff-sections .diff-removed').count(), 0);
    assert.deepEqual(await shownLines(page, 'diff-prompt'),
      ['  Answer briefly and cite the docs. Product: {{product}}. Question: {{question}}']);
    // Unchanged runs far from any change fold away until asked for.
    const fold = page.locator('#diff-config button.diff-fold');
    assert.equal(await fold.textContent(), '\u22ef 4 unchanged lines');
    await fold.click();
    assert.deepEqual(await shownLines(page, 'diff-config'),
      ['  {', '    "model": "gpt-4o-mini",', '    "temperature": 0.3', '  }']);

    assert.match(page.url(), /\?version=2&from=2&to=2$/);
    await page.reload();
    await page.locator('#diff-sections .diff-section').first().waitFor();
    assert.equal(await page.inputValue('#diff-from'), '2');
    assert.equal(await page.textContent('#diff-summary'), '+0 \u22120');
  });

  test('a chat prompt diffs its messages as role: content lines', async () => {
    const messages = (greeting, question) => [
      { role: 'system', content: `You are a ${greeting} assistant.\nAnswer in English.` },
      { type: 'placeholder', name: 'history' },
      { role: 'user', content: question },
    ];
    const create = (prompt, config, labels) => api('POST', '/v2/prompts', {
      name: CHAT_PROMPT, type: 'chat', prompt, config, labels, tags: ['diff-test'],
    });
    await create(messages('helpful', '{{question}}'), { model: 'gpt-4o' }, ['production']);
    await create(messages('concise', 'Question: {{question}}'), { max_tokens: 200, model: 'gpt-4o' }, ['staging']);

    // Production is v1, the oldest: it is compared with the version after it.
    await openPrompt(page, CHAT_PROMPT);
    assert.equal(await page.inputValue('#diff-from'), '1');
    assert.equal(await page.inputValue('#diff-to'), '2');
    assert.deepEqual(await shownLines(page, 'diff-prompt'), [
      '- system: You are a helpful assistant.',
      '+ system: You are a concise assistant.',
      '  system: Answer in English.',
      '  placeholder: {{history}}',
      '- user: {{question}}',
      '+ user: Question: {{question}}',
    ]);
    assert.equal(await summaryOf(page, 'diff-prompt'), '+2 \u22122');
    assert.deepEqual(await shownLines(page, 'diff-config'), ['  {', '+   "max_tokens": 200,', '    "model": "gpt-4o"', '  }']);
    assert.deepEqual(await shownLines(page, 'diff-labels'),
      ['- label: production', '+ label: latest', '+ label: staging', '  tag: diff-test']);
    assert.equal(await page.textContent('#diff-summary'), '+5 \u22123');

    // Swapping the pair swaps the signs.
    await page.selectOption('#diff-from', '2');
    await page.selectOption('#diff-to', '1');
    await page.waitForFunction(() => document.querySelector('#diff-status')?.textContent === 'Changes from v2 to v1.');
    assert.equal(await page.textContent('#diff-summary'), '+3 \u22125');
  });

  test('the diff stays readable in dark mode', async () => {
    const darkPage = await loggedInPage(session.browser, session.watch, 'dark');
    try {
      await openPrompt(darkPage, SEED.prompt, '?version=2&from=1&to=2');
      const colours = await darkPage.locator('#diff-prompt ins.diff-added').first().evaluate((line) => {
        const style = getComputedStyle(line);
        return { background: style.backgroundColor, text: style.color, decoration: style.textDecorationLine };
      });
      assert.deepEqual(colours, { background: 'rgb(23, 53, 39)', text: 'rgb(231, 231, 240)', decoration: 'none' });
    } finally {
      await darkPage.context().close();
    }
  });

  test('no page raised a script error or a CSP violation', () => {
    assert.deepEqual(session.errors, []);
  });
});
