// The app's hash router: #/login, #/traces[?filters], #/traces/{id}, #/sessions[/{id}],
// #/prompts[/{name}], #/datasets[/{name}[/compare]], #/evaluators[/new|/{id}],
// #/queues[/{id}], #/dashboard. Each page module exports `mount(main, route)`, which may return
// `{ unmount, keys }` (keys: handlers for j, k, Enter, r, / and Escape).

import { logout, project, restore, signedIn } from './api.js';
import { errorBox, replace } from './dom.js';
import { installKeys } from './keys.js';
import * as login from './login.js';
import * as traces from './traces.js';
import * as trace from './trace.js';
import * as sessions from './sessions.js';
import * as prompts from './prompts.js';
import * as datasets from './datasets.js';
import * as evaluators from './evaluators.js';
import * as queues from './queues.js';
import * as dashboard from './dashboard.js';

const main = document.getElementById('main');
let current = null;
let generation = 0;

/** Splits `#/a/b?x=1` into `{ parts: ['a', 'b'], params: URLSearchParams }`. */
export function parseHash(hash) {
  const text = hash.replace(/^#\/?/, '');
  const [path, search] = text.split('?');
  const parts = path.split('/').filter(Boolean).map(decodeURIComponent);
  return { parts, params: new URLSearchParams(search || '') };
}

function pageFor(parts) {
  switch (parts[0]) {
    case 'login': return login;
    case 'traces': return parts.length > 1 ? trace : traces;
    case 'sessions': return sessions;
    case 'prompts': return prompts;
    case 'datasets': return datasets;
    case 'evaluators': return evaluators;
    case 'queues': return queues;
    case 'dashboard': return dashboard;
    default: return null;
  }
}

function updateChrome(section) {
  const active = signedIn();
  document.getElementById('nav').hidden = !active;
  document.getElementById('logout').hidden = !active;
  const info = project();
  document.getElementById('project').textContent = active && info ? `Project: ${info.name}` : '';
  for (const link of document.querySelectorAll('[data-nav]')) {
    link.classList.toggle('active', link.dataset.nav === section);
    if (link.dataset.nav === section) link.setAttribute('aria-current', 'page');
    else link.removeAttribute('aria-current');
  }
}

async function route() {
  const mine = ++generation;
  const { parts, params } = parseHash(location.hash);
  if (!signedIn() && parts[0] !== 'login') {
    const back = location.hash && location.hash !== '#/login' ? location.hash : '';
    location.replace('#/login' + (back ? '?next=' + encodeURIComponent(back) : ''));
    return;
  }
  const page = pageFor(parts);
  if (!page) {
    location.replace('#/traces');
    return;
  }
  if (current && current.unmount) current.unmount();
  current = null;
  updateChrome(parts[0]);
  replace(main);
  try {
    const mounted = await page.mount(main, { parts, params });
    if (mine === generation) current = mounted || null;
    else if (mounted && mounted.unmount) mounted.unmount();
  } catch (error) {
    if (mine === generation) replace(main, errorBox(error));
  }
}

document.getElementById('logout').addEventListener('click', async () => {
  try {
    await logout();
  } finally {
    location.hash = '#/login';
  }
});
document.getElementById('help-toggle').addEventListener('click', () => document.getElementById('help').showModal());
installKeys(() => current);
window.addEventListener('hashchange', route);
// A reload keeps the session: the cookie survives it, so ask the server who is logged in.
restore().catch(() => false).finally(route);
