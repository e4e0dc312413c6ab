// Keyboard navigation: "g t/s/p/d/e/q/m" switches section, "?" shows help, and j/k/Enter/r and
// Escape go to the current page's handlers.

const SECTIONS = {
  t: '#/traces', s: '#/sessions', p: '#/prompts', d: '#/datasets', e: '#/evaluators', q: '#/queues', m: '#/dashboard',
};

function typing(target) {
  return target && (target.isContentEditable || ['INPUT', 'TEXTAREA', 'SELECT'].includes(target.tagName));
}

/** Installs the global key handler; `currentPage()` returns the mounted page's handle. */
export function installKeys(currentPage) {
  let pendingG = false;
  document.addEventListener('keydown', (event) => {
    if (event.metaKey || event.ctrlKey || event.altKey) return;
    if (typing(event.target)) {
      if (event.key === 'Escape') event.target.blur();
      return;
    }
    const page = currentPage();
    const keys = (page && page.keys) || {};
    if (pendingG) {
      pendingG = false;
      if (SECTIONS[event.key]) {
        location.hash = SECTIONS[event.key];
        event.preventDefault();
      }
      return;
    }
    if (event.key === 'g') {
      pendingG = true;
      setTimeout(() => { pendingG = false; }, 1200);
      return;
    }
    if (event.key === '?') {
      document.getElementById('help').showModal();
      return;
    }
    const handler = keys[event.key];
    if (handler) {
      event.preventDefault();
      handler(event);
    }
  });
}

/** Returns j/k/Enter handlers that move a highlight over `rows()` and open with `open(row)`. */
export function rowKeys(rows, open) {
  let index = -1;
  const highlight = (next) => {
    const list = rows();
    if (!list.length) return;
    if (index >= 0 && list[index]) list[index].classList.remove('highlight');
    index = Math.max(0, Math.min(list.length - 1, next));
    list[index].classList.add('highlight');
    list[index].scrollIntoView({ block: 'nearest' });
    list[index].focus({ preventScroll: true });
  };
  return {
    j: () => highlight(index + 1),
    k: () => highlight(index - 1),
    Enter: () => {
      const list = rows();
      if (index >= 0 && list[index]) open(list[index]);
    },
    reset: () => { index = -1; },
  };
}
