// Annotation queues: the list with progress, and a queue worked item by item. The current
// item's trace is shown with the usual trace view; the form holds one field per score config
// of the queue, and "Save & complete" sends the scores and the status in one
// `PATCH /annotation-queues/{q}/items/{i}` (the server writes them with source ANNOTATION).

import { api } from './api.js';
import { badge, errorBox, h, loading, replace } from './dom.js';
import { formatTime, relative } from './format.js';
import { rowKeys } from './keys.js';
import { traceView } from './trace_view.js';
import { allPages, emptyRow, stat } from './widgets.js';

function queuePath(id) {
  return '/annotation-queues/' + encodeURIComponent(id);
}

async function counts(queueId) {
  const [pending, completed] = await Promise.all(['PENDING', 'COMPLETED'].map((status) => api(queuePath(queueId) + '/items', { params: { status, limit: 1 } }).then((r) => r.meta.totalItems)));
  return { pending, completed };
}

async function listPage(main) {
  const body = h('tbody');
  const keys = rowKeys(() => [...body.querySelectorAll('tr.clickable')], (row) => row.click());
  const load = async () => {
    try {
      const queues = await allPages((page) => api('/annotation-queues', { params: { page, limit: 100 } }), 500);
      const progress = await Promise.all(queues.map((q) => counts(q.id)));
      keys.reset();
      replace(body, queues.length ? queues.map((q, i) => h('tr', {
        class: 'clickable', tabindex: '-1', dataset: { queueId: q.id, queue: q.name },
        onclick: () => { location.hash = '#/queues/' + encodeURIComponent(q.id); },
      },
      h('td', {}, h('a', { href: '#/queues/' + encodeURIComponent(q.id), class: 'name' }, q.name)),
      h('td', { class: 'muted' }, q.description || ''),
      h('td', { class: 'num' }, String(q.scoreConfigIds.length)),
      h('td', { class: 'num' }, String(progress[i].pending)),
      h('td', { class: 'num' }, `${progress[i].completed} / ${progress[i].pending + progress[i].completed}`),
      h('td', { title: formatTime(q.createdAt) }, relative(q.createdAt))))
        : emptyRow(6, 'No annotation queues yet. Create one with POST /api/public/annotation-queues and add traces to it.'));
    } catch (error) {
      replace(body, h('tr', {}, h('td', { colspan: 6 }, errorBox(error))));
    }
  };
  replace(main, h('div', { class: 'page-head' }, h('h1', {}, 'Annotation queues')),
    h('div', { class: 'table-wrap' }, h('table', { class: 'table', id: 'queues-table' },
      h('thead', {}, h('tr', {}, ['Queue', 'Description', 'Score configs', 'Pending', 'Completed', 'Created'].map((t) => h('th', {}, t)))), body)));
  await load();
  return { keys: { j: keys.j, k: keys.k, Enter: keys.Enter, r: load } };
}

function configField(config) {
  const id = `queue-score-${config.id}`;
  let input;
  if (config.dataType === 'CATEGORICAL') {
    input = h('select', { id }, h('option', { value: '' }, '—'), (config.categories || []).map((c) => h('option', { value: c.label }, c.label)));
  } else if (config.dataType === 'BOOLEAN') {
    input = h('select', { id }, h('option', { value: '' }, '—'), h('option', { value: '1' }, 'true'), h('option', { value: '0' }, 'false'));
  } else {
    input = h('input', { id, type: 'number', step: 'any', min: config.minValue ?? undefined, max: config.maxValue ?? undefined,
      placeholder: config.minValue !== null && config.maxValue !== null ? `${config.minValue} – ${config.maxValue}` : 'number' });
  }
  input.dataset.config = config.name;
  const read = () => {
    if (input.value === '') return null;
    return { configId: config.id, value: config.dataType === 'CATEGORICAL' ? input.value : Number(input.value) };
  };
  return { read, element: h('label', { class: 'score-field' }, h('span', {}, config.name, ' ', badge(config.dataType.toLowerCase())),
    input, config.description ? h('span', { class: 'muted small' }, config.description) : null) };
}

async function objectView(item) {
  if (item.objectType === 'SESSION') {
    return h('p', {}, 'Session ', h('a', { href: '#/sessions/' + encodeURIComponent(item.objectId) }, item.objectId));
  }
  let traceId = item.objectId;
  let observationId = null;
  if (item.objectType === 'OBSERVATION') {
    observationId = item.objectId;
    traceId = (await api('/observations/' + encodeURIComponent(observationId))).traceId;
  }
  const trace = await api('/traces/' + encodeURIComponent(traceId));
  return h('div', {}, h('p', {}, h('a', { href: '#/traces/' + encodeURIComponent(trace.id) }, trace.name || trace.id), ' ',
    h('span', { class: 'muted small mono' }, trace.id)), traceView(trace, { selectedId: observationId }).element);
}

async function queuePage(main, route) {
  const queueId = route.parts[1];
  replace(main, loading('queue'));
  const load = async (wanted) => {
    const queue = await api(queuePath(queueId));
    const [items, configs] = await Promise.all([
      allPages((page) => api(queuePath(queueId) + '/items', { params: { page, limit: 100 } }), 1000),
      Promise.all(queue.scoreConfigIds.map((id) => api('/score-configs/' + encodeURIComponent(id)))),
    ]);
    const pending = items.filter((i) => i.status === 'PENDING');
    const current = items.find((i) => i.id === wanted) || pending[0] || null;
    const fields = configs.map(configField);
    const comment = h('input', { id: 'queue-comment', placeholder: 'Comment (optional, on every score)' });
    const message = h('div', { class: 'form-message', role: 'status', id: 'queue-message' });
    const next = () => {
      const after = pending.filter((i) => current && i.id !== current.id);
      return after.find((i) => items.indexOf(i) > items.indexOf(current)) || after[0] || null;
    };
    const save = h('button', { type: 'submit', class: 'primary', id: 'queue-complete' }, 'Save & complete');
    const form = current ? h('form', {
      id: 'queue-form', class: 'queue-form',
      onsubmit: async (event) => {
        event.preventDefault();
        const scores = fields.map((f) => f.read()).filter(Boolean);
        if (comment.value.trim()) for (const score of scores) score.comment = comment.value.trim();
        save.disabled = true;
        replace(message, 'Saving…');
        try {
          await api(`${queuePath(queueId)}/items/${encodeURIComponent(current.id)}`, { method: 'PATCH', body: { status: 'COMPLETED', scores } });
          const following = next();
          await load(following ? following.id : null);
        } catch (error) {
          replace(message, h('span', { class: 'error-text' }, error.message));
          save.disabled = false;
        }
      },
    }, fields.map((f) => f.element), h('label', { class: 'score-field', for: 'queue-comment' }, 'Comment', comment),
    h('div', { class: 'label-actions' }, save,
      h('button', { type: 'button', class: 'ghost', id: 'queue-skip', disabled: !next(), onclick: () => { const following = next(); if (following) load(following.id); } }, 'Skip'),
      current.status === 'COMPLETED' ? badge('completed', 'ok') : null),
    message) : null;
    const done = items.length - pending.length;
    const bar = h('div', { class: 'progress-fill done' });
    bar.style.width = `${items.length ? (done / items.length) * 100 : 0}%`;
    replace(main,
      h('div', { class: 'page-head' },
        h('a', { href: '#/queues', class: 'back', title: 'Back to queues (Esc)' }, '←'),
        h('h1', {}, queue.name), h('span', { class: 'muted' }, queue.description || '')),
      h('div', { class: 'stats' }, stat('Pending', String(pending.length), 'queue-pending'), stat('Completed', `${done} / ${items.length}`, 'queue-completed')),
      h('div', { class: 'progress' }, bar),
      h('div', { class: 'split prompt-split' },
        h('aside', { class: 'card first' }, h('h3', {}, 'Items'), h('ul', { class: 'versions', id: 'queue-items' }, items.map((i) => h('li', {
          class: current && i.id === current.id ? 'selected' : '', dataset: { itemId: i.id, status: i.status },
        }, h('a', { href: '#', onclick: (event) => { event.preventDefault(); load(i.id); } },
          badge(i.status.toLowerCase(), i.status === 'COMPLETED' ? 'ok' : 'warn'), ' ', h('span', { class: 'mono small' }, i.objectId.slice(0, 16)),
          h('div', { class: 'muted small' }, i.objectType.toLowerCase(), ' · ', relative(i.createdAt))))))),
        h('div', { class: 'prompt-main' },
          current ? h('section', { class: 'card first', id: 'queue-scoring' }, h('h3', {}, 'Score this ' + current.objectType.toLowerCase()), form)
            : h('section', { class: 'card first', id: 'queue-done' }, h('h3', {}, 'All done'), h('p', { class: 'muted' }, 'Every item of this queue is completed.')),
          current ? h('section', { class: 'card', id: 'queue-object' }, await objectView(current)) : null)));
  };
  await load(route.params.get('item')).catch((error) => replace(main, h('a', { href: '#/queues' }, '← Queues'), errorBox(error)));
  return { keys: { r: () => load(), Escape: () => { location.hash = '#/queues'; } } };
}

export function mount(main, route) {
  return route.parts.length > 1 ? queuePage(main, route) : listPage(main, route);
}
