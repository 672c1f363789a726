// The one module that talks to the HTTP API.
//
// - Base URL from window.CCHC_CONFIG.apiUrl (served as /config.js), falling back to the local default.
// - The bearer token and the account summary live in sessionStorage: closing the tab ends the session here.
// - Every failure is thrown as an ApiError carrying status, message (Vietnamese, shown to people) and details.
// - A 401 on an authenticated call clears the session and sends the user to the login page.
// - Binary transfers: the roster template comes through fetch as a Blob; a roster upload goes through
//   XMLHttpRequest, the one browser API that reports upload progress.
// - A respondent's survey calls carry no session: the link's token goes in the X-Survey-Token header only.

const FALLBACK_API_URL = 'http://127.0.0.1:8000';
const SESSION_KEY = 'cchc.session';
const FLASH_KEY = 'cchc.flash';
const TIMEOUT_MS = 30000;

export const LOGIN_PAGE = '/';
// The organiser (the Ministry of Home Affairs), a province, an assessed ministry or ministerial-level agency.
export const HOME_BY_ROLE = { province: '/tinh/', moha: '/bo/', ministry: '/bo-nganh/' };

export const MESSAGES = {
  network: 'Không kết nối được máy chủ. Vui lòng kiểm tra kết nối mạng rồi thử lại.',
  timeout: 'Máy chủ không phản hồi kịp. Vui lòng thử lại sau ít phút.',
  badResponse: 'Máy chủ trả lời không hợp lệ. Vui lòng thử lại sau.',
  expired: 'Phiên đăng nhập đã hết hạn hoặc không hợp lệ. Vui lòng đăng nhập lại.',
};

export class ApiError extends Error {
  constructor(status, message, { code = null, details = [], retryAfter = null, body = null } = {}) {
    super(message);
    this.name = 'ApiError';
    this.status = status; // 0 when the server could not be reached
    this.code = code;
    this.details = Array.isArray(details) ? details : [];
    this.retryAfter = retryAfter;
    this.body = body && typeof body === 'object' ? body : {}; // the whole error answer (e.g. an import's report)
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

async function request(method, path, { body, auth = true, extraHeaders = null, keepalive = false } = {}) {
  const headers = { Accept: 'application/json', ...(extraHeaders || {}) };
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
  // keepalive lets a request outlive the page (a draft saved as the tab closes); browsers cap it at 64 KB.
  if (keepalive && (!init.body || new TextEncoder().encode(init.body).length < 60000)) init.keepalive = true;
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

  const text = await response.text().catch(() => '');
  if (response.ok) {
    if (!text) return null;
    try {
      return JSON.parse(text);
    } catch {
      throw new ApiError(response.status, MESSAGES.badResponse);
    }
  }
  throw errorFrom(response.status, text, response.headers.get('Retry-After'), auth);
}

/** The ApiError for a failed answer (status, raw text); a 401 on an authenticated call ends the session. */
function errorFrom(status, text, retryAfter, auth) {
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = null;
  }
  const message = data && typeof data.message === 'string' && data.message
    ? data.message
    : `${MESSAGES.badResponse} (mã lỗi ${status})`;
  const retry = Number.parseInt(retryAfter || '', 10);
  const error = new ApiError(status, message, {
    code: data && data.code,
    details: data && data.details,
    retryAfter: Number.isFinite(retry) ? retry : null,
    body: data,
  });
  if (status === 401 && auth) {
    toLogin(message || MESSAGES.expired);
  }
  return error;
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

export function saveFocalPerson(cid, unit, { full_name, position, mobile, email }) {
  return request('PUT', `/campaigns/${enc(cid)}/units/${enc(unit)}/focal-person`, {
    body: { full_name, position, mobile, email },
  });
}

/** GET …/mail → the unit's mail domains (counts, last outcome and diagnostic, preflight), what to allow, pause. */
export function mailDesk(cid, unit) {
  return request('GET', `/campaigns/${enc(cid)}/units/${enc(unit)}/mail`);
}

/** POST …/mail/preflight {domains} → the desk, with the new preflight waiting for its outcomes. */
export function startPreflight(cid, unit, domains) {
  return request('POST', `/campaigns/${enc(cid)}/units/${enc(unit)}/mail/preflight`, { body: { domains } });
}

/** GET /campaigns/{cid}/mail-guard → {breaker, paused: [...], account, preflight_failures} (ministry). */
export function mailGuard(cid) {
  return request('GET', `/campaigns/${enc(cid)}/mail-guard`);
}

export function resumeUnitMail(cid, unit, reason = '') {
  return request('POST', `/campaigns/${enc(cid)}/units/${enc(unit)}/mail/resume`, { body: { reason } });
}

export function resetMailBreaker(reason = '') {
  return request('POST', '/mail-breaker/reset', { body: { reason } });
}

export function notifications(cid, unit) {
  return request('GET', `/campaigns/${enc(cid)}/units/${enc(unit)}/notifications`);
}

/** GET …/units/{unit}/ministry-survey (an assessed ministry): how many provincial respondents were asked to evaluate
 * it and how many answered, per province and group → {asked, answered, rate, provinces: [{…, groups}]}; counts only. */
export function ministrySurvey(cid, unit) {
  return request('GET', `/campaigns/${enc(cid)}/units/${enc(unit)}/ministry-survey`);
}

// ---- roster ----------------------------------------------------------------------------------------------

export const XLSX_TYPE = 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet';
export const MAX_IMPORT_BYTES = 4 * 1024 * 1024; // the API refuses larger bodies with 413
const UPLOAD_TIMEOUT_MS = 180000;

/** The file name a Content-Disposition header offers (RFC 5987 filename* first), else `fallback`. */
export function dispositionFilename(header, fallback) {
  const value = String(header || '');
  const star = /filename\*\s*=\s*([^']*)'[^']*'([^;]+)/i.exec(value);
  if (star) {
    try {
      return decodeURIComponent(star[2].trim().replace(/^"|"$/g, ''));
    } catch {
      /* a malformed encoding falls through to the plain name */
    }
  }
  const plain = /filename\s*=\s*"?([^";]+)"?/i.exec(value);
  const name = plain ? plain[1].trim() : fallback;
  // Only a base name: nothing from the server may steer where the file lands.
  return String(name || fallback).replace(/[\\/:*?"<>|\u0000-\u001f]+/g, '-');
}

/**
 * GET /campaigns/{cid}/roster-template.xlsx → {blob, filename}.
 * Accept carries only the xlsx type: API Gateway decides on binary answers from the first Accept value alone.
 */
export async function rosterTemplate(cid) {
  const current = session();
  if (!current) {
    toLogin(MESSAGES.expired);
    throw new ApiError(401, MESSAGES.expired);
  }
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), TIMEOUT_MS);
  let response;
  let blob;
  try {
    response = await fetch(`${apiUrl()}/campaigns/${enc(cid)}/roster-template.xlsx`, {
      method: 'GET', cache: 'no-store', credentials: 'omit', signal: controller.signal,
      headers: { Accept: XLSX_TYPE, Authorization: `Bearer ${current.token}` },
    });
    if (response.ok) blob = await response.blob();
  } catch (err) {
    throw new ApiError(0, err && err.name === 'AbortError' ? MESSAGES.timeout : MESSAGES.network);
  } finally {
    clearTimeout(timer);
  }
  if (!response.ok) {
    const text = await response.text().catch(() => '');
    throw errorFrom(response.status, text, response.headers.get('Retry-After'), true);
  }
  const filename = dispositionFilename(response.headers.get('Content-Disposition'),
    `mau-danh-sach-dieu-tra-xhh-${cid}.xlsx`);
  return { blob, filename };
}

/**
 * POST the workbook as the raw body to …/roster/imports?mode=merge|replace, with XMLHttpRequest so the upload can
 * report progress. onProgress(fraction 0..1 | null when unknown) while sending; onSent() once the last byte is out
 * and the server is checking. Resolves with the import report; rejects with an ApiError whose `body` carries the
 * server's whole answer (errors, error_workbook_url, counts…).
 */
export function importRoster(cid, unit, file, mode, { onProgress = null, onSent = null } = {}) {
  return new Promise((resolve, reject) => {
    const current = session();
    if (!current) {
      toLogin(MESSAGES.expired);
      reject(new ApiError(401, MESSAGES.expired));
      return;
    }
    const xhr = new XMLHttpRequest();
    const query = new URLSearchParams({ mode }).toString();
    xhr.open('POST', `${apiUrl()}/campaigns/${enc(cid)}/units/${enc(unit)}/roster/imports?${query}`);
    xhr.timeout = UPLOAD_TIMEOUT_MS;
    xhr.withCredentials = false;
    xhr.setRequestHeader('Accept', 'application/json');
    xhr.setRequestHeader('Content-Type', XLSX_TYPE);
    xhr.setRequestHeader('Authorization', `Bearer ${current.token}`);
    let sent = false;
    const markSent = () => {
      if (sent) return;
      sent = true;
      if (onSent) onSent();
    };
    xhr.upload.addEventListener('progress', (event) => {
      if (onProgress) onProgress(event.lengthComputable && event.total ? event.loaded / event.total : null);
    });
    xhr.upload.addEventListener('load', markSent);
    xhr.addEventListener('load', () => {
      markSent();
      if (xhr.status >= 200 && xhr.status < 300) {
        try {
          resolve(JSON.parse(xhr.responseText));
        } catch {
          reject(new ApiError(xhr.status, MESSAGES.badResponse));
        }
        return;
      }
      reject(errorFrom(xhr.status, xhr.responseText, xhr.getResponseHeader('Retry-After'), true));
    });
    xhr.addEventListener('error', () => reject(new ApiError(0, MESSAGES.network)));
    xhr.addEventListener('timeout', () => reject(new ApiError(0, MESSAGES.timeout)));
    xhr.addEventListener('abort', () => reject(new ApiError(0, MESSAGES.network)));
    xhr.send(file);
  });
}

function rosterPath(cid, unit, rest = '') {
  return `/campaigns/${enc(cid)}/units/${enc(unit)}/roster${rest}`;
}

/** GET one page of the roster: {status, total, counts, submitted_at…, items, next_cursor}. */
export function roster(cid, unit, { group = '', q = '', limit = 50, cursor = '' } = {}) {
  const params = new URLSearchParams();
  if (group) params.set('group', group);
  if (q) params.set('q', q);
  if (limit) params.set('limit', String(limit));
  if (cursor) params.set('cursor', cursor);
  const query = params.toString();
  return request('GET', rosterPath(cid, unit, query ? `?${query}` : ''));
}

export function addRespondent(cid, unit, person) {
  return request('POST', rosterPath(cid, unit), { body: person });
}

export function updateRespondent(cid, unit, rid, changes) {
  return request('PATCH', rosterPath(cid, unit, `/${enc(rid)}`), { body: changes });
}

export function deleteRespondent(cid, unit, rid) {
  return request('DELETE', rosterPath(cid, unit, `/${enc(rid)}`));
}

/** "Gửi danh sách về Bộ Nội vụ": the roster's new status. */
export function submitRoster(cid, unit) {
  return request('POST', rosterPath(cid, unit, '/submit'), { body: {} });
}

/** The ministry reopens a sent roster (reason required). */
export function reopenRoster(cid, unit, reason) {
  return request('DELETE', rosterPath(cid, unit, '/submit'), { body: { reason } });
}

// ---- survey (the respondent's link) ------------------------------------------------------------------------
//
// The link's token travels only in the X-Survey-Token header: never in a URL (server logs, Referer, history).
// These calls carry no session: a respondent has no account.

const SURVEY_HEADER = 'X-Survey-Token';

function surveyRequest(method, path, token, options = {}) {
  return request(method, path, { ...options, auth: false, extraHeaders: { [SURVEY_HEADER]: token } });
}

/** GET /survey: the questionnaire, the respondent's unit and group, the deadline, the draft or the receipt. */
export function survey(token) {
  return surveyRequest('GET', '/survey', token);
}

/** PUT /survey/draft {answers} → {saved_at, saved_at_label}. `keepalive`: may finish after the page is gone. */
export function saveSurveyDraft(token, answers, { keepalive = false } = {}) {
  return surveyRequest('PUT', '/survey/draft', token, { body: { answers }, keepalive });
}

/** POST /survey/submit {answers} → {receipt, submitted_at, submitted_at_label}; a link submits once (409). */
export function submitSurvey(token, answers) {
  return surveyRequest('POST', '/survey/submit', token, { body: { answers } });
}

// ---- dispatch and progress -------------------------------------------------------------------------------

/** POST /campaigns/{cid}/dispatch: {} dispatches to every unit whose roster was sent, {units} to those. → a run. */
export function startDispatch(cid, units = null) {
  return request('POST', `/campaigns/${enc(cid)}/dispatch`, { body: units ? { units } : {} });
}

/** GET /campaigns/{cid}/dispatch → {runs: [...]} (newest first): units_done/units_total, mails…, finished. */
export function dispatchRuns(cid) {
  return request('GET', `/campaigns/${enc(cid)}/dispatch`);
}

function unitPath(cid, unit, rest) {
  return `/campaigns/${enc(cid)}/units/${enc(unit)}${rest}`;
}

/**
 * GET a unit's survey progress: totals, by_group, and a page of people (each link's status, never the answers).
 * Filters: group, status (not_sent|sent|opened|submitted|bounced|pending), agency, q; paging: offset, limit.
 */
export function unitProgress(cid, unit, { group = '', status = '', agency = '', q = '', offset = 0, limit = 50, people = true } = {}) {
  const params = new URLSearchParams();
  if (!people) params.set('people', 'false');
  if (group) params.set('group', group);
  if (status) params.set('status', status);
  if (agency) params.set('agency', agency);
  if (q) params.set('q', q);
  if (offset) params.set('offset', String(offset));
  if (limit) params.set('limit', String(limit));
  return request('GET', unitPath(cid, unit, `/progress?${params.toString()}`));
}

/** GET …/progress.xlsx → {url, filename, size, expires_in}: a short-lived link to the workbook. */
export function unitProgressExport(cid, unit) {
  return request('GET', unitPath(cid, unit, '/progress.xlsx'));
}

/** POST …/reminders: {rids} for the chosen respondents, none for every non-responder → {queued, recent, answered,
 * undeliverable} (counted per questionnaire link). */
export function sendReminders(cid, unit, rids = null) {
  return request('POST', unitPath(cid, unit, '/reminders'), { body: rids && rids.length ? { rids } : {} });
}

/** POST …/reminders/preview [{rids}] → {people: {now, recent, answered, undeliverable}, forms, recent_from_label}. */
export function previewReminders(cid, unit, rids = null) {
  return request('POST', unitPath(cid, unit, '/reminders/preview'), { body: rids && rids.length ? { rids } : {} });
}

/** POST …/roster/{rid}/email {email}: corrects a bounced address and mails the respondent a new link. */
export function correctEmail(cid, unit, rid, email) {
  return request('POST', rosterPath(cid, unit, `/${enc(rid)}/email`), { body: { email } });
}

/** POST …/roster/{rid}/email-requests {email, reason}: asks the ministry to send a delivered invitation's links to
 * another address → the pending request. */
export function requestEmailChange(cid, unit, rid, email, reason) {
  return request('POST', rosterPath(cid, unit, `/${enc(rid)}/email-requests`), { body: { email, reason } });
}

/** GET …/address-changes[?state=]: a unit's corrections and requests (addresses masked), newest first. */
export function addressChanges(cid, unit, state = '') {
  return request('GET', unitPath(cid, unit, `/address-changes${state ? `?state=${enc(state)}` : ''}`));
}

/** GET /campaigns/{cid}/address-changes[?state=]: every unit's (ministry), pending first. */
export function campaignAddressChanges(cid, state = '') {
  return request('GET', `/campaigns/${enc(cid)}/address-changes${state ? `?state=${enc(state)}` : ''}`);
}

/** POST …/address-changes/{id}/approve {note?}: the links are re-issued to the new address. */
export function approveEmailChange(cid, unit, id, note = '') {
  return request('POST', unitPath(cid, unit, `/address-changes/${enc(id)}/approve`), { body: note ? { note } : {} });
}

/** POST …/address-changes/{id}/refuse {reason}: nothing changes. */
export function refuseEmailChange(cid, unit, id, reason) {
  return request('POST', unitPath(cid, unit, `/address-changes/${enc(id)}/refuse`), { body: { reason } });
}

/** GET /campaigns/{cid}/progress?sort=code|name|rate|submitted|bounced: every unit and the national totals. */
export function nationalProgress(cid, sort = 'code') {
  return request('GET', `/campaigns/${enc(cid)}/progress?${new URLSearchParams({ sort }).toString()}`);
}

/** GET /campaigns/{cid}/progress.xlsx → {url, filename, …}. */
export function nationalProgressExport(cid) {
  return request('GET', `/campaigns/${enc(cid)}/progress.xlsx`);
}

// ---- integrity (ministry only) -----------------------------------------------------------------------------

/** GET /campaigns/{cid}/integrity → {campaign, units: [{unit, name, score, flagged, flags, …}], thresholds}. */
export function integrity(cid) {
  return request('GET', `/campaigns/${enc(cid)}/integrity`);
}

/** GET /campaigns/{cid}/integrity.xlsx → {url, filename}: the evidence workbook (units by risk, flags). */
export function integrityExport(cid) {
  return request('GET', `/campaigns/${enc(cid)}/integrity.xlsx`);
}

/** POST …/integrity/scan: scans the units with new activity now → the same answer plus `scanned`. */
export function scanIntegrity(cid) {
  return request('POST', `/campaigns/${enc(cid)}/integrity/scan`, { body: {} });
}

/** POST …/units/{unit}/annulment {reason} → {unit, annulled, annulled_at, annulled_by, reason} (422 without a
 * reason, 409 when already annulled). */
export function annulUnit(cid, unit, reason) {
  return request('POST', unitPath(cid, unit, '/annulment'), { body: { reason } });
}

/** DELETE …/units/{unit}/annulment {reason}: reinstates an annulled unit's results (409 when not annulled). */
export function reinstateUnit(cid, unit, reason) {
  return request('DELETE', unitPath(cid, unit, '/annulment'), { body: { reason } });
}

// ---- self-assessment, appraisal and the index ---------------------------------------------------------------

/** GET /campaigns/{cid}/framework: the criteria tree (fields → criteria → sub-criteria) with maxima and methods. */
export function framework(cid) {
  return request('GET', `/campaigns/${enc(cid)}/framework`);
}

function assessmentPath(cid, unit, rest = '') {
  return unitPath(cid, unit, `/assessment${rest}`);
}

/** GET a unit's assessment: state, phase, approval, totals and the tree with every leaf's scores and evidence. */
export function assessment(cid, unit) {
  return request('GET', assessmentPath(cid, unit));
}

/** PUT a self-scored leaf {score, note, explanation, evidence: [ids]} → {item, totals, fields}. */
export function saveAssessmentItem(cid, unit, code, { score, note, explanation, evidence }) {
  return request('PUT', assessmentPath(cid, unit, `/items/${enc(code)}`), {
    body: { score, note, explanation, evidence },
  });
}

/** POST …/assessment/evidence {code (a leaf's or "report"), filename, content_type, size}
 * → {evidence_id, url, fields, max_bytes, expires_in}: where the browser then posts the file itself. */
export function evidenceUpload(cid, unit, { code, filename, content_type, size }) {
  return request('POST', assessmentPath(cid, unit, '/evidence'), { body: { code, filename, content_type, size } });
}

export const EVIDENCE_MESSAGES = {
  storage: 'Không tải được tệp lên kho lưu trữ. Vui lòng thử lại.',
  tooLarge: 'Tệp vượt quá dung lượng cho phép.',
  expired: 'Đường dẫn tải tệp đã hết hạn. Vui lòng chọn tệp và tải lên lại.',
};

/** S3's error code in an XML answer ("EntityTooLarge", "AccessDenied" …), or null. */
function storageErrorCode(text) {
  const match = /<Code>([^<]+)<\/Code>/.exec(String(text || ''));
  return match ? match[1] : null;
}

/**
 * Posts a file to a presigned S3 POST (multipart/form-data: every policy field first, the file last as "file"),
 * with XMLHttpRequest for its upload progress. The storage is not our API: no session header goes with it.
 * onProgress(fraction 0..1 | null when unknown). Resolves when the storage has accepted the file.
 */
export function uploadToStorage(url, fields, file, { onProgress = null } = {}) {
  return new Promise((resolve, reject) => {
    const form = new FormData();
    for (const [key, value] of Object.entries(fields || {})) form.append(key, value);
    form.append('file', file, file.name);
    const xhr = new XMLHttpRequest();
    xhr.open('POST', url);
    xhr.timeout = 15 * 60 * 1000; // 20 MB on a slow provincial line
    xhr.withCredentials = false;
    xhr.upload.addEventListener('progress', (event) => {
      if (onProgress) onProgress(event.lengthComputable && event.total ? event.loaded / event.total : null);
    });
    xhr.addEventListener('load', () => {
      if (xhr.status >= 200 && xhr.status < 300) {
        resolve();
        return;
      }
      const code = storageErrorCode(xhr.responseText);
      let message = `${EVIDENCE_MESSAGES.storage} (mã lỗi ${xhr.status})`;
      if (code === 'EntityTooLarge') message = EVIDENCE_MESSAGES.tooLarge;
      else if (code === 'AccessDenied' || code === 'ExpiredToken') message = EVIDENCE_MESSAGES.expired;
      reject(new ApiError(xhr.status, message, { code }));
    });
    xhr.addEventListener('error', () => reject(new ApiError(0, MESSAGES.network)));
    xhr.addEventListener('timeout', () => reject(new ApiError(0, MESSAGES.timeout)));
    xhr.addEventListener('abort', () => reject(new ApiError(0, MESSAGES.network)));
    xhr.send(form);
  });
}

/** POST …/assessment/approve {leader_name, leader_position, decision_number, decision_date: "dd/mm/yyyy", report}
 * → the assessment (state "approved"); 422 lists in `details` every item that still blocks approval. */
export function approveAssessment(cid, unit, body) {
  return request('POST', assessmentPath(cid, unit, '/approve'), { body });
}

/** DELETE …/assessment/approve {reason}: the ministry reopens an approved (or locked) assessment → the view. */
export function reopenAssessment(cid, unit, reason) {
  return request('DELETE', assessmentPath(cid, unit, '/approve'), { body: { reason } });
}

/** PUT …/items/{code}/appraisal {score, comment} (ministry) → {item, totals}. */
export function saveAppraisal(cid, unit, code, { score, comment }) {
  return request('PUT', assessmentPath(cid, unit, `/items/${enc(code)}/appraisal`), { body: { score, comment } });
}

/** POST …/assessment/publish (ministry): the unit then sees the appraised scores → the view. */
export function publishAppraisal(cid, unit) {
  return request('POST', assessmentPath(cid, unit, '/publish'), { body: {} });
}

/** GET /campaigns/{cid}/results[?kind=ministry]: every province's (or assessed ministry's) index, rank (null for a
 * unit not ranked), grade and parts, the grade counts and the average. */
export function results(cid, kind = 'province') {
  const query = kind === 'province' ? '' : `?${new URLSearchParams({ kind }).toString()}`;
  return request('GET', `/campaigns/${enc(cid)}/results${query}`);
}

/** GET /campaigns/{cid}/results.xlsx → {url, filename, expires_in}. */
export function resultsExport(cid) {
  return request('GET', `/campaigns/${enc(cid)}/results.xlsx`);
}
