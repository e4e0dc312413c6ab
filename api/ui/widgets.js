// Small building blocks shared by the datasets, evaluators, queues and dashboard pages.

import { badge, h } from './dom.js';

/** Returns a labelled number tile (the `.stats` row of a page). */
export function stat(label, value, id) {
  return h('div', { class: 'stat', id }, h('div', { class: 'stat-label' }, label),
    h('div', { class: 'stat-value' }, value === null || value === undefined || value === '' ? '—' : value));
}

/** Runs `work(item)` over `items` with at most `limit` calls in flight; keeps the order. */
export async function mapLimit(items, limit, work) {
  const results = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next;
      next += 1;
      results[index] = await work(items[index], index);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

export function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Returns compact JSON (or the text itself) in a height-limited cell. */
export function jsonCell(value) {
  if (value === null || value === undefined) return h('span', { class: 'muted' }, '—');
  const compact = typeof value === 'string' ? value : JSON.stringify(value);
  const text = typeof value === 'string' || compact.length <= 80 ? compact : JSON.stringify(value, null, 1);
  return h('pre', { class: 'cell-json', title: text.length > 400 ? 'Scroll for more' : null }, text);
}

/** Returns a score's value as text: the label of categorical scores, else the number. */
export function scoreText(score) {
  if (score.stringValue !== null && score.stringValue !== undefined) return score.stringValue;
  const value = Number(score.value);
  return Number.isInteger(value) ? String(value) : value.toFixed(3);
}

/** Returns a badge "name: value" coloured by a 0..1 value (red 0, green 1). */
export function scoreBadge(name, value, title) {
  const kind = typeof value === 'number' ? (value >= 0.999 ? 'ok' : value <= 0.001 ? 'error' : 'warn') : 'info';
  const text = typeof value === 'number' ? (Number.isInteger(value) ? String(value) : value.toFixed(2)) : value;
  const element = badge(`${name}: ${text}`, kind);
  if (title) element.title = title;
  element.dataset.score = name;
  return element;
}

/** Returns the mean of the numbers, or null for none. */
export function mean(values) {
  const numbers = values.filter((v) => typeof v === 'number' && !Number.isNaN(v));
  return numbers.length ? numbers.reduce((a, b) => a + b, 0) / numbers.length : null;
}

/** Returns tab links; `current` is the active tab's key. */
export function tabs(entries, current) {
  return h('nav', { class: 'tabs', role: 'tablist' }, entries.map(([key, label, href]) => h('a', {
    href, role: 'tab', class: key === current ? 'active' : null, 'aria-selected': key === current ? 'true' : 'false', dataset: { tab: key },
  }, label)));
}

/** Returns a paragraph explaining an empty list. */
export function emptyRow(columns, text) {
  return h('tr', {}, h('td', { colspan: columns, class: 'muted empty' }, text));
}

/** Fetches every page of a paginated list (`{data, meta}`), up to `max` entries. */
export async function allPages(fetchPage, max = 1000) {
  const out = [];
  for (let page = 1; out.length < max; page += 1) {
    const result = await fetchPage(page);
    out.push(...result.data);
    if (page >= (result.meta.totalPages || 1) || !result.data.length) break;
  }
  return out.slice(0, max);
}
