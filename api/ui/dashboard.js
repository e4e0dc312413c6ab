// The dashboard (`#/dashboard`): volume, cost, tokens, latency and scores over time, and
// breakdowns by model, user, environment and trace name, as inline SVG (charts.js). The
// numbers come from dashboard_data.js; the range and filters live in the URL.

import { errorBox, h, loading, replace } from './dom.js';
import { formatCost, formatCount, formatDuration } from './format.js';
import { breakdown, lineChart, stackedBars } from './charts.js';
import { SAMPLE_CAP, loadDashboard } from './dashboard_data.js';
import { stat } from './widgets.js';

const RANGES = [['1', 'Last 24 hours'], ['7', 'Last 7 days'], ['30', 'Last 30 days'], ['90', 'Last 90 days']];
const TOP = 8;

function filterForm(params) {
  const range = h('select', { id: 'dash-range', name: 'days' }, RANGES.map(([v, l]) => h('option', { value: v, selected: (params.get('days') || '7') === v }, l)));
  const inputs = [['environment', 'Environment'], ['traceName', 'Trace name'], ['userId', 'User']].map(([name, label]) => h('input', { id: `dash-${name}`, name, placeholder: label, value: params.get(name) || '' }));
  return h('form', {
    class: 'filters', id: 'dashboard-filters',
    onsubmit: (event) => {
      event.preventDefault();
      const next = new URLSearchParams();
      next.set('days', range.value);
      for (const input of inputs) if (input.value.trim()) next.set(input.name, input.value.trim());
      location.hash = '#/dashboard?' + next;
    },
  }, range, inputs, h('button', { type: 'submit', class: 'primary' }, 'Apply'));
}

function charts(data) {
  const { labels, daily } = data;
  const byDate = new Map(daily.map((d) => [d.date, d]));
  const models = [...new Set(daily.flatMap((d) => (d.usage || []).map((u) => u.model)))].sort();
  const modelSeries = (field) => models.map((model) => ({
    name: model,
    values: labels.map((date) => ((byDate.get(date) && byDate.get(date).usage) || []).filter((u) => u.model === model).reduce((s, u) => s + (u[field] || 0), 0)),
  }));
  const usage = daily.flatMap((d) => d.usage || []);
  const sum = (items, field) => items.reduce((s, x) => s + (x[field] || 0), 0);
  const scoreFormat = (v) => (Math.abs(v) >= 10 ? v.toFixed(0) : v.toFixed(2));
  return [
    h('div', { class: 'stats' },
      stat('Traces', formatCount(sum(daily, 'countTraces')), 'dash-traces'),
      stat('Observations', formatCount(sum(daily, 'countObservations'))),
      stat('Cost', formatCost(sum(daily, 'totalCost')), 'dash-cost'),
      stat('Tokens', formatCount(sum(usage, 'totalUsage')), 'dash-tokens'),
      stat('p50 latency', formatDuration(data.latencyOverall.p50)),
      stat('p95 latency', formatDuration(data.latencyOverall.p95))),
    h('div', { class: 'chart-grid', dataset: { source: data.source } },
      lineChart('Volume per day', 'chart-volume', labels, [
        { name: 'traces', values: labels.map((d) => (byDate.get(d) ? byDate.get(d).countTraces : 0)) },
        { name: 'observations', values: labels.map((d) => (byDate.get(d) ? byDate.get(d).countObservations : 0)) },
      ], formatCount),
      stackedBars('Cost per day by model', 'chart-cost', labels, modelSeries('totalCost'), formatCost),
      stackedBars('Tokens per day by model', 'chart-tokens', labels, modelSeries('totalUsage'), formatCount),
      lineChart('Trace latency per day', 'chart-latency', labels, data.latencyByDay, formatDuration),
      lineChart('Average score per day', 'chart-scores', labels, data.scoreSeries, scoreFormat),
      breakdown('Cost by model', 'by-model', models.map((model) => [model, sum(usage.filter((u) => u.model === model), 'totalCost')]).sort((a, b) => b[1] - a[1]).slice(0, TOP), formatCost),
      breakdown('Traces by user', 'by-user', data.byUser, formatCount),
      breakdown('Cost by user', 'by-user-cost', data.costByUser, formatCost),
      breakdown('Traces by environment', 'by-environment', data.byEnvironment, formatCount),
      breakdown('Latency p95 by trace name', 'by-name-latency', data.latencyByName, formatDuration)),
    data.capped
      ? h('p', { class: 'muted small' }, `Latency, users, environments and scores are computed from the newest ${SAMPLE_CAP} traces and scores of the range.`) : null,
  ];
}

export async function mount(main, route) {
  const params = route.params;
  const body = h('div', { id: 'dashboard' }, loading('metrics'));
  replace(main, h('div', { class: 'page-head' }, h('h1', {}, 'Dashboard')), filterForm(params), body);
  const load = async () => {
    try {
      const environment = (params.get('environment') || '').split(',').map((e) => e.trim()).filter(Boolean);
      const filters = { environment, traceName: params.get('traceName') || '', userId: params.get('userId') || '' };
      replace(body, charts(await loadDashboard(Number(params.get('days') || 7), filters)));
    } catch (error) {
      replace(body, errorBox(error));
    }
  };
  await load();
  return { keys: { r: load, '/': () => document.getElementById('dash-environment').focus() } };
}
