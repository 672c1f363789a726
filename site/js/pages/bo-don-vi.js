// The ministry's view of one unit in a campaign: focal person, roster status and counts, the read-only roster
// table, reopening a sent roster (with a reason), the unit's survey progress (totals, chart, the respondents' link
// statuses), the unit's changes of respondents' addresses (approving or refusing the province's pending requests),
// the unit's notifications.
import * as api from '../lib/api.js';
import { campaignHref } from '../lib/campaign.js';
import { currentState, learnServerClock } from '../lib/clock.js';
import { clear, el, setTitle } from '../lib/dom.js';
import { formatDateTime } from '../lib/format.js';
import { mountAccount } from '../components/account.js';
import { renderAddressChanges } from '../components/address-changes.js';
import { rosterBadge } from '../components/badges.js';
import { confirmDialog } from '../components/dialog.js';
import {
  busy, clearFieldErrors, errorText, reportError, setFieldError, show, showError,
} from '../components/messages.js';
import { loadNotifications } from '../components/notifications.js';
import { showContext } from '../components/page.js';
import { groupCounts } from '../components/paged-table.js';
import { renderDeadline } from '../components/phase.js';
import { renderUnitProgress } from '../components/progress-charts.js';
import { progressBrowser } from '../components/progress-table.js';
import { reasonDialog } from '../components/reason-dialog.js';
import { rosterBrowser } from '../components/roster-table.js';

const PHASE = 'roster';
const current = api.requireSession('moha');

const params = new URLSearchParams(window.location.search);
const cid = params.get('dot');
const code = params.get('don-vi');

const pageBox = document.getElementById('page-message');
const title = document.getElementById('page-title');
const context = document.getElementById('context');
const focalSummary = document.getElementById('focal-summary');
const statusNode = document.getElementById('roster-status');
const deadlineNode = document.getElementById('roster-deadline');
const totalNode = document.getElementById('roster-total');
const countsNode = document.getElementById('roster-counts');
const reopenForm = document.getElementById('reopen-form');
const reopenBox = document.getElementById('reopen-message');
const reason = document.getElementById('reason');
const reopenButton = document.getElementById('reopen-button');
const listBox = document.getElementById('list-message');
const notificationList = document.getElementById('notifications');

const progressTotals = document.getElementById('progress-totals');
const progressChart = document.getElementById('progress-chart');
const peopleBox = document.getElementById('people-message');
const changesTable = document.getElementById('changes-table');
const changesCount = document.getElementById('changes-count');
const changesBox = document.getElementById('changes-message');

const dispatchSummary = document.getElementById('dispatch-summary');
const dispatchBox = document.getElementById('dispatch-message');
const dispatchButton = document.getElementById('dispatch-button');

let browser = null;
let people = null;
let surveyPhase = null; // the survey phase as it applies to this unit (its own extension when it has one)
let unitName = code;
let rosterStatus = null;

/** The send button: enabled once the unit's roster was sent and while its survey phase is open. */
function renderDispatch() {
  const state = surveyPhase ? currentState(surveyPhase) : null;
  let text;
  if (rosterStatus !== 'submitted') text = 'Đơn vị chưa gửi danh sách đối tượng nên chưa phát hành được phiếu khảo sát.';
  else if (state !== 'open') {
    text = state === 'upcoming' ? `Giai đoạn khảo sát chưa mở (mở từ ${surveyPhase.opens_label}).`
      : 'Giai đoạn khảo sát đã kết thúc.';
  } else {
    text = 'Phát hành gửi thư mời tới những người trong danh sách của đơn vị chưa nhận thư; người đã nhận thư '
      + 'không bị gửi trùng.';
  }
  dispatchSummary.textContent = text;
  dispatchButton.disabled = rosterStatus !== 'submitted' || state !== 'open';
}

dispatchButton.addEventListener('click', async () => {
  const yes = await confirmDialog({
    title: `Phát hành phiếu khảo sát cho ${unitName}?`,
    body: [el('p', {}, `Phần mềm gửi thư mời trả lời phiếu khảo sát tới những người trong danh sách của ${unitName} `
      + 'chưa nhận thư. Các đơn vị khác không bị gửi lại. Sau khi phát hành, nội dung phiếu không thể thay đổi.')],
    confirmLabel: 'Phát hành',
  });
  if (!yes) return;
  show(dispatchBox, 'info', '');
  try {
    const run = await busy(dispatchButton, 'Đang phát hành…', () => api.startDispatch(cid, [code]));
    show(dispatchBox, 'success', `Đã bắt đầu phát hành cho ${unitName} lúc ${run.started_at_label}. Theo dõi tiến `
      + 'độ phát hành ở trang quản lý đợt đánh giá; tiến độ trả lời ở mục này.');
  } catch (error) {
    if (error.status !== 401) showError(dispatchBox, error);
  } finally {
    renderDispatch();
  }
});

function renderProgress(data) {
  renderUnitProgress(progressTotals, progressChart, data);
}

function renderFocal(focal) {
  if (focal && focal.full_name) {
    focalSummary.replaceChildren(
      el('strong', {}, focal.full_name),
      focal.position ? `, ${focal.position}` : '',
      focal.mobile ? ` — điện thoại ${focal.mobile}` : '',
      focal.updated_at_label ? el('span', { class: 'muted' }, ` (cập nhật ${focal.updated_at_label})`) : '');
  } else {
    focalSummary.textContent = 'Đơn vị chưa cử cán bộ đầu mối công nghệ thông tin.';
  }
}

function renderStatus(page) {
  clear(statusNode).append(rosterBadge(page.status));
  if (page.status === 'submitted') {
    const when = page.submitted_at_label || formatDateTime(page.submitted_at);
    if (when) statusNode.append(' ', el('span', {}, `lúc ${when}`));
    if (page.submitted_by) statusNode.append(' ', el('span', { class: 'muted' }, `(tài khoản ${page.submitted_by})`));
  } else if (page.updated_at_label) {
    statusNode.append(' ', el('span', { class: 'muted' }, `(cập nhật lần cuối lúc ${page.updated_at_label})`));
  }
  totalNode.textContent = `${page.total} người`;
  clear(countsNode).append(groupCounts(page.counts));
  reopenForm.hidden = page.status !== 'submitted';
  rosterStatus = page.status;
  renderDispatch();
}

// ---- address changes: the province's requests, decided here -------------------------------------------

function changeActions(change) {
  if (change.state !== 'pending') return [];
  const approve = el('button', { type: 'button', class: 'small primary',
    'aria-label': `Đồng ý đổi email của ${change.full_name}` }, 'Đồng ý');
  const refuse = el('button', { type: 'button', class: 'small',
    'aria-label': `Không đồng ý đổi email của ${change.full_name}` }, 'Không đồng ý');
  approve.addEventListener('click', () => approveChange(change, approve));
  refuse.addEventListener('click', () => refuseChange(change));
  return [approve, ' ', refuse];
}

async function afterDecision(message) {
  show(changesBox, 'success', message);
  await Promise.all([loadChanges(), people ? people.reload() : null, loadNotes()]);
}

async function approveChange(change, button) {
  const yes = await confirmDialog({
    title: `Đồng ý đổi email của ${change.full_name}?`,
    body: [
      el('p', {}, `Email mới: ${change.new.masked}. Lý do của đơn vị: ${change.reason || '—'}`),
      el('p', {}, 'Phần mềm gửi lại phiếu tới email mới với đường dẫn mới; đường dẫn cũ và bản nháp trả lời của nó '
        + 'hết hiệu lực. Đơn vị được thông báo.'),
    ],
    confirmLabel: 'Đồng ý và gửi lại phiếu',
  });
  if (!yes) return;
  show(changesBox, 'info', '');
  try {
    const result = await busy(button, 'Đang xử lý…', () => api.approveEmailChange(cid, code, change.id));
    await afterDecision(`Đã đồng ý đổi email của ${change.full_name}; đã gửi lại ${result.reissued} phiếu.`);
  } catch (error) {
    if (error.status === 401) return;
    showError(changesBox, error);
    if (error.status === 409) await loadChanges();
  }
}

function refuseChange(change) {
  reasonDialog({
    title: `Không đồng ý đổi email của ${change.full_name}?`,
    body: [el('p', {}, 'Phiếu vẫn gửi tới email cũ; đường dẫn của người nhận không thay đổi.')],
    label: 'Lý do không đồng ý (bắt buộc)',
    maxLength: 500,
    emptyMessage: 'Vui lòng nêu lý do không đồng ý.',
    confirmLabel: 'Không đồng ý',
    busyLabel: 'Đang xử lý…',
    dataset: { change: change.id },
    submit: (text) => api.refuseEmailChange(cid, code, change.id, text),
    onDone: () => afterDecision(`Đã không đồng ý đổi email của ${change.full_name}; đơn vị đã được thông báo.`),
    onConflict: loadChanges,
  });
}

async function loadChanges() {
  try {
    const data = await api.addressChanges(cid, code);
    const items = data.items || [];
    changesCount.textContent = items.length
      ? `${items.length} lần đổi email; ${data.pending || 0} đề nghị chờ duyệt.` : '';
    renderAddressChanges(changesTable, items, { actions: changeActions,
      empty: 'Đơn vị chưa sửa hay đề nghị đổi email của người nhận phiếu nào.' });
  } catch (error) {
    renderAddressChanges(changesTable, [], { empty: errorText(error) });
  }
}

function loadNotes() {
  return loadNotifications(notificationList, cid, code);
}

reopenForm.addEventListener('submit', async (event) => {
  event.preventDefault();
  clearFieldErrors(reopenForm);
  show(reopenBox, 'info', '');
  const text = reason.value.trim();
  if (!text) {
    setFieldError(reason, 'Vui lòng nêu lý do mở lại danh sách.');
    show(reopenBox, 'error', 'Chưa mở lại được. Vui lòng nêu lý do.');
    reason.focus();
    return;
  }
  try {
    const result = await busy(reopenButton, 'Đang mở lại…', () => api.reopenRoster(cid, code, text));
    reason.value = '';
    renderStatus({ ...(browser.last() || {}), ...result });
    show(reopenBox, 'success', 'Đã mở lại danh sách; đơn vị đã được thông báo kèm lý do.');
    await Promise.all([browser.reload(), loadNotes()]);
  } catch (error) {
    if (error.status === 401) return;
    reportError(reopenBox, error, { reason });
    if (error.status === 409) await browser.reload();
  }
});

async function start() {
  mountAccount(current);
  if (!cid || !code) {
    show(pageBox, 'error', 'Thiếu đợt đánh giá hoặc mã đơn vị trong địa chỉ trang.');
    return;
  }
  document.getElementById('back-link').href = campaignHref('/bo/', cid);
  document.getElementById('appraisal-link').href = campaignHref('/bo/tham-dinh.html', cid, { unit: code });
  try {
    const campaign = await api.campaign(cid);
    const unit = (campaign.units || []).find((u) => u.code === code);
    if (!unit) {
      show(pageBox, 'error', `Không tìm thấy đơn vị mã “${code}” trong đợt đánh giá này.`);
      return;
    }
    title.textContent = unit.full_name || unit.name;
    setTitle(unit.full_name || unit.name);
    showContext(context, campaign.name, unit.code, { label: 'Mã đơn vị' });
    learnServerClock(campaign.phases);
    // The unit's own deadline: its extension when it has one.
    const extended = (unit.extensions || []).find((p) => p.code === PHASE);
    renderDeadline(deadlineNode, extended || campaign.phases.find((p) => p.code === PHASE) || null);
    unitName = unit.name;
    surveyPhase = (unit.extensions || []).find((p) => p.code === 'survey')
      || campaign.phases.find((p) => p.code === 'survey') || null;
    browser = rosterBrowser({
      cid, unit: code, groups: campaign.groups || [], onLoaded: renderStatus,
      onError: (error) => {
        showError(listBox, error);
      },
    });
    people = progressBrowser({
      cid, unit: code, groups: campaign.groups || [], onLoaded: renderProgress,
      onError: (error) => {
        progressTotals.removeAttribute('aria-busy');
        showError(peopleBox, error);
      },
    });
    const [focal] = await Promise.allSettled([api.focalPerson(cid, code), browser.load(), people.load(),
      loadNotes(), loadChanges()]);
    if (focal.status === 'fulfilled') renderFocal(focal.value);
    else focalSummary.textContent = errorText(focal.reason);
  } catch (error) {
    showError(pageBox, error);
  }
}

if (current) start();
