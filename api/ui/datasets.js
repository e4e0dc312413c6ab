// Datasets: the list (`GET /v2/datasets`), one dataset's items (input, expected output,
// metadata, status) and its runs (experiments) with aggregated scores, latency and cost, from
// which runs are picked for the side-by-side comparison (compare.js).

import { api } from './api.js';
import { badge, errorBox, facts, h, loading, replace } from './dom.js';
import { formatCost, formatCount, formatDuration, formatTime, relative } from './format.js';
import { rowKeys } from './keys.js';
import * as compare from './compare.js';
import { MAX_RUNS_AGGREGATED, aggregate, datasetItems, datasetPath, loadRun, traceCache } from './run_data.js';
import { emptyRow, jsonCell, mapLimit, scoreBadge, stat, tabs } from './widgets.js';

function datasetHash(name, tab) {
  return '#/datasets/' + encodeURIComponent(name) + (tab ? '?tab=' + tab : '');
}

async function listPage(main) {
  const body = h('tbody');
  const keys = rowKeys(() => [...body.querySelectorAll('tr.clickable')], (row) => row.click());
  const load = async () => {
    try {
      const result = await api('/v2/datasets', { params: { limit: 100 } });
      keys.reset();
      if (!result.data.length) {
        replace(body, emptyRow(6, 'No datasets yet. Create one with the SDK (create_dataset) or POST /api/public/v2/datasets, or add a trace to one from its page.'));
        return;
      }
      const counts = await mapLimit(result.data, 4, async (d) => {
        const [items, runs] = await Promise.all([
          api('/dataset-items', { params: { datasetName: d.name, limit: 1 } }),
          api(datasetPath(d.name) + '/runs', { params: { limit: 1 } }),
        ]);
        return { items: items.meta.totalItems, runs: runs.meta.totalItems, lastRun: runs.data[0] };
      });
      replace(body, result.data.map((d, i) => h('tr', {
        class: 'clickable', tabindex: '-1', dataset: { dataset: d.name },
        onclick: () => { location.hash = datasetHash(d.name); },
      },
      h('td', {}, h('a', { href: datasetHash(d.name), class: 'name' }, d.name)),
      h('td', { class: 'muted' }, d.description || ''),
      h('td', { class: 'num' }, formatCount(counts[i].items)),
      h('td', { class: 'num' }, formatCount(counts[i].runs)),
      h('td', { title: counts[i].lastRun ? formatTime(counts[i].lastRun.createdAt) : '' }, counts[i].lastRun ? `${counts[i].lastRun.name} · ${relative(counts[i].lastRun.createdAt)}` : '—'),
      h('td', { title: formatTime(d.createdAt) }, relative(d.createdAt)))));
    } catch (error) {
      replace(body, h('tr', {}, h('td', { colspan: 6 }, errorBox(error))));
    }
  };
  replace(main, h('div', { class: 'page-head' }, h('h1', {}, 'Datasets')),
    h('div', { class: 'table-wrap' }, h('table', { class: 'table', id: 'datasets-table' },
      h('thead', {}, h('tr', {}, ['Name', 'Description', 'Items', 'Runs', 'Latest run', 'Created'].map((t) => h('th', {}, t)))), body)));
  await load();
  return { keys: { j: keys.j, k: keys.k, Enter: keys.Enter, r: load } };
}

function itemsTable(items) {
  const status = h('select', { id: 'item-status', 'aria-label': 'Status' },
    [['', 'All statuses'], ['ACTIVE', 'Active'], ['ARCHIVED', 'Archived']].map(([v, l]) => h('option', { value: v }, l)));
  const body = h('tbody');
  const render = () => {
    const shown = items.filter((item) => !status.value || item.status === status.value);
    replace(body, shown.length ? shown.map((item) => h('tr', { dataset: { itemId: item.id } },
      h('td', { class: 'mono small' }, item.id),
      h('td', {}, badge(item.status, item.status === 'ACTIVE' ? 'ok' : 'muted')),
      h('td', {}, jsonCell(item.input)),
      h('td', {}, jsonCell(item.expectedOutput)),
      h('td', {}, jsonCell(item.metadata)),
      h('td', {}, item.sourceTraceId ? h('a', { href: '#/traces/' + encodeURIComponent(item.sourceTraceId) }, 'trace →') : ''),
      h('td', { title: formatTime(item.updatedAt) }, relative(item.createdAt))))
      : emptyRow(7, 'No items.'));
  };
  status.addEventListener('change', render);
  render();
  return [h('div', { class: 'filters' }, status, h('span', { class: 'muted small' }, `${items.length} items`)),
    h('div', { class: 'table-wrap' }, h('table', { class: 'table', id: 'items-table' },
      h('thead', {}, h('tr', {}, ['Id', 'Status', 'Input', 'Expected output', 'Metadata', 'Source', 'Created'].map((t) => h('th', {}, t)))), body))];
}

function runsTable(dataset, runs, readTrace) {
  const body = h('tbody', {}, emptyRow(7, 'Loading run results…'));
  const chosen = new Set();
  const compareButton = h('button', { type: 'button', class: 'primary', id: 'compare-runs', disabled: true }, 'Compare selected');
  const update = () => {
    compareButton.disabled = chosen.size < 1;
    compareButton.textContent = chosen.size ? `Compare ${chosen.size} run${chosen.size > 1 ? 's' : ''}` : 'Compare selected';
  };
  compareButton.addEventListener('click', () => {
    location.hash = compare.hashFor(dataset.name, [...chosen]);
  });
  const head = h('tr');
  const fill = async () => {
    const shown = runs.slice(0, MAX_RUNS_AGGREGATED);
    const stats = await mapLimit(shown, 2, async (run) => aggregate(await loadRun(dataset.name, run.name, readTrace)));
    const names = [...new Set(stats.flatMap((s) => Object.keys(s.scores)))].sort();
    const runNames = [...new Set(stats.flatMap((s) => Object.keys(s.runScores)))].sort();
    replace(head, ['', 'Run', 'Created', 'Items', 'Avg latency', 'Total cost', ...names.map((n) => `avg ${n}`), ...runNames.map((n) => `run ${n}`)].map((t) => h('th', {}, t)));
    replace(body, shown.map((run, i) => {
      const box = h('input', { type: 'checkbox', 'aria-label': `Select ${run.name}`, onchange: () => { if (box.checked) chosen.add(run.name); else chosen.delete(run.name); update(); } });
      return h('tr', { dataset: { run: run.name } },
        h('td', {}, box),
        h('td', {}, h('a', { href: compare.hashFor(dataset.name, [run.name]), class: 'name' }, run.name), h('div', { class: 'muted small' }, run.description || '')),
        h('td', { title: formatTime(run.createdAt) }, relative(run.createdAt)),
        h('td', { class: 'num' }, formatCount(stats[i].items)),
        h('td', { class: 'num' }, formatDuration(stats[i].latencyMs)),
        h('td', { class: 'num' }, formatCost(stats[i].totalCost)),
        names.map((n) => h('td', { class: 'num', dataset: { score: n } }, n in stats[i].scores ? scoreBadge(n, stats[i].scores[n]) : '—')),
        runNames.map((n) => h('td', { class: 'num' }, n in stats[i].runScores ? scoreBadge(n, stats[i].runScores[n]) : '—')));
    }));
  };
  replace(head, ['', 'Run', 'Created', 'Items', 'Avg latency', 'Total cost'].map((t) => h('th', {}, t)));
  if (!runs.length) replace(body, emptyRow(6, 'No runs yet. Run an experiment with the SDK: dataset.run_experiment(name=…, task=…, evaluators=[…]).'));
  else fill().catch((error) => replace(body, h('tr', {}, h('td', { colspan: 6 }, errorBox(error)))));
  return [h('div', { class: 'filters' }, compareButton,
    runs.length > MAX_RUNS_AGGREGATED ? h('span', { class: 'muted small' }, `Aggregates of the newest ${MAX_RUNS_AGGREGATED} runs.`) : null),
  h('div', { class: 'table-wrap' }, h('table', { class: 'table', id: 'runs-table' }, h('thead', {}, head), body))];
}

async function datasetPage(main, route) {
  const name = route.parts[1];
  const tab = route.params.get('tab') || 'items';
  replace(main, loading('dataset'));
  const readTrace = traceCache();
  const load = async () => {
    const [dataset, items, runs] = await Promise.all([
      api('/v2/datasets/' + encodeURIComponent(name)),
      datasetItems(name),
      api(datasetPath(name) + '/runs', { params: { limit: 100 } }).then((r) => r.data),
    ]);
    replace(main,
      h('div', { class: 'page-head' },
        h('a', { href: '#/datasets', class: 'back', title: 'Back to datasets (Esc)' }, '←'),
        h('h1', {}, dataset.name), h('span', { class: 'muted' }, dataset.description || '')),
      h('div', { class: 'stats' }, stat('Items', formatCount(items.length), 'stat-items'),
        stat('Active', formatCount(items.filter((i) => i.status === 'ACTIVE').length)),
        stat('Runs', formatCount(runs.length), 'stat-runs'), stat('Created', formatTime(dataset.createdAt))),
      dataset.metadata ? facts([['Metadata', JSON.stringify(dataset.metadata)]]) : null,
      tabs([['items', `Items (${items.length})`, datasetHash(name, 'items')], ['runs', `Runs (${runs.length})`, datasetHash(name, 'runs')]], tab),
      tab === 'runs' ? runsTable(dataset, runs, readTrace) : itemsTable(items));
  };
  await load().catch((error) => replace(main, h('a', { href: '#/datasets' }, '← Datasets'), errorBox(error)));
  return { keys: { r: load, Escape: () => { location.hash = '#/datasets'; } } };
}

export function mount(main, route) {
  if (route.parts[2] === 'compare') return compare.mount(main, route);
  return route.parts.length > 1 ? datasetPage(main, route) : listPage(main, route);
}
