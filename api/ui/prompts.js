// Prompt management: the list of names, one name's versions with their labels, promoting a
// version to production (`PATCH /v2/prompts/{name}/versions/{v}`), a line diff between two
// versions (prompt_diff.js), and a test render that fills `{{variables}}` the way the SDKs'
// `compile` does.

import { api } from './api.js';
import { badge, errorBox, facts, h, loading, replace } from './dom.js';
import { formatTime, relative } from './format.js';
import { rowKeys } from './keys.js';
import { configLines, diffSection, labelLines, promptLines, summaryText } from './prompt_diff.js';
import { collapsible, renderValue } from './values.js';

const MAX_VERSIONS = 50;
const VARIABLE = /\{\{\s*([A-Za-z_][\w.-]*)\s*\}\}/g;

function promptPath(name) {
  return '/v2/prompts/' + encodeURIComponent(name);
}

/** Returns the variable names used in a text or chat prompt, in order of appearance. */
export function variablesOf(prompt) {
  const texts = typeof prompt === 'string' ? [prompt]
    : (prompt || []).map((m) => (typeof m.content === 'string' ? m.content : ''));
  const names = [];
  for (const text of texts) for (const match of text.matchAll(VARIABLE)) if (!names.includes(match[1])) names.push(match[1]);
  return names;
}

/** Fills `{{name}}` with the given values; unknown variables stay as written. */
export function fill(text, values) {
  return text.replace(VARIABLE, (whole, name) => (name in values ? values[name] : whole));
}

function compile(prompt, values, placeholders) {
  if (typeof prompt === 'string') return fill(prompt, values);
  const out = [];
  for (const message of prompt) {
    if (message.type === 'placeholder') {
      const given = placeholders[message.name];
      if (Array.isArray(given)) out.push(...given);
      else out.push({ role: 'placeholder', content: `{{${message.name}}} (not filled)` });
    } else {
      out.push({ ...message, content: typeof message.content === 'string' ? fill(message.content, values) : message.content });
    }
  }
  return out;
}

async function listPage(main) {
  const body = h('tbody');
  const keys = rowKeys(() => [...body.querySelectorAll('tr.clickable')], (row) => row.click());
  const load = async () => {
    try {
      const result = await api('/v2/prompts', { params: { limit: 100 } });
      keys.reset();
      replace(body, result.data.length ? result.data.map((p) => h('tr', {
        class: 'clickable', tabindex: '-1', dataset: { prompt: p.name },
        onclick: () => { location.hash = '#/prompts/' + encodeURIComponent(p.name); },
      },
      h('td', {}, h('a', { href: '#/prompts/' + encodeURIComponent(p.name), class: 'name' }, p.name)),
      h('td', {}, p.type || ''),
      h('td', { class: 'num' }, String((p.versions || []).length)),
      h('td', {}, (p.labels || []).map((l) => badge(l, l === 'production' ? 'ok' : null))),
      h('td', {}, (p.tags || []).map((t) => badge(t))),
      h('td', { title: formatTime(p.lastUpdatedAt) }, relative(p.lastUpdatedAt))))
        : h('tr', {}, h('td', { colspan: 6, class: 'muted empty' }, 'No prompts yet. Create one with the SDK (create_prompt) or POST /api/public/v2/prompts.')));
    } catch (error) {
      replace(body, h('tr', {}, h('td', { colspan: 6 }, errorBox(error))));
    }
  };
  replace(main, h('div', { class: 'page-head' }, h('h1', {}, 'Prompts')),
    h('div', { class: 'table-wrap' }, h('table', { class: 'table', id: 'prompts-table' },
      h('thead', {}, h('tr', {}, ['Name', 'Type', 'Versions', 'Labels', 'Tags', 'Updated'].map((t) => h('th', {}, t)))), body)));
  await load();
  return { keys: { j: keys.j, k: keys.k, Enter: keys.Enter, r: load } };
}

function renderPrompt(version) {
  if (typeof version.prompt === 'string') return collapsible(version.prompt, 'message-text prompt-text');
  return renderValue(version.prompt.map((m) => (m.type === 'placeholder' ? { role: 'placeholder', content: `{{${m.name}}}` } : m)));
}

function testRender(version) {
  const names = variablesOf(version.prompt);
  const placeholderNames = Array.isArray(version.prompt) ? version.prompt.filter((m) => m.type === 'placeholder').map((m) => m.name) : [];
  const output = h('div', { id: 'render-output' });
  const inputs = names.map((name) => h('input', { name, id: `var-${name}`, placeholder: name, 'aria-label': name }));
  const placeholderInputs = placeholderNames.map((name) => h('textarea', {
    name, rows: 2, id: `placeholder-${name}`, placeholder: `${name}: JSON list of messages, e.g. [{"role":"user","content":"hi"}]`,
  }));
  const update = () => {
    const values = Object.fromEntries(inputs.map((input) => [input.name, input.value]));
    const placeholders = {};
    for (const area of placeholderInputs) {
      try { placeholders[area.name] = area.value.trim() ? JSON.parse(area.value) : null; } catch (error) { placeholders[area.name] = null; }
    }
    const compiled = compile(version.prompt, values, placeholders);
    replace(output, typeof compiled === 'string' ? h('pre', { class: 'message-text', id: 'rendered-text' }, compiled) : renderValue(compiled));
  };
  for (const input of [...inputs, ...placeholderInputs]) input.addEventListener('input', update);
  update();
  return h('section', { class: 'card', id: 'test-render' }, h('h3', {}, 'Test render'),
    names.length || placeholderNames.length
      ? h('div', { class: 'variables' }, names.map((name, i) => h('label', { for: `var-${name}` }, name, inputs[i])),
        placeholderNames.map((name, i) => h('label', { for: `placeholder-${name}` }, name, placeholderInputs[i])))
      : h('p', { class: 'muted small' }, 'This version has no {{variables}}.'),
    output);
}

function labelActions(name, version, reload) {
  const message = h('span', { class: 'small', role: 'status', id: 'label-message' });
  const addLabels = async (labels) => {
    message.textContent = 'Saving…';
    try {
      await api(`${promptPath(name)}/versions/${version.version}`, { method: 'PATCH', body: { newLabels: labels } });
      await reload(version.version);
    } catch (error) {
      replace(message, h('span', { class: 'error-text' }, error.message));
    }
  };
  const isProduction = (version.labels || []).includes('production');
  const label = h('input', { id: 'new-label', placeholder: 'label, e.g. staging', pattern: '[a-z0-9_.\\-]+', title: 'lowercase letters, digits, _ . -' });
  return h('div', { class: 'label-actions' },
    h('button', {
      type: 'button', class: 'primary', id: 'promote', disabled: isProduction,
      onclick: () => addLabels(['production']),
    }, isProduction ? 'In production' : `Promote v${version.version} to production`),
    h('form', { class: 'inline', onsubmit: (event) => { event.preventDefault(); if (label.value.trim()) addLabels([label.value.trim()]); } },
      label, h('button', { type: 'submit', class: 'ghost' }, 'Add label')),
    message);
}

/** Returns the "Compare versions" card: two version pickers (by default the previous version
 *  and the selected one) and the diffs of prompt, config, and labels and tags between them. */
function versionCompare(name, versions, chosen) {
  const section = h('section', { class: 'card', id: 'prompt-diff' }, h('h3', {}, 'Compare versions'));
  if (versions.length < 2) {
    section.append(h('p', { class: 'muted small' }, 'Only one version: nothing to compare yet.'));
    return section;
  }
  const byNumber = new Map(versions.map((v) => [v.version, v]));
  // `versions` is newest first: the one before the selected version follows it. The oldest
  // version has none, so it is compared with the one after it instead.
  const index = versions.indexOf(chosen);
  const [defaultFrom, defaultTo] = versions[index + 1] ? [versions[index + 1], chosen] : [chosen, versions[index - 1]];
  // Read from the address at each render (not the route's), so that `r` keeps a picked pair.
  const params = new URLSearchParams(location.hash.split('?')[1] || '');
  const picked = (param, fallback) => byNumber.get(Number(params.get(param))) || fallback;
  const picker = (id, initial) => {
    const select = h('select', { id }, versions.map((v) => h('option', { value: String(v.version) },
      `v${v.version}`, (v.labels || []).length ? ` (${v.labels.join(', ')})` : '')));
    select.value = String(initial.version);
    return select;
  };
  const from = picker('diff-from', picked('from', defaultFrom));
  const to = picker('diff-to', picked('to', defaultTo));
  const summary = h('strong', { class: 'diff-summary', id: 'diff-summary', dataset: { summary: 'total' } });
  const status = h('span', { class: 'muted small', id: 'diff-status', role: 'status' });
  const sections = h('div', { id: 'diff-sections' });
  const update = () => {
    const before = byNumber.get(Number(from.value));
    const after = byNumber.get(Number(to.value));
    const parts = [
      diffSection('Prompt', 'diff-prompt', promptLines(before.prompt), promptLines(after.prompt)),
      diffSection('Config', 'diff-config', configLines(before.config), configLines(after.config)),
      diffSection('Labels and tags', 'diff-labels', labelLines(before), labelLines(after)),
    ];
    const total = { added: 0, removed: 0 };
    for (const part of parts) {
      total.added += part.counts.added;
      total.removed += part.counts.removed;
    }
    summary.textContent = summaryText(total);
    status.textContent = total.added || total.removed
      ? `Changes from v${before.version} to v${after.version}.`
      : `No changes between v${before.version} and v${after.version}.`;
    replace(sections, parts.map((part) => part.element));
  };
  const onChange = () => {
    update();
    // Keeps the comparison linkable without a hashchange, which would reload the whole page.
    history.replaceState(null, '', `#/prompts/${encodeURIComponent(name)}?version=${chosen.version}&from=${from.value}&to=${to.value}`);
  };
  from.addEventListener('change', onChange);
  to.addEventListener('change', onChange);
  update();
  section.append(
    h('div', { class: 'diff-controls' },
      h('label', { for: 'diff-from' }, 'From'), from, h('label', { for: 'diff-to' }, 'to'), to, summary, status),
    sections);
  return section;
}

async function detailPage(main, route) {
  const name = route.parts[1];
  replace(main, loading('prompt'));
  const render = async (selectedVersion) => {
    const listed = await api('/v2/prompts', { params: { name, limit: 1 } });
    const entry = (listed.data || []).find((p) => p.name === name);
    if (!entry) throw new Error(`No prompt named ${name}.`);
    const numbers = [...entry.versions].sort((a, b) => b - a).slice(0, MAX_VERSIONS);
    const versions = await Promise.all(numbers.map((v) => api(promptPath(name), { params: { version: v } })));
    const chosen = versions.find((v) => v.version === Number(selectedVersion)) ||
      versions.find((v) => (v.labels || []).includes('production')) || versions[0];
    const list = h('ul', { class: 'versions', id: 'versions' }, versions.map((v) => h('li', {
      class: v.version === chosen.version ? 'selected' : '', dataset: { version: String(v.version) },
    }, h('a', { href: `#/prompts/${encodeURIComponent(name)}?version=${v.version}` },
      h('strong', {}, `v${v.version}`), ' ', (v.labels || []).map((l) => badge(l, l === 'production' ? 'ok' : null)),
      h('div', { class: 'muted small' }, v.commitMessage || '', ' · ', relative(v.createdAt))))));
    replace(main,
      h('div', { class: 'page-head' },
        h('a', { href: '#/prompts', class: 'back', title: 'Back to prompts (Esc)' }, '←'),
        h('h1', {}, name), badge(entry.type || chosen.type || ''), (entry.tags || []).map((t) => badge(t))),
      h('div', { class: 'split prompt-split' },
        h('aside', { class: 'card' }, h('h3', {}, 'Versions'), list),
        h('div', { class: 'prompt-main' },
          h('section', { class: 'card', id: 'prompt-version' },
            h('h3', {}, `Version ${chosen.version}`),
            facts([['Labels', (chosen.labels || []).length ? h('span', { id: 'version-labels' }, chosen.labels.map((l) => badge(l, l === 'production' ? 'ok' : null))) : 'none'],
              ['Commit message', chosen.commitMessage], ['Created', formatTime(chosen.createdAt)], ['Created by', chosen.createdBy]]),
            labelActions(name, chosen, (v) => { location.hash = `#/prompts/${encodeURIComponent(name)}?version=${v}&t=${Date.now()}`; }),
            h('h4', {}, 'Prompt'), renderPrompt(chosen),
            chosen.config && Object.keys(chosen.config).length ? [h('h4', {}, 'Config'), collapsible(JSON.stringify(chosen.config, null, 2))] : null),
          versionCompare(name, versions, chosen),
          testRender(chosen))));
  };
  await render(route.params.get('version')).catch((error) => replace(main, h('a', { href: '#/prompts' }, '← Prompts'), errorBox(error)));
  return { keys: { r: () => render(route.params.get('version')), Escape: () => { location.hash = '#/prompts'; } } };
}

export function mount(main, route) {
  return route.parts.length > 1 ? detailPage(main, route) : listPage(main, route);
}
