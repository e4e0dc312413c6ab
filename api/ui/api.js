// Calls the public API with the project's key pair, which lives in sessionStorage: it is
// gone when the tab closes and never reaches a server other than this one.

const PUBLIC_KEY = 'periscope.publicKey';
const SECRET_KEY = 'periscope.secretKey';
const PROJECT = 'periscope.project';

export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

export function credentials() {
  const publicKey = sessionStorage.getItem(PUBLIC_KEY);
  const secretKey = sessionStorage.getItem(SECRET_KEY);
  return publicKey && secretKey ? { publicKey, secretKey } : null;
}

export function project() {
  try {
    return JSON.parse(sessionStorage.getItem(PROJECT) || 'null');
  } catch (error) {
    return null;
  }
}

export function forget() {
  sessionStorage.removeItem(PUBLIC_KEY);
  sessionStorage.removeItem(SECRET_KEY);
  sessionStorage.removeItem(PROJECT);
}

function basic(publicKey, secretKey) {
  // btoa takes Latin-1 only; keys are ASCII, but encode safely anyway.
  const bytes = new TextEncoder().encode(`${publicKey}:${secretKey}`);
  return 'Basic ' + btoa(String.fromCharCode(...bytes));
}

/** Checks a key pair against the server and keeps it for this tab. */
export async function login(publicKey, secretKey) {
  const response = await fetch('/api/public/projects', {
    headers: { Authorization: basic(publicKey, secretKey) },
  });
  if (response.status === 401) throw new ApiError(401, 'These keys are not valid for any project.');
  if (!response.ok) throw new ApiError(response.status, `The server answered ${response.status}.`);
  const body = await response.json();
  const first = (body.data || [])[0] || null;
  sessionStorage.setItem(PUBLIC_KEY, publicKey);
  sessionStorage.setItem(SECRET_KEY, secretKey);
  sessionStorage.setItem(PROJECT, JSON.stringify(first && { id: first.id, name: first.name }));
  return first;
}

/** Builds a query string; array values repeat the key, empty values are left out. */
export function query(params) {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params || {})) {
    for (const one of Array.isArray(value) ? value : [value]) {
      if (one !== undefined && one !== null && one !== '') search.append(key, String(one));
    }
  }
  const text = search.toString();
  return text ? '?' + text : '';
}

async function send(path, options) {
  const response = await fetch('/api/public' + path, options);
  const text = await response.text();
  let body = null;
  try {
    body = text ? JSON.parse(text) : null;
  } catch (error) {
    body = null;
  }
  if (!response.ok) {
    const message = (body && body.message) || text || `HTTP ${response.status}`;
    throw new ApiError(response.status, `${message} (${response.status})`);
  }
  return body;
}

/** Calls `/api/public{path}` with the stored keys; a 401 logs out and returns to the login. */
export async function api(path, { method = 'GET', params, body } = {}) {
  const keys = credentials();
  if (!keys) {
    location.hash = '#/login';
    throw new ApiError(401, 'Log in first.');
  }
  const headers = { Authorization: basic(keys.publicKey, keys.secretKey) };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  try {
    return await send(path + query(params), {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (error) {
    if (error.status === 401) {
      forget();
      location.hash = '#/login';
    }
    throw error;
  }
}

/** Calls a credential-free read (the share endpoints); `null` when it is not found. */
export async function publicRead(path) {
  try {
    return await send(path, { credentials: 'omit' });
  } catch (error) {
    if (error.status === 404) return null;
    throw error;
  }
}
