// Ministry home: a campaign's phases and deadlines, dispatching the survey to the units whose roster was sent (with
// the runs' progress, polled every 5 s while one is running), the links to the appraisal and the index results,
// changing a deadline (all units or one), the provinces' table (each one's roster status and size, linked to its
// page) and the assessed ministries' (linked to their appraisal).
import * as api from '../lib/api.js';
import { campaignHref, chooseCampaign, rememberCampaign } from '../lib/campaign.js';
import { currentState, learnServerClock } from '../lib/clock.js';
import { clear, el, setTitle } from '../lib/dom.js';
import { fold, formatDate, formatDateTime, formatNumber, parseDateVN } from '../lib/format.js';
import { mountAccount } from '../components/account.js';
import { extendedBadge, stateBadge } from '../components/badges.js';
import { fillCampaignSelect } from '../components/campaign-select.js';
import { buildDialog, dialogIds, openDialog } from '../components/dialog.js';
import { busy, clearFieldErrors, errorText, markProblems, reportError, show } from '../components/messages.js';
import { countdown } from '../components/phase.js';

const current = api.requireSession('moha');

const box = document.getElementById('page-message');
const select = document.getElementById('dot');
const phaseBody = document.querySelector('#phase-table tbody');
const unitBody = document.querySelector('#unit-table tbody');
const unitCount = document.getElementById('unit-count');
const ministriesSection = document.getElementById('ministries-section');
const ministryBody = document.querySelector('#ministry-table tbody');
const filter = document.getElementById('filter');

const form = document.getElementById('deadline-form');
const formBox = document.getElementById('deadline-message');
const phaseSelect = document.getElementById('phase');
const unitField = document.getElementById('unit-field');
const unitSelect = document.getElementById('unit');
const closes = document.getElementById('closes');
const reason = document.getElementById('reason');
const button = document.getElementById('deadline-button');

const dispatchSummary = document.getElementById('dispatch-summary');
const dispatchBox = document.getElementById('dispatch-message');
const dispatchButton = document.getElementById('dispatch-button');
const nationalLink = document.getElementById('national-link');
const integrityLink = document.getElementById('integrity-link');
const appraisalLink = document.getElementById('appraisal-link');
const resultsLink = document.getElementById('results-link');
const runList = document.getElementById('runs');

const POLL_MS = 5000;

let detail = null;
let rows = [];
let pollTimer = null;
let pollFor = null; // the campaign whose runs are being followed
const running = new Set(); // runs seen unfinished: their end is announced once

// ---- dispatch ----------------------------------------------------------------------------------------------

/** The campaign's provinces: the units with a roster, survey links and the dispatch (assessed ministries have none). */
function provinces() {
  return (detail && detail.units || []).filter((u) => (u.kind || 'province') === 'province');
}

function readyUnits() {
  return provinces().filter((u) => u.roster_status === 'submitted');
}

function surveyPhase() {
  return detail && detail.phases.find((p) => p.code === 'survey');
}

function renderDispatch() {
  const ready = readyUnits().length;
  const total = provinces().length;
  const phase = surveyPhase();
  const state = phase ? currentState(phase) : null;
  const parts = [el('strong', {}, `${ready}/${total} đơn vị`), ' đã gửi danh sách đối tượng điều tra XHH.'];
  if (phase) {
    parts.push(' Giai đoạn “', phase.name, '”: ', stateBadge(state), ` (thời hạn ${phase.deadline_label}).`);
  }
  dispatchSummary.replaceChildren(...parts);
  dispatchButton.disabled = !ready || state !== 'open';
  nationalLink.href = campaignHref('/bo/tien-do.html', detail.id);
  integrityLink.href = campaignHref('/bo/kiem-tra.html', detail.id);
  appraisalLink.href = campaignHref('/bo/tham-dinh.html', detail.id);
  resultsLink.href = campaignHref('/bo/ket-qua.html', detail.id);
}

function progressRow(id, label, value, max) {
  return el('div', { class: 'upload-progress' },
    el('label', { for: id }, label),
    el('progress', { id, max: String(Math.max(1, max)), value: String(Math.min(value, Math.max(1, max))) }));
}

const NAMES_SHOWN = 10;

/** "Hà Nội, Hà Giang" — the units' names (codes where unknown), the first ten then how many more. */
function unitNames(codes) {
  const names = new Map((detail && detail.units || []).map((u) => [u.code, u.name]));
  const shown = (codes || []).slice(0, NAMES_SHOWN).map((c) => names.get(c) || c);
  const more = (codes || []).length - shown.length;
  return shown.join(', ') + (more > 0 ? ` và ${more} đơn vị khác` : '');
}

function runItem(run, index) {
  const mailsDone = run.mails_sent + run.mails_failed;
  const facts = [['Đường dẫn đã cấp', run.links_issued], ['Thư cần gửi', run.mails_queued],
    ['Thư đã gửi', run.mails_sent], ['Thư gửi lỗi', run.mails_failed]];
  return el('li', { class: 'run', dataset: { run: run.run, finished: String(run.finished) } },
    el('p', { class: 'run-head' },
      el('strong', {}, `Phát hành lúc ${run.started_at_label || formatDateTime(run.started_at)}`),
      el('span', { class: `badge ${run.finished ? 'badge-run-finished' : 'badge-run-running'}` },
        run.finished ? 'Hoàn tất' : 'Đang phát hành'),
      el('span', { class: 'muted' }, `${run.units_total} đơn vị · tài khoản ${run.started_by}`)),
    el('p', { class: 'run-units' }, 'Đơn vị: ', unitNames(run.units)),
    progressRow(`run-units-${index}`, `Đơn vị đã xử lý: ${run.units_done}/${run.units_total}`, run.units_done,
      run.units_total),
    progressRow(`run-mails-${index}`, `Thư đã xử lý: ${mailsDone}/${run.mails_queued}`, mailsDone,
      run.mails_queued),
    el('dl', { class: 'summary' }, facts.map(([name, value]) => el('div', {},
      el('dt', {}, name), el('dd', {}, formatNumber(value))))));
}

function renderRuns(runs) {
  const shown = runs.slice(0, 5);
  if (!shown.length) {
    clear(runList).append(el('li', { class: 'empty' }, 'Chưa phát hành lần nào.'));
    return;
  }
  clear(runList).append(...shown.map(runItem));
  for (const run of runs) {
    if (!run.finished) running.add(run.run);
    else if (running.delete(run.run)) {
      show(dispatchBox, 'success', `Đã phát hành xong lần lúc ${run.started_at_label}: ${run.units_done} đơn vị `
        + `(${unitNames(run.units)}), `
        + `${run.mails_sent} thư đã gửi${run.mails_failed ? `, ${run.mails_failed} thư gửi lỗi` : ''}.`);
    }
  }
}

function stopPolling() {
  clearTimeout(pollTimer);
  pollTimer = null;
}

/** The provinces' requests to change a respondent's address, waiting for a decision on the unit's page. */
async function loadEmailRequests(cid) {
  const list = document.getElementById('email-requests');
  try {
    const data = await api.campaignAddressChanges(cid, 'pending');
    if (detail && detail.id !== cid) return;
    const items = data.items || [];
    list.replaceChildren(...(items.length ? items.map((c) => el('li', { dataset: { change: c.id } },
      el('a', { href: campaignHref('/bo/don-vi.html', cid, { 'don-vi': c.unit }) }, c.unit_name || c.unit),
      `: đổi email của ${c.full_name} (${c.old.masked} → ${c.new.masked}), đề nghị lúc ${c.requested_at_label}.`))
      : [el('li', { class: 'muted' }, 'Không có đề nghị nào chờ duyệt.')]));
  } catch (error) {
    if (error.status !== 401) list.replaceChildren(el('li', {}, errorText(error)));
  }
}

async function loadRuns(cid) {
  stopPolling();
  pollFor = cid;
  try {
    const result = await api.dispatchRuns(cid);
    if (pollFor !== cid) return;
    const runs = result.runs || [];
    renderRuns(runs);
    if (runs.some((r) => !r.finished)) pollTimer = setTimeout(() => loadRuns(cid), POLL_MS);
  } catch (error) {
    if (pollFor !== cid || error.status === 401) return;
    show(dispatchBox, 'error', `Chưa tải được tiến độ phát hành: ${errorText(error)}`);
    pollTimer = setTimeout(() => loadRuns(cid), POLL_MS * 2);
  }
}

/**
 * The dispatch dialog: every unit whose roster was sent, each with a box to tick (all ticked at first), so that
 * one late province can be sent to without sending to the others again. Resolves the chosen codes, or null.
 */
/** Domains whose test mail did not arrive, among the units about to be sent to: dispatch warns, never refuses. */
function preflightWarning(ready) {
  const readyCodes = new Set(ready.map((u) => u.code));
  const failures = (guardView ? guardView.preflight_failures : []).filter((f) => readyCodes.has(f.unit));
  return failures.length
    ? el('div', { class: 'warning', id: 'dispatch-warning' }, el('p', {}, el('strong', {}, 'Lưu ý: '),
      'thư kiểm tra không tới được các tên miền sau; thư mời gửi tới đó có thể bị trả lại:'),
    el('ul', {}, failures.map((f) => el('li', {}, `${f.unit}: ${f.domain}`, f.diagnostic ? ` (${f.diagnostic})` : ''))))
    : null;
}

function chooseUnitsDialog(ready, warning) {
  const ids = dialogIds('dispatch');
  const boxes = ready.map((u) => el('input', { type: 'checkbox', name: 'units', value: u.code, checked: true }));
  const list = el('fieldset', { class: 'choices unit-choices' },
    el('legend', {}, 'Đơn vị được phát hành'),
    ...ready.map((u, i) => el('label', { class: 'choice', dataset: { unit: u.code } }, boxes[i],
      ` ${u.code} — ${u.name}`, el('span', { class: 'muted' }, ` (${formatNumber(u.roster_total || 0)} người)`))));
  const all = el('button', { type: 'button', class: 'small' }, 'Chọn tất cả');
  const none = el('button', { type: 'button', class: 'small' }, 'Bỏ chọn tất cả');
  const problem = el('p', { class: 'field-error', id: ids.id('problem'), role: 'alert' });
  const ok = el('button', { type: 'button', class: 'primary' });
  const cancel = el('button', { type: 'button' }, 'Hủy');
  const chosen = () => boxes.filter((b) => b.checked).map((b) => b.value);
  const update = () => {
    const n = chosen().length;
    ok.textContent = `Phát hành tới ${n} đơn vị`;
    ok.disabled = !n;
    problem.textContent = n ? '' : 'Vui lòng chọn ít nhất một đơn vị.';
    problem.hidden = Boolean(n);
  };
  const body = [
    el('p', {}, 'Có ', el('strong', {}, `${ready.length} đơn vị`), ` (trên tổng số ${provinces().length}) đã gửi `
      + 'danh sách đối tượng điều tra XHH. Phần mềm gửi thư mời trả lời phiếu khảo sát tới mọi người trong danh '
      + 'sách của các đơn vị được chọn dưới đây.'),
    el('p', {}, 'Người đã nhận thư từ lần phát hành trước không bị gửi trùng. Sau khi phát hành, nội dung phiếu '
      + 'không thể thay đổi.'),
    warning,
  ].filter(Boolean);
  const content = [el('div', { class: 'actions' }, all, none), list, problem,
    el('div', { class: 'actions' }, ok, cancel)];
  const dialog = buildDialog(ids, { title: 'Phát hành phiếu khảo sát?', body, content });
  list.addEventListener('change', update);
  all.addEventListener('click', () => { boxes.forEach((b) => { b.checked = true; }); update(); });
  none.addEventListener('click', () => { boxes.forEach((b) => { b.checked = false; }); update(); });
  update();
  return new Promise((resolve) => {
    let answer = null;
    ok.addEventListener('click', () => {
      answer = chosen();
      dialog.close();
    });
    cancel.addEventListener('click', () => dialog.close());
    dialog.addEventListener('close', () => {
      dialog.remove();
      resolve(answer && answer.length ? answer : null);
    });
    openDialog(dialog, { focus: ok });
  });
}

dispatchButton.addEventListener('click', async () => {
  if (!detail) return;
  const cid = detail.id;
  const ready = readyUnits();
  const codes = await chooseUnitsDialog(ready, preflightWarning(ready));
  if (!codes) return;
  show(dispatchBox, 'info', '');
  try {
    // Every ready unit: the API's own default (the units whose roster was sent when the run starts).
    const units = codes.length === ready.length ? null : codes;
    const run = await busy(dispatchButton, 'Đang phát hành…', () => api.startDispatch(cid, units));
    const warned = (run.warnings || []).map((w) => `${w.unit}: ${w.domain}`).join(', ');
    show(dispatchBox, 'info', `Đã bắt đầu phát hành tới ${run.units_total} đơn vị (${unitNames(run.units)}). `
      + 'Tiến độ tự động cập nhật mỗi 5 giây.' + (warned ? ` Lưu ý: các tên miền chưa qua kiểm tra thư: ${warned}.` : ''));
    running.add(run.run);
    await loadRuns(cid);
  } catch (error) {
    if (error.status !== 401) show(dispatchBox, 'error', errorText(error));
  } finally {
    if (detail) renderDispatch();
  }
});

// ---- the reputation guard ----------------------------------------------------------------------------------

const guardBox = document.getElementById('guard-message');
const breakerText = document.getElementById('guard-breaker');
const breakerButton = document.getElementById('breaker-button');
const pausedList = document.getElementById('paused-units');
const failureList = document.getElementById('preflight-failures');
let guardView = null;

function renderGuard(view, cid) {
  guardView = view;
  const b = view.breaker;
  breakerText.textContent = b.active ? `${b.reason} (từ ${b.stopped_at_label})`
    : `Việc gửi thư đang bình thường. Tỷ lệ thư bị trả lại của tài khoản: ${formatNumber(view.account.bounce_rate * 100)} %, `
      + `báo thư rác: ${formatNumber(view.account.complaint_rate * 100)} % (${view.account.accepted} thư).`;
  breakerButton.hidden = !b.active;
  clear(pausedList);
  if (!view.paused.length) pausedList.append(el('li', {}, 'Không có.'));
  for (const p of view.paused) {
    const resume = el('button', { type: 'button', dataset: { unit: p.unit } }, `Cho ${p.name} gửi tiếp`);
    resume.addEventListener('click', async () => {
      try {
        await busy(resume, 'Đang xử lý…', () => api.resumeUnitMail(cid, p.unit, 'Bộ Nội vụ cho gửi tiếp'));
        show(guardBox, 'success', `Đã cho ${p.name} gửi thư tiếp.`);
        loadGuard(cid);
      } catch (error) {
        show(guardBox, 'error', errorText(error));
      }
    });
    pausedList.append(el('li', { dataset: { unit: p.unit } }, el('strong', {}, `${p.unit} ${p.name}: `), p.reason,
      ` (từ ${p.stopped_at_label}) `, resume));
  }
  clear(failureList);
  if (!view.preflight_failures.length) failureList.append(el('li', {}, 'Không có.'));
  for (const f of view.preflight_failures) {
    failureList.append(el('li', {}, `${f.unit}: ${f.domain}`, f.diagnostic ? ` — ${f.diagnostic}` : ''));
  }
}

async function loadGuard(cid) {
  try {
    renderGuard(await api.mailGuard(cid), cid);
  } catch (error) {
    if (error.status !== 401) show(guardBox, 'error', errorText(error));
  }
}

breakerButton.addEventListener('click', async () => {
  if (!detail) return;
  const yes = await confirmDialog({
    title: 'Cho gửi thư tiếp trên toàn quốc?',
    body: [el('p', {}, 'Chỉ nên cho gửi tiếp khi đã xác định và xử lý nguyên nhân thư bị trả lại hoặc bị báo là '
      + 'thư rác. Thao tác được ghi nhật ký.')],
    confirmLabel: 'Cho gửi tiếp',
  });
  if (!yes) return;
  try {
    await busy(breakerButton, 'Đang xử lý…', () => api.resetMailBreaker('Bộ Nội vụ cho gửi tiếp'));
    show(guardBox, 'success', 'Đã cho gửi thư tiếp.');
    loadGuard(detail.id);
  } catch (error) {
    show(guardBox, 'error', errorText(error));
  }
});

// ---- phases and units --------------------------------------------------------------------------------------

function renderPhases(phases) {
  clear(phaseBody).append(...phases.map((p) => el('tr', { dataset: { phase: p.code } },
    el('th', { scope: 'row' }, p.name),
    el('td', {}, p.opens_label),
    el('td', {}, p.deadline_label),
    el('td', {}, stateBadge(p.state), p.extended ? ' ' : null, p.extended ? extendedBadge() : null),
    el('td', {}, p.state === 'open' ? countdown(p.closes_at) : '—'))));
}

function extensionText(unit) {
  return (unit.extensions || []).map((x) => `${x.name}: ${x.deadline_label}`).join('; ');
}

function rosterCell(unit) {
  if (unit.roster_status === 'submitted') {
    const when = unit.roster_submitted_at ? formatDateTime(unit.roster_submitted_at) : '';
    return el('td', { class: 'roster-cell' }, el('span', { class: 'yes' }, 'Đã gửi'),
      when ? el('span', { class: 'muted nowrap' }, ` ${when}`) : null);
  }
  return el('td', { class: 'roster-cell' }, el('span', { class: 'no' }, 'Chưa gửi'));
}

function renderUnits(units, cid) {
  rows = units.map((u) => {
    const extensions = extensionText(u);
    const href = campaignHref('/bo/don-vi.html', cid, { 'don-vi': u.code });
    const tr = el('tr', { dataset: { unit: u.code } },
      el('td', { class: 'code' }, u.code),
      el('th', { scope: 'row' }, el('a', { href }, u.name)),
      el('td', {}, u.full_name),
      el('td', {}, u.focal_person_set ? el('span', { class: 'yes' }, 'Có') : el('span', { class: 'no' }, 'Chưa')),
      rosterCell(u),
      el('td', { class: 'code' }, String(u.roster_total || 0)),
      el('td', {}, extensions || '—'));
    return { tr, key: fold(`${u.code} ${u.name} ${u.full_name}`) };
  });
  clear(unitBody).append(...rows.map((r) => r.tr));
  applyFilter();
}

/** The assessed ministries: code, name (linked to their appraisal), ranked or not, their own extensions. */
function renderMinistries(units, cid) {
  const ministries = units.filter((u) => u.kind === 'ministry');
  ministriesSection.hidden = !ministries.length;
  clear(ministryBody).append(...ministries.map((u) => el('tr', { dataset: { unit: u.code } },
    el('td', { class: 'code' }, u.code),
    el('th', { scope: 'row' }, el('a', { href: campaignHref('/bo/tham-dinh.html', cid, { unit: u.code }) }, u.name)),
    el('td', {}, u.ranked === false ? el('span', { class: 'badge badge-unranked' }, 'Không xếp hạng') : 'Có'),
    el('td', {}, extensionText(u) || '—'))));
}

function applyFilter() {
  const wanted = fold(filter.value);
  let shown = 0;
  for (const row of rows) {
    const visible = !wanted || row.key.includes(wanted);
    row.tr.hidden = !visible;
    if (visible) shown += 1;
  }
  unitCount.textContent = wanted ? `Hiển thị ${shown}/${rows.length} đơn vị.` : `${rows.length} đơn vị.`;
}

function fillForm(campaign) {
  const chosenPhase = phaseSelect.value;
  clear(phaseSelect).append(...campaign.phases.map((p) => el('option', {
    value: p.code, selected: p.code === chosenPhase }, p.name)));
  const chosenUnit = unitSelect.value;
  const option = (u) => el('option', { value: u.code, selected: u.code === chosenUnit }, `${u.code} — ${u.name}`);
  const ministries = campaign.units.filter((u) => u.kind === 'ministry');
  clear(unitSelect).append(...(ministries.length
    ? [el('optgroup', { label: 'Tỉnh, thành phố' }, provinces().map(option)),
      el('optgroup', { label: 'Bộ, cơ quan ngang bộ' }, ministries.map(option))]
    : campaign.units.map(option)));
  suggestDate();
}

function selectedPhase() {
  return detail && detail.phases.find((p) => p.code === phaseSelect.value);
}

/** Proposes the current deadline's day, which the user then moves. */
function suggestDate() {
  const phase = selectedPhase();
  if (!phase) return;
  closes.value = formatDate(Date.parse(phase.closes_at) - 1000);
}

function scope() {
  return form.querySelector('input[name="scope"]:checked').value;
}

let loadSeq = 0;

async function load(cid) {
  loadSeq += 1;
  const mine = loadSeq;
  try {
    const fresh = await api.campaign(cid);
    if (mine !== loadSeq) return; // another campaign was chosen meanwhile: its answer wins
    detail = fresh;
    learnServerClock(detail.phases);
    setTitle(`Quản lý ${detail.name}`);
    renderPhases(detail.phases);
    renderDispatch();
    renderUnits(provinces(), detail.id);
    renderMinistries(detail.units || [], detail.id);
    fillForm(detail);
    if (pollFor !== cid) {
      running.clear();
      show(dispatchBox, 'info', '');
    }
    loadRuns(cid);
    loadEmailRequests(cid);
    loadGuard(cid);
  } catch (error) {
    if (mine === loadSeq && error.status !== 401) show(box, 'error', errorText(error));
  }
}

form.addEventListener('change', (event) => {
  if (event.target.name === 'scope') unitField.hidden = scope() !== 'unit';
  if (event.target === phaseSelect) suggestDate();
});

filter.addEventListener('input', applyFilter);

form.addEventListener('submit', async (event) => {
  event.preventDefault();
  if (!detail) return;
  clearFieldErrors(form);
  show(formBox, 'info', '');
  const problems = [];
  const day = parseDateVN(closes.value);
  if (!closes.value.trim()) problems.push([closes, 'Vui lòng nhập thời hạn mới.']);
  else if (!day) problems.push([closes, 'Ngày không hợp lệ. Nhập theo dạng ngày/tháng/năm, ví dụ 15/01/2022.']);
  if (!reason.value.trim()) problems.push([reason, 'Vui lòng nêu lý do điều chỉnh thời hạn.']);
  if (problems.length) {
    show(formBox, 'error', 'Chưa lưu được. Vui lòng sửa các ô được đánh dấu.');
    markProblems(problems);
    return;
  }
  const unit = scope() === 'unit' ? unitSelect.value : null;
  const cid = detail.id;
  try {
    const result = await busy(button, 'Đang lưu…', () => api.changePhase(cid, phaseSelect.value, {
      closes: day, reason: reason.value.trim(), unit }));
    const target = unit ? `đơn vị ${detail.units.find((u) => u.code === unit)?.name || unit}` : 'tất cả đơn vị';
    reason.value = '';
    await load(cid);
    show(formBox, 'success',
      `Đã điều chỉnh thời hạn “${result.phase.name}” cho ${target}: ${result.phase.deadline_label}.`);
  } catch (error) {
    reportError(formBox, error, { closes, reason, unit: unitSelect, opens: closes });
  }
});

async function start() {
  mountAccount(current, { home: false });
  try {
    const [me, list] = await Promise.all([api.me(), api.campaigns()]);
    document.getElementById('account-name').textContent = me.display_name || me.username;
    const items = list.items || [];
    if (!items.length) {
      show(box, 'info', 'Chưa có đợt đánh giá nào.');
      return;
    }
    const chosen = chooseCampaign(items);
    rememberCampaign(chosen.id);
    fillCampaignSelect(select, items, chosen.id, (cid) => load(cid));
    await load(chosen.id);
  } catch (error) {
    if (error.status !== 401) show(box, 'error', errorText(error));
  }
}

if (current) start();
