// The province's IT focal person: load, edit, save (locked outside the focal_person phase); and the mail desk: the
// respondents' mail domains with the last delivery outcome and diagnostic, preflights, what to allow.
import * as api from '../lib/api.js';
import { currentState, learnServerClock, serverNow } from '../lib/clock.js';
import { clear, el } from '../lib/dom.js';
import { formatDateTime } from '../lib/format.js';
import { extendedBadge, stateBadge } from '../components/badges.js';
import { busy, clearFieldErrors, errorText, reportError, show } from '../components/messages.js';
import { showContext, startUnitPage } from '../components/page.js';
import { countdown } from '../components/phase.js';

const PHASE = 'focal_person';
const current = api.requireSession('province');

const form = document.getElementById('focal-form');
const fieldset = document.getElementById('focal-fieldset');
const fields = {
  full_name: document.getElementById('full_name'),
  position: document.getElementById('position'),
  mobile: document.getElementById('mobile'),
  email: document.getElementById('email'),
};
const button = document.getElementById('save-button');
const box = document.getElementById('form-message');
const context = document.getElementById('context');
const phaseInfo = document.getElementById('phase-info');
const lastSaved = document.getElementById('last-saved');
let cid = null;

function lockedText(phase) {
  if (!phase) return 'Đợt đánh giá này không có giai đoạn cử cán bộ đầu mối.';
  if (currentState(phase) === 'upcoming') {
    return `Giai đoạn “${phase.name}” chưa mở (mở từ ngày ${phase.opens_label}). Chưa thể cập nhật thông tin.`;
  }
  return `Đã hết thời hạn “${phase.name}” (${phase.deadline_label}). `
    + 'Phần mềm đã tự động khóa; liên hệ Bộ Nội vụ nếu cần gia hạn.';
}

function lock(message) {
  fieldset.disabled = true;
  form.classList.add('locked');
  show(box, 'error', message);
}

function renderPhase(phase) {
  clear(phaseInfo);
  if (!phase) return;
  const state = currentState(phase);
  phaseInfo.append(stateBadge(state));
  if (phase.extended) phaseInfo.append(extendedBadge());
  phaseInfo.append(el('span', {}, `Thời hạn: ${phase.deadline_label}`));
  if (state === 'open') {
    phaseInfo.append(el('span', {}, '· ', countdown(phase.closes_at, () => {
      renderPhase(phase);
      lock(lockedText(phase));
    })));
  }
}

function fill(focal) {
  for (const [name, input] of Object.entries(fields)) input.value = focal[name] || '';
  lastSaved.textContent = focal.updated_at_label
    ? `Cập nhật lần cuối lúc ${focal.updated_at_label}${focal.updated_by ? ` (tài khoản ${focal.updated_by})` : ''}.`
    : 'Đơn vị chưa khai báo cán bộ đầu mối.';
}

function start() {
  return startUnitPage(current, {
    box,
    none: () => lock('Đơn vị chưa tham gia đợt đánh giá nào.'),
    noneText: null,
    open: async (campaign) => {
      cid = campaign.id;
      showContext(context, campaign.name, current.displayName || current.unit || '');
      learnServerClock(campaign.phases);
      const phase = campaign.phases.find((p) => p.code === PHASE);
      renderPhase(phase);
      fill(await api.focalPerson(cid, current.unit));
      loadDesk();
      if (!phase || currentState(phase) !== 'open') lock(lockedText(phase));
      else fieldset.disabled = false;
    },
  });
}

form.addEventListener('submit', async (event) => {
  event.preventDefault();
  if (!cid || fieldset.disabled) return;
  clearFieldErrors(form);
  show(box, 'info', '');
  try {
    const saved = await busy(button, 'Đang lưu…', () => api.saveFocalPerson(cid, current.unit, {
      full_name: fields.full_name.value, position: fields.position.value, mobile: fields.mobile.value,
      email: fields.email.value,
    }));
    fill(saved);
    show(box, 'success', `Đã lưu lúc ${saved.updated_at_label || formatDateTime(serverNow())}.`);
  } catch (error) {
    if (error.status === 423) {
      lock(errorText(error));
      return;
    }
    reportError(box, error, fields);
  }
});

// ---- the mail desk ---------------------------------------------------------------------------------------------

const mailBox = document.getElementById('mail-message');
const domainBody = document.querySelector('#domain-table tbody');
const preflightButton = document.getElementById('preflight-button');
const refreshButton = document.getElementById('mail-refresh');
const preflightInfo = document.getElementById('preflight-info');
const allowList = document.getElementById('allowlist');
const pauseNote = document.getElementById('mail-pause');
let refreshTimer = null;

function outcomeCell(domain) {
  if (!domain.last_outcome_name) return el('td', {}, '—');
  return el('td', {},
    el('span', {}, domain.last_outcome_name, domain.last_at_label ? ` (${domain.last_at_label})` : ''),
    domain.last_diagnostic ? el('br') : null,
    domain.last_diagnostic ? el('code', { class: 'diagnostic' }, domain.last_diagnostic) : null,
    domain.last_reason ? el('br') : null,
    domain.last_reason ? el('small', {}, domain.last_reason) : null);
}

function preflightCell(domain) {
  const test = domain.preflight;
  if (!test) return el('td', {}, 'Chưa kiểm tra');
  return el('td', { dataset: { status: test.status } }, el('strong', {}, test.status_name),
    test.diagnostic ? el('br') : null, test.diagnostic ? el('code', { class: 'diagnostic' }, test.diagnostic) : null);
}

function renderDesk(view) {
  clear(domainBody);
  if (!view.domains.length) {
    domainBody.append(el('tr', {}, el('td', { colspan: 8 }, 'Danh sách đối tượng chưa có địa chỉ thư.')));
  }
  for (const d of view.domains) {
    const box = el('input', { type: 'checkbox', value: d.domain, 'aria-label': `Kiểm tra ${d.domain}`,
      disabled: d.respondents === 0 });
    domainBody.append(el('tr', { dataset: { domain: d.domain } }, el('td', {}, box), el('th', { scope: 'row' }, d.domain),
      el('td', {}, String(d.respondents)), el('td', {}, String(d.accepted)), el('td', {}, String(d.delivered)),
      el('td', {}, String(d.bounced + d.bounced_transient)), outcomeCell(d), preflightCell(d)));
  }
  clear(allowList);
  for (const row of view.allowlist) {
    allowList.append(el('div', {}, el('dt', {}, `${row.label}:`), el('dd', {}, el('code', {}, row.value))));
  }
  pauseNote.hidden = !view.pause.active && !view.breaker.active;
  pauseNote.textContent = view.pause.active ? view.pause.reason
    : (view.breaker.active ? 'Bộ Nội vụ đang tạm dừng toàn bộ việc gửi thư khảo sát.' : '');
  const test = view.preflight;
  preflightInfo.textContent = test
    ? `Lần kiểm tra gần nhất lúc ${test.at_label} (tài khoản ${test.by}): ${test.results.length} thư, `
      + `${test.results.filter((r) => r.failed).length} thư không tới được.`
    : (view.focal_email ? '' : 'Hãy khai báo thư điện tử của cán bộ đầu mối để nhận thư kiểm tra và thông báo kỹ thuật.');
  clearTimeout(refreshTimer);
  if (test && test.results.some((r) => ['queued', 'send', 'delay'].includes(r.outcome))) {
    refreshTimer = setTimeout(loadDesk, 5000);
  }
}

async function loadDesk() {
  if (!cid) return;
  try {
    renderDesk(await api.mailDesk(cid, current.unit));
  } catch (error) {
    reportError(mailBox, error);
  }
}

preflightButton.addEventListener('click', async () => {
  if (!cid) return;
  const domains = [...domainBody.querySelectorAll('input[type=checkbox]:checked')].map((box) => box.value);
  show(mailBox, 'info', '');
  try {
    const view = await busy(preflightButton, 'Đang gửi…', () => api.startPreflight(cid, current.unit, domains));
    renderDesk(view);
    show(mailBox, 'success', `Đã gửi ${view.preflight.results.length} thư kiểm tra. Kết quả hiện trong bảng khi máy `
      + 'chủ nhận trả lời (thường trong vài phút).');
  } catch (error) {
    reportError(mailBox, error);
  }
});
refreshButton.addEventListener('click', () => loadDesk());

if (current) start();
