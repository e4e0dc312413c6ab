// Experiment data for the datasets pages: a run's items joined with their traces (output,
// latency, cost, scores), and per-run aggregates. Everything comes from the public API; traces
// are read a few at a time and cached for the page's lifetime.

import { api } from './api.js';
import { allPages, mapLimit, mean } from './widgets.js';

const TRACE_READS_IN_FLIGHT = 6;
/** Runs read for the runs table's aggregates: more would mean hundreds of trace reads. */
export const MAX_RUNS_AGGREGATED = 20;
/** Items shown per run; larger runs are summarised over their first items. */
export const MAX_RUN_ITEMS = 500;

export function datasetPath(name) {
  return '/datasets/' + encodeURIComponent(name);
}

/** Returns a cache of `GET /traces/{id}` reads; a trace that is gone reads as null. */
export function traceCache() {
  const cache = new Map();
  return (traceId) => {
    if (!cache.has(traceId)) {
      cache.set(traceId, api('/traces/' + encodeURIComponent(traceId)).catch((error) => {
        if (error.status === 404) return null;
        throw error;
      }));
    }
    return cache.get(traceId);
  };
}

/** Returns every item of a dataset (active and archived), oldest first. */
export async function datasetItems(datasetName) {
  const items = await allPages((page) => api('/dataset-items', { params: { datasetName, page, limit: 100 } }), 5000);
  return items.reverse();
}

/** Returns the scores of a run's item: the trace's scores, numbers by name (last one wins). */
function itemScores(trace) {
  const scores = {};
  for (const score of (trace && trace.scores) || []) {
    scores[score.name] = score.stringValue !== null && score.stringValue !== undefined && score.dataType === 'CATEGORICAL'
      ? score.stringValue : Number(score.value);
  }
  return scores;
}

/** Loads a run: its items keyed by dataset item id, each with output, latency, cost, scores. */
export async function loadRun(datasetName, runName, readTrace) {
  const run = await api(`${datasetPath(datasetName)}/runs/${encodeURIComponent(runName)}`);
  const links = (run.datasetRunItems || []).slice(0, MAX_RUN_ITEMS);
  const rows = await mapLimit(links, TRACE_READS_IN_FLIGHT, async (link) => {
    const trace = await readTrace(link.traceId);
    return {
      itemId: link.datasetItemId,
      traceId: link.traceId,
      output: trace ? trace.output : undefined,
      latencyMs: trace ? (trace.latency || 0) * 1000 : null,
      cost: trace ? trace.totalCost || 0 : null,
      scores: itemScores(trace),
      missing: !trace,
    };
  });
  const runScores = await api('/scores', { params: { datasetRunId: run.id, limit: 100 } }).then((r) => r.data).catch(() => []);
  return { run, items: new Map(rows.map((row) => [row.itemId, row])), rows, runScores, truncated: (run.datasetRunItems || []).length > links.length };
}

/** Returns a run's aggregates: item count, mean latency, total and mean cost, mean scores. */
export function aggregate(loaded) {
  const rows = loaded.rows.filter((row) => !row.missing);
  const names = [...new Set(rows.flatMap((row) => Object.keys(row.scores)))].sort();
  const scores = {};
  for (const name of names) {
    const value = mean(rows.map((row) => row.scores[name]));
    if (value !== null) scores[name] = value;
  }
  const runScores = {};
  for (const score of loaded.runScores) runScores[score.name] = Number(score.value);
  const costs = rows.map((row) => row.cost);
  return {
    items: loaded.rows.length,
    latencyMs: mean(rows.map((row) => row.latencyMs)),
    totalCost: costs.reduce((a, b) => a + (b || 0), 0),
    meanCost: mean(costs),
    scores,
    runScores,
  };
}
