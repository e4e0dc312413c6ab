// Sessions: the list (`GET /sessions`) and one session as a conversation, its traces in
// time order with what the user sent and what came back.

import { api } from './api.js';
import { errorBox, h, loading, replace } from './dom.js';
import { formatCost, formatDuration, formatTime, parseTime, relative } from './format.js';
import { rowKeys } from './keys.js';
import { chatMessages, contentText, renderValue } from './values.js';

const PAGE_SIZE = 50;

/** Returns what a trace's input says, reduced to the last user turn when it is a chat. */
function lastUserTurn(input) {
  const messages = chatMessages(input);
  if (!messages) return input;
  const users = messages.filter((m) => m.role === 'user');
  const last = users.length ? users[users.length - 1] : messages[messages.length - 1];
  const text = contentText(last.content);
  return text !== null ? text : last.content;
}

function turn(role, value) {
  if (value === null || value === undefined) return null;
  if (typeof value === 'string') {
    return h('div', { class: `message role-${role}` }, h('div', { class: 'message-role' }, role), h('pre', { class: 'message-text' }, value));
  }
  const messages = chatMessages(value);
  if (messages) return renderValue(messages);
  return h('div', { class: `message role-${role}` }, h('div', { class: 'message-role' }, role), renderValue(value));
}

async function listPage(main, route) {
  const page = Number(route.params.get('page') || 1);
  const body = h('tbody');
  const pager = h('div', { class: 'pager' });
  const keys = rowKeys(() => [...body.querySelectorAll('tr.clickable')], (row) => row.click());
  const load = async () => {
    try {
      const result = await api('/sessions', { params: { page, limit: PAGE_SIZE } });
      keys.reset();
      replace(body, result.data.length ? result.data.map((s) => h('tr', {
        class: 'clickable', tabindex: '-1', dataset: { sessionId: s.id },
        onclick: () => { location.hash = '#/sessions/' + encodeURIComponent(s.id); },
      },
      h('td', {}, h('a', { href: '#/sessions/' + encodeURIComponent(s.id), class: 'mono' }, s.id)),
      h('td', { title: formatTime(s.createdAt) }, relative(s.createdAt)),
      h('td', {}, s.environment || ''),
      h('td', {}, h('a', { href: '#/traces?sessionId=' + encodeURIComponent(s.id), onclick: (e) => e.stopPropagation() }, 'traces →'))))
        : h('tr', {}, h('td', { colspan: 4, class: 'muted empty' }, 'No sessions yet. Traces join a session when they carry a session id.')));
      const pages = Math.max(result.meta.totalPages || 1, 1);
      replace(pager, h('span', { class: 'muted' }, `${result.meta.totalItems} sessions · page ${page} of ${pages}`),
        h('button', { class: 'ghost', type: 'button', disabled: page <= 1, onclick: () => { location.hash = `#/sessions?page=${page - 1}`; } }, '← Prev'),
        h('button', { class: 'ghost', type: 'button', disabled: page >= pages, onclick: () => { location.hash = `#/sessions?page=${page + 1}`; } }, 'Next →'));
    } catch (error) {
      replace(body, h('tr', {}, h('td', { colspan: 4 }, errorBox(error))));
    }
  };
  replace(main, h('div', { class: 'page-head' }, h('h1', {}, 'Sessions')),
    h('div', { class: 'table-wrap' }, h('table', { class: 'table', id: 'sessions-table' },
      h('thead', {}, h('tr', {}, ['Session', 'Created', 'Env', ''].map((t) => h('th', {}, t)))), body)),
    pager);
  await load();
  return { keys: { j: keys.j, k: keys.k, Enter: keys.Enter, r: load } };
}

async function sessionPage(main, route) {
  const sessionId = route.parts[1];
  replace(main, loading('session'));
  const load = async () => {
    const session = await api('/sessions/' + encodeURIComponent(sessionId));
    const traces = [...(session.traces || [])].sort((a, b) => parseTime(a.timestamp) - parseTime(b.timestamp));
    const cost = traces.reduce((sum, t) => sum + (t.totalCost || 0), 0);
    const users = [...new Set(traces.map((t) => t.userId).filter(Boolean))];
    replace(main,
      h('div', { class: 'page-head' },
        h('a', { href: '#/sessions', class: 'back', title: 'Back to sessions (Esc)' }, '←'),
        h('h1', {}, 'Session'), h('span', { class: 'mono muted' }, session.id),
        h('span', { class: 'spacer' }),
        h('a', { href: '#/traces?sessionId=' + encodeURIComponent(session.id) }, 'Open as trace list')),
      h('div', { class: 'stats' },
        h('div', { class: 'stat' }, h('div', { class: 'stat-label' }, 'Traces'), h('div', { class: 'stat-value' }, String(traces.length))),
        h('div', { class: 'stat' }, h('div', { class: 'stat-label' }, 'Total cost'), h('div', { class: 'stat-value' }, formatCost(cost) || '—')),
        h('div', { class: 'stat' }, h('div', { class: 'stat-label' }, 'Users'), h('div', { class: 'stat-value' }, users.join(', ') || '—')),
        h('div', { class: 'stat' }, h('div', { class: 'stat-label' }, 'Started'), h('div', { class: 'stat-value' }, formatTime(session.createdAt)))),
      h('ol', { class: 'conversation', id: 'conversation' }, traces.map((t) => h('li', { class: 'turn card', dataset: { traceId: t.id } },
        h('div', { class: 'turn-head' },
          h('a', { href: '#/traces/' + encodeURIComponent(t.id), class: 'name' }, t.name || t.id),
          h('span', { class: 'muted small' }, formatTime(t.timestamp)),
          h('span', { class: 'muted small' }, formatDuration((t.latency || 0) * 1000)),
          h('span', { class: 'muted small' }, formatCost(t.totalCost))),
        turn('user', lastUserTurn(t.input)),
        turn('assistant', t.output)))));
  };
  await load().catch((error) => replace(main, h('a', { href: '#/sessions' }, '← Sessions'), errorBox(error)));
  return { keys: { r: load, Escape: () => { location.hash = '#/sessions'; } } };
}

export function mount(main, route) {
  return route.parts.length > 1 ? sessionPage(main, route) : listPage(main, route);
}
