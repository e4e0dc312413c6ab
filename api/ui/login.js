// The login page: a project's public and secret key, sent once to the server, which answers
// with an HttpOnly session cookie; the keys are not kept in the browser.

import { login } from './api.js';
import { h, replace } from './dom.js';

export function mount(main, route) {
  const publicKey = h('input', { id: 'public-key', name: 'publicKey', autocomplete: 'username', required: true, placeholder: 'pk-lf-…', spellcheck: 'false' });
  const secretKey = h('input', { id: 'secret-key', name: 'secretKey', type: 'password', autocomplete: 'current-password', required: true, placeholder: 'sk-lf-…' });
  const message = h('div', { class: 'form-message', role: 'status' });
  const submit = h('button', { type: 'submit', class: 'primary' }, 'Log in');
  const form = h('form', {
    class: 'card login', id: 'login-form',
    onsubmit: async (event) => {
      event.preventDefault();
      submit.disabled = true;
      replace(message, 'Checking the keys…');
      try {
        await login(publicKey.value.trim(), secretKey.value.trim());
        const next = route.params.get('next');
        location.hash = next && next.startsWith('#/') && !next.startsWith('#/login') ? next : '#/traces';
      } catch (error) {
        replace(message, h('span', { class: 'error-text' }, error.message));
        submit.disabled = false;
      }
    },
  },
  h('h1', {}, 'Log in to a project'),
  h('p', { class: 'muted' }, 'Use the API keys of the project (the same pair the SDKs use). They are checked once; the browser then keeps only a session cookie, which ends when you log out or after 12 hours unused.'),
  h('label', { for: 'public-key' }, 'Public key'), publicKey,
  h('label', { for: 'secret-key' }, 'Secret key'), secretKey,
  submit, message);
  replace(main, h('div', { class: 'center' }, form));
  publicKey.focus();
}
