// Line diffs between two prompt versions: the prompt itself (text, or chat messages as
// `role: content` lines), its config as pretty JSON, and its labels and tags. The diff is a
// plain longest-common-subsequence walk; prompts are short enough that the quadratic table is
// cheap once the common head and tail are trimmed off.

import { h } from './dom.js';

/** Above this many table cells the LCS is skipped and the middle shown as replaced whole. */
const MAX_TABLE_CELLS = 4_000_000;
/** Unchanged lines kept visible around each change; longer unchanged runs fold away. */
const CONTEXT_LINES = 3;

const same = (text) => ({ kind: 'same', text });
const removed = (text) => ({ kind: 'removed', text });
const added = (text) => ({ kind: 'added', text });

/** Returns the edit script turning `before` into `after` (arrays of lines), in order, as
 *  `{kind: 'same' | 'removed' | 'added', text}`; within a change, removals come first. */
export function diffLines(before, after) {
  let head = 0;
  while (head < before.length && head < after.length && before[head] === after[head]) head++;
  let beforeEnd = before.length;
  let afterEnd = after.length;
  while (beforeEnd > head && afterEnd > head && before[beforeEnd - 1] === after[afterEnd - 1]) {
    beforeEnd--;
    afterEnd--;
  }
  return [
    ...before.slice(0, head).map(same),
    ...diffMiddle(before.slice(head, beforeEnd), after.slice(head, afterEnd)),
    ...before.slice(beforeEnd).map(same),
  ];
}

function diffMiddle(before, after) {
  const width = after.length + 1;
  if ((before.length + 1) * width > MAX_TABLE_CELLS) {
    return [...before.map(removed), ...after.map(added)];
  }
  // common[i * width + j] is the LCS length of before[i..] and after[j..]: filled from the end
  // so that the walk below can emit the script front to back.
  const common = new Uint32Array((before.length + 1) * width);
  for (let i = before.length - 1; i >= 0; i--) {
    for (let j = after.length - 1; j >= 0; j--) {
      common[i * width + j] = before[i] === after[j]
        ? common[(i + 1) * width + j + 1] + 1
        : Math.max(common[(i + 1) * width + j], common[i * width + j + 1]);
    }
  }
  const script = [];
  let i = 0;
  let j = 0;
  while (i < before.length && j < after.length) {
    if (before[i] === after[j]) {
      script.push(same(before[i++]));
      j++;
    } else if (common[(i + 1) * width + j] >= common[i * width + j + 1]) {
      script.push(removed(before[i++]));
    } else {
      script.push(added(after[j++]));
    }
  }
  while (i < before.length) script.push(removed(before[i++]));
  while (j < after.length) script.push(added(after[j++]));
  return script;
}

/** Returns `{added, removed}`: how many lines the script adds and removes. */
export function countChanges(script) {
  let addedLines = 0;
  let removedLines = 0;
  for (const line of script) {
    if (line.kind === 'added') addedLines++;
    else if (line.kind === 'removed') removedLines++;
  }
  return { added: addedLines, removed: removedLines };
}

/** Returns the "+N −M" summary of a change count. */
export function summaryText({ added: addedLines, removed: removedLines }) {
  return `+${addedLines} \u2212${removedLines}`;
}

/** Returns a prompt version's content as lines: a text prompt's lines, or one
 *  `role: content` line per line of each chat message (placeholders as `{{name}}`). */
export function promptLines(prompt) {
  if (typeof prompt === 'string') return prompt.split('\n');
  const lines = [];
  for (const message of prompt || []) {
    if (message.type === 'placeholder') {
      lines.push(`placeholder: {{${message.name}}}`);
      continue;
    }
    const content = typeof message.content === 'string' ? message.content : JSON.stringify(message.content);
    // The role goes on every line, so each line of a diff says which message it belongs to.
    for (const line of String(content).split('\n')) lines.push(`${message.role}: ${line}`);
  }
  return lines;
}

/** Returns a config as pretty-printed JSON lines (`{}` when there is none). */
export function configLines(config) {
  return JSON.stringify(config ?? {}, null, 2).split('\n');
}

/** Returns `label: …` then `tag: …` lines, each group sorted so that order never shows up as a change. */
export function labelLines(version) {
  const sorted = (values) => [...(values || [])].sort();
  return [
    ...sorted(version.labels).map((label) => `label: ${label}`),
    ...sorted(version.tags).map((tag) => `tag: ${tag}`),
  ];
}

const MARKERS = { same: ' ', removed: '-', added: '+' };
const SPOKEN = { same: 'unchanged', removed: 'removed', added: 'added' };

function lineElement(line) {
  // <del>/<ins> tell assistive technology what changed; the +/- marker tells everyone else,
  // so colour is never the only cue.
  const tag = line.kind === 'added' ? 'ins' : line.kind === 'removed' ? 'del' : 'div';
  return h(tag, { class: `diff-line diff-${line.kind}`, title: SPOKEN[line.kind] },
    h('span', { class: 'diff-marker' }, MARKERS[line.kind]),
    h('span', { class: 'diff-text' }, line.text));
}

function foldButton(lines) {
  const button = h('button', {
    type: 'button', class: 'link diff-fold',
    onclick: () => button.replaceWith(...lines.map(lineElement)),
  }, `\u22ef ${lines.length} unchanged line${lines.length === 1 ? '' : 's'}`);
  return button;
}

/** Returns the script's lines as elements, folding unchanged runs far from any change. */
function scriptElements(script) {
  const elements = [];
  let run = [];
  const flush = (atStart, atEnd) => {
    const keepBefore = atStart ? 0 : CONTEXT_LINES;
    const keepAfter = atEnd ? 0 : CONTEXT_LINES;
    if (run.length > keepBefore + keepAfter + 1) {
      elements.push(...run.slice(0, keepBefore).map(lineElement),
        foldButton(run.slice(keepBefore, run.length - keepAfter)),
        ...run.slice(run.length - keepAfter).map(lineElement));
    } else {
      elements.push(...run.map(lineElement));
    }
    run = [];
  };
  for (const line of script) {
    if (line.kind === 'same') {
      run.push(line);
      continue;
    }
    flush(elements.length === 0, false);
    elements.push(lineElement(line));
  }
  flush(elements.length === 0, true);
  return elements;
}

/** Returns one titled diff block (e.g. "Prompt") with its own "+N −M" summary. */
export function diffSection(title, id, before, after) {
  const script = diffLines(before, after);
  const counts = countChanges(script);
  const block = h('div', { class: 'diff', id });
  block.append(...scriptElements(script));
  return {
    counts,
    element: h('section', { class: 'diff-section' },
      h('h4', {}, title, ' ', h('span', { class: 'diff-summary', dataset: { summary: id } }, summaryText(counts))),
      block),
  };
}
