// Renders traced inputs and outputs: chat messages as a conversation, anything else as
// pretty JSON. Large bodies stay collapsed until clicked, so a 5 MB prompt does not freeze
// the page.

import { h } from './dom.js';
import { formatBytes } from './format.js';

const COLLAPSE_CHARS = 1500;
const PREVIEW_CHARS = 600;

function isMessage(value) {
  return value !== null && typeof value === 'object' && !Array.isArray(value) &&
    typeof value.role === 'string' && ('content' in value || 'tool_calls' in value);
}

/** Returns the messages of a chat-shaped value (`[{role, content}]`, `{messages: [...]}`,
 *  or one message), else null. */
export function chatMessages(value) {
  if (Array.isArray(value) && value.length > 0 && value.every(isMessage)) return value;
  if (value && typeof value === 'object' && Array.isArray(value.messages) &&
      value.messages.length > 0 && value.messages.every(isMessage)) {
    return value.messages;
  }
  if (isMessage(value)) return [value];
  return null;
}

/** Returns the text of a message's content (a string, or OpenAI-style text parts). */
export function contentText(content) {
  if (typeof content === 'string') return content;
  if (Array.isArray(content)) {
    const texts = content.map((part) => (part && typeof part.text === 'string' ? part.text : null));
    if (texts.every((text) => text !== null)) return texts.join('\n');
  }
  return null;
}

/** Returns a `<pre>` with the text, collapsed behind a button when it is long. */
export function collapsible(text, className) {
  const pre = h('pre', { class: className || 'json' });
  if (text.length <= COLLAPSE_CHARS) {
    pre.textContent = text;
    return pre;
  }
  pre.textContent = text.slice(0, PREVIEW_CHARS) + '…';
  pre.classList.add('collapsed');
  const bytes = new TextEncoder().encode(text).length;
  const button = h('button', {
    class: 'link expand', type: 'button',
    onclick: () => {
      pre.textContent = text;
      pre.classList.remove('collapsed');
      button.remove();
    },
  }, `Show all (${formatBytes(bytes)})`);
  return h('div', { class: 'collapsible' }, pre, button);
}

function prettyJson(value) {
  if (typeof value === 'string') return value;
  return JSON.stringify(value, null, 2);
}

function message(msg) {
  const text = contentText(msg.content);
  const body = [];
  if (text !== null) {
    body.push(collapsible(text, 'message-text'));
  } else if (msg.content !== undefined && msg.content !== null) {
    body.push(collapsible(prettyJson(msg.content)));
  }
  if (msg.tool_calls) body.push(h('div', { class: 'muted small' }, 'tool calls'), collapsible(prettyJson(msg.tool_calls)));
  const role = msg.name ? `${msg.role} · ${msg.name}` : msg.role;
  return h('div', { class: `message role-${String(msg.role).replace(/[^a-z_]/gi, '')}` },
    h('div', { class: 'message-role' }, role), body);
}

/** Renders a value as chat messages when it looks like them, else as JSON or text. */
export function renderValue(value) {
  if (value === null || value === undefined) return h('p', { class: 'muted small' }, 'none');
  const messages = chatMessages(value);
  if (messages) return h('div', { class: 'chat' }, messages.map(message));
  return collapsible(prettyJson(value));
}

/** Returns a titled block for an input or output. */
export function valueBlock(title, value) {
  return h('section', { class: 'value-block' }, h('h4', {}, title), renderValue(value));
}
