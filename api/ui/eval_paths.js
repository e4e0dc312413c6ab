// The evaluator preview's logic, the same rules the server's runner follows
// (core/src/evals/variables.rs and template.rs): a target as a JSON document, JSON paths into
// it (`input`, `metadata.context`, `output.choices[0].message.content`, `metadata["a.b"]`,
// longest dotted key first, JSON held in strings looked into), and `{{variable}}` rendering.

const VARIABLE = /\{\{\s*([A-Za-z0-9_.-]+)\s*\}\}/g;

/** Returns the template's variables, each once, in order of first use. */
export function templateVariables(prompt) {
  const names = [];
  for (const match of String(prompt || '').matchAll(VARIABLE)) if (!names.includes(match[1])) names.push(match[1]);
  return names;
}

/** Returns the path a variable is read from when the mapping does not say. */
export function defaultPath(variable) {
  if (variable === 'question' || variable === 'query') return 'input';
  if (variable === 'answer' || variable === 'response') return 'output';
  if (variable === 'context') return 'metadata.context';
  return variable;
}

/** Splits a path into steps (names and indexes); throws with a message on a bad path. */
export function parsePath(text) {
  let path = String(text).trim();
  if (path.startsWith('$.')) path = path.slice(2);
  else if (path.startsWith('$')) path = path.slice(1);
  const steps = [];
  let name = '';
  for (let i = 0; i < path.length; i += 1) {
    const c = path[i];
    if (c === '.') {
      if (name) steps.push({ name });
      name = '';
    } else if (c === '[') {
      if (name) steps.push({ name });
      name = '';
      const end = path.indexOf(']', i);
      if (end < 0) throw new Error(`path "${path}" has an unclosed '['`);
      const inner = path.slice(i + 1, end).trim();
      i = end;
      if (/^\d+$/.test(inner)) steps.push({ index: Number(inner) });
      else if (/^(".*"|'.*')$/.test(inner)) steps.push({ name: inner.slice(1, -1) });
      else throw new Error(`path "${path}": [${inner}] is neither an index nor a quoted key`);
    } else {
      name += c;
    }
  }
  if (name) steps.push({ name });
  if (!steps.length) throw new Error('path is empty');
  return steps;
}

function walk(value, steps) {
  if (!steps.length) return { found: true, value };
  const first = steps[0];
  if (Array.isArray(value) && 'index' in first) {
    return first.index < value.length ? walk(value[first.index], steps.slice(1)) : { found: false };
  }
  if (value && typeof value === 'object' && !Array.isArray(value) && 'name' in first) {
    const names = [];
    for (const step of steps) {
      if (!('name' in step)) break;
      names.push(step.name);
    }
    for (let taken = names.length; taken >= 1; taken -= 1) {
      const key = names.slice(0, taken).join('.');
      if (Object.prototype.hasOwnProperty.call(value, key)) {
        const result = walk(value[key], steps.slice(taken));
        if (result.found) return result;
      }
    }
    return { found: false };
  }
  if (typeof value === 'string') {
    try {
      const parsed = JSON.parse(value);
      if (parsed && typeof parsed === 'object') return walk(parsed, steps);
    } catch (error) {
      return { found: false };
    }
  }
  return { found: false };
}

/** Returns `{found, value}` for a path in a document; throws on a malformed path. */
export function resolvePath(document, path) {
  return walk(document, parsePath(path));
}

/** Returns the text a value renders as: strings as they are, null as nothing, else JSON. */
export function valueText(value) {
  if (typeof value === 'string') return value;
  if (value === null || value === undefined) return '';
  return JSON.stringify(value);
}

/** Returns the document a trace's paths resolve against (from `GET /traces/{id}`). */
export function traceDocument(trace) {
  return {
    id: trace.id, name: trace.name, input: trace.input, output: trace.output, metadata: trace.metadata,
    tags: trace.tags, userId: trace.userId, sessionId: trace.sessionId, release: trace.release,
    version: trace.version, environment: trace.environment, timestamp: trace.timestamp,
  };
}

/** Returns the document of an observation (from `GET /observations/{id}`). */
export function observationDocument(o) {
  return {
    id: o.id, traceId: o.traceId, type: o.type, name: o.name, input: o.input, output: o.output,
    metadata: o.metadata, model: o.model, modelParameters: o.modelParameters, level: o.level,
    statusMessage: o.statusMessage, environment: o.environment, usageDetails: o.usageDetails,
    startTime: o.startTime, endTime: o.endTime,
  };
}

/** Resolves every variable; returns `{values, problems}` (problems by variable). */
export function resolveVariables(document, variables, mapping) {
  const values = {};
  const problems = {};
  for (const variable of variables) {
    const path = (mapping[variable] || '').trim() || defaultPath(variable);
    try {
      const result = resolvePath(document, path);
      if (result.found && result.value !== null && result.value !== undefined) values[variable] = valueText(result.value);
      else problems[variable] = `nothing at "${path}"`;
    } catch (error) {
      problems[variable] = error.message;
    }
  }
  return { values, problems };
}

/** Fills `{{variable}}`; a variable without a value is shown as «variable: missing». */
export function renderTemplate(prompt, values) {
  return String(prompt).replace(VARIABLE, (whole, name) => (name in values ? values[name] : `«${name}: missing»`));
}
