// Backfills of an evaluator: run it over a past time range. Two steps: an estimate
// (`POST /evaluators/{id}/backfills` with `dryRun: true`: targets, expected jobs, tokens,
// cost), then the start; each backfill shows a progress bar (done / total), its rate and ETA,
// and pause / resume / cancel (`POST …/backfills/{backfillId}/{action}`).

import { api } from './api.js';
import { badge, h, replace } from './dom.js';
import { formatCost, formatCount, formatDuration, formatTime, relative } from './format.js';

const POLL_MS = 1000;
const STATE_KINDS = { running: 'info', pending: 'warn', paused: 'muted', completed: 'ok', cancelled: 'muted', failed: 'error' };
const FINAL = new Set(['completed', 'cancelled', 'failed']);
const DAY_MS = 864e5;

function localInput(ms) {
  const d = new Date(ms);
  const pad = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

function stateOf(backfill) {
  return String(backfill.state || backfill.status || 'pending').toLowerCase();
}

function estimateView(estimate) {
  const cost = estimate.estimatedCostUsd;
  return h('div', { class: 'stats', id: 'backfill-estimate' },
    h('div', { class: 'stat' }, h('div', { class: 'stat-label' }, 'Targets in range'), h('div', { class: 'stat-value' }, formatCount(estimate.targets))),
    h('div', { class: 'stat' }, h('div', { class: 'stat-label' }, 'Matching'), h('div', { class: 'stat-value' }, formatCount(estimate.matchingTargets))),
    h('div', { class: 'stat' }, h('div', { class: 'stat-label' }, 'Judge calls'), h('div', { class: 'stat-value', id: 'estimate-jobs' }, formatCount(estimate.expectedJobs))),
    h('div', { class: 'stat' }, h('div', { class: 'stat-label' }, 'Tokens'), h('div', { class: 'stat-value' }, formatCount(estimate.estimatedTokens))),
    h('div', { class: 'stat' }, h('div', { class: 'stat-label' }, `Cost (${estimate.model || 'model'})`),
      h('div', { class: 'stat-value' }, cost === null || cost === undefined ? 'unpriced' : formatCost(cost))));
}

function progressRow(backfill, act) {
  const state = stateOf(backfill);
  const total = Math.max(backfill.total || 0, 0);
  const done = Math.min(backfill.done || 0, total || backfill.done || 0);
  const percent = total ? Math.round((done / total) * 100) : state === 'completed' ? 100 : 0;
  const fill = h('div', { class: 'progress-fill' + (state === 'completed' ? ' done' : '') });
  fill.style.width = `${percent}%`;
  const rate = backfill.rate ?? backfill.ratePerSecond;
  const eta = backfill.etaSeconds;
  const button = (action, label) => h('button', { type: 'button', class: 'ghost small', dataset: { action }, onclick: () => act(backfill, action) }, label);
  return h('li', { class: 'backfill', dataset: { backfillId: backfill.id, state } },
    h('div', { class: 'backfill-head' },
      badge(state, STATE_KINDS[state]),
      h('span', { class: 'small' }, `${formatTime(backfill.fromTimestamp || backfill.from)} → ${formatTime(backfill.toTimestamp || backfill.to)}`),
      h('span', { class: 'muted small' }, relative(backfill.createdAt)),
      h('span', { class: 'spacer' }),
      state === 'running' || state === 'pending' ? button('pause', 'Pause') : null,
      state === 'paused' ? button('resume', 'Resume') : null,
      FINAL.has(state) ? null : button('cancel', 'Cancel')),
    h('div', { class: 'progress', role: 'progressbar', 'aria-valuemin': '0', 'aria-valuemax': String(total), 'aria-valuenow': String(done) }, fill),
    h('div', { class: 'muted small backfill-numbers' },
      `${formatCount(done)} / ${formatCount(total)} targets (${percent}%)`,
      backfill.emitted !== undefined ? ` · ${formatCount(backfill.emitted)} jobs` : '',
      backfill.skipped ? ` · ${formatCount(backfill.skipped)} already judged` : '',
      rate ? ` · ${rate.toFixed(1)}/s` : '',
      eta !== null && eta !== undefined && !FINAL.has(state) ? ` · ETA ${formatDuration(eta * 1000)}` : '',
      backfill.reason ? ` · ${backfill.reason}` : ''));
}

/** Returns `{element, stop}`: the backfill card of `evaluator`; `changed()` runs on progress. */
export function backfillPanel(evaluator, changed) {
  const path = `/evaluators/${encodeURIComponent(evaluator.id)}/backfills`;
  const now = Date.now();
  const from = h('input', { type: 'datetime-local', id: 'backfill-from', value: localInput(now - 7 * DAY_MS) });
  const to = h('input', { type: 'datetime-local', id: 'backfill-to', value: localInput(now + 60000) });
  const maxJobs = h('input', { type: 'number', id: 'backfill-max-jobs', min: '1', placeholder: 'no limit', class: 'narrow' });
  const estimateBox = h('div');
  const message = h('div', { class: 'form-message', role: 'status', id: 'backfill-message' });
  const listBox = h('ul', { class: 'backfills', id: 'backfills' });
  const start = h('button', { type: 'button', class: 'primary', id: 'backfill-start', hidden: true }, 'Start backfill');
  let timer = null;
  let stopped = false;

  const body = (dryRun) => {
    const request = { fromTimestamp: new Date(from.value).toISOString(), toTimestamp: new Date(to.value).toISOString(), dryRun };
    if (maxJobs.value) request.budget = { maxJobs: Number(maxJobs.value) };
    return request;
  };
  const act = async (backfill, action) => {
    try {
      await api(`${path}/${encodeURIComponent(backfill.id)}/${action}`, { method: 'POST' });
      await poll();
    } catch (error) {
      replace(message, h('span', { class: 'error-text' }, error.message));
    }
  };
  const poll = async () => {
    if (stopped) return;
    clearTimeout(timer);
    try {
      const result = await api(path, { params: { limit: 20 } });
      const backfills = result.data || [];
      replace(listBox, backfills.length ? backfills.map((b) => progressRow(b, act)) : h('li', { class: 'muted small' }, 'No backfills yet.'));
      if (backfills.some((b) => !FINAL.has(stateOf(b)))) {
        timer = setTimeout(() => { poll(); changed(); }, POLL_MS);
      }
    } catch (error) {
      if (error.status === 404 || error.status === 405) {
        replace(card, h('h3', {}, 'Backfill'), h('p', { class: 'muted small' }, 'Backfills are not available on this server.'));
        return;
      }
      replace(message, h('span', { class: 'error-text' }, error.message));
    }
  };
  const estimate = h('button', {
    type: 'submit', id: 'backfill-estimate-button',
  }, 'Estimate');
  const form = h('form', {
    class: 'filters', id: 'backfill-form',
    onsubmit: async (event) => {
      event.preventDefault();
      replace(message, 'Estimating…');
      start.hidden = true;
      try {
        const result = await api(path, { method: 'POST', body: body(true) });
        replace(estimateBox, estimateView(result.estimate || result));
        replace(message, 'Check the estimate, then start.');
        start.hidden = false;
      } catch (error) {
        replace(message, h('span', { class: 'error-text' }, error.message));
      }
    },
  }, h('label', { for: 'backfill-from' }, 'From'), from, h('label', { for: 'backfill-to' }, 'To'), to,
  h('label', { for: 'backfill-max-jobs' }, 'At most'), maxJobs, h('span', { class: 'muted small' }, 'jobs'), estimate, start);
  start.addEventListener('click', async () => {
    start.disabled = true;
    try {
      await api(path, { method: 'POST', body: body(false) });
      replace(message, 'Backfill started.');
      start.hidden = true;
      replace(estimateBox);
      await poll();
    } catch (error) {
      replace(message, h('span', { class: 'error-text' }, error.message));
    } finally {
      start.disabled = false;
    }
  });
  const card = h('section', { class: 'card', id: 'backfill-card' },
    h('h3', {}, 'Backfill over history'),
    h('p', { class: 'muted small' }, 'Judge the records of a past time range that match this evaluator. Records it already judged at this version are skipped.'),
    form, estimateBox, message, listBox);
  poll();
  return { element: card, stop: () => { stopped = true; clearTimeout(timer); } };
}
