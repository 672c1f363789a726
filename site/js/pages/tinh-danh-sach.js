// The province's roster of survey respondents: status and deadline, template download, .xlsx import with an
// upload progress bar and its report (errors table, marked error workbook), the paginated table with add / edit /
// delete, and sending the roster to the ministry. Once the roster is sent or the phase is over, the status card at
// the top says so and why, the tools to change the roster are taken off the page and the table is read-only.
import * as api from '../lib/api.js';
import { currentState, learnServerClock } from '../lib/clock.js';
import { clear, el, saveBlob } from '../lib/dom.js';
import { formatDateTime, formatMegabytes } from '../lib/format.js';
import { rosterBadge } from '../components/badges.js';
import { confirmDialog, openDialog } from '../components/dialog.js';
import {
  busy, clearFieldErrors, errorText, reportError, setFieldError, show, showError,
} from '../components/messages.js';
import { showContext, startUnitPage } from '../components/page.js';
import { groupCounts, groupOptions } from '../components/paged-table.js';
import { renderDeadline } from '../components/phase.js';
import { rosterBrowser } from '../components/roster-table.js';

const PHASE = 'roster';
const PAGE_SIZE = 50;
const current = api.requireSession('province');

const pageBox = document.getElementById('page-message');
const context = document.getElementById('context');
const statusNode = document.getElementById('roster-status');
const deadlineNode = document.getElementById('roster-deadline');
const totalNode = document.getElementById('roster-total');
const countsNode = document.getElementById('roster-counts');
const lockReason = document.getElementById('lock-reason');
const statusBox = document.getElementById('status-message');
const importSection = document.getElementById('import-section');
const submitSection = document.getElementById('submit-section');
const actionsHeader = document.getElementById('actions-col');

const templateButton = document.getElementById('template-button');
const templateBox = document.getElementById('template-message');

const importForm = document.getElementById('import-form');
const importFieldset = document.getElementById('import-fieldset');
const fileInput = document.getElementById('roster-file');
const replaceWarning = document.getElementById('replace-warning');
const importButton = document.getElementById('import-button');
const progressBox = document.getElementById('upload-progress-box');
const progress = document.getElementById('upload-progress');
const progressLabel = document.getElementById('upload-progress-label');
const importBox = document.getElementById('import-message');
const report = document.getElementById('import-report');

const listBox = document.getElementById('list-message');
const addButton = document.getElementById('add-button');
const addTools = document.getElementById('add-tools');
const submitButton = document.getElementById('submit-button');
const submitBox = document.getElementById('submit-message');

const dialog = document.getElementById('person-dialog');
const dialogTitle = document.getElementById('person-dialog-title');
const personForm = document.getElementById('person-form');
const personBox = document.getElementById('person-message');
const personSave = document.getElementById('person-save');
const fields = {
  full_name: document.getElementById('p-full_name'),
  position: document.getElementById('p-position'),
  agency: document.getElementById('p-agency'),
  group: document.getElementById('p-group'),
  email: document.getElementById('p-email'),
  phone: document.getElementById('p-phone'),
  ministry: document.getElementById('p-ministry'),
  note: document.getElementById('p-note'),
};
const REQUIRED = {
  full_name: 'Vui lòng nhập họ và tên.',
  position: 'Vui lòng nhập chức vụ.',
  agency: 'Vui lòng nhập cơ quan, đơn vị công tác.',
  group: 'Vui lòng chọn nhóm đối tượng.',
  email: 'Vui lòng nhập email.',
};

let cid = null;
let unit = null;
let campaign = null;
let phase = null;
let status = { status: 'draft', total: 0, counts: [] };
let browser = null;
let editing = null; // the row being edited, null when adding
let uploading = false;
let known = false; // the roster's status has been read: until then no tool to change it is offered

// ---- locking ---------------------------------------------------------------------------------------------

/** Why nothing can be changed now, or null when the roster is an open draft. */
function lockText() {
  if (status.status === 'submitted') {
    const when = status.submitted_at_label || formatDateTime(status.submitted_at);
    return `Danh sách đã được gửi về Bộ Nội vụ${when ? ` lúc ${when}` : ''} nên không thể chỉnh sửa. `
      + 'Liên hệ Bộ Nội vụ nếu cần mở lại danh sách.';
  }
  if (!phase) return 'Đợt đánh giá này không có giai đoạn lập danh sách đối tượng điều tra XHH.';
  const state = currentState(phase);
  if (state === 'upcoming') {
    return `Giai đoạn “${phase.name}” chưa mở (mở từ ngày ${phase.opens_label}). Chưa thể nhập danh sách.`;
  }
  if (state === 'closed') {
    return `Đã hết thời hạn “${phase.name}” (${phase.deadline_label}). `
      + 'Phần mềm đã tự động khóa; liên hệ Bộ Nội vụ nếu cần gia hạn.';
  }
  return null;
}

function editable() {
  return lockText() === null;
}

/** Shows the lock's reason at the top; the tools to change the roster only while it is an open draft. */
function applyLock() {
  const reason = known ? lockText() : null;
  const open = known && reason === null;
  lockReason.hidden = !reason;
  lockReason.textContent = reason || '';
  lockReason.classList.toggle('notice-ok', status.status === 'submitted');
  importSection.hidden = !open;
  importFieldset.disabled = !open || uploading;
  addTools.hidden = !open;
  addButton.disabled = !open;
  submitSection.hidden = !open;
  submitButton.disabled = !open || !status.total;
  actionsHeader.hidden = !open;
  for (const cell of document.querySelectorAll('#roster-table td.row-actions')) {
    cell.hidden = !open;
    for (const button of cell.querySelectorAll('button')) button.disabled = !open;
  }
}

// ---- status ----------------------------------------------------------------------------------------------

function renderPhase() {
  renderDeadline(deadlineNode, phase, applyLock);
}

function renderStatus(page) {
  status = page;
  known = true;
  clear(statusNode).append(rosterBadge(page.status));
  if (page.status === 'submitted') {
    const when = page.submitted_at_label || formatDateTime(page.submitted_at);
    if (when) statusNode.append(' ', el('span', {}, `lúc ${when}`));
  } else if (page.updated_at_label) {
    statusNode.append(' ', el('span', { class: 'muted' }, `(cập nhật lần cuối lúc ${page.updated_at_label})`));
  }
  totalNode.textContent = `${page.total} người`;
  clear(countsNode).append(groupCounts(page.counts));
  applyLock();
}

// ---- template --------------------------------------------------------------------------------------------

templateButton.addEventListener('click', async () => {
  if (!cid) return;
  show(templateBox, 'info', '');
  try {
    const { blob, filename } = await busy(templateButton, 'Đang tải mẫu…', () => api.rosterTemplate(cid));
    saveBlob(blob, filename);
    show(templateBox, 'success', `Đã tải mẫu danh sách: ${filename}.`);
  } catch (error) {
    if (error.status !== 401) show(templateBox, 'error', errorText(error));
  }
});

// ---- import ----------------------------------------------------------------------------------------------

function selectedMode() {
  return importForm.querySelector('input[name="mode"]:checked').value;
}

importForm.addEventListener('change', (event) => {
  if (event.target.name === 'mode') replaceWarning.hidden = selectedMode() !== 'replace';
  if (event.target === fileInput) setFieldError(fileInput, '');
});

function fileProblem(file) {
  if (!file) return 'Vui lòng chọn tệp danh sách (.xlsx).';
  if (/\.xls$/i.test(file.name)) {
    return 'Tệp .xls (Excel 97–2003) không được hỗ trợ. Hãy mở tệp bằng Excel và lưu lại dạng .xlsx '
      + '(Excel Workbook), hoặc dùng mẫu danh sách đã được định dạng sẵn.';
  }
  if (!/\.xlsx$/i.test(file.name)) return 'Tệp phải là bảng tính Excel dạng .xlsx theo mẫu danh sách.';
  if (file.size === 0) return 'Tệp rỗng (0 byte). Vui lòng chọn lại tệp danh sách.';
  if (file.size > api.MAX_IMPORT_BYTES) {
    return `Tệp quá lớn (${formatMegabytes(file.size)}); tối đa 4 MB. Hãy xóa các sheet, hình ảnh không cần `
      + 'thiết hoặc chia danh sách thành nhiều tệp.';
  }
  return null;
}

function setProgress(fraction) {
  if (fraction === null) {
    progress.removeAttribute('value');
    return;
  }
  const percent = Math.round(fraction * 100);
  progress.value = percent;
  progressLabel.textContent = `Đang tải tệp lên… ${percent}%`;
}

function summaryList(result) {
  const rows = [
    ['Số người hợp lệ trong tệp', result.accepted],
    ['Thêm mới', result.added],
    ['Cập nhật', result.updated],
    ['Không thay đổi', result.unchanged],
  ];
  if (result.mode === 'replace' || result.removed) rows.push(['Đã xóa khỏi danh sách', result.removed]);
  rows.push(['Tổng số trong danh sách', result.total]);
  return el('dl', { class: 'summary' }, rows.map(([label, value]) => el('div', {},
    el('dt', {}, label), el('dd', {}, String(value ?? 0)))));
}

function encodingsBlock(result) {
  const items = result.encodings || [];
  if (!items.length) return null;
  return el('div', { class: 'report-block' },
    el('h3', {}, 'Chuyển đổi bảng mã'),
    el('ul', { class: 'plain-list' }, items.map((e) => el('li', {}, e.message))));
}

function rowLabel(item) {
  const parts = [];
  if (item.row !== null && item.row !== undefined) parts.push(`Dòng ${item.row}`);
  if (item.column) parts.push(item.column);
  return parts.length ? `${parts.join(', ')}: ` : '';
}

function warningsBlock(result) {
  const items = result.warnings || [];
  if (!items.length) return null;
  return el('div', { class: 'report-block' },
    el('h3', {}, `Lưu ý (${items.length})`),
    el('ul', { class: 'plain-list' }, items.map((w) => el('li', {}, rowLabel(w), w.message))));
}

function errorsBlock(body) {
  const items = body.errors || [];
  const blocks = [];
  if (body.error_workbook_url) {
    blocks.push(el('p', { class: 'error-workbook' },
      el('a', { class: 'button', id: 'error-workbook-link', href: body.error_workbook_url, download: '',
        rel: 'noopener' }, 'Tải tệp đánh dấu lỗi'),
      el('span', { class: 'hint' }, ' Tệp gồm mọi dòng đã tải lên, các ô lỗi được tô màu và ghi lý do bên cạnh. '
        + 'Sửa trong tệp này rồi tải lên lại. Đường dẫn có hiệu lực trong 1 giờ.')));
  }
  if (items.length) {
    blocks.push(el('div', { class: 'table-wrap', role: 'region', 'aria-labelledby': 'import-errors-caption',
      tabindex: '0' },
    el('table', { id: 'import-errors' },
      el('caption', { id: 'import-errors-caption' }, `Các lỗi cần sửa (${items.length})`),
      el('thead', {}, el('tr', {},
        el('th', { scope: 'col' }, 'Dòng'), el('th', { scope: 'col' }, 'Cột'), el('th', { scope: 'col' }, 'Lỗi'))),
      el('tbody', {}, items.map((e) => el('tr', {},
        el('td', { class: 'code' }, e.row === null || e.row === undefined ? '—' : String(e.row)),
        el('td', {}, e.column || '—'),
        el('td', {}, e.message)))))));
  }
  return blocks;
}

function showImported(result) {
  const changed = `Đã nhập danh sách: ${result.accepted} người hợp lệ. Danh sách hiện có ${result.total} người.`;
  show(importBox, 'success', changed);
  clear(report).append(...[
    el('div', { class: 'report-block' }, el('h3', {}, 'Kết quả nhập'), summaryList(result)),
    encodingsBlock(result), warningsBlock(result)].filter(Boolean));
}

function showRejected(error) {
  const body = error.body || {};
  show(importBox, 'error', errorText(error));
  clear(report).append(...[...errorsBlock(body), encodingsBlock(body), warningsBlock(body)].filter(Boolean));
}

importForm.addEventListener('submit', async (event) => {
  event.preventDefault();
  if (!cid || uploading || !editable()) return;
  clearFieldErrors(importForm);
  show(importBox, 'info', '');
  clear(report);
  const file = fileInput.files && fileInput.files[0];
  const problem = fileProblem(file);
  if (problem) {
    setFieldError(fileInput, problem);
    show(importBox, 'error', 'Chưa tải lên được. Vui lòng xem lỗi ở ô chọn tệp.');
    fileInput.focus();
    return;
  }
  uploading = true;
  importFieldset.disabled = true;
  importButton.setAttribute('aria-busy', 'true');
  progressBox.hidden = false;
  progress.value = 0;
  progressLabel.textContent = 'Đang tải tệp lên… 0%';
  show(importBox, 'info', `Đang tải tệp “${file.name}” lên…`);
  try {
    const result = await api.importRoster(cid, unit, file, selectedMode(), {
      onProgress: setProgress,
      onSent: () => {
        setProgress(null);
        progressLabel.textContent = 'Đang kiểm tra…';
        show(importBox, 'info', 'Đang kiểm tra…');
      },
    });
    showImported(result);
    importForm.reset();
    replaceWarning.hidden = true;
    await browser.reset();
  } catch (error) {
    if (error.status === 401) return;
    if (error.status === 422 && (error.body.errors || error.body.error_workbook_url)) {
      showRejected(error);
    } else {
      show(importBox, 'error', errorText(error));
      if (error.status === 409 || error.status === 423) await refreshStatus();
    }
  } finally {
    uploading = false;
    progressBox.hidden = true;
    importButton.removeAttribute('aria-busy');
    applyLock();
  }
  // The result or the error summary, not <body>; locked meanwhile (sent or closed), the import tools are gone and
  // the refusal goes to the status at the top.
  const box = importSection.hidden ? statusBox : importBox;
  if (box === statusBox) moveMessage(importBox, statusBox);
  if (box.dataset.kind) focusResult(box);
});

// ---- the table, add / edit / delete ----------------------------------------------------------------------

function rowActions(item) {
  const open = editable();
  const edit = el('button', { type: 'button', class: 'small', disabled: !open,
    'aria-label': `Sửa thông tin ${item.full_name}` }, 'Sửa');
  const remove = el('button', { type: 'button', class: 'small danger-outline', disabled: !open,
    'aria-label': `Xóa ${item.full_name} khỏi danh sách` }, 'Xóa');
  edit.addEventListener('click', () => openPerson(item));
  remove.addEventListener('click', () => removePerson(item));
  return [edit, ' ', remove];
}

/** The dialog's managing-ministry choices: the campaign's accepted ministries, or none (found from the agency). */
function ministryOptions(names) {
  clear(fields.ministry).append(el('option', { value: '' }, '— Tự xác định theo cơ quan —'),
    ...names.map((name) => el('option', { value: name }, name)));
}

function openPerson(item = null) {
  if (!editable()) return;
  editing = item;
  clearFieldErrors(personForm);
  show(personBox, 'info', '');
  personForm.reset();
  dialogTitle.textContent = item ? 'Sửa thông tin người được điều tra' : 'Thêm người vào danh sách';
  if (item) {
    for (const key of ['full_name', 'position', 'agency', 'group', 'email', 'phone', 'note']) {
      fields[key].value = item[key] || '';
    }
    // Only an override is shown: a ministry found from the agency follows the agency when it changes.
    const override = item.ministry_source === 'override' ? item.ministry || '' : '';
    if (override && ![...fields.ministry.options].some((o) => o.value === override)) {
      fields.ministry.append(el('option', { value: override }, override)); // a name accepted before the list changed
    }
    fields.ministry.value = override;
  }
  openDialog(dialog, { focus: fields.full_name });
  personSnapshot = personState();
  // The browser's Back closes the dialog instead of leaving the page: the dialog has a history entry of its own.
  window.history.pushState({ personDialog: true }, '');
  historyEntry = true;
}

let personSnapshot = '';
let historyEntry = false; // the dialog's own history entry is on top

function personState() {
  return JSON.stringify(Object.values(fields).map((f) => f.value));
}

/** Closes the person dialog; typed data that was not saved is only discarded once the user agrees. */
async function closePerson() {
  if (dialog.open && personState() !== personSnapshot) {
    const yes = await confirmDialog({
      title: 'Bỏ thông tin vừa nhập?',
      body: [el('p', {}, 'Thông tin đã nhập trong hộp thoại chưa được lưu. Nếu đóng, thông tin này sẽ bị bỏ đi.')],
      confirmLabel: 'Bỏ thông tin đã nhập', cancelLabel: 'Tiếp tục nhập', danger: true, focusCancel: true,
    });
    if (!yes) return false;
  }
  dialog.close();
  return true;
}

dialog.addEventListener('cancel', (event) => {
  event.preventDefault(); // Escape: asked first when something was typed
  closePerson();
});

dialog.addEventListener('close', () => {
  if (historyEntry) {
    historyEntry = false;
    window.history.back(); // the dialog's entry goes with it
  }
});

window.addEventListener('popstate', async () => {
  if (!historyEntry || !dialog.open) return;
  historyEntry = false; // Back took the dialog's entry
  if (!(await closePerson())) {
    window.history.pushState({ personDialog: true }, '');
    historyEntry = true;
  }
});

/** Moves the keyboard focus to a result that appeared (a message box), so it is read and seen. */
function focusResult(box) {
  box.setAttribute('tabindex', '-1');
  box.focus();
}

/** Shows a message box's message in another one instead (the first is in a part of the page now hidden). */
function moveMessage(from, to) {
  const kind = from.dataset.kind || '';
  const text = from.querySelector(kind === 'error' ? '[role="alert"]' : '[role="status"]').textContent;
  show(from, 'info', '');
  show(to, kind || 'info', text);
}

document.getElementById('person-cancel').addEventListener('click', () => closePerson());
addButton.addEventListener('click', () => openPerson(null));

function personValues() {
  const value = (key) => fields[key].value.trim();
  return {
    full_name: value('full_name'), position: value('position'), agency: value('agency'), group: value('group'),
    email: value('email'), phone: value('phone') || null, note: value('note') || null,
    ministry: value('ministry') || null,
  };
}

personForm.addEventListener('submit', async (event) => {
  event.preventDefault();
  clearFieldErrors(personForm);
  show(personBox, 'info', '');
  const values = personValues();
  const missing = Object.entries(REQUIRED).filter(([key]) => !values[key]);
  if (missing.length) {
    for (const [key, message] of missing) setFieldError(fields[key], message);
    show(personBox, 'error', 'Chưa lưu được. Vui lòng điền các ô được đánh dấu.');
    fields[missing[0][0]].focus();
    return;
  }
  try {
    const saved = await busy(personSave, 'Đang lưu…', () => (editing
      ? api.updateRespondent(cid, unit, editing.rid, values)
      : api.addRespondent(cid, unit, values)));
    const verb = editing ? 'Đã lưu thay đổi của' : 'Đã thêm';
    dialog.close();
    show(listBox, 'success', `${verb} ${saved.full_name}.`);
    await browser.reload();
  } catch (error) {
    if (error.status === 401) return;
    if (error.status === 409 || error.status === 423) {
      dialog.close();
      show(listBox, 'error', errorText(error));
      await refreshStatus();
      return;
    }
    if (error.status === 404) {
      dialog.close();
      show(listBox, 'error', errorText(error));
      await browser.reload();
      return;
    }
    reportError(personBox, error, fields);
  }
});

async function removePerson(item) {
  if (!editable()) return;
  const yes = await confirmDialog({
    title: 'Xóa khỏi danh sách?',
    body: [el('p', {}, 'Xóa ', el('strong', {}, item.full_name), ` (${item.email}) khỏi danh sách đối tượng `
      + 'điều tra XHH?')],
    confirmLabel: 'Xóa', danger: true, focusCancel: true,
  });
  if (!yes) return;
  try {
    await api.deleteRespondent(cid, unit, item.rid);
    show(listBox, 'success', `Đã xóa ${item.full_name} khỏi danh sách.`);
  } catch (error) {
    if (error.status === 401) return;
    show(listBox, 'error', errorText(error));
  }
  await browser.reload();
  addButton.focus();
}

// ---- sending ---------------------------------------------------------------------------------------------

submitButton.addEventListener('click', async () => {
  if (!editable() || !status.total) return;
  show(submitBox, 'info', '');
  show(statusBox, 'info', '');
  const yes = await confirmDialog({
    title: 'Gửi danh sách về Bộ Nội vụ?',
    body: [
      el('p', {}, 'Danh sách gồm ', el('strong', {}, `${status.total} người`), ':'),
      groupCounts(status.counts),
      el('p', { class: 'notice' }, 'Sau khi gửi, đơn vị không thể thêm, sửa hay xóa người trong danh sách; '
        + 'chỉ Bộ Nội vụ có thể mở lại danh sách.'),
    ],
    confirmLabel: 'Gửi danh sách',
  });
  if (!yes) return;
  try {
    const result = await busy(submitButton, 'Đang gửi…', () => api.submitRoster(cid, unit));
    renderStatus({ ...status, ...result }); // locked: the sending section goes, the status at the top stays
    show(statusBox, 'success', `Đã gửi danh sách về Bộ Nội vụ lúc ${result.submitted_at_label
      || formatDateTime(result.submitted_at)}.`);
    focusResult(statusBox);
    await browser.reload();
  } catch (error) {
    if (error.status === 401) return;
    await refreshStatus();
    const box = submitSection.hidden ? statusBox : submitBox; // sent or closed meanwhile: told at the top
    show(box, 'error', errorText(error));
    focusResult(box);
  }
});

// ---- start -----------------------------------------------------------------------------------------------

async function refreshStatus() {
  try {
    const fresh = await api.campaign(cid);
    phase = fresh.phases.find((p) => p.code === PHASE) || null;
    renderPhase();
  } catch {
    /* the roster reload below still shows the status */
  }
  await browser.reload();
}

function start() {
  unit = current.unit;
  return startUnitPage(current, {
    box: pageBox,
    none: () => {
      statusNode.textContent = '—';
    },
    open: async (chosen) => {
      cid = chosen.id;
      campaign = await api.campaign(cid);
      const own = (campaign.units || []).find((u) => u.code === unit) || {};
      showContext(context, campaign.name, own.full_name || current.displayName || unit || '');
      learnServerClock(campaign.phases);
      phase = campaign.phases.find((p) => p.code === PHASE) || null;
      renderPhase();
      groupOptions(fields.group, campaign.groups || [], '— Chọn nhóm —');
      ministryOptions(campaign.ministries || []);
      browser = rosterBrowser({
        cid, unit, groups: campaign.groups || [], limit: PAGE_SIZE, actions: rowActions,
        onLoaded: renderStatus, onError: (error) => showError(listBox, error),
      });
      await browser.load();
    },
  });
}

if (current) start();
