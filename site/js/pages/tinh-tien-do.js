// "Chi tiết tiến độ khảo sát" for a province: its totals and response rate (refreshed every 30 s while the page is
// visible), the rate per group and questionnaire as a chart, the respondents' link statuses with filters and
// paging, reminders for the chosen (or all) non-responders, correcting the address of an invitation that never
// arrived (bounced, failed) or, for one that did, asking the ministry to change it (with a reason), the unit's
// corrections and requests with their state, the workbook export and the unit's notifications.
import * as api from '../lib/api.js';
import { clear, el, setTitle, whileVisible } from '../lib/dom.js';
import { formatDateTime } from '../lib/format.js';
import { renderAddressChanges } from '../components/address-changes.js';
import { confirmDialog, openDialog } from '../components/dialog.js';
import { exportButton } from '../components/export-button.js';
import {
  busy, clearFieldErrors, errorText, reportError, setFieldError, show, showError,
} from '../components/messages.js';
import { loadNotifications } from '../components/notifications.js';
import { showContext, startUnitPage } from '../components/page.js';
import { dayChart, renderUnitProgress } from '../components/progress-charts.js';
import { progressBrowser } from '../components/progress-table.js';

const PAGE_SIZE = 50;
const REFRESH_MS = 30000;
const current = api.requireSession('province');

const pageBox = document.getElementById('page-message');
const context = document.getElementById('context');
const totalsNode = document.getElementById('totals');
const updated = document.getElementById('updated');
const chartNode = document.getElementById('chart');
const listBox = document.getElementById('list-message');
const remindBox = document.getElementById('remind-message');
const remindSelected = document.getElementById('remind-selected');
const remindAll = document.getElementById('remind-all');
const exportNode = document.getElementById('export-button');
const exportBox = document.getElementById('export-message');
const notificationList = document.getElementById('notifications');

const dialog = document.getElementById('email-dialog');
const emailForm = document.getElementById('email-form');
const emailPerson = document.getElementById('email-person');
const emailProblem = document.getElementById('email-problem');
const emailBox = document.getElementById('email-message');
const emailInput = document.getElementById('email-input');
const emailSave = document.getElementById('email-save');
const emailCancel = document.getElementById('email-cancel');

const requestDialog = document.getElementById('request-dialog');
const requestForm = document.getElementById('request-form');
const requestPerson = document.getElementById('request-person');
const requestBox = document.getElementById('request-message');
const requestEmail = document.getElementById('request-email');
const requestReason = document.getElementById('request-reason');
const requestSave = document.getElementById('request-save');
const requestCancel = document.getElementById('request-cancel');
const changesTable = document.getElementById('changes-table');

let cid = null;
let unit = null;
let browser = null;
let editing = null; // the respondent whose address is being corrected
let asking = null; // the respondent whose address change is being requested
let pendingRids = new Set(); // respondents with a request waiting for the ministry
let lastRefresh = 0;
let refreshing = false;
let lastByDay = null;

// ---- totals and chart ------------------------------------------------------------------------------------

function renderTotals(data) {
  lastRefresh = Date.now();
  renderUnitProgress(totalsNode, chartNode, data);
  if (data.by_day) lastByDay = data.by_day;  // counters-only refreshes carry no daily series: keep the last one
  if (lastByDay) chartNode.append(...dayChart(lastByDay));
  updated.textContent = `Cập nhật lúc ${formatDateTime(new Date())}. `
    + 'Số liệu tự động cập nhật mỗi 30 giây khi trang đang mở.';
  const open = (data.totals && data.totals.total) > 0;
  remindAll.disabled = !open;
}

/** Totals and chart only (one person asked for): the table and its selection stay as they are. */
async function refreshTotals() {
  if (!cid || refreshing) return;
  refreshing = true;
  try {
    renderTotals(await api.unitProgress(cid, unit, { people: false }));  // counters only: no link is read
  } catch (error) {
    if (error.status !== 401) updated.textContent = `Chưa cập nhật được số liệu: ${errorText(error)}`;
  } finally {
    refreshing = false;
  }
}

function startAutoRefresh() {
  whileVisible(refreshTotals, REFRESH_MS, () => lastRefresh);
}

// ---- reminders -------------------------------------------------------------------------------------------

function onSelect(selected) {
  const n = selected.size;
  remindSelected.disabled = n === 0;
  remindSelected.textContent = n ? `Nhắc những người đã chọn (${n})` : 'Nhắc những người đã chọn';
}

/** After sending: people first (a person with two questionnaires gets two mails), forms beside. */
function reminderText(result) {
  const p = result.people || {};
  const parts = [result.queued
    ? `Đang gửi ${result.queued} thư nhắc cho ${p.queued ?? result.queued} người.`
    : 'Không có thư nhắc nào được gửi.'];
  if (p.recent) {
    parts.push(`${p.recent} người vừa được gửi thư trong vòng 24 giờ qua nên chưa nhắc lại `
      + '(mỗi người được nhắc tối đa một lần trong 24 giờ).');
  }
  if (p.answered) parts.push(`${p.answered} người đã trả lời nên không cần nhắc.`);
  if (p.undeliverable) {
    parts.push(`${p.undeliverable} người chưa gửi được thư hoặc thư bị trả lại nên không nhắc được; `
      + 'hãy kiểm tra và sửa email của những người này.');
  }
  return parts.join(' ');
}

/** Before sending: who can be reminded now, who must wait and until when, who needs no reminder. */
function previewText(preview) {
  const p = preview.people;
  const parts = [];
  if (p.recent) {
    parts.push(`${p.recent} người vừa được gửi thư trong vòng 24 giờ qua: nhắc được từ ${preview.recent_from_label}`
      + (preview.recent_until_label && preview.recent_until_label !== preview.recent_from_label
        ? ` (người cuối cùng từ ${preview.recent_until_label})` : '') + '.');
  }
  if (p.answered) parts.push(`${p.answered} người đã trả lời.`);
  if (p.undeliverable) parts.push(`${p.undeliverable} người chưa gửi được thư hoặc thư bị trả lại: hãy sửa email.`);
  return parts.join(' ');
}

async function remind(button, rids, all) {
  show(remindBox, 'info', '');
  let preview;
  try {
    preview = await busy(button, 'Đang kiểm tra…', () => api.previewReminders(cid, unit, rids));
  } catch (error) {
    showError(remindBox, error);
    onSelect(browser.selected());
    return;
  }
  const now = preview.people.now;
  if (!now) {
    show(remindBox, 'info', `Chưa nhắc được ai lúc này. ${previewText(preview)}`.trim());
    onSelect(browser.selected());
    return;
  }
  const forms = preview.forms.now;
  const yes = await confirmDialog({
    title: all ? 'Nhắc tất cả người chưa trả lời?' : 'Nhắc những người đã chọn?',
    body: [
      el('p', { class: 'remind-now' }, 'Nhắc được ngay ', el('strong', {}, `${now} người`),
        forms !== now ? ` (${forms} phiếu)` : '', '.'),
      previewText(preview) ? el('p', { class: 'remind-later' }, previewText(preview)) : null,
      el('p', {}, 'Mỗi người được nhắc tối đa một lần trong 24 giờ; thư nhắc mang đường dẫn mới.'),
    ],
    confirmLabel: `Gửi thư nhắc cho ${now} người`,
  });
  if (!yes) {
    onSelect(browser.selected());
    return;
  }
  try {
    const result = await busy(button, 'Đang gửi thư nhắc…', () => api.sendReminders(cid, unit, rids));
    show(remindBox, result.queued ? 'success' : 'info', reminderText(result));
    browser.clearSelection();
    await Promise.all([browser.reload(), refreshTotals()]);
  } catch (error) {
    showError(remindBox, error);
  } finally {
    onSelect(browser.selected());
  }
}

remindSelected.addEventListener('click', () => {
  const rids = [...browser.selected().keys()];
  if (rids.length) remind(remindSelected, rids, false);
});

remindAll.addEventListener('click', () => remind(remindAll, null, true));

// ---- correcting a failed delivery, or asking the ministry --------------------------------------------------

const FAILED = ['bounced', 'failed'];

/** "Sửa email" where no invitation reached the person; "Đề nghị đổi email" where one did (the ministry decides). */
function rowActions(person) {
  const open = (person.links || []).filter((l) => l.state !== 'submitted');
  if (!open.length) return [];
  if (open.every((l) => FAILED.includes(l.state))) {
    const button = el('button', { type: 'button', class: 'small', 'aria-label': `Sửa email của ${person.full_name}` },
      'Sửa email');
    button.addEventListener('click', () => openEmailDialog(person, open[0]));
    return [button];
  }
  if (pendingRids.has(person.rid)) return [el('span', { class: 'muted' }, 'Đã đề nghị đổi email, chờ Bộ duyệt')];
  const button = el('button', { type: 'button', class: 'small',
    'aria-label': `Đề nghị đổi email của ${person.full_name}` }, 'Đề nghị đổi email');
  button.addEventListener('click', () => openRequestDialog(person));
  return [button];
}

function openRequestDialog(person) {
  asking = person;
  clearFieldErrors(requestForm);
  show(requestBox, 'info', '');
  requestPerson.textContent = `${person.full_name} (${person.email})`;
  requestEmail.value = '';
  requestReason.value = '';
  openDialog(requestDialog, { focus: requestEmail });
}

requestCancel.addEventListener('click', () => requestDialog.close());
requestDialog.addEventListener('close', () => {
  asking = null;
});

requestForm.addEventListener('submit', async (event) => {
  event.preventDefault();
  if (!asking) return;
  clearFieldErrors(requestForm);
  show(requestBox, 'info', '');
  const email = requestEmail.value.trim();
  const reason = requestReason.value.trim();
  if (!email || !reason) {
    if (!email) setFieldError(requestEmail, 'Vui lòng nhập email mới.');
    if (!reason) setFieldError(requestReason, 'Vui lòng nêu lý do đề nghị đổi email.');
    (email ? requestReason : requestEmail).focus();
    return;
  }
  try {
    await busy(requestSave, 'Đang gửi…', () => api.requestEmailChange(cid, unit, asking.rid, email, reason));
    const name = asking.full_name;
    requestDialog.close();
    show(listBox, 'success', `Đã gửi Bộ Nội vụ đề nghị đổi email của ${name}. Phiếu chỉ được gửi tới email mới khi `
      + 'Bộ đồng ý; kết quả được báo trong mục Thông báo.');
    await loadChanges();
    await browser.reload();
  } catch (error) {
    if (error.status === 401) return;
    reportError(requestBox, error, { email: requestEmail, reason: requestReason });
  }
});

async function loadChanges() {
  try {
    const data = await api.addressChanges(cid, unit);
    const items = data.items || [];
    pendingRids = new Set(items.filter((c) => c.state === 'pending').map((c) => c.rid));
    renderAddressChanges(changesTable, items, { empty: 'Chưa có lần sửa email hay đề nghị đổi email nào.' });
  } catch (error) {
    if (error.status !== 401) {
      renderAddressChanges(changesTable, [], { empty: errorText(error) });
    }
  }
}

function openEmailDialog(person, link) {
  editing = person;
  clearFieldErrors(emailForm);
  show(emailBox, 'info', '');
  emailPerson.textContent = `${person.full_name} (${person.email})`;
  emailProblem.textContent = link.problem || (link.state === 'failed' ? 'Thư không gửi được.' : 'Thư bị trả lại.');
  emailInput.value = person.email;
  openDialog(dialog, { focus: emailInput });
  emailInput.select();
}

emailCancel.addEventListener('click', () => dialog.close());

emailForm.addEventListener('submit', async (event) => {
  event.preventDefault();
  if (!editing) return;
  clearFieldErrors(emailForm);
  show(emailBox, 'info', '');
  const value = emailInput.value.trim();
  if (!value) {
    setFieldError(emailInput, 'Vui lòng nhập email mới.');
    emailInput.focus();
    return;
  }
  try {
    const result = await busy(emailSave, 'Đang lưu…', () => api.correctEmail(cid, unit, editing.rid, value));
    const name = editing.full_name;
    dialog.close();
    show(listBox, 'success', `Đã sửa email của ${name} thành ${result.email} và gửi lại ${result.reissued} `
      + 'phiếu với đường dẫn mới.');
    await Promise.all([browser.reload(), refreshTotals(), loadChanges()]);
  } catch (error) {
    if (error.status === 401) return;
    reportError(emailBox, error, { email: emailInput });
  }
});

dialog.addEventListener('close', () => {
  editing = null;
});

// ---- export ----------------------------------------------------------------------------------------------

exportButton(exportNode, exportBox, { ready: () => Boolean(cid), request: () => api.unitProgressExport(cid, unit) });

// ---- start -----------------------------------------------------------------------------------------------

function start() {
  unit = current.unit;
  return startUnitPage(current, {
    box: pageBox,
    none: () => {
      totalsNode.removeAttribute('aria-busy');
      clear(totalsNode);
    },
    open: async (chosen) => {
      cid = chosen.id;
      const campaign = await api.campaign(cid);
      const own = (campaign.units || []).find((u) => u.code === unit) || {};
      showContext(context, campaign.name, own.full_name || current.displayName || unit || '');
      setTitle(`Chi tiết tiến độ khảo sát — ${campaign.name}`);
      browser = progressBrowser({
        cid, unit, groups: campaign.groups || [], limit: PAGE_SIZE, selectable: true, onSelect,
        actions: rowActions, onLoaded: renderTotals, onError: (error) => showError(listBox, error),
      });
      await loadChanges();
      await Promise.all([browser.load(), loadNotifications(notificationList, cid, unit)]);
      startAutoRefresh();
    },
  });
}

if (current) start();
