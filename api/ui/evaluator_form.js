// The "new evaluator" form (`#/evaluators/new`): template, LLM connection and model, target,
// filter, sampling, settle window and variable mapping, with a preview that renders the
// template on a real trace (or observation) chosen by id, as the runner would.

import { api } from './api.js';
import { errorBox, h, loading, replace } from './dom.js';
import { collapsible } from './values.js';
import {
  defaultPath, observationDocument, renderTemplate, resolveVariables, traceDocument,
} from './eval_paths.js';

const OBSERVATION_TYPES = ['', 'GENERATION', 'SPAN', 'EVENT', 'AGENT', 'TOOL', 'CHAIN', 'RETRIEVER', 'EVALUATOR', 'EMBEDDING', 'GUARDRAIL'];
const LEVELS = ['', 'DEBUG', 'DEFAULT', 'WARNING', 'ERROR'];

function list(text) {
  return text.split(',').map((t) => t.trim()).filter(Boolean);
}

function field(id, label, control, hint) {
  return [h('label', { for: id }, label), h('div', { class: 'field' }, control, hint ? h('div', { class: 'muted small' }, hint) : null)];
}

function select(id, options, value) {
  return h('select', { id, name: id }, options.map(([v, l]) => h('option', { value: v, selected: v === value }, l)));
}

/** Parses "key=value" lines into the filter's metadata object. */
function metadataFilter(text) {
  const out = {};
  for (const line of text.split('\n')) {
    const at = line.indexOf('=');
    if (at > 0) out[line.slice(0, at).trim()] = line.slice(at + 1).trim();
  }
  return out;
}

export async function mount(main) {
  replace(main, loading('templates and connections'));
  const [templates, connections, recent] = await Promise.all([
    api('/evaluator-templates').then((r) => r.data),
    api('/llm-connections').then((r) => r.data),
    api('/traces', { params: { limit: 20 } }).then((r) => r.data).catch(() => []),
  ]);
  const newest = new Map();
  for (const t of templates) if (!newest.has(t.name) || newest.get(t.name).version < t.version) newest.set(t.name, t);
  const byKey = new Map(templates.map((t) => [`${t.name}@${t.version}`, t]));
  const templateSelect = h('select', { id: 'ev-template', required: true },
    [...newest.values()].map((t) => h('option', { value: `${t.name}@${t.version}` }, `${t.name} (v${t.version}${t.builtIn ? ', built-in' : ''}) · ${t.outputType.toLowerCase()}`)));
  const templateInfo = h('div', { id: 'template-info' });
  const scoreName = h('input', { id: 'ev-score-name', required: true, placeholder: 'e.g. correctness' });
  const connection = select('ev-connection', connections.map((c) => [c.id, `${c.name} · ${c.defaultModel}`]));
  const model = h('input', { id: 'ev-model', placeholder: 'the connection\u2019s default model' });
  const target = select('ev-target', [['trace', 'Traces'], ['observation', 'Observations'], ['dataset_run_item', 'Dataset run items (experiments)']], 'trace');
  const obsType = select('ev-obs-type', OBSERVATION_TYPES.map((t) => [t, t ? t.toLowerCase() : 'any type']), '');
  const obsName = h('input', { id: 'ev-obs-name', placeholder: 'any name' });
  const filter = {
    name: h('input', { id: 'ev-filter-name', placeholder: 'any' }),
    tags: h('input', { id: 'ev-filter-tags', placeholder: 'all of, comma separated' }),
    environments: h('input', { id: 'ev-filter-env', placeholder: 'any of, comma separated' }),
    userId: h('input', { id: 'ev-filter-user', placeholder: 'any' }),
    sessionId: h('input', { id: 'ev-filter-session', placeholder: 'any' }),
    level: select('ev-filter-level', LEVELS.map((l) => [l, l || 'any']), ''),
    model: h('input', { id: 'ev-filter-model', placeholder: 'any' }),
    metadata: h('textarea', { id: 'ev-filter-metadata', rows: 2, placeholder: 'key=value, one per line' }),
  };
  const sampling = h('input', { id: 'ev-sampling', type: 'number', min: '0', max: '1', step: '0.05', value: '1' });
  const settle = h('input', { id: 'ev-settle', type: 'number', min: '0', max: '3600', step: 'any', value: '10' });
  const active = h('input', { id: 'ev-active', type: 'checkbox', checked: true });
  const mappingBox = h('div', { class: 'variables', id: 'ev-mapping' });
  const mappingInputs = new Map();
  const previewTrace = h('input', { id: 'preview-trace', list: 'recent-traces', placeholder: 'trace id', class: 'mono' });
  const previewObservation = h('input', { id: 'preview-observation', list: 'trace-observations', placeholder: 'observation id (observation targets)', class: 'mono' });
  const observationList = h('datalist', { id: 'trace-observations' });
  const previewOut = h('div', { id: 'preview-output' });
  const message = h('div', { class: 'form-message', role: 'status', id: 'ev-message' });
  let previewDocument = null;

  const current = () => byKey.get(templateSelect.value);
  const mapping = () => {
    const out = {};
    for (const [variable, input] of mappingInputs) if (input.value.trim()) out[variable] = input.value.trim();
    return out;
  };
  const renderPreview = () => {
    if (!previewDocument) return;
    const template = current();
    const { values, problems } = resolveVariables(previewDocument, template.variables, mapping());
    replace(previewOut,
      h('table', { class: 'table compact', id: 'preview-variables' }, h('tbody', {}, template.variables.map((v) => h('tr', { dataset: { variable: v } },
        h('td', { class: 'mono' }, v),
        h('td', {}, v in problems ? h('span', { class: 'error-text' }, problems[v]) : h('span', { class: 'mono small' }, values[v].length > 200 ? values[v].slice(0, 200) + '…' : values[v])))))),
      h('h4', {}, 'Rendered prompt'),
      collapsible(renderTemplate(template.prompt, values), 'message-text rendered-prompt'));
  };
  const showTemplate = () => {
    const template = current();
    replace(templateInfo, h('p', { class: 'muted small' }, template.description || ''), collapsible(template.prompt, 'message-text'));
    const previous = mapping();
    mappingInputs.clear();
    replace(mappingBox, template.variables.map((v) => {
      const input = h('input', { id: `map-${v}`, class: 'mono', placeholder: defaultPath(v), value: previous[v] || '', oninput: renderPreview });
      mappingInputs.set(v, input);
      return h('label', {}, `{{${v}}}`, input);
    }));
    if (!scoreName.value || [...newest.keys()].includes(scoreName.value)) scoreName.value = template.name;
    renderPreview();
  };
  const updateTarget = () => {
    const show = (element, visible) => { element.closest('.field').previousElementSibling.hidden = !visible; element.closest('.field').hidden = !visible; };
    for (const element of [obsType, obsName]) show(element, target.value === 'observation');
    for (const element of [filter.level, filter.model]) show(element, target.value !== 'trace');
    for (const element of [filter.tags, filter.userId, filter.sessionId]) show(element, target.value === 'trace');
    previewObservation.hidden = target.value === 'trace';
  };
  const loadPreview = async () => {
    replace(previewOut, loading('target'));
    try {
      const trace = await api('/traces/' + encodeURIComponent(previewTrace.value.trim()));
      replace(observationList, (trace.observations || []).map((o) => h('option', { value: o.id }, `${o.name || ''} (${o.type})`)));
      const observationId = previewObservation.value.trim();
      previewDocument = target.value !== 'trace' && observationId
        ? observationDocument(await api('/observations/' + encodeURIComponent(observationId)))
        : traceDocument(trace);
      renderPreview();
    } catch (error) {
      previewDocument = null;
      replace(previewOut, errorBox(error));
    }
  };

  const submit = h('button', { type: 'submit', class: 'primary', id: 'ev-create' }, 'Create evaluator');
  const form = h('form', {
    id: 'evaluator-form', class: 'form-grid',
    onsubmit: async (event) => {
      event.preventDefault();
      const template = current();
      const targetBody = { type: target.value };
      if (target.value === 'observation') {
        if (obsType.value) targetBody.observationType = obsType.value;
        if (obsName.value.trim()) targetBody.name = obsName.value.trim();
      }
      const filterBody = {};
      if (filter.name.value.trim()) filterBody.name = filter.name.value.trim();
      if (filter.environments.value.trim()) filterBody.environments = list(filter.environments.value);
      if (target.value === 'trace') {
        if (filter.tags.value.trim()) filterBody.tags = list(filter.tags.value);
        if (filter.userId.value.trim()) filterBody.userId = filter.userId.value.trim();
        if (filter.sessionId.value.trim()) filterBody.sessionId = filter.sessionId.value.trim();
      } else {
        if (filter.level.value) filterBody.level = filter.level.value;
        if (filter.model.value.trim()) filterBody.model = filter.model.value.trim();
      }
      const meta = metadataFilter(filter.metadata.value);
      if (Object.keys(meta).length) filterBody.metadata = meta;
      const body = {
        scoreName: scoreName.value.trim(), templateName: template.name, templateVersion: template.version,
        connectionId: connection.value, target: targetBody, filter: filterBody, samplingRate: Number(sampling.value),
        variableMapping: mapping(), settleWindowMs: Math.round(Number(settle.value) * 1000), active: active.checked,
      };
      if (model.value.trim()) body.model = model.value.trim();
      submit.disabled = true;
      replace(message, 'Creating…');
      try {
        const created = await api('/evaluators', { method: 'POST', body });
        location.hash = '#/evaluators/' + encodeURIComponent(created.id);
      } catch (error) {
        replace(message, h('span', { class: 'error-text' }, error.message));
        submit.disabled = false;
      }
    },
  },
  field('ev-score-name', 'Score name', scoreName, 'The name of the scores it writes.'),
  field('ev-template', 'Template', [templateSelect, templateInfo]),
  field('ev-connection', 'LLM connection', connection, connections.length ? null : 'No connection yet: create one with POST /api/public/llm-connections.'),
  field('ev-model', 'Model', model),
  field('ev-target', 'Target', target),
  field('ev-obs-type', 'Observation type', obsType),
  field('ev-obs-name', 'Observation name', obsName),
  field('ev-filter-name', 'Name is', filter.name),
  field('ev-filter-tags', 'Tags', filter.tags),
  field('ev-filter-env', 'Environments', filter.environments),
  field('ev-filter-user', 'User', filter.userId),
  field('ev-filter-session', 'Session', filter.sessionId),
  field('ev-filter-level', 'Level', filter.level),
  field('ev-filter-model', 'Model is', filter.model),
  field('ev-filter-metadata', 'Metadata', filter.metadata),
  field('ev-sampling', 'Sampling rate', sampling, '0..1: the share of matching records judged (deterministic per record).'),
  field('ev-settle', 'Settle window (s)', settle, 'Judge a record once it had no update for this long.'),
  field('ev-active', 'Active', active),
  field('ev-mapping', 'Variables', mappingBox, 'A JSON path per variable into the target (input, output, metadata.x, output.choices[0].message.content); empty uses the default shown.'),
  submit, message);

  templateSelect.addEventListener('change', showTemplate);
  target.addEventListener('change', () => { updateTarget(); previewDocument = null; replace(previewOut); });
  replace(main,
    h('div', { class: 'page-head' }, h('a', { href: '#/evaluators', class: 'back', title: 'Back to evaluators (Esc)' }, '←'), h('h1', {}, 'New evaluator')),
    h('div', { class: 'split evaluator-split' },
      h('section', { class: 'card first' }, form),
      h('section', { class: 'card first', id: 'preview' }, h('h3', {}, 'Preview on a real target'),
        h('datalist', { id: 'recent-traces' }, recent.map((t) => h('option', { value: t.id }, t.name || t.id))), observationList,
        h('form', { class: 'filters', id: 'preview-form', onsubmit: (event) => { event.preventDefault(); loadPreview(); } },
          previewTrace, previewObservation, h('button', { type: 'submit' }, 'Preview')),
        previewOut)));
  showTemplate();
  updateTarget();
  scoreName.focus();
  return { keys: { Escape: () => { location.hash = '#/evaluators'; } } };
}
