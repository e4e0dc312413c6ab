// The public share page (/ui/share/traces/{id}): reads the credential-free share endpoint
// and shows the trace read only. Nothing here needs or stores a key.

import { publicRead } from './api.js';
import { errorBox, h, loading, replace } from './dom.js';
import { traceView } from './trace_view.js';

const main = document.getElementById('main');

async function show() {
  const match = location.pathname.match(/^\/ui\/share\/traces\/([^/]+)$/);
  if (!match) {
    replace(main, errorBox('This is not a share link.'));
    return;
  }
  const traceId = decodeURIComponent(match[1]);
  replace(main, loading('shared trace'));
  const trace = await publicRead('/share/traces/' + encodeURIComponent(traceId));
  if (!trace) {
    replace(main, h('div', { class: 'card center-text', id: 'not-shared' },
      h('h1', {}, 'Trace not available'),
      h('p', { class: 'muted' }, 'This trace does not exist or is no longer shared.')));
    return;
  }
  document.title = `${trace.name || 'Trace'} · shared · Periscope`;
  const view = traceView(trace, {});
  replace(main, h('div', { class: 'page-head' }, h('h1', {}, trace.name || 'Trace'), h('span', { class: 'mono muted small' }, trace.id)), view.element);
  document.addEventListener('keydown', (event) => {
    if (event.target && ['INPUT', 'TEXTAREA', 'SELECT'].includes(event.target.tagName)) return;
    if (event.key === 'j') view.move(1);
    if (event.key === 'k') view.move(-1);
  });
}

show().catch((error) => replace(main, errorBox(error)));
