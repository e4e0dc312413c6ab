// Calls the public API with the UI's session cookie. The login page sends the project's key
// pair once to /ui/api/login, which answers with an HttpOnly cookie: scripts never see it,
// and the secret key is not kept anywhere in the browser.

export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

// Who is logged in ({ projectId, publicKey, project: { id, name } | null }), or null.
let session = null;

export function signedIn() {
  return session !== null;
}

export function project() {
  return session && session.project;
}

/** Forgets the session on this side (the server's copy is ended by `logout`). */
export function forget() {
  session = null;
}

async function loadProject(who) {
  const body = await send('/projects', {});
  const first = (body && body.data || [])[0] || null;
  session = { ...who, project: first && { id: first.id, name: first.name } };
  return session.project;
}

/** Picks up the session of the cookie, if any (after a reload or in a new tab). */
export async function restore() {
  const response = await fetch('/ui/api/session');
  if (!response.ok) {
    session = null;
    return false;
  }
  await loadProject(await response.json());
  return true;
}

/** Checks a key pair against the server, which starts a cookie session for this browser. */
export async function login(publicKey, secretKey) {
  const response = await fetch('/ui/api/login', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ publicKey, secretKey }),
  });
  if (response.status === 401) throw new ApiError(401, 'These keys are not valid for any project.');
  if (!response.ok) throw new ApiError(response.status, `The server answered ${response.status}.`);
  return loadProject(await response.json());
}

/** Ends the session on the server and here. */
export async function logout() {
  session = null;
  await fetch('/ui/api/logout', { method: 'POST' });
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

async function send(path, options, base = '/api/public') {
  const response = await fetch(base + path, options);
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

/**
 * Calls `{base}{path}` (the public API unless `base` says `/ui/api`) with the session cookie;
 * a 401 logs out and returns to the login.
 */
export async function api(path, { method = 'GET', params, body, base = '/api/public' } = {}) {
  if (!session) {
    location.hash = '#/login';
    throw new ApiError(401, 'Log in first.');
  }
  const headers = {};
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  try {
    return await send(path + query(params), {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    }, base);
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
