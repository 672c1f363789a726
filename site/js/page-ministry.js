// Ministry home: a campaign's phases and deadlines, changing a deadline (all units or one), the units table (each
// unit's roster status and size, linked to the unit's page).
import * as api from './api.js';
import * as ui from './ui.js';

const { el } = ui;
const current = api.requireSession('ministry');

const box = document.getElementById('page-message');
const select = document.getElementById('dot');
const phaseBody = document.querySelector('#phase-table tbody');
const unitBody = document.querySelector('#unit-table tbody');
const unitCount = document.getElementById('unit-count');
const filter = document.getElementById('filter');

const form = document.getElementById('deadline-form');
const formBox = document.getElementById('deadline-message');
const phaseSelect = document.getElementById('phase');
const unitField = document.getElementById('unit-field');
const unitSelect = document.getElementById('unit');
const closes = document.getElementById('closes');
const reason = document.getElementById('reason');
const button = document.getElementById('deadline-button');

let detail = null;
let rows = [];

function renderPhases(phases) {
  ui.clear(phaseBody).append(...phases.map((p) => el('tr', { dataset: { phase: p.code } },
    el('th', { scope: 'row' }, p.name),
    el('td', {}, p.opens_label),
    el('td', {}, p.deadline_label),
    el('td', {}, ui.stateBadge(p.state), p.extended ? ' ' : null, p.extended ? ui.extendedBadge() : null),
    el('td', {}, p.state === 'open' ? ui.countdown(p.closes_at) : '—'))));
}

function extensionText(unit) {
  return (unit.extensions || []).map((x) => `${x.name}: ${x.deadline_label}`).join('; ');
}

function rosterCell(unit) {
  if (unit.roster_status === 'submitted') {
    const when = unit.roster_submitted_at ? ui.formatDateTime(unit.roster_submitted_at) : '';
    return el('td', { class: 'roster-cell' }, el('span', { class: 'yes' }, 'Đã gửi'),
      when ? el('span', { class: 'muted nowrap' }, ` ${when}`) : null);
  }
  return el('td', { class: 'roster-cell' }, el('span', { class: 'no' }, 'Chưa gửi'));
}

function renderUnits(units, cid) {
  rows = units.map((u) => {
    const extensions = extensionText(u);
    const href = `/bo/don-vi.html?dot=${encodeURIComponent(cid)}&don-vi=${encodeURIComponent(u.code)}`;
    const tr = el('tr', { dataset: { unit: u.code } },
      el('td', { class: 'code' }, u.code),
      el('th', { scope: 'row' }, el('a', { href }, u.name)),
      el('td', {}, u.full_name),
      el('td', {}, u.focal_person_set ? el('span', { class: 'yes' }, 'Có') : el('span', { class: 'no' }, 'Chưa')),
      rosterCell(u),
      el('td', { class: 'code' }, String(u.roster_total || 0)),
      el('td', {}, extensions || '—'));
    return { tr, key: ui.fold(`${u.code} ${u.name} ${u.full_name}`) };
  });
  ui.clear(unitBody).append(...rows.map((r) => r.tr));
  applyFilter();
}

function applyFilter() {
  const wanted = ui.fold(filter.value);
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
  ui.clear(phaseSelect).append(...campaign.phases.map((p) => el('option', {
    value: p.code, selected: p.code === chosenPhase }, p.name)));
  const chosenUnit = unitSelect.value;
  ui.clear(unitSelect).append(...campaign.units.map((u) => el('option', {
    value: u.code, selected: u.code === chosenUnit }, `${u.code} — ${u.name}`)));
  suggestDate();
}

function selectedPhase() {
  return detail && detail.phases.find((p) => p.code === phaseSelect.value);
}

/** Proposes the current deadline's day, which the user then moves. */
function suggestDate() {
  const phase = selectedPhase();
  if (!phase) return;
  closes.value = ui.formatDate(Date.parse(phase.closes_at) - 1000);
}

function scope() {
  return form.querySelector('input[name="scope"]:checked').value;
}

async function load(cid) {
  try {
    detail = await api.campaign(cid);
    ui.learnServerClock(detail.phases);
    ui.setTitle(`Quản lý ${detail.name}`);
    renderPhases(detail.phases);
    renderUnits(detail.units || [], detail.id);
    fillForm(detail);
  } catch (error) {
    if (error.status !== 401) ui.show(box, 'error', ui.errorText(error));
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
  ui.clearFieldErrors(form);
  ui.show(formBox, 'info', '');
  const problems = [];
  const day = ui.parseDateVN(closes.value);
  if (!closes.value.trim()) problems.push([closes, 'Vui lòng nhập thời hạn mới.']);
  else if (!day) problems.push([closes, 'Ngày không hợp lệ. Nhập theo dạng ngày/tháng/năm, ví dụ 15/01/2022.']);
  if (!reason.value.trim()) problems.push([reason, 'Vui lòng nêu lý do điều chỉnh thời hạn.']);
  if (problems.length) {
    for (const [input, message] of problems) ui.setFieldError(input, message);
    ui.show(formBox, 'error', 'Chưa lưu được. Vui lòng sửa các ô được đánh dấu.');
    problems[0][0].focus();
    return;
  }
  const unit = scope() === 'unit' ? unitSelect.value : null;
  const cid = detail.id;
  try {
    const result = await ui.busy(button, 'Đang lưu…', () => api.changePhase(cid, phaseSelect.value, {
      closes: day, reason: reason.value.trim(), unit }));
    const target = unit ? `đơn vị ${detail.units.find((u) => u.code === unit)?.name || unit}` : 'tất cả đơn vị';
    reason.value = '';
    await load(cid);
    ui.show(formBox, 'success',
      `Đã điều chỉnh thời hạn “${result.phase.name}” cho ${target}: ${result.phase.deadline_label}.`);
  } catch (error) {
    ui.reportError(formBox, error, { closes, reason, unit: unitSelect, opens: closes });
  }
});

async function start() {
  ui.mountAccount(current, { home: false });
  try {
    const [me, list] = await Promise.all([api.me(), api.campaigns()]);
    document.getElementById('account-name').textContent = me.display_name || me.username;
    const items = list.items || [];
    if (!items.length) {
      ui.show(box, 'info', 'Chưa có đợt đánh giá nào.');
      return;
    }
    const chosen = ui.chooseCampaign(items);
    ui.rememberCampaign(chosen.id);
    ui.fillCampaignSelect(select, items, chosen.id, (cid) => load(cid));
    await load(chosen.id);
  } catch (error) {
    if (error.status !== 401) ui.show(box, 'error', ui.errorText(error));
  }
}

if (current) start();
