// A trace as a page shows it: summary, observation tree with a waterfall timeline, details
// of the selected node (input/output, model, usage, cost) and scores. Used by the app's trace
// page and by the public share page (read only).

import { badge, facts, h, replace } from './dom.js';
import { formatCost, formatCount, formatDuration, formatTime, parseTime } from './format.js';
import { valueBlock, collapsible } from './values.js';

const TYPE_KINDS = { GENERATION: 'accent', EVENT: 'info', TOOL: 'tool', AGENT: 'agent', EMBEDDING: 'accent' };

function observationEnd(observation) {
  const end = parseTime(observation.endTime);
  return Number.isNaN(end) ? parseTime(observation.startTime) : end;
}

/** Orders observations depth-first under their parents; orphans count as roots. */
export function buildTree(observations) {
  const byId = new Map(observations.map((o) => [o.id, { observation: o, children: [] }]));
  const roots = [];
  for (const node of byId.values()) {
    const parent = byId.get(node.observation.parentObservationId);
    (parent && parent !== node ? parent.children : roots).push(node);
  }
  const byStart = (a, b) => parseTime(a.observation.startTime) - parseTime(b.observation.startTime);
  const rows = [];
  const walk = (nodes, depth) => {
    nodes.sort(byStart);
    for (const node of nodes) {
      node.cost = (node.observation.calculatedTotalCost || 0);
      rows.push({ node, depth });
      walk(node.children, depth + 1);
    }
  };
  walk(roots, 1);
  // Roll costs up after the walk, deepest rows first.
  for (let i = rows.length - 1; i >= 0; i -= 1) {
    const node = rows[i].node;
    for (const child of node.children) node.cost += child.cost;
  }
  return rows;
}

/** Sums cost and tokens per model over the trace's generations. */
export function usageByModel(observations) {
  const models = new Map();
  for (const o of observations) {
    if (!o.model && !o.calculatedTotalCost) continue;
    const key = o.model || '(no model)';
    const entry = models.get(key) || { model: key, calls: 0, input: 0, output: 0, total: 0, cost: 0 };
    entry.calls += 1;
    entry.input += (o.usage && o.usage.input) || 0;
    entry.output += (o.usage && o.usage.output) || 0;
    entry.total += (o.usage && o.usage.total) || 0;
    entry.cost += o.calculatedTotalCost || 0;
    models.set(key, entry);
  }
  return [...models.values()];
}

function scoreValue(score) {
  return score.stringValue !== null && score.stringValue !== undefined ? score.stringValue : String(score.value);
}

/** Returns the scores table (or a note that there are none). */
export function scoresTable(scores, observationNames) {
  if (!scores.length) return h('p', { class: 'muted small' }, 'No scores yet.');
  return h('table', { class: 'table compact scores' },
    h('thead', {}, h('tr', {}, ['Name', 'Value', 'Type', 'Target', 'Source', 'Comment'].map((t) => h('th', {}, t)))),
    h('tbody', {}, scores.map((s) => h('tr', { dataset: { scoreName: s.name } },
      h('td', {}, s.name),
      h('td', { class: 'mono' }, scoreValue(s)),
      h('td', {}, s.dataType || ''),
      h('td', {}, s.observationId ? (observationNames.get(s.observationId) || s.observationId) : 'trace'),
      h('td', {}, s.source || ''),
      h('td', {}, s.comment || '')))));
}

function summary(trace, rows) {
  const observations = trace.observations || [];
  const tokens = observations.reduce((sum, o) => sum + ((o.usage && o.usage.total) || 0), 0);
  const cost = trace.totalCost || observations.reduce((sum, o) => sum + (o.calculatedTotalCost || 0), 0);
  return h('div', { class: 'stats' },
    stat('Latency', formatDuration((trace.latency || 0) * 1000)),
    stat('Cost', formatCost(cost)),
    stat('Tokens', formatCount(tokens)),
    stat('Observations', formatCount(rows.length)),
    stat('Scores', formatCount((trace.scores || []).length)));
}

function stat(label, value) {
  return h('div', { class: 'stat' }, h('div', { class: 'stat-label' }, label), h('div', { class: 'stat-value' }, value || '—'));
}

function modelTable(observations) {
  const models = usageByModel(observations);
  if (!models.length) return null;
  return h('table', { class: 'table compact' },
    h('thead', {}, h('tr', {}, ['Model', 'Calls', 'Input', 'Output', 'Total tokens', 'Cost'].map((t) => h('th', {}, t)))),
    h('tbody', {}, models.map((m) => h('tr', {},
      h('td', { class: 'mono' }, m.model), h('td', {}, m.calls), h('td', {}, formatCount(m.input)),
      h('td', {}, formatCount(m.output)), h('td', {}, formatCount(m.total)), h('td', {}, formatCost(m.cost))))));
}

function observationFacts(o) {
  const start = parseTime(o.startTime);
  const duration = o.endTime ? observationEnd(o) - start : null;
  const usage = o.usage && o.usage.total ? `${formatCount(o.usage.input)} in · ${formatCount(o.usage.output)} out · ${formatCount(o.usage.total)} total` : null;
  const cost = o.calculatedTotalCost !== null && o.calculatedTotalCost !== undefined
    ? `${formatCost(o.calculatedTotalCost)} (${formatCost(o.calculatedInputCost || 0)} in · ${formatCost(o.calculatedOutputCost || 0)} out)`
    : null;
  return facts([
    ['Type', o.type],
    ['Start', formatTime(o.startTime)],
    ['Duration', duration === null ? 'running' : formatDuration(duration)],
    ['Time to first token', o.timeToFirstToken ? formatDuration(o.timeToFirstToken * 1000) : null],
    ['Model', o.model],
    ['Parameters', o.modelParameters && Object.keys(o.modelParameters).length ? JSON.stringify(o.modelParameters) : null],
    ['Usage', usage],
    ['Cost', cost],
    ['Level', o.level && o.level !== 'DEFAULT' ? o.level : null],
    ['Status', o.statusMessage],
    ['Prompt', o.promptName ? `${o.promptName} v${o.promptVersion}` : null],
    ['Version', o.version],
    ['Id', o.id],
  ]);
}

function traceFacts(trace) {
  return facts([
    ['Time', formatTime(trace.timestamp)],
    ['User', trace.userId],
    ['Session', trace.sessionId],
    ['Environment', trace.environment],
    ['Release', trace.release],
    ['Version', trace.version],
    ['Tags', (trace.tags || []).length ? h('span', {}, trace.tags.map((t) => badge(t))) : null],
    ['Id', trace.id],
  ]);
}

function metadataBlock(metadata) {
  if (!metadata || !Object.keys(metadata).length) return null;
  // Closed by default: SDK metadata (resource attributes, scope) is long and rarely the point.
  return h('details', { class: 'value-block metadata' },
    h('summary', {}, `Metadata (${Object.keys(metadata).length} keys)`), collapsible(JSON.stringify(metadata, null, 2)));
}

/**
 * Returns `{ element, move(delta), select(id) }` for a trace detail.
 * `options.extraDetail(trace)` may add nodes (actions, forms) under the trace's own details.
 */
export function traceView(trace, options = {}) {
  const observations = trace.observations || [];
  const rows = buildTree(observations);
  const names = new Map(observations.map((o) => [o.id, o.name || o.id]));
  const starts = [parseTime(trace.timestamp), ...observations.map((o) => parseTime(o.startTime))].filter((t) => !Number.isNaN(t));
  const ends = observations.map(observationEnd).filter((t) => !Number.isNaN(t));
  const t0 = Math.min(...starts);
  const t1 = Math.max(t0 + (trace.latency || 0) * 1000, ...ends);
  const span = Math.max(t1 - t0, 1);
  const detail = h('div', { class: 'detail-pane', id: 'detail-pane' });
  const tree = h('div', { class: 'tree', role: 'tree', 'aria-label': 'Observations' });
  const items = [];
  let selected = -1;

  const bar = (start, end, kind) => {
    const el = h('span', { class: 'bar' + (kind ? ' bar-' + kind : '') });
    el.style.left = `${((start - t0) / span) * 100}%`;
    el.style.width = `${Math.max(((end - start) / span) * 100, 0.4)}%`;
    return h('span', { class: 'timeline' }, el);
  };

  const traceRow = h('div', { class: 'tree-row', role: 'treeitem', tabindex: '-1', dataset: { id: '' } },
    h('span', { class: 'tree-label' }, badge('TRACE', 'muted'), h('span', { class: 'name' }, trace.name || trace.id)),
    bar(t0, t1, 'trace'),
    h('span', { class: 'duration' }, formatDuration(t1 - t0)),
    h('span', { class: 'cost' }, formatCost(trace.totalCost)));
  items.push({ row: traceRow, node: null });
  tree.append(traceRow);
  for (const { node, depth } of rows) {
    const o = node.observation;
    const start = parseTime(o.startTime);
    const end = observationEnd(o);
    const label = h('span', { class: 'tree-label' },
      badge(o.type || 'SPAN', TYPE_KINDS[o.type]),
      h('span', { class: 'name' }, o.name || o.id),
      o.level === 'ERROR' || o.level === 'WARNING' ? badge(o.level, o.level === 'ERROR' ? 'error' : 'warn') : null);
    label.style.paddingLeft = `${depth * 14}px`;
    const row = h('div', {
      class: 'tree-row', role: 'treeitem', tabindex: '-1', dataset: { id: o.id },
      title: `${o.name || o.id} · ${o.endTime ? formatDuration(end - start) : 'running'}`,
    }, label,
    bar(start, end, o.level === 'ERROR' ? 'error' : (o.type || '').toLowerCase()),
    h('span', { class: 'duration' }, o.endTime ? formatDuration(end - start) : '…'),
    h('span', { class: 'cost' }, node.cost ? formatCost(node.cost) : ''));
    items.push({ row, node });
    tree.append(row);
  }

  const showDetail = (item) => {
    if (!item.node) {
      replace(detail,
        h('h3', {}, trace.name || 'Trace'),
        traceFacts(trace),
        options.extraDetail ? options.extraDetail(trace) : null,
        valueBlock('Input', trace.input),
        valueBlock('Output', trace.output),
        metadataBlock(trace.metadata));
      return;
    }
    const o = item.node.observation;
    const scores = (trace.scores || []).filter((s) => s.observationId === o.id);
    replace(detail,
      h('h3', {}, o.name || o.id),
      observationFacts(o),
      valueBlock('Input', o.input),
      valueBlock('Output', o.output),
      metadataBlock(o.metadata),
      scores.length ? h('section', { class: 'value-block' }, h('h4', {}, 'Scores'), scoresTable(scores, names)) : null);
  };

  const select = (index, focus) => {
    if (index < 0 || index >= items.length) return;
    if (selected >= 0) items[selected].row.classList.remove('selected');
    selected = index;
    const row = items[index].row;
    row.classList.add('selected');
    row.setAttribute('aria-selected', 'true');
    if (focus) row.focus();
    if (options.onSelect) options.onSelect(items[index].node ? items[index].node.observation.id : null);
    showDetail(items[index]);
  };
  items.forEach((item, index) => item.row.addEventListener('click', () => select(index, true)));
  const initial = Math.max(0, items.findIndex((item) => item.node && item.node.observation.id === options.selectedId));
  select(initial, false);

  const scale = h('div', { class: 'tree-scale' },
    h('span', {}, 'Observation'), h('span', { class: 'timeline-scale' }, h('span', {}, '0'), h('span', {}, formatDuration(span))),
    h('span', {}, 'Duration'), h('span', {}, 'Cost'));
  const element = h('div', { class: 'trace-view' },
    summary(trace, rows),
    h('div', { class: 'split' },
      h('div', { class: 'tree-pane' }, scale, tree),
      detail),
    h('section', { class: 'card' }, h('h3', {}, 'Usage by model'), modelTable(observations) || h('p', { class: 'muted small' }, 'No generations with a model.')),
    h('section', { class: 'card', id: 'scores' }, h('h3', {}, 'Scores'), scoresTable(trace.scores || [], names)));
  return {
    element,
    move: (delta) => select(Math.min(items.length - 1, Math.max(0, selected + delta)), true),
    select: (id) => select(items.findIndex((item) => (item.node ? item.node.observation.id : null) === id), true),
    selectedObservationId: () => (selected > 0 ? items[selected].node.observation.id : null),
  };
}
