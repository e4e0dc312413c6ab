// One trace: actions (share toggle and link, related filters), the trace view, an
// "annotate" form that adds a score through `POST /api/public/scores`, and "add to dataset".

import { api, publicRead } from './api.js';
import { copy, errorBox, h, loading, replace } from './dom.js';
import { addToDatasetCard } from './dataset_add.js';
import { traceView } from './trace_view.js';

const SCORE_WAIT_MS = 10000;

export function shareUrl(traceId) {
  return `${location.origin}/ui/share/traces/${encodeURIComponent(traceId)}`;
}

async function isShared(trace) {
  if (trace.public) return true;
  return (await publicRead('/share/traces/' + encodeURIComponent(trace.id))) !== null;
}

function shareControls(trace, shared) {
  const link = h('a', { id: 'share-link', href: shareUrl(trace.id), target: '_blank', rel: 'noopener noreferrer' }, shareUrl(trace.id));
  const copied = h('span', { class: 'muted small' });
  const json = h('a', { href: '/api/public/share/traces/' + encodeURIComponent(trace.id), target: '_blank', rel: 'noopener noreferrer', title: 'The same trace as JSON, without credentials' }, 'JSON');
  const linkBox = h('span', { class: 'share-link' }, link, json,
    h('button', { type: 'button', class: 'ghost small', onclick: async () => { copied.textContent = (await copy(link.href)) ? 'copied' : 'copy failed'; } }, 'Copy'),
    copied);
  linkBox.hidden = !shared;
  const message = h('span', { class: 'small', role: 'status' });
  const toggle = h('input', {
    type: 'checkbox', id: 'share-toggle', checked: shared,
    onchange: async () => {
      toggle.disabled = true;
      try {
        await api('/traces/' + encodeURIComponent(trace.id), { method: 'PATCH', body: { public: toggle.checked } });
        linkBox.hidden = !toggle.checked;
        replace(message, toggle.checked ? 'Anyone with the link can view this trace.' : 'Sharing is off.');
      } catch (error) {
        toggle.checked = !toggle.checked;
        replace(message, h('span', { class: 'error-text' }, error.message));
      } finally {
        toggle.disabled = false;
      }
    },
  });
  return h('div', { class: 'share' }, h('label', { class: 'toggle', for: 'share-toggle' }, toggle, ' Share publicly'), linkBox, message);
}

function valueInput(dataType) {
  if (dataType === 'BOOLEAN') {
    return h('select', { id: 'score-value', name: 'value' }, h('option', { value: '1' }, 'true'), h('option', { value: '0' }, 'false'));
  }
  if (dataType === 'CATEGORICAL') return h('input', { id: 'score-value', name: 'value', required: true, placeholder: 'e.g. good' });
  return h('input', { id: 'score-value', name: 'value', type: 'number', step: 'any', required: true, placeholder: 'e.g. 0.9' });
}

function annotateForm(trace, view, reload) {
  const name = h('input', { id: 'score-name', name: 'name', required: true, placeholder: 'e.g. correctness' });
  const dataType = h('select', { id: 'score-type', name: 'dataType' },
    ['NUMERIC', 'CATEGORICAL', 'BOOLEAN'].map((t) => h('option', { value: t }, t.toLowerCase())));
  let value = valueInput('NUMERIC');
  const valueSlot = h('span', {}, value);
  dataType.addEventListener('change', () => { value = valueInput(dataType.value); replace(valueSlot, value); });
  const comment = h('input', { id: 'score-comment', name: 'comment', placeholder: 'Comment (optional)' });
  const target = h('select', { id: 'score-target', name: 'target' }, h('option', { value: 'trace' }, 'the trace'), h('option', { value: 'selected' }, 'the selected observation'));
  const message = h('div', { class: 'form-message', role: 'status', id: 'score-message' });
  const submit = h('button', { type: 'submit', class: 'primary' }, 'Add score');
  const form = h('form', {
    id: 'annotate-form', class: 'annotate',
    onsubmit: async (event) => {
      event.preventDefault();
      const observationId = target.value === 'selected' ? view.selectedObservationId() : null;
      const body = {
        traceId: trace.id, name: name.value.trim(), dataType: dataType.value,
        value: dataType.value === 'CATEGORICAL' ? value.value.trim() : Number(value.value),
      };
      if (observationId) body.observationId = observationId;
      if (comment.value.trim()) body.comment = comment.value.trim();
      submit.disabled = true;
      replace(message, 'Saving…');
      try {
        const created = await api('/scores', { method: 'POST', body, base: '/ui/api' });
        replace(message, 'Saved; waiting for it to be queryable…');
        await waitForScore(created && created.id);
        replace(message, 'Score added.');
        form.reset();
        await reload();
      } catch (error) {
        replace(message, h('span', { class: 'error-text' }, error.message));
      } finally {
        submit.disabled = false;
      }
    },
  },
  h('label', { for: 'score-name' }, 'Name'), name,
  h('label', { for: 'score-type' }, 'Type'), dataType,
  h('label', { for: 'score-value' }, 'Value'), valueSlot,
  h('label', { for: 'score-target' }, 'On'), target,
  h('label', { for: 'score-comment' }, 'Comment'), comment,
  submit, message);
  return h('section', { class: 'card' }, h('h3', {}, 'Annotate'), form);
}

/** Waits until the accepted score is readable (ingest is asynchronous). */
async function waitForScore(id) {
  if (!id) return;
  const deadline = Date.now() + SCORE_WAIT_MS;
  while (Date.now() < deadline) {
    try {
      await api('/scores/' + encodeURIComponent(id));
      return;
    } catch (error) {
      if (error.status !== 404) throw error;
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

function header(trace) {
  const links = [];
  if (trace.sessionId) links.push(h('a', { href: '#/sessions/' + encodeURIComponent(trace.sessionId) }, 'Session'));
  if (trace.sessionId) links.push(h('a', { href: '#/traces?sessionId=' + encodeURIComponent(trace.sessionId) }, 'Traces in session'));
  if (trace.userId) links.push(h('a', { href: '#/traces?userId=' + encodeURIComponent(trace.userId) }, 'Traces of user'));
  return h('div', { class: 'page-head' },
    h('a', { href: '#/traces', class: 'back', title: 'Back to traces (Esc)' }, '←'),
    h('h1', {}, trace.name || 'Trace'),
    h('span', { class: 'mono muted small' }, trace.id),
    h('span', { class: 'spacer' }),
    h('span', { class: 'links' }, links));
}

export async function mount(main, route) {
  const traceId = route.parts[1];
  replace(main, loading('trace'));
  let view = null;
  let selectedId = null;
  const render = async () => {
    const trace = await api('/traces/' + encodeURIComponent(traceId));
    const shared = await isShared(trace);
    view = traceView(trace, { selectedId, onSelect: (id) => { selectedId = id; } });
    replace(main, header(trace), shareControls(trace, shared), view.element, annotateForm(trace, view, render),
      addToDatasetCard(trace, view));
  };
  try {
    await render();
  } catch (error) {
    replace(main, h('a', { href: '#/traces' }, '← Traces'), errorBox(error));
  }
  return {
    keys: {
      j: () => view && view.move(1),
      k: () => view && view.move(-1),
      r: () => render().catch((error) => replace(main, errorBox(error))),
      Escape: () => { location.hash = '#/traces'; },
    },
  };
}
