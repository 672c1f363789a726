// The respondent's survey form: one link, one questionnaire, answered and submitted once.
//
// - The token comes from the URL fragment (…/khao-sat/#<token>), which browsers never send to a server. It is read
//   once, removed from the address bar and from this history entry (history.replaceState) and kept in memory; a
//   copy in sessionStorage (this tab only, gone when the tab closes, removed once the survey is done) lets a reload
//   find it again. It only ever travels in the X-Survey-Token header (api.js): never in a URL, a log line or a
//   localStorage key.
// - Opening changes nothing on the server (mail scanners open links): the page only reads until the person answers.
// - Every change is kept at once in localStorage under a key derived from a SHA-256 of the token (never the token)
//   and sent to the server (PUT /survey/draft) after a short pause; a failed save is retried later and when the
//   connection comes back, so a lost connection loses nothing. On load, the newer of the server's draft and the
//   local copy wins. The copy carries the survey's deadline: every page load removes the copies whose deadline has
//   passed (a shared computer keeps no answers after the survey), and the copy goes as soon as the survey is
//   submitted, closed or the link is no longer valid.
// - Submitting: the required questions are checked here first (each unanswered one named, in a list of links at the
//   top), then a confirmation, POST /survey/submit, and the receipt; the local copy is removed.
// - Every other outcome has a page of its own: link missing or unknown, already submitted, survey closed, results
//   annulled, too many attempts, no connection (with Thử lại).

import * as api from '../lib/api.js';
import { learnServerClock, serverNow } from '../lib/clock.js';
import { el, setTitle } from '../lib/dom.js';
import { formatDateTime } from '../lib/format.js';
import { confirmDialog } from '../components/dialog.js';
import { busy, errorText, messageBox, show } from '../components/messages.js';
import { countdown } from '../components/phase.js';

const TOKEN_SESSION_KEY = 'cchc.survey.link';
const DRAFT_PREFIX = 'cchc.survey.draft.';
const DRAFT_MAX_AGE_MS = 120 * 86400 * 1000; // copies left behind on a shared computer do not stay for ever
const SAVE_DELAY_MS = 1500;
const RETRY_DELAYS_S = [5, 10, 20, 40, 60];
const TOKEN_SHAPE = /^[A-Za-z0-9_-]{16,256}$/;
const SCALE_MAX_OPTIONS = 7;
const SCALE_MAX_LABEL = 40;

const main = document.getElementById('main');
const view = document.getElementById('view');
const loading = document.getElementById('loading');

let token = '';
let draftKey = null; // null: no local copy (storage or crypto.subtle unavailable)
let survey = null; // the answer of GET /survey
let entries = []; // one per question: {question, number, node, inputs, error, counter?}
let form = null;
let saveStatus = null;
let progressText = null;
let progressBar = null;
let summary = null;
let submitBox = null;

// Autosave bookkeeping: every change bumps changeSeq; savedSeq is the last change the server has.
let changeSeq = 0;
let savedSeq = 0;
let saving = false;
let saveTimer = null;
let retryIndex = 0;
// When the server's draft, as this page last knew it, was saved (its own clock): the base of the answers changed since.
let serverSavedAt = null;
let submitting = false;
let finished = false; // submitted, or the form was replaced by a page that ends it

// ---- small helpers ------------------------------------------------------------------------------------------

function hhmm(value) {
  return formatDateTime(value).slice(0, 5);
}

function hex(buffer) {
  return Array.from(new Uint8Array(buffer), (b) => b.toString(16).padStart(2, '0')).join('');
}

function safeStorage(kind) {
  try {
    const storage = window[kind];
    const probe = '__cchc_probe__';
    storage.setItem(probe, '1');
    storage.removeItem(probe);
    return storage;
  } catch {
    return null; // disabled, full, or a private mode that refuses writes
  }
}

const local = safeStorage('localStorage');
const tabStore = safeStorage('sessionStorage');

/** "5 phút" / "40 giây" for a Retry-After. */
function waitText(seconds) {
  const s = Math.max(1, Math.round(Number(seconds) || 60));
  return s >= 90 ? `${Math.ceil(s / 60)} phút` : `${s} giây`;
}

function paragraphs(text) {
  return String(text || '').split(/\n{2,}/).map((p) => p.trim()).filter(Boolean).map((p) => el('p', {}, p));
}

// ---- the token ----------------------------------------------------------------------------------------------

/** The token from the fragment (then out of the address bar), else the copy this tab kept for a reload. */
function takeToken() {
  const fragment = window.location.hash.replace(/^#/, '');
  if (fragment) {
    let candidate = fragment;
    try {
      candidate = decodeURIComponent(fragment);
    } catch {
      /* keep it as it came */
    }
    // Mail programs sometimes glue the sentence's punctuation to a link; a token never contains any.
    candidate = candidate.trim().replace(/[.,;:!?)\]}>'"]+$/, '');
    // Off the address bar and off this history entry before anything else can see it.
    window.history.replaceState(window.history.state, '', window.location.pathname + window.location.search);
    if (TOKEN_SHAPE.test(candidate)) {
      if (tabStore) tabStore.setItem(TOKEN_SESSION_KEY, candidate);
    } else if (tabStore) {
      tabStore.removeItem(TOKEN_SESSION_KEY);
    }
    return candidate;
  }
  return (tabStore && tabStore.getItem(TOKEN_SESSION_KEY)) || '';
}

function forgetToken() {
  if (tabStore) tabStore.removeItem(TOKEN_SESSION_KEY);
}

// ---- the local copy -----------------------------------------------------------------------------------------

/** The localStorage key of this link's copy: a SHA-256 of the token with a label of its own, so the key is
 *  neither the token nor the hash the server keeps. None without crypto.subtle (a page not served securely). */
async function localKeyFor(value) {
  if (!local || !window.crypto || !window.crypto.subtle) return null;
  try {
    const data = new TextEncoder().encode(`cchc-survey-draft:${value}`);
    return DRAFT_PREFIX + hex(await window.crypto.subtle.digest('SHA-256', data));
  } catch {
    return null;
  }
}

function readLocal() {
  if (!draftKey) return null;
  try {
    const value = JSON.parse(local.getItem(draftKey) || 'null');
    return value && typeof value === 'object' && value.answers && typeof value.answers === 'object' ? value : null;
  } catch {
    return null;
  }
}

function writeLocal(answers, savedAt, synced) {
  if (!draftKey) return;
  try {
    const closes = survey && survey.closes_at ? survey.closes_at : null;
    local.setItem(draftKey, JSON.stringify({ v: 2, answers, saved_at: savedAt, closes_at: closes, synced,
      base: serverSavedAt }));
  } catch {
    /* storage full: the server copy still follows */
  }
}

function dropLocal() {
  if (draftKey) local.removeItem(draftKey);
}

/** Copies past their survey's deadline, or older than DRAFT_MAX_AGE_MS (copies without a deadline), or unreadable,
 *  are removed from this browser. */
function purgeOldCopies() {
  if (!local) return;
  const now = Date.now();
  for (let i = local.length - 1; i >= 0; i -= 1) {
    const key = local.key(i);
    if (!key || !key.startsWith(DRAFT_PREFIX)) continue;
    let at = NaN;
    let closes = NaN;
    try {
      const copy = JSON.parse(local.getItem(key));
      at = Date.parse(copy.saved_at);
      if (copy.closes_at) closes = Date.parse(copy.closes_at);
    } catch {
      /* unreadable: removed below */
    }
    if (!(now - at < DRAFT_MAX_AGE_MS) || now >= closes) local.removeItem(key);
  }
}

// ---- pages --------------------------------------------------------------------------------------------------

/**
 * Replaces the view with one page: a heading (focused, so a screen reader starts there) and its content.
 * kind names the page for styles and tests (main[data-state]).
 */
function showPage(kind, { title, icon = null, tone = 'info', body = [], actions = [] }) {
  loading.hidden = true;
  main.dataset.state = kind;
  main.removeAttribute('aria-busy');
  const heading = el('h1', { id: 'page-title', tabindex: '-1' }, title);
  const page = el('section', { class: `card state-page tone-${tone}`, 'aria-labelledby': 'page-title' },
    icon ? el('p', { class: 'state-icon', 'aria-hidden': 'true' }, icon) : null,
    heading,
    body,
    actions.length ? el('div', { class: 'actions' }, actions) : null);
  view.replaceChildren(page);
  setTitle(title);
  heading.focus();
  return page;
}

function retryButton(label = 'Thử lại') {
  const button = el('button', { type: 'button', class: 'primary' }, label);
  button.addEventListener('click', () => start());
  return button;
}

const DEFAULT_CONTACT = { name: 'Vụ Cải cách hành chính, Bộ Nội vụ' };

/** Where respondents get help: the campaign's one contact (the ministry's department when the link is unknown). */
function contact(lead = 'Nếu cần hỗ trợ, vui lòng liên hệ') {
  const who = (survey && survey.contact && survey.contact.name) ? survey.contact : DEFAULT_CONTACT;
  const details = [];
  if (who.phone) {
    details.push(['điện thoại: ', el('a', { href: `tel:${who.phone.replace(/[^0-9+]/g, '')}`, class: 'nowrap' }, who.phone)]);
  }
  if (who.email) details.push(['email: ', el('a', { href: `mailto:${who.email}`, class: 'email' }, who.email)]);
  if (who.address) details.push(['địa chỉ: ', who.address]);
  const parts = [`${lead} ${who.name}`];
  for (const [label, value] of details) parts.push('; ', label, value);
  parts.push('.');
  return el('p', { class: 'note contact' }, ...parts);
}

function endForm() {
  finished = true;
  clearTimeout(saveTimer);
  saveTimer = null;
}

function showMissing() {
  endForm();
  forgetToken();
  showPage('missing', {
    title: 'Đường dẫn chưa đầy đủ', icon: '!', tone: 'warn',
    body: [
      el('p', {}, 'Trang này cần đường dẫn riêng trong thư mời trả lời phiếu khảo sát (có dạng …/khao-sat/#mã-riêng).'),
      el('p', {}, 'Vui lòng mở lại đường dẫn trong thư mời. Nếu chương trình thư điện tử cắt mất một phần đường dẫn, '
        + 'hãy sao chép toàn bộ đường dẫn rồi dán vào thanh địa chỉ của trình duyệt.'),
      contact(),
    ],
  });
}

function showUnknown() {
  endForm();
  dropLocal(); // a link replaced or withdrawn: its answers are no one's to keep here
  forgetToken();
  showPage('unknown', {
    title: 'Đường dẫn khảo sát không hợp lệ', icon: '!', tone: 'error',
    body: [
      el('p', {}, 'Không tìm thấy phiếu khảo sát ứng với đường dẫn này. Đường dẫn có thể bị sao chép thiếu, '
        + 'hoặc đã được thay bằng đường dẫn mới (ví dụ khi địa chỉ email của Ông/Bà được cập nhật).'),
      el('p', {}, 'Vui lòng mở đường dẫn trong thư mời mới nhất gửi tới Ông/Bà.'),
      contact(),
    ],
  });
}

/** "Already submitted": from GET /survey (state submitted) or from a 409 on submit or draft. */
function showSubmitted(data) {
  endForm();
  dropLocal();
  forgetToken();
  const when = (data && (data.submitted_at_label || (data.submitted_at && formatDateTime(data.submitted_at)))) || '';
  const receipt = data && typeof data.receipt === 'string' && data.receipt ? data.receipt : null;
  showPage('submitted', {
    title: 'Phiếu khảo sát này đã được gửi', icon: '✓', tone: 'ok',
    body: [
      el('p', { id: 'submitted-when' }, when
        ? ['Phiếu đã được gửi lúc ', el('strong', {}, when), '.']
        : 'Phiếu đã được gửi.'),
      receipt ? el('dl', { class: 'receipt' },
        el('div', {}, el('dt', {}, 'Mã biên nhận'), el('dd', { class: 'receipt-code' }, receipt))) : null,
      el('p', {}, 'Mỗi đường dẫn chỉ dùng để gửi phiếu một lần; phiếu đã gửi không thể sửa. '
        + 'Cảm ơn Ông/Bà đã tham gia khảo sát.'),
      contact('Nếu Ông/Bà chưa từng gửi phiếu này, vui lòng báo ngay cho'),
    ],
  });
}

function showClosed(error) {
  endForm();
  // after the deadline the answers can go nowhere: none stay on this computer (before the opening, keep them)
  if (!error || error.code !== 'survey_not_open') dropLocal();
  forgetToken();
  // survey_not_open: a survey whose dates were moved later than the links that were already sent.
  const early = error && error.code === 'survey_not_open';
  showPage(early ? 'not-open' : 'closed', {
    title: early ? 'Đợt khảo sát chưa bắt đầu' : 'Đã hết thời hạn trả lời phiếu khảo sát', icon: '!', tone: 'warn',
    body: [
      el('p', { class: 'server-message' }, errorText(error)),
      el('p', {}, early ? 'Vui lòng mở lại đường dẫn trong thư mời khi đợt khảo sát bắt đầu.'
        : 'Phiếu khảo sát không nhận thêm câu trả lời sau thời hạn.'),
      contact(),
    ],
  });
}

function showAnnulled(error) {
  endForm();
  dropLocal();
  forgetToken();
  showPage('annulled', {
    title: 'Kết quả khảo sát của đơn vị đã bị hủy', icon: '!', tone: 'error',
    body: [
      el('p', { class: 'server-message' }, errorText(error)),
      el('p', {}, 'Phiếu khảo sát của đơn vị không nhận thêm câu trả lời.'),
      contact(),
    ],
  });
}

function showRateLimited(error) {
  endForm();
  const wait = error && error.retryAfter ? waitText(error.retryAfter) : 'ít phút';
  showPage('rate-limited', {
    title: 'Quá nhiều lần truy cập', icon: '!', tone: 'warn',
    body: [
      el('p', { class: 'server-message' }, errorText(error)),
      el('p', {}, 'Để bảo vệ các phiếu khảo sát, máy chủ tạm ngừng trả lời trong ít phút. '
        + `Vui lòng thử lại sau ${wait}.`),
    ],
    actions: [retryButton()],
  });
}

function showOffline(error) {
  endForm();
  showPage('offline', {
    title: 'Không kết nối được máy chủ', icon: '!', tone: 'warn',
    body: [
      el('p', { class: 'server-message' }, errorText(error)),
      el('p', {}, 'Câu trả lời đã lưu trên máy này (nếu có) không bị mất. Khi có kết nối, bấm “Thử lại”.'),
    ],
    actions: [retryButton()],
  });
}

function showFailure(error) {
  endForm();
  showPage('error', {
    title: 'Chưa mở được phiếu khảo sát', icon: '!', tone: 'error',
    body: [el('p', { class: 'server-message' }, errorText(error)), contact()],
    actions: [retryButton()],
  });
}

/** The page for an error that ends (or prevents) the form; false when the error is not one of those. */
function showErrorPage(error, { whileLoading = false } = {}) {
  const status = error && error.status;
  const code = error && error.code;
  if (status === 404) showUnknown();
  else if (status === 409) {
    showSubmitted(error.body);
    if (!(error.body && error.body.receipt)) fillReceiptLater();
  } else if (status === 423 && code === 'results_annulled') showAnnulled(error);
  else if (status === 423) showClosed(error);
  else if (!whileLoading) return false;
  else if (status === 429) showRateLimited(error);
  else if (status === 0) showOffline(error);
  else showFailure(error);
  return true;
}

/** After a 409 without the receipt, GET /survey has it (state submitted). */
async function fillReceiptLater() {
  try {
    const data = await api.survey(token);
    if (data && data.state === 'submitted' && main.dataset.state === 'submitted') showSubmitted(data);
  } catch {
    /* the page already says it was submitted */
  }
}

function showReceipt(result) {
  endForm();
  dropLocal();
  forgetToken();
  const when = result.submitted_at_label || formatDateTime(result.submitted_at);
  const print = el('button', { type: 'button' }, 'In biên nhận');
  print.addEventListener('click', () => window.print());
  showPage('receipt', {
    title: 'Đã gửi phiếu khảo sát', icon: '✓', tone: 'ok',
    body: [
      el('p', { class: 'lead-ok' }, 'Cảm ơn Ông/Bà đã trả lời phiếu khảo sát. Phiếu đã được ghi nhận.'),
      el('dl', { class: 'receipt' },
        el('div', {}, el('dt', {}, 'Mã biên nhận'), el('dd', { class: 'receipt-code', id: 'receipt-code' },
          result.receipt || '—')),
        el('div', {}, el('dt', {}, 'Thời gian gửi'), el('dd', { id: 'receipt-time' }, when)),
        survey ? el('div', {}, el('dt', {}, 'Phiếu'), el('dd', {}, survey.questionnaire.title)) : null,
        survey ? el('div', {}, el('dt', {}, 'Đơn vị'), el('dd', {}, survey.unit.full_name || survey.unit.name)) : null),
      el('p', {}, 'Vui lòng ghi lại mã biên nhận để đối chiếu khi cần. Phiếu đã gửi không thể sửa; '
        + 'Ông/Bà có thể đóng trang này.'),
      survey && survey.confidentiality ? el('p', { class: 'note' }, survey.confidentiality) : null,
    ],
    actions: [print],
  });
}

// ---- the form -----------------------------------------------------------------------------------------------

// Only the optional questions carry a visible mark (the note above the form says the others are required); a
// required group of checkboxes cannot carry aria-required, so its legend says it to screen readers.
function requiredMark(question) {
  if (!question.required) return el('span', { class: 'opt' }, '(không bắt buộc)');
  return question.type === 'multi' ? el('span', { class: 'visually-hidden' }, '(bắt buộc)') : null;
}

// The page adds its own hints ("(không bắt buộc)", "Có thể chọn nhiều phương án."): a question text that already
// ends with one of them (as typed in the questionnaire workbook) is shown without it, so that each is said once.
const HINT_TAIL = /\s*[([]\s*(không bắt buộc|có thể chọn nhiều (phương án|đáp án|lựa chọn))\s*[)\]]\s*[.:]?\s*$/iu;

function questionText(text) {
  let out = String(text || '').trim();
  for (let previous = null; previous !== out;) {
    previous = out;
    out = out.replace(HINT_TAIL, '').trim();
  }
  return out;
}

function isScale(question) {
  return question.type === 'single' && question.options.length <= SCALE_MAX_OPTIONS
    && question.options.every((o) => String(o.label).length <= SCALE_MAX_LABEL);
}

function choiceQuestion(question, number, base) {
  const multi = question.type === 'multi';
  const error = el('p', { id: `${base}-error`, class: 'field-error', hidden: true });
  const hintId = `${base}-hint`;
  const inputs = question.options.map((option, i) => el('input', {
    type: multi ? 'checkbox' : 'radio', name: `${base}-answer`, id: `${base}-o${i}`, value: option.value,
  }));
  const node = el('fieldset', {
    class: `question question-${question.type}`, id: base, dataset: { question: question.id },
    // A radio group can carry aria-required; a group of checkboxes says it in its legend only.
    role: multi ? null : 'radiogroup', 'aria-required': !multi && question.required ? 'true' : null,
    'aria-describedby': multi ? hintId : null,
  },
  el('legend', { class: 'question-label' },
    el('span', { class: 'q-number' }, `Câu ${number}.`), ' ', questionText(question.text), ' ', requiredMark(question)),
  multi ? el('p', { class: 'hint', id: hintId }, 'Có thể chọn nhiều phương án.') : null,
  error,
  el('div', { class: `options${isScale(question) ? ' scale' : ''}` },
    question.options.map((option, i) => el('label', { class: 'option', for: inputs[i].id },
      inputs[i], el('span', { class: 'option-label' }, option.label)))));
  return { node, inputs, error };
}

function textQuestion(question, number, base) {
  const max = Number(question.max_length) || 1000;
  const error = el('p', { id: `${base}-error`, class: 'field-error', hidden: true });
  const counter = el('p', { id: `${base}-count`, class: 'counter' });
  const textarea = el('textarea', {
    id: `${base}-input`, name: `${base}-answer`, rows: 4, maxlength: max, spellcheck: 'true',
    'aria-required': question.required ? 'true' : null, 'aria-describedby': counter.id,
  });
  const node = el('div', { class: 'question question-text', id: base, dataset: { question: question.id } },
    el('label', { class: 'question-label', for: textarea.id },
      el('span', { class: 'q-number' }, `Câu ${number}.`), ' ', questionText(question.text), ' ', requiredMark(question)),
    error, textarea, counter);
  return { node, inputs: [textarea], error, counter, max, textarea };
}

function answerOf(entry) {
  const { question, inputs } = entry;
  if (question.type === 'single') {
    const checked = inputs.find((input) => input.checked);
    return checked ? checked.value : null;
  }
  if (question.type === 'multi') {
    const values = inputs.filter((input) => input.checked).map((input) => input.value);
    return values.length ? values : null;
  }
  return inputs[0].value.trim() ? inputs[0].value : null;
}

function collectAnswers() {
  const out = {};
  for (const entry of entries) {
    const value = answerOf(entry);
    if (value !== null) out[entry.question.id] = value;
  }
  return out;
}

/** Puts saved answers back on the form; values the questionnaire does not know are left out. */
function applyAnswers(answers) {
  for (const entry of entries) {
    const value = answers[entry.question.id];
    if (entry.question.type === 'single') {
      for (const input of entry.inputs) input.checked = value !== undefined && input.value === String(value);
    } else if (entry.question.type === 'multi') {
      const chosen = new Set(Array.isArray(value) ? value.map(String) : []);
      for (const input of entry.inputs) input.checked = chosen.has(input.value);
    } else {
      entry.textarea.value = typeof value === 'string' ? value.slice(0, entry.max) : '';
      updateCounter(entry, false);
    }
  }
}

function sameAnswers(a, b) {
  const keys = (x) => Object.keys(x || {}).sort();
  const ka = keys(a);
  const kb = keys(b);
  return ka.length === kb.length && ka.every((k, i) => k === kb[i]
    && JSON.stringify(a[k]) === JSON.stringify(b[k]));
}

let announcer = null;

function announce(text) {
  if (!announcer) return;
  announcer.textContent = '';
  setTimeout(() => { announcer.textContent = text; }, 50);
}

/** "123/2000 ký tự"; a screen reader hears about the limit only when it gets close. */
function updateCounter(entry, speak = true) {
  const used = entry.textarea.value.length;
  const left = entry.max - used;
  entry.counter.textContent = `${used.toLocaleString('vi-VN')}/${entry.max.toLocaleString('vi-VN')} ký tự`;
  entry.counter.classList.toggle('near-limit', left <= Math.max(20, Math.floor(entry.max / 10)));
  const band = left <= 0 ? 'full' : left <= Math.max(20, Math.floor(entry.max / 10)) ? 'near' : 'ok';
  if (speak && band !== entry.band && band !== 'ok') {
    announce(band === 'full' ? `Đã đạt độ dài tối đa ${entry.max} ký tự.` : `Còn ${left} ký tự.`);
  }
  entry.band = band;
}

function setQuestionError(entry, message) {
  entry.error.textContent = message || '';
  entry.error.hidden = !message;
  entry.node.classList.toggle('has-error', Boolean(message));
  const target = entry.question.type === 'text' ? entry.textarea : entry.node;
  const ids = (target.getAttribute('aria-describedby') || '').split(/\s+/).filter((x) => x && x !== entry.error.id);
  if (message) ids.unshift(entry.error.id);
  if (ids.length) target.setAttribute('aria-describedby', ids.join(' '));
  else target.removeAttribute('aria-describedby');
  if (entry.question.type === 'text') {
    if (message) entry.textarea.setAttribute('aria-invalid', 'true');
    else entry.textarea.removeAttribute('aria-invalid');
  } else if (entry.question.type === 'single') {
    if (message) entry.node.setAttribute('aria-invalid', 'true');
    else entry.node.removeAttribute('aria-invalid');
  }
}

function missingMessage(question) {
  if (question.type === 'single') return 'Câu bắt buộc: vui lòng chọn một phương án.';
  if (question.type === 'multi') return 'Câu bắt buộc: vui lòng chọn ít nhất một phương án.';
  return 'Câu bắt buộc: vui lòng nhập câu trả lời.';
}

function short(text, limit = 90) {
  const value = String(text || '');
  return value.length <= limit ? value : `${value.slice(0, limit - 1).trimEnd()}…`;
}

function focusQuestion(entry) {
  const target = entry.inputs.find((input) => input.checked) || entry.inputs[0];
  target.focus();
  target.scrollIntoView({ block: 'center' });
}

/**
 * The list of problems at the top of the form (a live region, so it is read out), each a link to its question;
 * the focus goes to the first question named (not while the person is typing: a draft refused). problems:
 * [{entry, message}] in form order.
 */
function showProblems(problems, title, { focus = true } = {}) {
  for (const entry of entries) setQuestionError(entry, '');
  for (const { entry, message } of problems) setQuestionError(entry, message);
  const list = el('ul', { class: 'error-summary-list' }, problems.map(({ entry, message }) => {
    const link = el('a', { href: `#${entry.node.id}` }, `Câu ${entry.number}: ${short(entry.question.text)}`);
    link.addEventListener('click', (event) => {
      event.preventDefault(); // no fragment in the address bar: the page reads its token from there
      focusQuestion(entry);
    });
    return el('li', {}, link, el('span', { class: 'error-summary-why' }, ` — ${message}`));
  }));
  summary.replaceChildren(
    el('h2', { id: 'error-summary-title' }, title),
    el('p', {}, 'Vui lòng trả lời hoặc sửa các câu dưới đây rồi bấm “Gửi phiếu” lại:'),
    list);
  summary.hidden = false;
  if (focus && problems.length) focusQuestion(problems[0].entry);
}

function clearProblems() {
  for (const entry of entries) setQuestionError(entry, '');
  summary.replaceChildren();
  summary.hidden = true;
}

/** The API's per-question details (422) on the form; false when none of them names a question here. */
function showServerProblems(error, { focus = true } = {}) {
  const byId = new Map(entries.map((entry) => [entry.question.id, entry]));
  const problems = [];
  for (const detail of error.details || []) {
    const id = detail && (detail.question || String(detail.field || '').replace(/^answers\./, ''));
    const entry = byId.get(id);
    if (entry && !problems.some((p) => p.entry === entry)) {
      problems.push({ entry, message: detail.message || error.message });
    }
  }
  if (!problems.length) return false;
  problems.sort((a, b) => a.entry.number - b.entry.number);
  showProblems(problems, problems.length === 1 ? 'Có 1 câu trả lời chưa hợp lệ'
    : `Có ${problems.length} câu trả lời chưa hợp lệ`, { focus });
  return true;
}

function updateProgress() {
  const total = entries.length;
  const answered = entries.filter((entry) => answerOf(entry) !== null).length;
  const missing = entries.filter((entry) => entry.question.required && answerOf(entry) === null).length;
  progressText.replaceChildren(`Đã trả lời ${answered}/${total} câu`,
    ...(missing ? [el('span', { class: 'muted' }, ` · còn ${missing} câu bắt buộc`)] : []));
  progressBar.max = total;
  progressBar.value = answered;
}

function setSaveStatus(kind, text) {
  saveStatus.dataset.kind = kind;
  if (saveStatus.textContent !== text) saveStatus.textContent = text;
}

function scheduleSave(ms) {
  clearTimeout(saveTimer);
  saveTimer = setTimeout(() => {
    saveTimer = null;
    saveNow();
  }, ms);
}

/** Sends the current answers as the draft; a failure keeps them locally and tries again later. */
async function saveNow({ keepalive = false } = {}) {
  if (finished || changeSeq === savedSeq) return;
  if (submitting || saving) {
    if (!saveTimer) scheduleSave(SAVE_DELAY_MS);
    return;
  }
  clearTimeout(saveTimer);
  saveTimer = null;
  saving = true;
  const seq = changeSeq;
  try {
    const result = await api.saveSurveyDraft(token, collectAnswers(), { keepalive });
    if (finished) return;
    savedSeq = Math.max(savedSeq, seq);
    retryIndex = 0;
    const at = (result && result.saved_at) || new Date(serverNow()).toISOString();
    serverSavedAt = at;
    setSaveStatus('ok', `Đã lưu nháp lúc ${hhmm(at)}`);
    if (savedSeq === changeSeq) writeLocal(collectAnswers(), at, true);
  } catch (error) {
    if (!finished) saveFailed(error);
  } finally {
    saving = false;
    if (!finished && changeSeq !== savedSeq && !saveTimer) scheduleSave(SAVE_DELAY_MS);
  }
}

function saveFailed(error) {
  if (showErrorPage(error)) return; // 404, 409, 423: the form is over
  if (error.status === 422 || error.status === 413) {
    showServerProblems(error, { focus: false });
    setSaveStatus('error', `Chưa lưu được nháp: ${errorText(error)}`);
    savedSeq = changeSeq; // the same answers would be refused again: wait for the next change
    return;
  }
  const delay = error.status === 429 && error.retryAfter
    ? error.retryAfter
    : RETRY_DELAYS_S[Math.min(retryIndex, RETRY_DELAYS_S.length - 1)];
  retryIndex += 1;
  setSaveStatus('offline', draftKey
    ? 'Chưa lưu được lên máy chủ (mất kết nối). Câu trả lời vẫn được giữ trên máy này và sẽ tự lưu lại khi có kết nối.'
    : 'Chưa lưu được lên máy chủ (mất kết nối). Vui lòng giữ trang này mở; phần mềm sẽ tự lưu lại khi có kết nối.');
  scheduleSave(delay * 1000);
}

function changed(entry) {
  if (finished) return;
  if (entry.question.type === 'text') updateCounter(entry);
  if (entry.error.textContent && answerOf(entry) !== null) setQuestionError(entry, '');
  updateProgress();
  changeSeq += 1;
  writeLocal(collectAnswers(), new Date(serverNow()).toISOString(), false);
  scheduleSave(SAVE_DELAY_MS);
}

/** The copy to start from: this browser's when it holds answers not yet sent on top of the server's draft as it
 * still is (whatever the clocks say: the device's and the server's are never compared for that), else the newer of
 * the two (another device saved meanwhile), the server's when they are the same. */
function pickDraft(serverDraft, localCopy) {
  const server = serverDraft && serverDraft.answers && typeof serverDraft.answers === 'object'
    ? { answers: serverDraft.answers, at: Date.parse(serverDraft.saved_at) || 0,
      label: serverDraft.saved_at_label || formatDateTime(serverDraft.saved_at), source: 'server' }
    : null;
  const mine = localCopy
    ? { answers: localCopy.answers, at: Date.parse(localCopy.saved_at) || 0,
      label: formatDateTime(localCopy.saved_at), source: 'local' }
    : null;
  if (!mine || sameAnswers(mine.answers, server && server.answers)) return server;
  if (!server || mine.at > server.at) return mine;
  const base = localCopy.synced === false && localCopy.base ? Date.parse(localCopy.base) : NaN;
  return server.at <= base ? mine : server; // unsent changes made on the server's current draft
}

function header(data) {
  const q = data.questionnaire;
  const title = String(q.title || data.purpose_name || 'Phiếu khảo sát');
  return el('header', { class: 'survey-head' },
    el('p', { class: 'eyebrow' }, [data.purpose_name, data.campaign && data.campaign.name].filter(Boolean).join(' · ')),
    el('h1', { id: 'page-title', tabindex: '-1' }, title),
    q.sample ? el('p', { class: 'sample-flag', id: 'sample-flag' },
      el('span', { class: 'badge badge-sample' }, 'Phiếu mẫu'),
      ' Phiếu này chỉ dùng để làm quen và thử nghiệm phần mềm, không phải phiếu chính thức.') : null,
    el('dl', { class: 'facts survey-facts' },
      el('div', {}, el('dt', {}, 'Đơn vị'), el('dd', { id: 'survey-unit' }, data.unit.full_name || data.unit.name)),
      el('div', {}, el('dt', {}, 'Nhóm đối tượng'), el('dd', { id: 'survey-group' }, data.group.name)),
      el('div', {}, el('dt', {}, 'Thời hạn trả lời'), el('dd', { id: 'survey-deadline' },
        data.deadline_label || formatDateTime(data.closes_at),
        ' ', el('span', { class: 'deadline-left' }, '(', countdown(data.closes_at, () => showClosed(
          new api.ApiError(423, `Đã hết thời hạn trả lời phiếu khảo sát (${data.deadline_label || ''}).`,
            { code: 'survey_closed' }))), ')')))),
    q.description ? el('div', { class: 'survey-description' }, paragraphs(q.description)) : null,
    data.confidentiality ? el('aside', { class: 'confidentiality', 'aria-labelledby': 'confidentiality-title' },
      el('h2', { id: 'confidentiality-title' }, 'Bảo mật thông tin'),
      paragraphs(data.confidentiality)) : null,
    el('p', { class: 'note how-to' }, 'Các câu đều bắt buộc trả lời trước khi gửi phiếu, trừ những câu ghi “(không bắt buộc)”. '
      + 'Câu trả lời được tự động lưu nháp: Ông/Bà có thể đóng trang và mở lại đường dẫn trong thư mời để làm tiếp.'));
}

/** The questionnaire's sections with their questions; fills `entries`, one per question. */
function buildSections(data) {
  entries = [];
  let number = 0;
  return (data.questionnaire.sections || []).map((section, s) => {
    const headingId = `section-${s + 1}`;
    return el('section', { class: 'survey-section', 'aria-labelledby': headingId },
      el('h2', { id: headingId }, section.title),
      (section.questions || []).map((question) => {
        number += 1;
        const base = `q-${question.id}`;
        const parts = question.type === 'text'
          ? textQuestion(question, number, base) : choiceQuestion(question, number, base);
        const entry = { question, number, ...parts };
        entries.push(entry);
        return parts.node;
      }));
  });
}

/** The form around the sections: progress, save status, the submit area. */
function buildForm(sections, submit) {
  summary = el('div', { id: 'error-summary', class: 'error-summary', role: 'alert', tabindex: '-1',
    'aria-labelledby': 'error-summary-title', hidden: true });
  progressText = el('p', { id: 'progress', class: 'progress-text' });
  progressBar = el('progress', { class: 'progress-bar', 'aria-hidden': 'true', max: '1', value: '0' });
  saveStatus = el('p', { id: 'save-status', class: 'save-status', role: 'status' });
  submitBox = messageBox('submit-message');
  announcer = el('p', { class: 'visually-hidden', 'aria-live': 'polite', id: 'announcer' });
  return el('form', { id: 'survey-form', class: 'survey-form', novalidate: true, 'aria-labelledby': 'page-title' },
    sections,
    el('div', { class: 'survey-bar' },
      el('div', { class: 'survey-bar-progress' }, progressText, progressBar),
      saveStatus),
    el('div', { class: 'survey-submit' },
      submitBox,
      el('p', { class: 'note' }, 'Sau khi gửi, phiếu không thể sửa. Vui lòng kiểm tra lại câu trả lời trước khi gửi.'),
      el('div', { class: 'actions' }, submit)));
}

function watchForm(submit) {
  const byNode = new Map(entries.map((entry) => [entry.node, entry]));
  const entryOf = (target) => byNode.get(target.closest('.question'));
  form.addEventListener('change', (event) => {
    const entry = entryOf(event.target);
    if (entry && entry.question.type !== 'text') changed(entry);
  });
  form.addEventListener('input', (event) => {
    const entry = entryOf(event.target);
    if (entry && entry.question.type === 'text') changed(entry);
  });
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    submitForm(submit);
  });
}

/** Where to start: the server's draft or this browser's copy, as pickDraft decides; a copy not yet sent is sent. */
function restoreDraft(data) {
  serverSavedAt = data.draft ? data.draft.saved_at || null : null;
  const chosen = pickDraft(data.draft, readLocal());
  if (chosen) {
    applyAnswers(chosen.answers);
    if (chosen.source === 'local') {
      changeSeq = 1; // not on the server yet
      setSaveStatus('pending', `Đã khôi phục câu trả lời lưu trên máy này lúc ${chosen.label}; đang lưu lên máy chủ…`);
      scheduleSave(300);
    } else {
      writeLocal(collectAnswers(), data.draft.saved_at, true);
      setSaveStatus('ok', `Đã khôi phục bản nháp lưu lúc ${chosen.label}.`);
    }
  } else {
    setSaveStatus('idle', 'Chưa có câu trả lời nào được lưu.');
  }
}

function renderForm(data) {
  survey = data;
  finished = false;
  changeSeq = 0;
  savedSeq = 0;
  retryIndex = 0;
  learnServerClock([{ closes_at: data.closes_at, seconds_left: data.seconds_left }]);
  const sections = buildSections(data);
  const submit = el('button', { type: 'submit', class: 'primary', id: 'submit-button' }, 'Gửi phiếu');
  form = buildForm(sections, submit);
  loading.hidden = true;
  main.dataset.state = 'form';
  main.removeAttribute('aria-busy');
  view.replaceChildren(header(data), summary, form, contact(), announcer);
  setTitle('Phiếu khảo sát');
  watchForm(submit);
  restoreDraft(data);
  for (const entry of entries) if (entry.question.type === 'text') updateCounter(entry, false);
  updateProgress();
  document.getElementById('page-title').focus();
}

async function submitForm(button) {
  if (finished || submitting) return;
  show(submitBox, 'info', '');
  const missing = entries.filter((entry) => entry.question.required && answerOf(entry) === null);
  if (missing.length) {
    showProblems(missing.map((entry) => ({ entry, message: missingMessage(entry.question) })),
      missing.length === 1 ? 'Còn 1 câu bắt buộc chưa trả lời' : `Còn ${missing.length} câu bắt buộc chưa trả lời`);
    return;
  }
  clearProblems();
  const answered = entries.filter((entry) => answerOf(entry) !== null).length;
  const skipped = entries.length - answered;
  const ok = await confirmDialog({
    title: 'Gửi phiếu khảo sát?',
    body: [
      el('p', {}, el('strong', {}, 'Sau khi gửi, phiếu không thể sửa.')),
      el('p', {}, `Ông/Bà đã trả lời ${answered}/${entries.length} câu`
        + (skipped ? ` (${skipped} câu không bắt buộc để trống).` : '.')),
    ],
    confirmLabel: 'Gửi phiếu',
    cancelLabel: 'Xem lại',
  });
  if (!ok || finished) return;
  submitting = true;
  clearTimeout(saveTimer);
  saveTimer = null;
  try {
    const result = await busy(button, 'Đang gửi…', () => api.submitSurvey(token, collectAnswers()));
    showReceipt(result || {});
  } catch (error) {
    if (showErrorPage(error)) return;
    if (error.status === 422 && showServerProblems(error)) {
      show(submitBox, 'error', errorText(error));
      return;
    }
    const text = error.status === 0
      ? 'Chưa gửi được vì không kết nối được máy chủ. Câu trả lời vẫn được giữ; vui lòng bấm “Gửi phiếu” lại khi '
        + 'có kết nối.'
      : error.status === 429
        ? `${errorText(error)} Vui lòng gửi lại sau ${waitText(error.retryAfter)}.`
        : `Chưa gửi được: ${errorText(error)}`;
    show(submitBox, 'error', text);
  } finally {
    submitting = false;
    if (!finished && changeSeq !== savedSeq && !saveTimer) scheduleSave(SAVE_DELAY_MS);
  }
}

// ---- start --------------------------------------------------------------------------------------------------

async function start() {
  loading.hidden = false;
  main.dataset.state = 'loading';
  main.setAttribute('aria-busy', 'true');
  view.replaceChildren();
  try {
    const data = await api.survey(token);
    if (data && data.state === 'submitted') {
      survey = data;
      showSubmitted(data);
    } else if (data && data.questionnaire && Array.isArray(data.questionnaire.sections)) {
      renderForm(data);
    } else {
      showFailure(new api.ApiError(200, api.MESSAGES.badResponse));
    }
  } catch (error) {
    showErrorPage(error, { whileLoading: true });
  }
}

async function boot() {
  purgeOldCopies();
  token = takeToken();
  if (!token) {
    showMissing();
    return;
  }
  if (!TOKEN_SHAPE.test(token)) {
    showUnknown();
    return;
  }
  draftKey = await localKeyFor(token);
  await start();
}

window.addEventListener('online', () => {
  if (main.dataset.state === 'offline') start();
  else if (!finished && changeSeq !== savedSeq) saveNow();
});

// A tab being closed or hidden: send what the server does not have yet (the local copy is already written).
document.addEventListener('visibilitychange', () => {
  if (document.visibilityState === 'hidden' && !finished && changeSeq !== savedSeq) saveNow({ keepalive: true });
});

boot();
