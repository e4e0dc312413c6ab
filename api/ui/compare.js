// Side-by-side comparison of a dataset's runs: one row per dataset item (input and expected
// output), one column per run (output, scores, latency, cost), and each run's aggregates on
// top. `#/datasets/{name}/compare?runs=a&runs=b`.

import { api } from './api.js';
import { errorBox, h, loading, replace } from './dom.js';
import { formatCost, formatDuration } from './format.js';
import { aggregate, datasetItems, datasetPath, loadRun, traceCache } from './run_data.js';
import { jsonCell, mapLimit, scoreBadge, stat } from './widgets.js';

export function hashFor(datasetName, runNames) {
  const search = new URLSearchParams();
  for (const run of runNames) search.append('runs', run);
  return `#/datasets/${encodeURIComponent(datasetName)}/compare?${search}`;
}

function sameJson(a, b) {
  return JSON.stringify(a) === JSON.stringify(b);
}

function runSummary(loaded) {
  const stats = aggregate(loaded);
  return h('div', { class: 'run-summary' },
    h('div', { class: 'stats' },
      stat('Items', String(stats.items)),
      stat('Avg latency', formatDuration(stats.latencyMs)),
      stat('Total cost', formatCost(stats.totalCost))),
    h('div', {}, Object.entries(stats.scores).map(([n, v]) => scoreBadge(`avg ${n}`, v)),
      Object.entries(stats.runScores).map(([n, v]) => scoreBadge(n, v, 'run-level score'))));
}

function cell(row, expected) {
  if (!row) return h('td', { class: 'muted small' }, 'not in this run');
  if (row.missing) return h('td', { class: 'muted small' }, 'trace not found');
  const matches = expected !== null && expected !== undefined && sameJson(row.output, expected);
  return h('td', { class: 'run-cell' + (matches ? ' matches' : ''), dataset: { traceId: row.traceId } },
    jsonCell(row.output),
    h('div', {}, Object.entries(row.scores).map(([n, v]) => scoreBadge(n, v))),
    h('div', { class: 'muted small cell-meta' },
      h('span', { class: 'latency' }, formatDuration(row.latencyMs)), ' · ',
      h('span', { class: 'cost' }, formatCost(row.cost)), ' · ',
      h('a', { href: '#/traces/' + encodeURIComponent(row.traceId) }, 'trace')));
}

function runPicker(datasetName, allRuns, chosen) {
  return h('div', { class: 'filters', id: 'run-picker' }, h('span', { class: 'muted' }, 'Runs:'),
    allRuns.map((run) => h('label', { class: 'toggle' }, h('input', {
      type: 'checkbox', checked: chosen.includes(run.name), value: run.name,
      onchange: (event) => {
        const next = event.target.checked ? [...chosen, run.name] : chosen.filter((n) => n !== run.name);
        location.hash = hashFor(datasetName, allRuns.map((r) => r.name).filter((n) => next.includes(n)));
      },
    }), run.name)));
}

export async function mount(main, route) {
  const name = route.parts[1];
  const chosen = route.params.getAll('runs');
  replace(main, loading('runs'));
  const load = async () => {
    const readTrace = traceCache();
    const [items, runs] = await Promise.all([
      datasetItems(name),
      api(datasetPath(name) + '/runs', { params: { limit: 100 } }).then((r) => r.data),
    ]);
    const names = chosen.length ? chosen : runs.slice(0, 2).map((r) => r.name);
    const loaded = await mapLimit(names, 2, (run) => loadRun(name, run, readTrace));
    const inRuns = new Set(loaded.flatMap((l) => [...l.items.keys()]));
    const rows = items.filter((item) => inRuns.has(item.id) || item.status === 'ACTIVE');
    const differing = h('input', { type: 'checkbox', id: 'only-differing' });
    const body = h('tbody');
    const render = () => {
      const shown = rows.filter((item) => {
        if (!differing.checked) return true;
        const outputs = loaded.map((l) => JSON.stringify(l.items.get(item.id) && l.items.get(item.id).output));
        return new Set(outputs).size > 1;
      });
      replace(body, shown.map((item) => h('tr', { dataset: { itemId: item.id } },
        h('td', { class: 'item-cell' }, h('div', { class: 'muted small' }, 'input'), jsonCell(item.input),
          h('div', { class: 'muted small' }, 'expected'), jsonCell(item.expectedOutput)),
        loaded.map((l) => cell(l.items.get(item.id), item.expectedOutput)))));
    };
    differing.addEventListener('change', render);
    render();
    replace(main,
      h('div', { class: 'page-head' },
        h('a', { href: `#/datasets/${encodeURIComponent(name)}?tab=runs`, class: 'back', title: 'Back to the runs (Esc)' }, '←'),
        h('h1', {}, `Compare runs · ${name}`)),
      runPicker(name, runs, names),
      h('label', { class: 'toggle', for: 'only-differing' }, differing, ' Only items whose outputs differ'),
      h('div', { class: 'table-wrap compare-wrap' }, h('table', { class: 'table compare', id: 'compare-table' },
        h('thead', {}, h('tr', {}, h('th', {}, 'Item'), loaded.map((l) => h('th', { dataset: { run: l.run.name } },
          h('div', { class: 'run-name' }, l.run.name), runSummary(l))))),
        body)),
      loaded.some((l) => l.truncated) ? h('p', { class: 'muted small' }, 'Large runs show their first 500 items.') : null);
  };
  await load().catch((error) => replace(main, h('a', { href: '#/datasets' }, '← Datasets'), errorBox(error)));
  return { keys: { r: load, Escape: () => { location.hash = `#/datasets/${encodeURIComponent(name)}?tab=runs`; } } };
}
