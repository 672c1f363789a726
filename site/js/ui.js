// Shared page helpers: DOM building (text only, never HTML from data), Vietnamese date/time formatting,
// phase badges and countdowns, messages and field errors, the account header, the campaign selector.

import * as api from './api.js';

export const TZ = 'Asia/Ho_Chi_Minh';

// ---- DOM -------------------------------------------------------------------------------------------------

/**
 * el('p', {class: 'x', dataset: {a: 1}, onclick: fn}, 'text', child, ...).
 * Strings become text nodes: data from the API can never turn into markup.
 */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key === 'class') node.className = value;
    else if (key === 'dataset') Object.assign(node.dataset, value);
    else if (key.startsWith('on') && typeof value === 'function') node.addEventListener(key.slice(2), value);
    else if (key === 'text') node.textContent = String(value);
    else if (value === true) node.setAttribute(key, '');
    else node.setAttribute(key, String(value));
  }
  append(node, children);
  return node;
}

function append(node, children) {
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

export function clear(node) {
  node.replaceChildren();
  return node;
}

export function $(selector, root = document) {
  return root.querySelector(selector);
}

const pad = (n) => String(n).padStart(2, '0');

// ---- dates and times -------------------------------------------------------------------------------------

const dateParts = new Intl.DateTimeFormat('vi-VN', {
  timeZone: TZ, day: '2-digit', month: '2-digit', year: 'numeric',
});
const timeParts = new Intl.DateTimeFormat('vi-VN', {
  timeZone: TZ, hour: '2-digit', minute: '2-digit', hourCycle: 'h23',
});

function partsOf(format, date) {
  const out = {};
  for (const part of format.formatToParts(date)) out[part.type] = part.value;
  return out;
}

function toDate(value) {
  const date = value instanceof Date ? value : new Date(value);
  return Number.isNaN(date.getTime()) ? null : date;
}

/** dd/mm/yyyy in Vietnam's time zone. */
export function formatDate(value) {
  const date = toDate(value);
  if (!date) return '';
  const p = partsOf(dateParts, date);
  return `${p.day}/${p.month}/${p.year}`;
}

/** HH:MM dd/mm/yyyy in Vietnam's time zone (the API's own labels read the same way). */
export function formatDateTime(value) {
  const date = toDate(value);
  if (!date) return '';
  const t = partsOf(timeParts, date);
  return `${t.hour}:${t.minute} ${formatDate(date)}`;
}

/** YYYY-MM-DD of an instant in Vietnam's time zone. */
export function isoDateVN(value) {
  const date = toDate(value);
  if (!date) return '';
  const p = partsOf(dateParts, date);
  return `${p.year}-${p.month}-${p.day}`;
}

/**
 * "15/01/2022" (also 15-1-2022, 15.01.2022) → "2022-01-15"; null when it is not a real day.
 * Date fields are plain text in dd/mm/yyyy: a native date input shows the browser's own order (mm/dd on an
 * English Windows), which officials would misread.
 */
export function parseDateVN(text) {
  const m = /^\s*(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})\s*$/.exec(String(text || ''));
  if (!m) return null;
  const [day, month, year] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const probe = new Date(Date.UTC(year, month - 1, day));
  if (probe.getUTCFullYear() !== year || probe.getUTCMonth() !== month - 1 || probe.getUTCDate() !== day) return null;
  return `${year}-${pad(month)}-${pad(day)}`;
}

// ---- server time and countdowns --------------------------------------------------------------------------

// Office PCs often have a wrong clock: the API's seconds_left tells us how far off this one is.
let clockSkewMs = 0;

export function learnServerClock(phases) {
  const samples = (phases || [])
    .filter((p) => p && p.seconds_left > 0 && p.closes_at)
    .map((p) => Date.parse(p.closes_at) - p.seconds_left * 1000 - Date.now());
  if (samples.length) {
    const skew = samples[0];
    // seconds_left is truncated to whole seconds and the answer took some time to arrive.
    clockSkewMs = Math.abs(skew) > 2000 ? skew : 0;
  }
}

export function serverNow() {
  return Date.now() + clockSkewMs;
}

/** "Còn 3 ngày 04:12:09" / "Còn 04:12:09". */
export function formatRemaining(ms) {
  const total = Math.max(0, Math.floor(ms / 1000));
  const days = Math.floor(total / 86400);
  const clock = `${pad(Math.floor((total % 86400) / 3600))}:${pad(Math.floor((total % 3600) / 60))}:${pad(total % 60)}`;
  return days > 0 ? `Còn ${days} ngày ${clock}` : `Còn ${clock}`;
}

const countdowns = new Set();
let ticker = null;

function tick() {
  const now = serverNow();
  for (const item of countdowns) {
    if (!item.node.isConnected) {
      countdowns.delete(item);
      continue;
    }
    const left = item.closesAt - now;
    if (left <= 0) {
      countdowns.delete(item);
      item.node.textContent = 'Đã hết thời hạn';
      if (item.onExpire) item.onExpire();
    } else {
      item.node.textContent = formatRemaining(left);
    }
  }
  if (!countdowns.size && ticker) {
    clearInterval(ticker);
    ticker = null;
  }
}

/** A live "Còn … " text until `closesAt`; `onExpire` runs once when it reaches zero. */
export function countdown(closesAt, onExpire = null) {
  const node = el('span', { class: 'countdown', role: 'timer' });
  countdowns.add({ node, closesAt: Date.parse(closesAt), onExpire });
  if (!ticker) ticker = setInterval(tick, 1000);
  queueMicrotask(tick);
  return node;
}

// ---- phases ----------------------------------------------------------------------------------------------

export const PHASE_STATES = { open: 'Đang mở', upcoming: 'Chưa mở', closed: 'Đã khóa' };

export function stateBadge(state) {
  return el('span', { class: `badge badge-${state}` }, PHASE_STATES[state] || state);
}

export function extendedBadge() {
  return el('span', { class: 'badge badge-extended' }, 'đã gia hạn');
}

/** The state as of now on this page (a phase left open at load time closes while the page is shown). */
export function currentState(phase) {
  const now = serverNow();
  if (now < Date.parse(phase.opens_at)) return 'upcoming';
  if (now < Date.parse(phase.closes_at)) return 'open';
  return 'closed';
}

// ---- messages and field errors ---------------------------------------------------------------------------

/**
 * A message box holds two live regions: role="alert" for errors and role="status" for the rest.
 * show(box, 'error' | 'success' | 'info', text)
 */
export function show(box, kind, text) {
  const alert = box.querySelector('[role="alert"]');
  const status = box.querySelector('[role="status"]');
  alert.textContent = '';
  status.textContent = '';
  box.dataset.kind = text ? kind : '';
  if (text) (kind === 'error' ? alert : status).textContent = text;
}

export function messageBox(id) {
  return el('div', { class: 'message', id },
    el('p', { role: 'alert', class: 'message-text' }),
    el('p', { role: 'status', class: 'message-text' }));
}

function describedBy(input, id, on) {
  const ids = (input.getAttribute('aria-describedby') || '').split(/\s+/).filter(Boolean)
    .filter((x) => x !== id);
  if (on) ids.push(id);
  if (ids.length) input.setAttribute('aria-describedby', ids.join(' '));
  else input.removeAttribute('aria-describedby');
}

/** Field error beside an input: text in #<input id>-error, aria-invalid, tied with aria-describedby. */
export function setFieldError(input, message) {
  const id = `${input.id}-error`;
  let node = document.getElementById(id);
  if (!node) {
    node = el('p', { id, class: 'field-error' });
    input.insertAdjacentElement('afterend', node);
  }
  node.textContent = message || '';
  node.hidden = !message;
  if (message) input.setAttribute('aria-invalid', 'true');
  else input.removeAttribute('aria-invalid');
  describedBy(input, id, Boolean(message));
}

export function clearFieldErrors(form) {
  for (const input of form.querySelectorAll('[aria-invalid="true"]')) setFieldError(input, '');
}

/**
 * Shows an ApiError's field details beside the inputs (fieldMap: API field name → input element).
 * Returns the inputs marked, in form order, so the caller can focus the first.
 */
export function showFieldErrors(error, fieldMap) {
  const marked = [];
  const byField = error && typeof error.fieldErrors === 'function' ? error.fieldErrors() : {};
  for (const [field, message] of Object.entries(byField)) {
    const input = fieldMap[field];
    if (input) {
      setFieldError(input, message);
      marked.push(input);
    }
  }
  marked.sort((a, b) => (a.compareDocumentPosition(b) & Node.DOCUMENT_POSITION_FOLLOWING ? -1 : 1));
  return marked;
}

/**
 * An API error on a form: field details beside their inputs (focus on the first), the rest in the message box.
 * When every detail found its field, the box only says that the form needs fixing.
 */
export function reportError(box, error, fieldMap = {}) {
  const marked = showFieldErrors(error, fieldMap);
  if (marked.length) {
    const count = marked.length;
    show(box, 'error', count === 1 ? `Chưa lưu được: ${marked[0].labels?.[0]?.textContent || 'một ô'} chưa hợp lệ. `
      + 'Vui lòng sửa ô được đánh dấu.' : `Chưa lưu được: ${count} ô chưa hợp lệ. Vui lòng sửa các ô được đánh dấu.`);
    marked[0].focus();
  } else {
    show(box, 'error', errorText(error));
  }
  return marked;
}

export function errorText(error) {
  return (error && error.message) || api.MESSAGES.badResponse;
}

/** Disables a button while `work` runs, with a busy label. */
export async function busy(button, label, work) {
  const original = button.textContent;
  button.disabled = true;
  button.setAttribute('aria-busy', 'true');
  button.textContent = label;
  try {
    return await work();
  } finally {
    button.disabled = false;
    button.removeAttribute('aria-busy');
    button.textContent = original;
  }
}

// ---- account header --------------------------------------------------------------------------------------

/** Fills #account in the page header: who is signed in, Đổi mật khẩu, Đăng xuất. */
export function mountAccount(current, { home = true } = {}) {
  const box = document.getElementById('account');
  if (!box) return;
  const logout = el('button', { type: 'button', class: 'link-button' }, 'Đăng xuất');
  logout.addEventListener('click', async () => {
    logout.disabled = true;
    await api.logout();
    window.location.assign(api.LOGIN_PAGE);
  });
  clear(box).append(
    el('span', { class: 'account-name', id: 'account-name' }, current.displayName || current.username || ''),
    el('nav', { class: 'account-actions', 'aria-label': 'Tài khoản' },
      home ? el('a', { href: api.homeFor(current.role) }, 'Trang chính') : null,
      el('a', { href: '/doi-mat-khau.html' }, 'Đổi mật khẩu'),
      logout),
  );
}

// ---- campaign selection ----------------------------------------------------------------------------------

export function campaignParam() {
  return new URLSearchParams(window.location.search).get('dot');
}

/** The campaign in ?dot= if it is one of `items`, else the first with an open phase, else the first. */
export function chooseCampaign(items, wanted = campaignParam()) {
  return items.find((c) => c.id === wanted)
    || items.find((c) => (c.phases || []).some((p) => p.state === 'open'))
    || items[0] || null;
}

export function rememberCampaign(cid) {
  const url = new URL(window.location.href);
  url.searchParams.set('dot', cid);
  window.history.replaceState(null, '', url);
}

/** Fills a <select> with the campaigns; `onChange(cid)` runs when the user picks another. */
export function fillCampaignSelect(select, items, selected, onChange) {
  clear(select).append(...items.map((c) => el('option', { value: c.id, selected: c.id === selected }, c.name)));
  select.addEventListener('change', () => {
    rememberCampaign(select.value);
    onChange(select.value);
  });
}

/** Vietnamese-insensitive folding for filters: "ha noi" finds "Hà Nội", "da nang" finds "Đà Nẵng". */
export function fold(text) {
  return String(text || '').normalize('NFD').replace(/[\u0300-\u036f]/g, '').replace(/[đĐ]/g, 'd')
    .toLowerCase().replace(/\s+/g, ' ').trim();
}

export function setTitle(text) {
  document.title = `${text} — Chỉ số CCHC`;
}
