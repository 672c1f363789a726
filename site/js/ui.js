// Shared page helpers: DOM building (text only, never HTML from data), Vietnamese date/time formatting,
// phase badges and countdowns, messages and field errors, the account header, notifications, the campaign selector,
// dialogs, the roster and progress tables shared by the province's and the ministry's pages, bar charts as SVG.

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

// ---- notifications ---------------------------------------------------------------------------------------

/** Fills a <ul> with a unit's notifications (newest first, as the API sends them). */
export function renderNotifications(list, items) {
  clear(list);
  list.removeAttribute('aria-busy');
  if (!items.length) {
    list.append(el('li', { class: 'empty' }, 'Chưa có thông báo nào.'));
    return;
  }
  list.append(...items.map((n) => el('li', { class: `notification kind-${n.kind || 'info'}` },
    el('p', { class: 'notification-head' },
      el('strong', {}, n.title),
      ' ',
      el('time', { datetime: n.at, class: 'muted' }, n.at_label || formatDateTime(n.at))),
    el('p', {}, n.message))));
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

/** fn after `ms` of quiet (e.g. a search box that asks the server as the user types). */
export function debounce(fn, ms = 350) {
  let timer = null;
  return (...args) => {
    clearTimeout(timer);
    timer = setTimeout(() => fn(...args), ms);
  };
}

/** "4,5 MB" */
export function formatMegabytes(bytes) {
  return `${(bytes / 1048576).toLocaleString('vi-VN', { maximumFractionDigits: 1 })} MB`;
}

/** Offers a Blob as a download under `filename` (the browser's own save flow). */
export function saveBlob(blob, filename) {
  const url = URL.createObjectURL(blob);
  const link = el('a', { href: url, download: filename, hidden: true });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60000);
}

// ---- dialogs ---------------------------------------------------------------------------------------------

/**
 * Opens a <dialog> modally (the rest of the page is inert, Escape closes it) and gives the focus back to what
 * had it when the dialog closes. `focus`: the element to start on (else the dialog's first field).
 */
export function openDialog(dialog, { focus = null } = {}) {
  const opener = document.activeElement;
  dialog.addEventListener('close', () => {
    if (opener && opener.isConnected && typeof opener.focus === 'function') opener.focus();
  }, { once: true });
  dialog.showModal();
  if (focus) focus.focus();
}

let dialogSeq = 0;

/**
 * A confirmation dialog built from text nodes. Resolves true when the user confirms, false on Hủy or Escape.
 * confirmDialog({title, body: [nodes or strings], confirmLabel, cancelLabel, danger, focusCancel})
 */
export function confirmDialog({ title, body = [], confirmLabel = 'Đồng ý', cancelLabel = 'Hủy', danger = false,
  focusCancel = false }) {
  dialogSeq += 1;
  const titleId = `confirm-title-${dialogSeq}`;
  const bodyId = `confirm-body-${dialogSeq}`;
  const ok = el('button', { type: 'button', class: danger ? 'primary danger' : 'primary' }, confirmLabel);
  const cancel = el('button', { type: 'button' }, cancelLabel);
  const dialog = el('dialog', { class: 'dialog', 'aria-labelledby': titleId, 'aria-describedby': bodyId },
    el('h2', { id: titleId }, title),
    el('div', { id: bodyId, class: 'dialog-body' }, body),
    el('div', { class: 'actions' }, ok, cancel));
  document.body.append(dialog);
  return new Promise((resolve) => {
    let answer = false;
    ok.addEventListener('click', () => {
      answer = true;
      dialog.close();
    });
    cancel.addEventListener('click', () => dialog.close());
    dialog.addEventListener('close', () => {
      dialog.remove();
      resolve(answer);
    });
    openDialog(dialog, { focus: focusCancel ? cancel : ok });
  });
}

// ---- roster ----------------------------------------------------------------------------------------------

export const ROSTER_STATUS = { draft: 'Bản nháp', submitted: 'Đã gửi Bộ Nội vụ' };
export const QUESTIONNAIRES = { locality: 'Địa phương', ministry: 'Bộ chủ quản' };

export function rosterBadge(status) {
  const state = status === 'submitted' ? 'submitted' : 'draft';
  return el('span', { class: `badge badge-roster-${state}` }, ROSTER_STATUS[state]);
}

/** "Đã gửi Bộ Nội vụ lúc 09:00 10/01/2022" / "Bản nháp". */
export function rosterStatusText(status, submittedAt, submittedAtLabel = null) {
  if (status !== 'submitted') return ROSTER_STATUS.draft;
  const when = submittedAtLabel || (submittedAt ? formatDateTime(submittedAt) : '');
  return when ? `${ROSTER_STATUS.submitted} lúc ${when}` : ROSTER_STATUS.submitted;
}

export function groupLabel(group) {
  return `${group.code}. ${group.name}`;
}

/** The per-group totals as a list: "1. Đại biểu HĐND cấp tỉnh: 3 người". */
export function groupCounts(counts) {
  return el('ul', { class: 'group-counts' }, (counts || []).map((c) => el('li', { dataset: { group: c.group } },
    el('span', { class: 'group-name' }, `${c.group}. ${c.name}`),
    el('strong', { class: 'group-count' }, `${c.count} người`))));
}

/**
 * The roster table with its group filter, search box (debounced) and Trang trước / Trang sau paging over the
 * API's next_cursor (a stack of the cursors that opened each page). The page supplies the elements by id:
 * #roster-group, #roster-q, #roster-table (tbody), #roster-count, #roster-prev, #roster-next, #roster-page.
 * actions(item, stt) → nodes for the last cell (none: a read-only table). onLoaded(page) gets every answer.
 */
export function rosterBrowser({ cid, unit, groups, limit = 50, actions = null, onLoaded = null, onError = null }) {
  const groupSelect = document.getElementById('roster-group');
  const search = document.getElementById('roster-q');
  const table = document.getElementById('roster-table');
  const body = table.querySelector('tbody');
  const count = document.getElementById('roster-count');
  const prev = document.getElementById('roster-prev');
  const next = document.getElementById('roster-next');
  const pageInfo = document.getElementById('roster-page');
  const columns = table.querySelectorAll('thead th').length;

  clear(groupSelect).append(el('option', { value: '' }, 'Tất cả các nhóm'),
    ...groups.map((g) => el('option', { value: g.code }, groupLabel(g))));

  let cursors = [''];
  let index = 0;
  let nextCursor = null;
  let seq = 0;
  let last = null;

  function row(item, stt) {
    const questionnaires = (item.questionnaires || []).map((q) => QUESTIONNAIRES[q] || q).join(', ');
    return el('tr', { dataset: { rid: item.rid } },
      el('td', { class: 'code' }, String(stt)),
      el('th', { scope: 'row' }, item.full_name),
      el('td', {}, item.position),
      el('td', {}, item.agency),
      el('td', {}, item.group_name || item.group),
      el('td', { class: 'email' }, item.email),
      el('td', { class: 'nowrap' }, item.phone || '—'),
      el('td', {}, item.ministry || '—'),
      el('td', {}, questionnaires || '—'),
      actions ? el('td', { class: 'row-actions' }, actions(item, stt)) : null);
  }

  function filtered() {
    return Boolean(groupSelect.value || search.value.trim());
  }

  function render(page) {
    const items = page.items || [];
    const first = index * limit + 1;
    clearBusy();
    clear(body);
    if (!items.length) {
      body.append(el('tr', {}, el('td', { colspan: columns, class: 'empty' },
        filtered() ? 'Không có người nào phù hợp với điều kiện lọc.' : 'Danh sách chưa có người nào.')));
    } else {
      body.append(...items.map((item, i) => row(item, first + i)));
    }
    const range = items.length ? `${first}–${first + items.length - 1}` : '0';
    count.textContent = filtered()
      ? `Kết quả lọc: đang hiển thị ${range}${page.next_cursor ? ' (còn trang sau)' : ''}. `
        + `Toàn bộ danh sách có ${page.total} người.`
      : `Danh sách có ${page.total} người${items.length ? `; đang hiển thị ${range}` : ''}.`;
    prev.disabled = index === 0;
    next.disabled = !page.next_cursor;
    pageInfo.textContent = `Trang ${index + 1}`;
  }

  function clearBusy() {
    table.removeAttribute('aria-busy');
  }

  async function load() {
    seq += 1;
    const mine = seq;
    table.setAttribute('aria-busy', 'true');
    try {
      const page = await api.roster(cid, unit, {
        group: groupSelect.value, q: search.value.trim(), limit, cursor: cursors[index] });
      if (mine !== seq) return null;
      if (!(page.items || []).length && index > 0) { // the last rows of this page were removed
        index -= 1;
        cursors = cursors.slice(0, index + 1);
        return load();
      }
      nextCursor = page.next_cursor;
      last = page;
      render(page);
      if (onLoaded) onLoaded(page);
      return page;
    } catch (error) {
      if (mine !== seq) return null;
      clearBusy();
      if (onError) onError(error);
      return null;
    }
  }

  function reset() {
    cursors = [''];
    index = 0;
    return load();
  }

  prev.addEventListener('click', () => {
    if (index === 0) return;
    index -= 1;
    cursors = cursors.slice(0, index + 1);
    load();
  });
  next.addEventListener('click', () => {
    if (!nextCursor) return;
    cursors = cursors.slice(0, index + 1);
    cursors.push(nextCursor);
    index += 1;
    load();
  });
  groupSelect.addEventListener('change', reset);
  const searchLater = debounce(reset, 350);
  search.addEventListener('input', searchLater);
  search.addEventListener('keydown', (event) => {
    if (event.key === 'Enter') {
      event.preventDefault();
      reset();
    }
  });

  return { load, reset, reload: load, last: () => last };
}

// ---- downloads from a link -------------------------------------------------------------------------------

/**
 * Downloads from a short-lived link the API handed out (an export on S3): the file's own Content-Disposition
 * names it, so the page stays where it is.
 */
export function downloadFrom(url, filename) {
  const link = el('a', { href: url, download: filename || true, rel: 'noopener', hidden: true });
  document.body.append(link);
  link.click();
  link.remove();
}

// ---- numbers ---------------------------------------------------------------------------------------------

const numberFormat = new Intl.NumberFormat('vi-VN');
const percentFormat = new Intl.NumberFormat('vi-VN', { minimumFractionDigits: 0, maximumFractionDigits: 1 });

/** "1.234" */
export function formatNumber(value) {
  return numberFormat.format(Number(value) || 0);
}

/** "45,5%" */
export function formatPercent(rate) {
  return `${percentFormat.format(Number(rate) || 0)}%`;
}

// ---- charts ----------------------------------------------------------------------------------------------

const SVG_NS = 'http://www.w3.org/2000/svg';

function svgEl(tag, attrs = {}, text = null) {
  const node = document.createElementNS(SVG_NS, tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value !== null && value !== undefined) node.setAttribute(key, String(value));
  }
  if (text !== null) node.textContent = String(text);
  return node;
}

/** Splits a label into at most two lines of about `width` characters, at a space. */
function wrapLabel(text, width = 44) {
  const value = String(text || '');
  if (value.length <= width) return [value];
  const cut = value.lastIndexOf(' ', width);
  const at = cut > width / 2 ? cut : width;
  const rest = value.slice(at).trim();
  return [value.slice(0, at).trim(), rest.length > width ? `${rest.slice(0, width - 1)}…` : rest];
}

let chartSeq = 0;

/**
 * A horizontal bar chart of percentages as inline SVG (no library), with its data as a visually hidden table.
 * The SVG is one image for assistive technology (role="img", aria-label); the table carries the numbers.
 * Widths are percentages of the SVG's own width, so text keeps its size on a phone.
 * barChart({label, rows: [{label, value 0..100, text}], caption, head: [..], cells: (row) => [..], empty, tick})
 * tick(n) labels the axis at 0, 25, 50, 75, 100 (percentages by default; points for an index out of 100).
 */
export function barChart({ label, rows, caption, head, cells, empty = 'Chưa có số liệu.', tick: tickLabel = null }) {
  chartSeq += 1;
  const tableId = `chart-data-${chartSeq}`;
  const figure = el('figure', { class: 'chart' });
  if (!rows.length) {
    figure.append(el('p', { class: 'empty' }, empty));
    return figure;
  }
  const PLOT = 0.8; // the share of the width the 100% bar takes; the rest holds the value labels
  const LINE = 18;
  const BAR = 18;
  const GAP = 14;
  const TOP = 4;
  const svg = svgEl('svg', { role: 'img', 'aria-label': `${label}. Số liệu chi tiết ở bảng ngay sau biểu đồ.`,
    width: '100%', class: 'bar-chart', focusable: 'false' });
  const grid = svgEl('g', { class: 'chart-grid', 'aria-hidden': 'true' });
  const bars = svgEl('g');
  svg.append(grid, bars);
  let y = TOP;
  for (const row of rows) {
    const value = Math.max(0, Math.min(100, Number(row.value) || 0));
    const lines = wrapLabel(row.label);
    const g = svgEl('g', { class: 'chart-row' });
    lines.forEach((line, i) => g.append(svgEl('text', { class: 'chart-label', x: 0, y: y + LINE * (i + 1) - 4 },
      line)));
    const barTop = y + LINE * lines.length + 2;
    g.append(svgEl('rect', { class: 'chart-track', x: 0, y: barTop, width: `${PLOT * 100}%`, height: BAR }));
    if (value > 0) {
      g.append(svgEl('rect', { class: 'chart-bar', x: 0, y: barTop, width: `${PLOT * value}%`, height: BAR,
        'data-value': value }));
    }
    g.append(svgEl('text', { class: 'chart-value', x: `${PLOT * value + 1}%`, y: barTop + BAR - 4 },
      row.text || formatPercent(value)));
    bars.append(g);
    y = barTop + BAR + GAP;
  }
  const axisTop = y;
  for (const tick of [0, 25, 50, 75, 100]) {
    const x = `${PLOT * tick}%`;
    grid.append(svgEl('line', { x1: x, x2: x, y1: TOP, y2: axisTop - 4, class: 'chart-gridline' }));
    grid.append(svgEl('text', { class: 'chart-axis', x, y: axisTop + 12,
      'text-anchor': tick === 0 ? 'start' : 'middle' }, tickLabel ? tickLabel(tick) : `${tick}%`));
  }
  svg.setAttribute('height', String(axisTop + 18));
  // A table is as wide as its content whatever its width says: the hidden box around it does the clipping.
  const table = el('table', { id: tableId, class: 'chart-data' },
    el('caption', {}, caption),
    el('thead', {}, el('tr', {}, head.map((h) => el('th', { scope: 'col' }, h)))),
    el('tbody', {}, rows.map((row) => {
      const values = cells(row);
      return el('tr', {}, el('th', { scope: 'row' }, values[0]), values.slice(1).map((v) => el('td', {}, v)));
    })));
  figure.append(svg, el('div', { class: 'visually-hidden' }, table));
  return figure;
}

// ---- survey progress -------------------------------------------------------------------------------------

/** The status filter of the progress table (API values → Vietnamese). */
export const PROGRESS_FILTERS = {
  pending: 'Chưa trả lời',
  not_sent: 'Chưa gửi thư',
  sent: 'Đã gửi thư, chưa mở',
  opened: 'Đã mở phiếu, chưa gửi',
  submitted: 'Đã trả lời',
  bounced: 'Thư bị trả lại',
};

export const LINK_STATES = {
  issued: 'Chưa gửi', sent: 'Đã gửi', opened: 'Đã mở', submitted: 'Đã trả lời', bounced: 'Thư bị trả lại',
  failed: 'Gửi lỗi',
};

export function linkBadge(state, name = null) {
  return el('span', { class: `badge badge-link badge-link-${state}`, dataset: { state } },
    name || LINK_STATES[state] || state);
}

/** The totals of a unit or of the nation as a summary list (dl.summary), rate first. */
export function progressSummary(totals) {
  const t = totals || {};
  const items = [
    ['rate', 'Tỷ lệ trả lời', formatPercent(t.rate)],
    ['total', 'Số phiếu', formatNumber(t.total)],
    ['mailed', 'Đã gửi thư', formatNumber(t.mailed)],
    ['opened', 'Đã mở', formatNumber(t.opened)],
    ['submitted', 'Đã trả lời', formatNumber(t.submitted)],
    ['bounced', 'Thư bị trả lại', formatNumber(t.bounced)],
    ['not_sent', 'Chưa gửi', formatNumber((t.issued || 0) + (t.failed || 0))],
  ];
  return el('dl', { class: 'summary progress-summary' }, items.map(([key, name, value]) => el('div',
    { dataset: { total: key }, class: key === 'rate' ? 'summary-rate' : null },
    el('dt', {}, name), el('dd', {}, value))));
}

/** The response rate per group and questionnaire of a unit's progress as a bar chart. */
export function groupChart(byGroup) {
  const several = new Set();
  const seen = new Set();
  for (const g of byGroup || []) {
    if (seen.has(g.group)) several.add(g.group);
    seen.add(g.group);
  }
  const rows = (byGroup || []).map((g) => ({
    label: several.has(g.group) ? `${g.group}. ${g.group_name} — ${g.purpose_name}` : `${g.group}. ${g.group_name}`,
    value: g.rate,
    text: `${formatPercent(g.rate)} (${formatNumber(g.submitted)}/${formatNumber(g.total)})`,
    g,
  }));
  return barChart({
    label: 'Biểu đồ tỷ lệ trả lời theo nhóm đối tượng và phiếu',
    caption: 'Tỷ lệ trả lời theo nhóm đối tượng và phiếu',
    rows,
    head: ['Nhóm đối tượng', 'Phiếu', 'Số phiếu', 'Đã gửi thư', 'Đã trả lời', 'Thư bị trả lại', 'Tỷ lệ trả lời'],
    cells: ({ g }) => [`${g.group}. ${g.group_name}`, g.purpose_name, formatNumber(g.total), formatNumber(g.mailed),
      formatNumber(g.submitted), formatNumber(g.bounced), formatPercent(g.rate)],
    empty: 'Chưa phát hành phiếu khảo sát nên chưa có số liệu.',
  });
}

/** Questionnaires answered per day (local dates) as a bar chart: when people answered, reminders' effect. */
export function dayChart(byDay) {
  const days = byDay || [];
  const most = Math.max(1, ...days.map((d) => d.submitted));
  return barChart({
    label: 'Biểu đồ số phiếu được trả lời theo ngày',
    caption: 'Số phiếu được trả lời theo ngày',
    rows: days.map((d) => ({ label: d.label, value: (100 * d.submitted) / most, text: formatNumber(d.submitted), d })),
    head: ['Ngày', 'Số phiếu được trả lời'],
    cells: ({ d }) => [d.label, formatNumber(d.submitted)],
    empty: 'Chưa có phiếu nào được trả lời.',
  });
}

function linkTimes(link) {
  const parts = [];
  if (link.sent_at) parts.push(`gửi ${formatDateTime(link.sent_at)}`);
  if (link.opened_at) parts.push(`mở ${formatDateTime(link.opened_at)}`);
  if (link.submitted_at) parts.push(`trả lời ${link.submitted_at_label || formatDateTime(link.submitted_at)}`);
  if (link.reminders) parts.push(`đã nhắc ${link.reminders} lần`);
  return parts.join(' · ');
}

/** Whether a respondent still has a questionnaire to answer. */
export function pending(person) {
  return (person.links || []).some((l) => l.state !== 'submitted');
}

/**
 * The respondents' progress table with its filters (group, status, agency, search) and offset paging. The page
 * supplies the elements by id: #pp-group, #pp-status, #pp-agency, #pp-q, #pp-table, #pp-count, #pp-prev,
 * #pp-next, #pp-page (and #pp-all, the header checkbox, when `selectable`).
 * selectable: a checkbox per respondent who has not answered; onSelect(Map rid → name) on every change.
 * actions(person) → nodes for the last cell. onLoaded(data) gets every answer (its totals and by_group too).
 */
export function progressBrowser({ cid, unit, groups, limit = 50, selectable = false, onSelect = null,
  actions = null, onLoaded = null, onError = null }) {
  const groupSelect = document.getElementById('pp-group');
  const statusSelect = document.getElementById('pp-status');
  const agency = document.getElementById('pp-agency');
  const search = document.getElementById('pp-q');
  const table = document.getElementById('pp-table');
  const body = table.querySelector('tbody');
  const count = document.getElementById('pp-count');
  const prev = document.getElementById('pp-prev');
  const next = document.getElementById('pp-next');
  const pageInfo = document.getElementById('pp-page');
  const all = selectable ? document.getElementById('pp-all') : null;
  const columns = table.querySelectorAll('thead th').length;

  clear(groupSelect).append(el('option', { value: '' }, 'Tất cả các nhóm'),
    ...groups.map((g) => el('option', { value: g.code }, groupLabel(g))));
  clear(statusSelect).append(el('option', { value: '' }, 'Tất cả trạng thái'),
    ...Object.entries(PROGRESS_FILTERS).map(([value, name]) => el('option', { value }, name)));

  const selected = new Map();
  let offset = 0;
  let seq = 0;
  let last = null;
  let boxes = [];

  function changed() {
    if (all) {
      const open = boxes.filter((b) => !b.disabled);
      const on = open.filter((b) => b.checked).length;
      all.checked = open.length > 0 && on === open.length;
      all.indeterminate = on > 0 && on < open.length;
      all.disabled = !open.length;
    }
    if (onSelect) onSelect(selected);
  }

  function linkList(person) {
    return el('ul', { class: 'link-statuses' }, (person.links || []).map((link) => el('li', {
      dataset: { purpose: link.purpose, state: link.state } },
    el('span', { class: 'link-purpose' }, link.purpose_name || QUESTIONNAIRES[link.purpose] || link.purpose),
    ' ', linkBadge(link.state, link.state_name),
    linkTimes(link) ? el('span', { class: 'link-times muted' }, linkTimes(link)) : null,
    link.problem ? el('span', { class: 'link-problem' }, link.problem) : null)));
  }

  function row(person) {
    let check = null;
    if (selectable) {
      const box = el('input', { type: 'checkbox', class: 'pick', value: person.rid,
        'aria-label': `Chọn ${person.full_name}`, disabled: !pending(person), checked: selected.has(person.rid) });
      box.addEventListener('change', () => {
        if (box.checked) selected.set(person.rid, person.full_name);
        else selected.delete(person.rid);
        changed();
      });
      boxes.push(box);
      check = el('td', { class: 'pick-cell' }, box);
    }
    return el('tr', { dataset: { rid: person.rid } },
      check,
      el('td', { class: 'code' }, String(person.order)),
      el('th', { scope: 'row' }, person.full_name),
      el('td', {}, person.position || '—'),
      el('td', {}, person.agency || '—'),
      el('td', {}, person.group_name || person.group),
      el('td', { class: 'email' }, person.email),
      el('td', { class: 'links-cell' }, linkList(person)),
      actions ? el('td', { class: 'row-actions' }, actions(person)) : null);
  }

  function filtered() {
    return Boolean(groupSelect.value || statusSelect.value || agency.value.trim() || search.value.trim());
  }

  function render(data) {
    const people = data.people || [];
    const first = (data.offset || 0) + 1;
    table.removeAttribute('aria-busy');
    boxes = [];
    clear(body);
    if (!people.length) {
      let text = 'Chưa phát hành phiếu khảo sát cho đơn vị nên chưa có người nhận nào.';
      if (data.people_total) {
        text = filtered() ? 'Không có người nào phù hợp với điều kiện lọc.' : 'Không còn người nào.';
      }
      body.append(el('tr', {}, el('td', { colspan: columns, class: 'empty' }, text)));
    } else {
      body.append(...people.map(row));
    }
    const range = people.length ? `${first}–${first + people.length - 1}` : '0';
    count.textContent = filtered()
      ? `Có ${formatNumber(data.matched)} người phù hợp (trong ${formatNumber(data.people_total)} người)`
        + `${people.length ? `; đang hiển thị ${range}` : ''}.`
      : `Có ${formatNumber(data.people_total || 0)} người nhận phiếu`
        + `${people.length ? `; đang hiển thị ${range}` : ''}.`;
    const pages = Math.max(1, Math.ceil((data.matched || 0) / limit));
    prev.disabled = offset === 0;
    next.disabled = offset + limit >= (data.matched || 0);
    pageInfo.textContent = `Trang ${Math.floor(offset / limit) + 1}/${pages}`;
    changed();
  }

  async function load() {
    seq += 1;
    const mine = seq;
    table.setAttribute('aria-busy', 'true');
    try {
      const data = await api.unitProgress(cid, unit, { group: groupSelect.value, status: statusSelect.value,
        agency: agency.value.trim(), q: search.value.trim(), offset, limit });
      if (mine !== seq) return null;
      if (!(data.people || []).length && offset > 0 && data.matched) { // fewer people match than before
        offset = Math.max(0, Math.floor((data.matched - 1) / limit) * limit);
        return load();
      }
      last = data;
      render(data);
      if (onLoaded) onLoaded(data);
      return data;
    } catch (error) {
      if (mine !== seq) return null;
      table.removeAttribute('aria-busy');
      if (onError) onError(error);
      return null;
    }
  }

  function reset() {
    offset = 0;
    return load();
  }

  if (all) {
    all.addEventListener('change', () => {
      for (const box of boxes) {
        if (box.disabled) continue;
        box.checked = all.checked;
        const person = (last.people || []).find((p) => p.rid === box.value);
        if (box.checked) selected.set(box.value, person ? person.full_name : box.value);
        else selected.delete(box.value);
      }
      changed();
    });
  }
  prev.addEventListener('click', () => {
    offset = Math.max(0, offset - limit);
    load();
  });
  next.addEventListener('click', () => {
    offset += limit;
    load();
  });
  groupSelect.addEventListener('change', reset);
  statusSelect.addEventListener('change', reset);
  const later = debounce(reset, 350);
  for (const input of [agency, search]) {
    input.addEventListener('input', later);
    input.addEventListener('keydown', (event) => {
      if (event.key === 'Enter') {
        event.preventDefault();
        reset();
      }
    });
  }

  return {
    load, reset, reload: load, last: () => last, selected: () => selected,
    clearSelection() {
      selected.clear();
      for (const box of boxes) box.checked = false;
      changed();
    },
  };
}
