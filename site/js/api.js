// The one module that talks to the HTTP API (DESIGN.md §6).
//
// - Base URL from window.CCHC_CONFIG.apiUrl (served as /config.js), falling back to the local default.
// - The bearer token and the account summary live in sessionStorage: closing the tab ends the session here.
// - Every failure is thrown as an ApiError carrying status, message (Vietnamese, shown to people) and details.
// - A 401 on an authenticated call clears the session and sends the user to the login page.

const FALLBACK_API_URL = 'http://127.0.0.1:8000';
const SESSION_KEY = 'cchc.session';
const FLASH_KEY = 'cchc.flash';
const TIMEOUT_MS = 30000;

export const LOGIN_PAGE = '/';
export const HOME_BY_ROLE = { province: '/tinh/', ministry: '/bo/' };

export const MESSAGES = {
  network: 'Không kết nối được máy chủ. Vui lòng kiểm tra kết nối mạng rồi thử lại.',
  timeout: 'Máy chủ không phản hồi kịp. Vui lòng thử lại sau ít phút.',
  badResponse: 'Máy chủ trả lời không hợp lệ. Vui lòng thử lại sau.',
  expired: 'Phiên đăng nhập đã hết hạn hoặc không hợp lệ. Vui lòng đăng nhập lại.',
};

export class ApiError extends Error {
  constructor(status, message, { code = null, details = [], retryAfter = null } = {}) {
    super(message);
    this.name = 'ApiError';
    this.status = status; // 0 when the server could not be reached
    this.code = code;
    this.details = Array.isArray(details) ? details : [];
    this.retryAfter = retryAfter;
  }

  /** Field errors as {field: message}; a detail without its own message gets the error's message. */
  fieldErrors() {
    const out = {};
    for (const item of this.details) {
      if (item && typeof item === 'object' && typeof item.field === 'string' && !(item.field in out)) {
        out[item.field] = typeof item.message === 'string' && item.message ? item.message : this.message;
      }
    }
    return out;
  }
}

export function apiUrl() {
  const configured = window.CCHC_CONFIG && window.CCHC_CONFIG.apiUrl;
  return String(configured || FALLBACK_API_URL).replace(/\/+$/, '');
}

// ---- session ---------------------------------------------------------------------------------------------

export function session() {
  try {
    const value = JSON.parse(sessionStorage.getItem(SESSION_KEY) || 'null');
    if (value && typeof value.token === 'string') return value;
  } catch {
    /* a damaged entry is treated as no session */
  }
  return null;
}

function saveSession(value) {
  sessionStorage.setItem(SESSION_KEY, JSON.stringify(value));
}

export function clearSession() {
  sessionStorage.removeItem(SESSION_KEY);
}

/** A one-time message for the next page (e.g. why the user landed on the login page). */
export function setFlash(message) {
  sessionStorage.setItem(FLASH_KEY, message);
}

export function takeFlash() {
  const message = sessionStorage.getItem(FLASH_KEY);
  sessionStorage.removeItem(FLASH_KEY);
  return message;
}

export function homeFor(role) {
  return HOME_BY_ROLE[role] || LOGIN_PAGE;
}

function toLogin(message) {
  clearSession();
  if (message) setFlash(message);
  window.location.assign(LOGIN_PAGE);
}

/**
 * The current session for a page that needs one; otherwise off to the login page (or to the account's own home
 * when the page is for another role). Returns null when navigating away.
 */
export function requireSession(role = null) {
  const current = session();
  if (!current) {
    toLogin(null);
    return null;
  }
  if (role && current.role !== role) {
    window.location.replace(homeFor(current.role));
    return null;
  }
  return current;
}

// ---- transport -------------------------------------------------------------------------------------------

async function request(method, path, { body, auth = true } = {}) {
  const headers = { Accept: 'application/json' };
  const current = session();
  if (auth) {
    if (!current) {
      toLogin(MESSAGES.expired);
      throw new ApiError(401, MESSAGES.expired);
    }
    headers.Authorization = `Bearer ${current.token}`;
  }
  const init = { method, headers, cache: 'no-store', credentials: 'omit' };
  if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), TIMEOUT_MS);
  init.signal = controller.signal;

  let response;
  try {
    response = await fetch(apiUrl() + path, init);
  } catch (err) {
    throw new ApiError(0, err && err.name === 'AbortError' ? MESSAGES.timeout : MESSAGES.network);
  } finally {
    clearTimeout(timer);
  }

  let data = null;
  const text = await response.text().catch(() => '');
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      data = null;
    }
  }
  if (response.ok) {
    if (data === null && text) throw new ApiError(response.status, MESSAGES.badResponse);
    return data;
  }

  const message = data && typeof data.message === 'string' && data.message
    ? data.message
    : `${MESSAGES.badResponse} (mã lỗi ${response.status})`;
  const retry = Number.parseInt(response.headers.get('Retry-After') || '', 10);
  const error = new ApiError(response.status, message, {
    code: data && data.code,
    details: data && data.details,
    retryAfter: Number.isFinite(retry) ? retry : null,
  });
  if (response.status === 401 && auth) {
    toLogin(message || MESSAGES.expired);
  }
  throw error;
}

const enc = encodeURIComponent;

// ---- account ---------------------------------------------------------------------------------------------

/** POST /auth/login; keeps the token and the account summary for the other pages. */
export async function login(username, password) {
  const result = await request('POST', '/auth/login', { body: { username, password }, auth: false });
  saveSession({
    token: result.token,
    role: result.role,
    unit: result.unit,
    username: result.username,
    displayName: result.display_name,
    expiresAt: result.expires_at,
    mustChangePassword: Boolean(result.must_change_password),
  });
  return result;
}

/** POST /auth/logout; the local session ends whatever the server says. */
export async function logout() {
  try {
    if (session()) await request('POST', '/auth/logout', { body: {} });
  } catch {
    /* the token is dropped below anyway */
  } finally {
    clearSession();
  }
}

export async function me() {
  const result = await request('GET', '/me');
  const current = session();
  if (current) {
    saveSession({ ...current, role: result.role, unit: result.unit, username: result.username,
      displayName: result.display_name });
  }
  return result;
}

export async function changePassword(currentPassword, newPassword) {
  const result = await request('POST', '/auth/password', {
    body: { current_password: currentPassword, new_password: newPassword },
  });
  const current = session();
  if (current) saveSession({ ...current, mustChangePassword: false });
  return result;
}

// ---- campaigns -------------------------------------------------------------------------------------------

export function campaigns() {
  return request('GET', '/campaigns');
}

export function campaign(cid) {
  return request('GET', `/campaigns/${enc(cid)}`);
}

/** PATCH a phase: {closes: "YYYY-MM-DD" | ISO instant, reason, unit?} (unit: extend for that unit only). */
export function changePhase(cid, phase, { closes, reason, unit = null }) {
  const body = { closes, reason };
  if (unit) body.unit = unit;
  return request('PATCH', `/campaigns/${enc(cid)}/phases/${enc(phase)}`, { body });
}

// ---- unit-scoped -----------------------------------------------------------------------------------------

export function focalPerson(cid, unit) {
  return request('GET', `/campaigns/${enc(cid)}/units/${enc(unit)}/focal-person`);
}

export function saveFocalPerson(cid, unit, { full_name, position, mobile }) {
  return request('PUT', `/campaigns/${enc(cid)}/units/${enc(unit)}/focal-person`, {
    body: { full_name, position, mobile },
  });
}

export function notifications(cid, unit) {
  return request('GET', `/campaigns/${enc(cid)}/units/${enc(unit)}/notifications`);
}
