// The dashboard's numbers. Daily volume, cost and tokens by model come from
// `GET /metrics/daily`; latency percentiles, scores over time and the breakdowns by user,
// environment and trace name from `GET /v2/metrics` (server-side aggregation). A server
// without `/v2/metrics` gets them computed here from the range's newest traces and scores.

import { api } from './api.js';
import { allPages } from './widgets.js';

const DAY_MS = 864e5;
export const SAMPLE_CAP = 1000;
const TOP = 8;

/** Returns the UTC days from `fromMs` to `toMs` as "YYYY-MM-DD". */
export function dayLabels(fromMs, toMs) {
  const from = new Date(fromMs);
  const labels = [];
  for (let t = Date.UTC(from.getUTCFullYear(), from.getUTCMonth(), from.getUTCDate()); t <= toMs; t += DAY_MS) {
    labels.push(new Date(t).toISOString().slice(0, 10));
  }
  return labels;
}

/** Returns the q-th quantile (0..1) of the numbers (linear interpolation). */
export function quantile(values, q) {
  if (!values.length) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const at = (sorted.length - 1) * q;
  const low = Math.floor(at);
  return sorted[low] + (sorted[Math.min(low + 1, sorted.length - 1)] - sorted[low]) * (at - low);
}

function groupBy(items, key) {
  const groups = new Map();
  for (const item of items) {
    const k = key(item);
    if (!groups.has(k)) groups.set(k, []);
    groups.get(k).push(item);
  }
  return groups;
}

function top(map, value) {
  return [...map.entries()].map(([k, items]) => [k, value(items)]).sort((a, b) => b[1] - a[1]).slice(0, TOP);
}

/** Runs a v2 metrics query; null when the server has no `/v2/metrics`. */
async function metricsV2(query) {
  try {
    return (await api('/v2/metrics', { params: { query: JSON.stringify(query) } })).data;
  } catch (error) {
    if (error.status === 404 || error.status === 405) return null;
    throw error;
  }
}

/** Server-side aggregates through `/v2/metrics`; null when it is not there. */
async function fromMetricsV2(range, filters, labels) {
  const conditions = [];
  if (filters.environment.length) conditions.push({ column: 'environment', operator: 'any of', value: filters.environment });
  if (filters.traceName) conditions.push({ column: 'name', operator: '=', value: filters.traceName });
  if (filters.userId) conditions.push({ column: 'userId', operator: '=', value: filters.userId });
  const traces = (rest) => ({ view: 'traces', filters: conditions, ...range, ...rest });
  const latency = [{ measure: 'latency', aggregation: 'p50' }, { measure: 'latency', aggregation: 'p95' }];
  const byDay = await metricsV2(traces({ metrics: latency, timeDimension: { granularity: 'day' } }));
  if (byDay === null) return null;
  const scoreConditions = conditions.filter((c) => c.column === 'environment');
  const [overall, users, environments, names, scores] = await Promise.all([
    metricsV2(traces({ metrics: latency })),
    metricsV2(traces({ dimensions: [{ field: 'userId' }], metrics: [{ measure: 'count', aggregation: 'count' }, { measure: 'totalCost', aggregation: 'sum' }] })),
    metricsV2(traces({ dimensions: [{ field: 'environment' }], metrics: [{ measure: 'count', aggregation: 'count' }] })),
    metricsV2(traces({ dimensions: [{ field: 'name' }], metrics: [{ measure: 'latency', aggregation: 'p95' }] })),
    metricsV2({ view: 'scores-numeric', filters: scoreConditions, dimensions: [{ field: 'name' }], metrics: [{ measure: 'value', aggregation: 'avg' }], timeDimension: { granularity: 'day' }, ...range }),
  ]);
  const day = (row) => String(row.time_dimension).slice(0, 10);
  const latencyRows = new Map(byDay.map((row) => [day(row), row]));
  const rank = (rows, field, metric) => rows.filter((r) => r[field] !== null && r[field] !== undefined && r[metric] !== null)
    .map((r) => [r[field], Number(r[metric])]).sort((a, b) => b[1] - a[1]).slice(0, TOP);
  const scoreNames = [...new Set(scores.map((r) => r.name))].sort().slice(0, TOP);
  return {
    source: 'v2',
    latencyByDay: ['p50', 'p95'].map((p) => ({ name: p, values: labels.map((d) => (latencyRows.has(d) ? latencyRows.get(d)[`${p}_latency`] : null)) })),
    latencyOverall: { p50: overall[0] ? overall[0].p50_latency : null, p95: overall[0] ? overall[0].p95_latency : null },
    scoreSeries: scoreNames.map((name) => ({
      name, values: labels.map((d) => { const row = scores.find((r) => r.name === name && day(r) === d); return row ? row.avg_value : null; }),
    })),
    byUser: rank(users, 'userId', 'count_count'),
    costByUser: rank(users, 'userId', 'sum_totalCost'),
    byEnvironment: rank(environments, 'environment', 'count_count'),
    latencyByName: rank(names, 'name', 'p95_latency'),
    capped: false,
  };
}

/** The same aggregates computed from the newest traces and scores of the range. */
async function fromSample(range, filters, labels) {
  const [traces, scores] = await Promise.all([
    allPages((page) => api('/traces', { params: { environment: filters.environment, name: filters.traceName, userId: filters.userId, ...range, page, limit: 100 } }), SAMPLE_CAP),
    allPages((page) => api('/scores', { params: { environment: filters.environment, userId: filters.userId, ...range, page, limit: 100 } }), SAMPLE_CAP),
  ]);
  const ms = (t) => (t.latency || 0) * 1000;
  const tracesByDay = groupBy(traces, (t) => String(t.timestamp).slice(0, 10));
  const numeric = scores.filter((s) => s.dataType !== 'CATEGORICAL');
  const scoresByDay = groupBy(numeric, (s) => `${s.name}\u0000${String(s.timestamp).slice(0, 10)}`);
  const average = (items) => (items && items.length ? items.reduce((sum, s) => sum + Number(s.value), 0) / items.length : null);
  const withUser = groupBy(traces.filter((t) => t.userId), (t) => t.userId);
  return {
    source: 'sample',
    latencyByDay: [0.5, 0.95].map((q) => ({ name: `p${q * 100}`, values: labels.map((d) => quantile((tracesByDay.get(d) || []).map(ms), q)) })),
    latencyOverall: { p50: quantile(traces.map(ms), 0.5), p95: quantile(traces.map(ms), 0.95) },
    scoreSeries: [...new Set(numeric.map((s) => s.name))].sort().slice(0, TOP).map((name) => ({
      name, values: labels.map((d) => average(scoresByDay.get(`${name}\u0000${d}`))),
    })),
    byUser: top(withUser, (items) => items.length),
    costByUser: top(withUser, (items) => items.reduce((s, t) => s + (t.totalCost || 0), 0)),
    byEnvironment: top(groupBy(traces, (t) => t.environment || 'default'), (items) => items.length),
    latencyByName: top(groupBy(traces, (t) => t.name || '(unnamed)'), (items) => quantile(items.map(ms), 0.95)),
    capped: traces.length >= SAMPLE_CAP || scores.length >= SAMPLE_CAP,
  };
}

/** Loads everything the dashboard shows for the last `days` days and the filters
 *  (`environment`: a list; `traceName`, `userId`: text or empty). */
export async function loadDashboard(days, filters) {
  const toMs = Date.now();
  const fromMs = toMs - days * DAY_MS;
  const range = { fromTimestamp: new Date(fromMs).toISOString(), toTimestamp: new Date(toMs).toISOString() };
  const labels = dayLabels(fromMs, toMs);
  const [daily, aggregates] = await Promise.all([
    api('/metrics/daily', { params: { ...filters, ...range, limit: 100 } }).then((r) => r.data),
    fromMetricsV2(range, filters, labels).then((result) => result || fromSample(range, filters, labels)),
  ]);
  return { labels, daily, ...aggregates };
}
