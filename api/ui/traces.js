// The traces list: filters (time range, name, user, session, tags, environment, release, and
// the value filters of trace_filters.js) kept in the URL hash, pagination, and a "Live" toggle
// that reloads every few seconds.

import { api } from './api.js';
import { badge, errorBox, h, replace } from './dom.js';
import { formatCost, formatDuration, formatTime, relative } from './format.js';
import { rowKeys } from './keys.js';
import { valueControls, valueParams } from './trace_filters.js';

const LIVE_INTERVAL_MS = 5000;
const RANGES = [
  ['', 'All time'], ['15m', 'Last 15 minutes'], ['1h', 'Last hour'], ['24h', 'Last 24 hours'],
  ['7d', 'Last 7 days'], ['30d', 'Last 30 days'], ['custom', 'Custom…'],
];
const RANGE_MS = { '15m': 9e5, '1h': 36e5, '24h': 864e5, '7d': 6048e5, '30d': 2592e6 };
const TEXT_FILTERS = [
  ['name', 'Name'], ['userId', 'User'], ['sessionId', 'Session'], ['tags', 'Tags (comma separated, all must match)'],
  ['environment', 'Environment (comma separated, any)'], ['release', 'Release'],
];
const LIMITS = [25, 50, 100];

function list(text) {
  return (text || '').split(',').map((t) => t.trim()).filter(Boolean);
}

function localInput(iso) {
  if (!iso) return '';
  const d = new Date(iso);
  const pad = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

/** Turns the hash's filters into `GET /traces` parameters (times are resolved now). */
export function apiParams(filters) {
  const params = {
    page: filters.get('page') || 1,
    limit: filters.get('limit') || 50,
    name: filters.get('name'),
    userId: filters.get('userId'),
    sessionId: filters.get('sessionId'),
    release: filters.get('release'),
    tags: list(filters.get('tags')),
    environment: list(filters.get('environment')),
    ...valueParams(filters),
  };
  const range = filters.get('range');
  if (RANGE_MS[range]) params.fromTimestamp = new Date(Date.now() - RANGE_MS[range]).toISOString();
  if (range === 'custom') {
    params.fromTimestamp = filters.get('from');
    params.toTimestamp = filters.get('to');
  }
  return params;
}

function navigate(filters) {
  const search = new URLSearchParams();
  for (const [key, value] of filters) if (value) search.set(key, value);
  const text = search.toString();
  location.hash = '#/traces' + (text ? '?' + text : '');
}

function filterForm(filters) {
  const range = h('select', { id: 'filter-range', name: 'range' },
    RANGES.map(([value, label]) => h('option', { value, selected: (filters.get('range') || '') === value }, label)));
  const from = h('input', { type: 'datetime-local', name: 'from', id: 'filter-from', value: localInput(filters.get('from')) });
  const to = h('input', { type: 'datetime-local', name: 'to', id: 'filter-to', value: localInput(filters.get('to')) });
  const custom = h('span', { class: 'custom-range' }, h('label', { for: 'filter-from' }, 'From'), from, h('label', { for: 'filter-to' }, 'To'), to);
  custom.hidden = range.value !== 'custom';
  range.addEventListener('change', () => { custom.hidden = range.value !== 'custom'; });
  const values = valueControls(filters);
  const inputs = TEXT_FILTERS.map(([key, label]) => h('input', {
    id: `filter-${key}`, name: key, placeholder: label.split(' (')[0], title: label, value: filters.get(key) || '',
  }));
  const form = h('form', {
    class: 'filters', id: 'trace-filters',
    onsubmit: (event) => {
      event.preventDefault();
      const next = new URLSearchParams();
      for (const input of inputs) if (input.value.trim()) next.set(input.name, input.value.trim());
      values.write(next);
      if (range.value) next.set('range', range.value);
      if (range.value === 'custom') {
        if (from.value) next.set('from', new Date(from.value).toISOString());
        if (to.value) next.set('to', new Date(to.value).toISOString());
      }
      if (filters.get('limit')) next.set('limit', filters.get('limit'));
      navigate(next);
    },
  }, inputs, range, custom, values.nodes,
  h('button', { type: 'submit', class: 'primary' }, 'Apply'),
  h('button', { type: 'button', class: 'ghost', onclick: () => navigate(new URLSearchParams()) }, 'Clear'));
  return form;
}

function traceRow(trace) {
  const open = () => { location.hash = '#/traces/' + encodeURIComponent(trace.id); };
  return h('tr', { class: 'clickable', tabindex: '-1', dataset: { traceId: trace.id }, onclick: open },
    h('td', { title: formatTime(trace.timestamp) }, relative(trace.timestamp)),
    h('td', {}, h('a', { href: '#/traces/' + encodeURIComponent(trace.id), class: 'name' }, trace.name || trace.id)),
    h('td', { class: 'mono' }, trace.userId || ''),
    h('td', { class: 'mono' }, trace.sessionId
      ? h('a', { href: '#/sessions/' + encodeURIComponent(trace.sessionId), onclick: (e) => e.stopPropagation() }, trace.sessionId)
      : ''),
    h('td', {}, (trace.tags || []).map((t) => badge(t))),
    h('td', { class: 'num' }, formatDuration((trace.latency || 0) * 1000)),
    h('td', { class: 'num' }, formatCost(trace.totalCost)),
    h('td', {}, trace.environment || ''),
    h('td', { class: 'num' }, String((trace.observations || []).length)),
    h('td', { class: 'num' }, String((trace.scores || []).length)));
}

export function mount(main, route) {
  const filters = route.params;
  const body = h('tbody');
  const status = h('div', { class: 'pager', id: 'trace-pager' });
  const live = h('input', { type: 'checkbox', id: 'live-toggle', checked: filters.get('live') === '1' });
  const updated = h('span', { class: 'muted small', id: 'updated-at' });
  let timer = null;
  const table = h('table', { class: 'table', id: 'traces-table' },
    h('thead', {}, h('tr', {}, ['Time', 'Name', 'User', 'Session', 'Tags', 'Latency', 'Cost', 'Env', 'Obs', 'Scores'].map((t) => h('th', {}, t)))),
    body);
  const keys = rowKeys(() => [...body.querySelectorAll('tr.clickable')], (row) => row.click());

  const load = async () => {
    try {
      const result = await api('/traces', { params: apiParams(filters) });
      keys.reset();
      replace(body, result.data.length ? result.data.map(traceRow)
        : h('tr', {}, h('td', { colspan: 10, class: 'muted empty' }, 'No traces match these filters.')));
      pager(result.meta);
      replace(updated, 'Updated ' + new Date().toLocaleTimeString());
    } catch (error) {
      replace(body, h('tr', {}, h('td', { colspan: 10 }, errorBox(error))));
    }
  };
  const pager = (meta) => {
    const page = meta.page || 1;
    const pages = Math.max(meta.totalPages || 1, 1);
    const go = (target) => {
      const next = new URLSearchParams(filters);
      next.set('page', String(target));
      navigate(next);
    };
    const limit = h('select', {
      id: 'page-size', 'aria-label': 'Rows per page',
      onchange: () => {
        const next = new URLSearchParams(filters);
        next.set('limit', limit.value);
        next.delete('page');
        navigate(next);
      },
    }, LIMITS.map((n) => h('option', { value: String(n), selected: String(meta.limit) === String(n) }, `${n} per page`)));
    replace(status,
      h('span', { class: 'muted' }, `${meta.totalItems} traces · page ${page} of ${pages}`),
      h('button', { class: 'ghost', type: 'button', disabled: page <= 1, onclick: () => go(page - 1), id: 'prev-page' }, '← Prev'),
      h('button', { class: 'ghost', type: 'button', disabled: page >= pages, onclick: () => go(page + 1), id: 'next-page' }, 'Next →'),
      limit);
  };
  const setLive = (on) => {
    if (timer) clearInterval(timer);
    timer = on ? setInterval(() => { if (!document.hidden) load(); }, LIVE_INTERVAL_MS) : null;
  };
  live.addEventListener('change', () => {
    setLive(live.checked);
    const next = new URLSearchParams(filters);
    if (live.checked) next.set('live', '1'); else next.delete('live');
    history.replaceState(null, '', '#/traces' + (next.toString() ? '?' + next : ''));
  });

  replace(main,
    h('div', { class: 'page-head' }, h('h1', {}, 'Traces'),
      h('label', { class: 'toggle', for: 'live-toggle', title: `Reload every ${LIVE_INTERVAL_MS / 1000}s` }, live, ' Live'),
      updated),
    filterForm(filters),
    h('div', { class: 'table-wrap' }, table),
    status);
  setLive(live.checked);
  load();
  return {
    unmount: () => setLive(false),
    keys: {
      j: keys.j, k: keys.k, Enter: keys.Enter, r: load,
      '/': () => document.getElementById('filter-name').focus(),
    },
  };
}
