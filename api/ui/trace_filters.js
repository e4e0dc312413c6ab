// The traces list's value filters: a full-text search over input and output, the level and
// model of an observation, a score (name, optional value range), and cost and latency ranges.
// Each one is kept in the URL hash under its `GET /traces` parameter name, so a bookmarked
// view sends exactly what the form shows.

import { h } from './dom.js';

const LEVELS = ['DEBUG', 'DEFAULT', 'WARNING', 'ERROR'];
// [id, caption, accessible noun, accepts negatives]: scores may be negative, costs and
// seconds not.
const RANGES = [
  ['Score', 'Score', 'score', true],
  ['Cost', 'Cost (USD)', 'cost in USD', false],
  ['Latency', 'Latency (s)', 'latency in seconds', false],
];
/** Every hash key (= API parameter) these controls own. */
export const VALUE_FILTER_KEYS = ['search', 'level', 'model', 'scoreName',
  ...RANGES.flatMap(([id]) => [`min${id}`, `max${id}`])];

/** Returns the `GET /traces` parameters of the value filters in the hash (unset ones are null). */
export function valueParams(filters) {
  return Object.fromEntries(VALUE_FILTER_KEYS.map((key) => [key, filters.get(key)]));
}

function textInput(filters, key, label, type = 'text') {
  return h('input', {
    type, id: `filter-${key}`, name: key, placeholder: label, title: label, 'aria-label': label,
    value: filters.get(key) || '',
  });
}

// A captioned min/max pair, after an optional name input the range belongs to (the score's).
// The browser refuses to submit the form while min > max or the name is missing, so the
// mistake is shown on the field instead of as a 400 in the table.
function rangeGroup(filters, [id, caption, noun, negatives], name) {
  const bound = (side, word) => h('input', {
    type: 'number', step: 'any', min: negatives ? undefined : '0', id: `filter-${side}${id}`,
    name: `${side}${id}`, placeholder: side, title: `${word} ${noun} (inclusive)`, 'aria-label': `${word} ${noun}`,
    value: filters.get(`${side}${id}`) || '',
  });
  const min = bound('min', 'Minimum');
  const max = bound('max', 'Maximum');
  const check = () => {
    const inverted = min.value !== '' && max.value !== '' && Number(min.value) > Number(max.value);
    min.setCustomValidity(inverted ? `The minimum is above the maximum (${max.value}).` : '');
    const unnamed = name && !name.value.trim() && (min.value !== '' || max.value !== '');
    if (name) name.setCustomValidity(unnamed ? `Name the ${noun} that the range applies to.` : '');
  };
  for (const input of [min, max, name]) if (input) input.addEventListener('input', check);
  check();
  const captionId = `filter-${id.toLowerCase()}-caption`;
  const group = h('span', { class: 'filter-group', role: 'group', 'aria-labelledby': captionId },
    h('span', { id: captionId, class: 'muted small' }, caption), name, min, '–', max);
  return { group, bounds: [min, max] };
}

/**
 * Returns the controls (a second row of the filter form) and `write(next)`, which copies their
 * non-empty values into the URLSearchParams of the next hash.
 */
export function valueControls(filters) {
  const search = textInput(filters, 'search', 'Search input and output', 'search');
  const level = h('select', { id: 'filter-level', name: 'level', 'aria-label': 'Level', title: 'Observation level' },
    h('option', { value: '' }, 'Any level'),
    LEVELS.map((value) => h('option', { value, selected: filters.get('level') === value }, value)));
  const model = textInput(filters, 'model', 'Model');
  const scoreName = textInput(filters, 'scoreName', 'Score name');
  const ranges = RANGES.map((range) => rangeGroup(filters, range, range[0] === 'Score' ? scoreName : null));
  const controls = [search, level, model, scoreName, ...ranges.flatMap((range) => range.bounds)];
  const nodes = [h('span', { class: 'filter-break', 'aria-hidden': 'true' }), search, level, model,
    ranges.map((range) => range.group)];
  const write = (next) => {
    for (const control of controls) if (control.value.trim()) next.set(control.name, control.value.trim());
  };
  return { nodes, write };
}
