// Inline SVG charts for the dashboard, drawn from data (no library): a line chart and a
// stacked bar chart over days, and horizontal bars for breakdowns. Colours come from CSS
// classes (`series-N`), so dark mode restyles them; every point has a <title> tooltip.

import { h } from './dom.js';

const SVG = 'http://www.w3.org/2000/svg';
const WIDTH = 560;
const HEIGHT = 200;
const PAD = { left: 56, right: 12, top: 10, bottom: 24 };
const SERIES_COLOURS = 6;

function svg(tag, attrs, ...children) {
  const element = document.createElementNS(SVG, tag);
  for (const [key, value] of Object.entries(attrs || {})) if (value !== undefined && value !== null) element.setAttribute(key, String(value));
  for (const child of children.flat(Infinity)) if (child) element.append(child instanceof Node ? child : document.createTextNode(String(child)));
  return element;
}

function niceMax(value) {
  if (!(value > 0)) return 1;
  const magnitude = 10 ** Math.floor(Math.log10(value));
  for (const step of [1, 2, 2.5, 5, 10]) if (step * magnitude >= value) return step * magnitude;
  return 10 * magnitude;
}

function frame(labels, max, format) {
  const plotW = WIDTH - PAD.left - PAD.right;
  const plotH = HEIGHT - PAD.top - PAD.bottom;
  const y = (v) => PAD.top + plotH - (v / max) * plotH;
  const grid = [0, 0.25, 0.5, 0.75, 1].map((f) => [
    svg('line', { class: 'grid', x1: PAD.left, x2: WIDTH - PAD.right, y1: y(max * f), y2: y(max * f) }),
    svg('text', { class: 'axis', x: PAD.left - 6, y: y(max * f) + 4, 'text-anchor': 'end' }, f ? format(max * f) : '0'),
  ]);
  const every = Math.max(1, Math.ceil(labels.length / 7));
  // Each day owns an equal band; points and bars sit in its middle.
  const band = plotW / labels.length;
  const x = (i) => PAD.left + (i + 0.5) * band;
  const ticks = labels.map((label, i) => (i % every === 0 || i === labels.length - 1
    ? svg('text', { class: 'axis', x: x(i), y: HEIGHT - 6, 'text-anchor': 'middle' }, label.slice(5)) : null));
  return { x, y, band, grid, ticks };
}

function legend(series) {
  if (series.length < 2) return null;
  return h('div', { class: 'legend' }, series.map((s, i) => h('span', { class: 'legend-item' },
    h('span', { class: `swatch series-${i % SERIES_COLOURS}` }), s.name)));
}

function chartBox(title, id, body, series) {
  return h('figure', { class: 'chart card', id }, h('figcaption', {}, title), body, legend(series));
}

function empty(title, id) {
  return h('figure', { class: 'chart card', id }, h('figcaption', {}, title), h('p', { class: 'muted small chart-empty' }, 'No data in this range.'));
}

/** A line per series over `labels` (days); values may be null (a gap). */
export function lineChart(title, id, labels, series, format = String) {
  const values = series.flatMap((s) => s.values).filter((v) => v !== null && v !== undefined);
  if (!labels.length || !values.length) return empty(title, id);
  const max = niceMax(Math.max(...values));
  const f = frame(labels, max, format);
  const lines = series.map((s, si) => {
    const points = s.values.map((v, i) => (v === null || v === undefined ? null : [f.x(i), f.y(v), v, labels[i]])).filter(Boolean);
    const d = points.map(([px, py], i) => `${i ? 'L' : 'M'}${px.toFixed(1)},${py.toFixed(1)}`).join('');
    return svg('g', { class: `series series-${si % SERIES_COLOURS}`, 'data-series': s.name },
      svg('path', { d, class: 'line' }),
      points.map(([px, py, v, label]) => svg('circle', { cx: px.toFixed(1), cy: py.toFixed(1), r: 3, class: 'dot' },
        svg('title', {}, `${s.name} · ${label}: ${format(v)}`))));
  });
  const chart = svg('svg', { viewBox: `0 0 ${WIDTH} ${HEIGHT}`, class: 'plot', role: 'img', 'aria-label': title }, f.grid, f.ticks, lines);
  return chartBox(title, id, chart, series);
}

/** Bars per day, stacked by series. */
export function stackedBars(title, id, labels, series, format = String) {
  const totals = labels.map((_, i) => series.reduce((sum, s) => sum + (s.values[i] || 0), 0));
  if (!labels.length || !totals.some((t) => t > 0)) return empty(title, id);
  const max = niceMax(Math.max(...totals));
  const f = frame(labels, max, format);
  const width = Math.max(2, Math.min(28, f.band * 0.7));
  const bars = labels.map((label, i) => {
    let base = 0;
    return series.map((s, si) => {
      const v = s.values[i] || 0;
      if (!v) return null;
      const top = f.y(base + v);
      const rect = svg('rect', { class: `bar series-${si % SERIES_COLOURS}`, x: (f.x(i) - width / 2).toFixed(1), y: top.toFixed(1), width: width.toFixed(1), height: (f.y(base) - top).toFixed(1) },
        svg('title', {}, `${s.name} · ${label}: ${format(v)}`));
      base += v;
      return rect;
    });
  });
  const chart = svg('svg', { viewBox: `0 0 ${WIDTH} ${HEIGHT}`, class: 'plot', role: 'img', 'aria-label': title }, f.grid, f.ticks, bars);
  return chartBox(title, id, chart, series);
}

/** Horizontal bars for a breakdown: `rows` are `[label, value]`, largest first. */
export function breakdown(title, id, rows, format = String) {
  if (!rows.length) return empty(title, id);
  const max = Math.max(...rows.map(([, v]) => v), 0) || 1;
  return h('figure', { class: 'chart card', id }, h('figcaption', {}, title),
    h('div', { class: 'breakdown' }, rows.map(([label, value]) => {
      const fill = h('div', { class: 'breakdown-fill' });
      fill.style.width = `${(value / max) * 100}%`;
      return h('div', { class: 'breakdown-row', dataset: { label } }, h('span', { class: 'breakdown-label', title: label }, label),
        h('div', { class: 'breakdown-bar' }, fill), h('span', { class: 'breakdown-value' }, format(value)));
    })));
}
