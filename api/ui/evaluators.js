// Evaluators (LLM-as-a-judge): the list, and one evaluator with its settings, an on/off
// switch, the funnel (matched → sampled → queued → scored / failed by reason), its job
// executions with failure reasons, and backfills over history (backfills.js). The funnel and
// the jobs reload every few seconds while the tab is visible.

import { api } from './api.js';
import { badge, errorBox, facts, h, loading, replace } from './dom.js';
import { formatCount, formatDuration, formatTime, relative } from './format.js';
import { rowKeys } from './keys.js';
import { backfillPanel } from './backfills.js';
import * as form from './evaluator_form.js';
import { emptyRow } from './widgets.js';

const REFRESH_MS = 2000;
const STATUS_KINDS = { succeeded: 'ok', failed: 'error', running: 'info', queued: 'warn', unsampled: 'muted' };

function targetText(target) {
  if (target.type === 'observation') return ['observations', target.observationType && target.observationType.toLowerCase(), target.name && `named ${target.name}`].filter(Boolean).join(' ');
  return target.type === 'dataset_run_item' ? 'dataset run items' : 'traces';
}

function filterText(filter) {
  const parts = Object.entries(filter || {}).map(([k, v]) => `${k}: ${Array.isArray(v) ? v.join(', ') : typeof v === 'object' ? JSON.stringify(v) : v}`);
  return parts.length ? parts.join(' · ') : 'everything';
}

async function listPage(main) {
  const body = h('tbody');
  const keys = rowKeys(() => [...body.querySelectorAll('tr.clickable')], (row) => row.click());
  const load = async () => {
    try {
      const result = await api('/evaluators');
      keys.reset();
      replace(body, result.data.length ? result.data.map((e) => h('tr', {
        class: 'clickable', tabindex: '-1', dataset: { evaluatorId: e.id, scoreName: e.scoreName },
        onclick: () => { location.hash = '#/evaluators/' + encodeURIComponent(e.id); },
      },
      h('td', {}, h('a', { href: '#/evaluators/' + encodeURIComponent(e.id), class: 'name' }, e.scoreName)),
      h('td', {}, `${e.templateName} v${e.templateVersion}`),
      h('td', {}, targetText(e.target)),
      h('td', { class: 'small' }, filterText(e.filter)),
      h('td', { class: 'num' }, `${Math.round(e.samplingRate * 100)}%`),
      h('td', {}, e.active ? badge('active', 'ok') : badge('paused', 'muted')),
      h('td', { class: 'num' }, `v${e.version}`),
      h('td', { title: formatTime(e.updatedAt) }, relative(e.updatedAt))))
        : emptyRow(8, 'No evaluators yet. Create one to score traces with an LLM judge.'));
    } catch (error) {
      replace(body, h('tr', {}, h('td', { colspan: 8 }, errorBox(error))));
    }
  };
  replace(main, h('div', { class: 'page-head' }, h('h1', {}, 'Evaluators'), h('span', { class: 'spacer' }),
    h('a', { href: '#/evaluators/new', class: 'button primary', id: 'new-evaluator' }, 'New evaluator')),
  h('div', { class: 'table-wrap' }, h('table', { class: 'table', id: 'evaluators-table' },
    h('thead', {}, h('tr', {}, ['Score', 'Template', 'Target', 'Filter', 'Sampling', 'State', 'Version', 'Updated'].map((t) => h('th', {}, t)))), body)));
  await load();
  return { keys: { j: keys.j, k: keys.k, Enter: keys.Enter, r: load } };
}

/** Returns the funnel as bars sized relative to `matched`. */
function funnelView(funnel) {
  const top = Math.max(funnel.matched, 1);
  const step = (key, label, value, kind) => {
    const fill = h('div', { class: 'funnel-fill' + (kind ? ' fill-' + kind : '') });
    fill.style.width = `${Math.max(0, Math.min(100, (value / top) * 100))}%`;
    return h('div', { class: 'funnel-step', dataset: { step: key } },
      h('span', { class: 'funnel-label' }, label), h('div', { class: 'funnel-bar' }, fill),
      h('span', { class: 'funnel-value' }, formatCount(value)));
  };
  const reasons = Object.entries(funnel.failedByReason || {});
  return h('div', { class: 'funnel', id: 'funnel' },
    step('matched', 'Matched', funnel.matched),
    step('sampled', 'Sampled', funnel.sampled),
    step('queued', 'Queued', funnel.queued),
    step('pending', 'Pending', funnel.pending, 'warn'),
    step('scored', 'Scored', funnel.scored, 'ok'),
    step('failed', 'Failed', funnel.failed, 'error'),
    reasons.length ? h('div', { class: 'funnel-reasons', id: 'failure-reasons' }, 'Failures: ',
      reasons.map(([reason, count]) => badge(`${reason}: ${count}`, 'error'))) : null);
}

function jobRow(job) {
  const traceId = job.target && job.target.traceId;
  return h('tr', { dataset: { jobId: job.id, status: job.status } },
    h('td', { title: formatTime(job.createdAt) }, relative(job.createdAt)),
    h('td', {}, traceId ? h('a', { href: '#/traces/' + encodeURIComponent(traceId), class: 'mono small' }, traceId.slice(0, 12) + '…') : ''),
    h('td', {}, badge(job.status, STATUS_KINDS[job.status])),
    h('td', {}, job.failureReason ? h('span', { class: 'error-text' }, job.failureReason) : ''),
    h('td', { class: 'small' }, job.message || ''),
    h('td', { class: 'num' }, job.scoreLabel || (job.scoreValue !== null && job.scoreValue !== undefined ? String(job.scoreValue) : '')),
    h('td', { class: 'num' }, job.promptTokens ? `${formatCount(job.promptTokens)} / ${formatCount(job.completionTokens || 0)}` : ''),
    h('td', { class: 'num' }, job.latencyMs !== null && job.latencyMs !== undefined ? formatDuration(job.latencyMs) : ''),
    h('td', { class: 'num' }, String(job.attempts)),
    h('td', { class: 'num' }, `v${job.evaluatorVersion}`));
}

async function detailPage(main, route) {
  const id = route.parts[1];
  replace(main, loading('evaluator'));
  const path = '/evaluators/' + encodeURIComponent(id);
  let evaluator = await api(path);
  const [connections] = await Promise.all([api('/llm-connections').then((r) => r.data).catch(() => [])]);
  const connection = connections.find((c) => c.id === evaluator.connectionId);
  const funnelBox = h('div', {}, loading('funnel'));
  const jobsBody = h('tbody');
  const jobsMeta = h('span', { class: 'muted small' });
  const statusFilter = h('select', { id: 'job-status', 'aria-label': 'Job status' },
    ['', 'queued', 'running', 'succeeded', 'failed', 'unsampled'].map((s) => h('option', { value: s }, s || 'all statuses')));
  const activeToggle = h('input', { type: 'checkbox', id: 'evaluator-active', checked: evaluator.active });
  const toggleMessage = h('span', { class: 'small', role: 'status' });
  activeToggle.addEventListener('change', async () => {
    activeToggle.disabled = true;
    try {
      evaluator = await api(path, { method: 'PATCH', body: { active: activeToggle.checked } });
      replace(toggleMessage, activeToggle.checked ? 'Judging new records.' : 'Paused: new records are not judged.');
    } catch (error) {
      activeToggle.checked = !activeToggle.checked;
      replace(toggleMessage, h('span', { class: 'error-text' }, error.message));
    } finally {
      activeToggle.disabled = false;
    }
  });
  const refresh = async () => {
    try {
      const [funnel, jobs] = await Promise.all([
        api(path + '/funnel'),
        api(path + '/jobs', { params: { status: statusFilter.value, limit: 50 } }),
      ]);
      replace(funnelBox, funnelView(funnel));
      replace(jobsBody, jobs.data.length ? jobs.data.map(jobRow) : emptyRow(10, 'No jobs yet: they appear when a matching record arrives.'));
      replace(jobsMeta, `${jobs.meta.totalItems} jobs · updated ${new Date().toLocaleTimeString()}`);
    } catch (error) {
      replace(funnelBox, errorBox(error));
    }
  };
  statusFilter.addEventListener('change', refresh);
  const backfills = backfillPanel(evaluator, refresh);
  replace(main,
    h('div', { class: 'page-head' },
      h('a', { href: '#/evaluators', class: 'back', title: 'Back to evaluators (Esc)' }, '←'),
      h('h1', {}, evaluator.scoreName), badge(`v${evaluator.version}`), h('span', { class: 'mono muted small' }, evaluator.id),
      h('span', { class: 'spacer' }),
      h('label', { class: 'toggle', for: 'evaluator-active' }, activeToggle, ' Active'), toggleMessage),
    h('div', { class: 'split' },
      h('section', { class: 'card first' }, h('h3', {}, 'Funnel'), funnelBox),
      h('section', { class: 'card first' }, h('h3', {}, 'Settings'), facts([
        ['Template', `${evaluator.templateName} v${evaluator.templateVersion}`],
        ['Connection', connection ? `${connection.name} (${connection.baseURL})` : evaluator.connectionId],
        ['Model', evaluator.model || (connection ? `${connection.defaultModel} (default)` : 'default')],
        ['Target', targetText(evaluator.target)],
        ['Filter', filterText(evaluator.filter)],
        ['Sampling', `${evaluator.samplingRate * 100}%`],
        ['Settle window', formatDuration(evaluator.settleWindowMs)],
        ['Variables', Object.keys(evaluator.variableMapping || {}).length ? Object.entries(evaluator.variableMapping).map(([k, v]) => `${k} ← ${v}`).join(' · ') : 'defaults'],
        ['Created', formatTime(evaluator.createdAt)],
      ]))),
    backfills.element,
    h('section', { class: 'card' }, h('div', { class: 'page-head' }, h('h3', {}, 'Job executions'), statusFilter, jobsMeta),
      h('div', { class: 'table-wrap' }, h('table', { class: 'table compact', id: 'jobs-table' },
        h('thead', {}, h('tr', {}, ['Created', 'Trace', 'Status', 'Failure', 'Message', 'Score', 'Tokens (in / out)', 'Latency', 'Attempts', 'Version'].map((t) => h('th', {}, t)))),
        jobsBody))));
  await refresh();
  const timer = setInterval(() => { if (!document.hidden) refresh(); }, REFRESH_MS);
  return {
    unmount: () => { clearInterval(timer); backfills.stop(); },
    keys: { r: refresh, Escape: () => { location.hash = '#/evaluators'; } },
  };
}

export function mount(main, route) {
  if (route.parts[1] === 'new') return form.mount(main, route);
  return route.parts.length > 1 ? detailPage(main, route) : listPage(main, route);
}
