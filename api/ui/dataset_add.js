// "Add to dataset" on a trace page: turns the trace (or the selected observation) into a
// dataset item, with its input and output as the item's input and expected output, editable
// first, and the trace as the item's source (`POST /dataset-items` with `sourceTraceId`).

import { api } from './api.js';
import { h, replace } from './dom.js';

const NEW_DATASET = '\u0000new';

function pretty(value) {
  return value === null || value === undefined ? '' : JSON.stringify(value, null, 2);
}

/** Parses a JSON field; empty means "not set", and text that is not JSON is kept as text. */
function parseField(text) {
  const trimmed = text.trim();
  if (!trimmed) return undefined;
  try {
    return JSON.parse(trimmed);
  } catch (error) {
    return trimmed;
  }
}

/** Returns the card; `view.selectedObservationId()` names the observation to use. */
export function addToDatasetCard(trace, view) {
  const select = h('select', { id: 'dataset-select', name: 'dataset', required: true }, h('option', { value: '' }, 'Loading datasets…'));
  const newName = h('input', { id: 'new-dataset-name', placeholder: 'New dataset name', hidden: true });
  const source = h('select', { id: 'dataset-source' }, h('option', { value: 'trace' }, 'the trace'), h('option', { value: 'selected' }, 'the selected observation'));
  const input = h('textarea', { id: 'item-input', rows: 5, spellcheck: 'false' });
  const expected = h('textarea', { id: 'item-expected', rows: 4, spellcheck: 'false' });
  const metadata = h('textarea', { id: 'item-metadata', rows: 2, spellcheck: 'false', placeholder: '{"note": "…"} (optional)' });
  const message = h('div', { class: 'form-message', role: 'status', id: 'dataset-message' });
  const submit = h('button', { type: 'submit', class: 'primary' }, 'Add item');
  const observation = () => {
    const id = source.value === 'selected' ? view.selectedObservationId() : null;
    return id ? (trace.observations || []).find((o) => o.id === id) || null : null;
  };
  const prefill = () => {
    const from = observation() || trace;
    input.value = pretty(from.input);
    expected.value = pretty(from.output);
  };
  source.addEventListener('change', prefill);
  select.addEventListener('change', () => { newName.hidden = select.value !== NEW_DATASET; });
  prefill();
  api('/v2/datasets', { params: { limit: 100 } }).then((result) => {
    replace(select, h('option', { value: '' }, 'Choose a dataset…'),
      result.data.map((d) => h('option', { value: d.name }, d.name)), h('option', { value: NEW_DATASET }, 'New dataset…'));
  }).catch((error) => replace(message, h('span', { class: 'error-text' }, error.message)));

  const form = h('form', {
    id: 'add-to-dataset', class: 'form-grid',
    onsubmit: async (event) => {
      event.preventDefault();
      const creating = select.value === NEW_DATASET;
      const datasetName = creating ? newName.value.trim() : select.value;
      if (!datasetName) {
        replace(message, h('span', { class: 'error-text' }, 'Choose a dataset or name a new one.'));
        return;
      }
      const picked = observation();
      const body = { datasetName, input: parseField(input.value), expectedOutput: parseField(expected.value), sourceTraceId: trace.id };
      if (picked) body.sourceObservationId = picked.id;
      if (metadata.value.trim()) body.metadata = parseField(metadata.value);
      submit.disabled = true;
      replace(message, 'Saving…');
      try {
        if (creating) await api('/v2/datasets', { method: 'POST', body: { name: datasetName } });
        const item = await api('/dataset-items', { method: 'POST', body });
        replace(message, 'Added item ', h('span', { class: 'mono' }, item.id), ' to ',
          h('a', { href: '#/datasets/' + encodeURIComponent(datasetName), id: 'dataset-link' }, datasetName), '.');
      } catch (error) {
        replace(message, h('span', { class: 'error-text' }, error.message));
      } finally {
        submit.disabled = false;
      }
    },
  },
  h('label', { for: 'dataset-select' }, 'Dataset'), h('span', { class: 'inline-pair' }, select, newName),
  h('label', { for: 'dataset-source' }, 'From'), source,
  h('label', { for: 'item-input' }, 'Input'), input,
  h('label', { for: 'item-expected' }, 'Expected output'), expected,
  h('label', { for: 'item-metadata' }, 'Metadata'), metadata,
  submit, message);
  return h('section', { class: 'card' }, h('h3', {}, 'Add to dataset'), form);
}
