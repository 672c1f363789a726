// The ministry's appraisal of one unit's self-assessment: choose the campaign and the unit (?dot=&unit=),
// the unit's state and approval, then the criteria tree side by side: the unit's self-score, note, explanation and
// evidence | the appraised score and comment, saved one item at a time (self-scored lines once the unit approved or
// was locked; imported lines such as SIPAS whenever the appraisal phase is open), with running totals of both;
// publishing the appraisal to the unit (confirmed in a dialog) and reopening the unit's form with a reason.
import * as api from '../lib/api.js';
import { campaignHref } from '../lib/campaign.js';
import { currentState, learnServerClock } from '../lib/clock.js';
import { isLeaf, readScore, sameScore, scoreHint, slug, totals } from '../lib/criteria.js';
import { clear, el, setTitle } from '../lib/dom.js';
import { formatDateTime, formatScore, outOf } from '../lib/format.js';
import { approvalList, renderAssessmentState, renderFrameworkNote, scoreInput } from '../components/assessment.js';
import { methodBadge } from '../components/badges.js';
import { confirmDialog } from '../components/dialog.js';
import { evidenceList } from '../components/evidence.js';
import {
  busy, errorText, messageBox, setFieldError, show, showError, showFieldErrors,
} from '../components/messages.js';
import { startCampaignPage } from '../components/page.js';
import { phaseFacts } from '../components/phase.js';
import { reasonDialog } from '../components/reason-dialog.js';

const current = api.requireSession('moha');

const pageBox = document.getElementById('page-message');
const campaignSelect = document.getElementById('dot');
const unitSelect = document.getElementById('unit');
const backLink = document.getElementById('back-link');
const resultsLink = document.getElementById('results-link');
const stateNode = document.getElementById('assess-state');
const deadlineNode = document.getElementById('assess-deadline');
const appraisalDeadline = document.getElementById('appraisal-deadline');
const selfTotalNode = document.getElementById('self-total');
const appraisedTotalNode = document.getElementById('appraised-total');
const publishedNode = document.getElementById('published');
const approvalFacts = document.getElementById('approval-facts');
const frameworkNote = document.getElementById('framework-note');
const notice = document.getElementById('appraise-notice');
const reopenedNode = document.getElementById('reopened');
const actionBox = document.getElementById('action-message');
const publishButton = document.getElementById('publish-button');
const reopenButton = document.getElementById('reopen-button');
const tree = document.getElementById('tree');

let cid = null;
let code = null; // the unit
let detail = null; // GET /campaigns/{cid}
let view = null;
let seq = 0;
const items = new Map(); // leaf code → {node, refs, dirty, busy}
const totalNodes = new Map(); // parent code → its appraised running total

// ---- helpers ---------------------------------------------------------------------------------------------

function submitted() {
  return Boolean(view && (view.state === 'approved' || view.state === 'locked'));
}

/** Whether the ministry may enter an appraisal for this leaf now. */
function appraisable(node) {
  if (!view || !view.appraisable) return false;
  if (node.method === 'imported') return true;
  return node.method === 'self' && submitted();
}

function unitName() {
  return (view && view.unit_name) || (detail && (detail.units || []).find((u) => u.code === code)?.name) || code;
}

function appraisalPhase() {
  return detail ? (detail.phases || []).find((p) => p.code === 'appraisal') || null : null;
}

// ---- status ----------------------------------------------------------------------------------------------

function noticeText() {
  if (!view.appraisable) {
    const phase = appraisalPhase();
    if (phase && currentState(phase) === 'upcoming') {
      return `Giai đoạn “${phase.name}” chưa mở (mở từ ngày ${phase.opens_label}); chưa thể nhập điểm thẩm định.`;
    }
    return 'Giai đoạn thẩm định không mở; điểm thẩm định chỉ để xem.';
  }
  if (!submitted()) {
    return 'Đơn vị chưa phê duyệt báo cáo tự đánh giá: các mục tự chấm chỉ thẩm định được sau khi đơn vị phê duyệt '
      + 'hoặc hết thời hạn tự đánh giá. Các mục lấy từ nguồn khác (SIPAS…) nhập được ngay.';
  }
  return null;
}

function renderStatus() {
  renderAssessmentState(stateNode, view);
  clear(deadlineNode).append(...phaseFacts(view.phase));
  clear(appraisalDeadline).append(...phaseFacts(appraisalPhase(), () => setTimeout(load, 1500)));
  const t = view.totals || {};
  selfTotalNode.textContent = outOf(t.self, t.self_max);
  clear(publishedNode).append(view.appraisal_published
    ? el('span', { class: 'badge badge-published' }, `Đã công bố${view.published_at
      ? ` lúc ${formatDateTime(view.published_at)}` : ''}`)
    : el('span', { class: 'badge badge-unpublished' }, 'Chưa công bố'));
  const a = view.approval;
  clear(approvalFacts);
  if (a) {
    approvalFacts.append(el('h3', { class: 'approval-heading' }, 'Phê duyệt của đơn vị'), approvalList(a));
  }
  renderFrameworkNote(frameworkNote, view.framework);
  const text = noticeText();
  notice.hidden = !text;
  notice.textContent = text || '';
  clear(reopenedNode);
  if ((view.reopened || []).length) {
    reopenedNode.append(el('ul', { class: 'plain-list reopened-list' }, view.reopened.map((r) => el('li', {},
      `Đã mở lại lúc ${formatDateTime(r.at)}${r.by ? ` (tài khoản ${r.by})` : ''}`,
      r.reason ? `. Lý do: ${r.reason}` : '.'))));
  }
  publishButton.disabled = !submitted();
  publishButton.textContent = view.appraisal_published ? 'Công bố lại kết quả thẩm định' : 'Công bố kết quả thẩm định';
  reopenButton.disabled = !submitted();
}

// ---- totals ----------------------------------------------------------------------------------------------

function counted(leaf) {
  return leaf.method === 'self' || leaf.method === 'imported';
}

/** The appraised points of a leaf now: what is typed when valid, else the saved appraisal, else the self-score. */
function liveAppraised(leaf) {
  const item = items.get(leaf.code);
  if (item && item.refs.score.value.trim()) {
    const { value, error } = readScore(item.refs.score, leaf);
    if (!error) return value;
  }
  if (leaf.appraisal && leaf.appraisal.score !== null && leaf.appraisal.score !== undefined) {
    return leaf.appraisal.score;
  }
  return leaf.method === 'self' ? leaf.score : null;
}

function renderTotals() {
  if (!view) return;
  const live = totals(view.fields, liveAppraised, counted);
  for (const [nodeCode, node] of totalNodes) {
    const sum = live.get(nodeCode);
    if (sum) node.textContent = outOf(sum.total, sum.max);
  }
  const all = live.get('');
  const server = view.totals && view.totals.appraised;
  const differs = server !== null && server !== undefined && Math.abs(Number(server) - all.total) > 1e-9;
  appraisedTotalNode.textContent = `${outOf(all.total, all.max)}${differs ? ` (đã lưu: ${formatScore(server)})` : ''}`;
}

// ---- the tree --------------------------------------------------------------------------------------------

function selfCell(node) {
  if (node.method === 'survey') {
    return el('td', { class: 'self-cell muted' }, 'Tính từ kết quả điều tra xã hội học.');
  }
  if (node.method === 'imported') {
    return el('td', { class: 'self-cell muted' }, 'Nguồn khác: Bộ Nội vụ nhập điểm ở cột thẩm định.');
  }
  return el('td', { class: 'self-cell' },
    el('p', { class: 'self-score' }, node.score === null || node.score === undefined
      ? el('span', { class: 'no' }, 'Chưa chấm') : el('strong', {}, outOf(node.score, node.max))),
    node.note ? el('p', { class: 'self-text' }, el('span', { class: 'evidence-label' }, 'Ghi chú: '), node.note) : null,
    node.explanation ? el('p', { class: 'self-text' }, el('span', { class: 'evidence-label' }, 'Giải trình: '),
      node.explanation) : null,
    evidenceList(node.evidence || []));
}

function appraisalCell(node) {
  if (node.method === 'survey') return el('td', { class: 'appraisal-cell muted' }, '—');
  const s = slug(node.code);
  const ids = { score: `appraised-${s}`, comment: `comment-${s}` };
  const open = appraisable(node);
  const saved = node.appraisal || null;
  const where = el('span', { class: 'visually-hidden' }, ` mục ${node.code}`);
  const hint = node.method === 'self' && (!saved || saved.score === null || saved.score === undefined)
    ? `${scoreHint(node)} Chưa nhập thì tính bằng điểm tự chấm.` : scoreHint(node);
  const score = scoreInput(ids.score, node, saved ? saved.score : null, { 'aria-describedby': `${ids.score}-hint` });
  const comment = el('textarea', { id: ids.comment, rows: 2, maxlength: 2000 });
  comment.value = saved ? saved.comment || '' : '';
  const save = el('button', { type: 'button', class: 'small primary', 'aria-label': `Lưu thẩm định mục ${node.code}` },
    'Lưu');
  const state = el('p', { class: 'save-state', role: 'status' },
    saved && saved.at ? `Đã lưu lúc ${formatDateTime(saved.at)}.` : '');
  const box = messageBox(`message-${s}`);
  const cell = el('td', { class: 'appraisal-cell' },
    el('fieldset', { class: 'leaf-controls', disabled: !open },
      el('legend', { class: 'visually-hidden' }, `Thẩm định mục ${node.code}`),
      el('div', { class: 'field score-field' },
        el('label', { for: ids.score }, 'Điểm thẩm định', where.cloneNode(true)),
        el('p', { class: 'hint', id: `${ids.score}-hint` }, hint),
        score),
      el('div', { class: 'field' }, el('label', { for: ids.comment }, 'Ý kiến thẩm định', where.cloneNode(true)),
        comment),
      el('div', { class: 'leaf-actions', hidden: !open }, save, state),
      box));
  const item = { node, refs: { score, comment, save, state, box, cell }, dirty: false, busy: false };
  items.set(node.code, item);
  const changed = () => {
    const a = item.node.appraisal || {};
    item.dirty = !(sameScore(score.value.trim(), a.score) && comment.value.trim() === (a.comment || ''));
    if (item.dirty) {
      state.textContent = 'Có thay đổi chưa lưu.';
      state.dataset.kind = 'dirty';
    }
    renderTotals();
  };
  score.addEventListener('input', () => {
    if (score.getAttribute('aria-invalid') === 'true' && !readScore(score, node).error) setFieldError(score, '');
    changed();
  });
  score.addEventListener('keydown', (event) => {
    if (event.key === 'Enter') {
      event.preventDefault();
      saveAppraisal(item);
    }
  });
  comment.addEventListener('input', changed);
  save.addEventListener('click', () => saveAppraisal(item));
  return cell;
}

async function saveAppraisal(item) {
  if (!appraisable(item.node) || item.busy) return;
  const { refs } = item;
  setFieldError(refs.score, '');
  show(refs.box, 'info', '');
  const { value, error } = readScore(refs.score, item.node, { required: true });
  if (error) {
    setFieldError(refs.score, error);
    refs.state.textContent = 'Chưa lưu.';
    refs.state.dataset.kind = 'error';
    refs.score.focus();
    return;
  }
  item.busy = true;
  refs.save.disabled = true;
  refs.save.setAttribute('aria-busy', 'true');
  refs.state.textContent = 'Đang lưu…';
  refs.state.dataset.kind = 'busy';
  try {
    const answer = await api.saveAppraisal(cid, code, item.node.code, { score: value,
      comment: refs.comment.value.trim() });
    const node = answer.item || {};
    item.node.appraisal = node.appraisal || { score: value, comment: refs.comment.value.trim(),
      at: new Date().toISOString() };
    if (answer.totals) view.totals = { ...view.totals, ...answer.totals };
    refs.score.value = String(item.node.appraisal.score);
    refs.comment.value = item.node.appraisal.comment || '';
    item.dirty = false;
    refs.state.textContent = `Đã lưu lúc ${formatDateTime(item.node.appraisal.at || new Date())}.`;
    refs.state.dataset.kind = 'saved';
    renderTotals();
  } catch (err) {
    if (err.status === 401) return;
    refs.state.textContent = 'Chưa lưu.';
    refs.state.dataset.kind = 'error';
    const marked = showFieldErrors(err, { score: refs.score, comment: refs.comment });
    show(refs.box, 'error', errorText(err));
    if (marked.length) marked[0].focus();
    if (err.status === 409 || err.status === 423) setTimeout(load, 1500);
  } finally {
    item.busy = false;
    refs.save.disabled = false;
    refs.save.removeAttribute('aria-busy');
  }
}

function nodeTitle(node) {
  return [el('span', { class: 'node-code' }, `${node.code}.`), ' ', node.name];
}

function rows(node, depth) {
  const s = slug(node.code);
  if (!isLeaf(node)) {
    const total = el('strong', { class: 'running-total' });
    totalNodes.set(node.code, total);
    const own = el('tr', { class: `group-row depth-${depth}`, dataset: { code: node.code } },
      el('th', { scope: 'row' }, nodeTitle(node)),
      el('td', { class: 'num' }, formatScore(node.max)),
      el('td', { class: 'self-cell' }, node.self_max ? ['Cộng: ', el('strong', {}, outOf(node.self_total,
        node.self_max))] : el('span', { class: 'muted' }, 'Không có mục tự chấm')),
      el('td', { class: 'appraisal-cell' }, 'Cộng: ', total));
    return [own, ...node.children.flatMap((c) => rows(c, depth + 1))];
  }
  return [el('tr', { class: `leaf-row depth-${depth}`, id: `leaf-${s}`, dataset: { code: node.code, method: node.method } },
    el('th', { scope: 'row' }, el('span', { class: 'leaf-name' }, nodeTitle(node)), ' ', methodBadge(node),
      node.guidance ? el('span', { class: 'hint leaf-guidance' }, node.guidance) : null),
    el('td', { class: 'num' }, formatScore(node.max)),
    selfCell(node),
    appraisalCell(node))];
}

function fieldTable(field) {
  const s = slug(field.code);
  const headingId = `field-${s}-title`;
  const total = el('strong', { class: 'running-total' });
  totalNodes.set(field.code, total);
  return el('section', { class: 'appraisal-field', id: `field-${s}`, 'aria-labelledby': headingId,
    dataset: { code: field.code } },
  el('h3', { id: headingId }, `${field.code}. ${field.name}`),
  el('p', { class: 'node-totals' }, `Điểm tối đa: ${formatScore(field.max)} · Tự chấm: `,
    field.self_max ? el('strong', {}, outOf(field.self_total, field.self_max)) : 'không có mục tự chấm',
    ' · Thẩm định: ', total),
  el('div', { class: 'table-wrap', role: 'region', 'aria-labelledby': headingId, tabindex: '0' },
    el('table', { class: 'appraisal-table' },
      el('thead', {}, el('tr', {},
        el('th', { scope: 'col' }, 'Tiêu chí, tiêu chí thành phần'),
        el('th', { scope: 'col', class: 'num' }, 'Tối đa'),
        el('th', { scope: 'col' }, 'Đơn vị tự chấm'),
        el('th', { scope: 'col' }, 'Thẩm định'))),
      el('tbody', {}, field.children.length ? field.children.flatMap((c) => rows(c, 1)) : rows(field, 0)))));
}

function renderTree() {
  items.clear();
  totalNodes.clear();
  const fields = view.fields || [];
  clear(tree).append(...fields.map(fieldTable));
  if (!fields.length) tree.append(el('p', { class: 'empty' }, 'Đợt đánh giá chưa có khung tiêu chí.'));
  tree.removeAttribute('aria-busy');
  renderTotals();
}

function showView(answer) {
  view = answer;
  setTitle(`Thẩm định — ${unitName()}`);
  renderStatus();
  renderTree();
}

// ---- publish and reopen ----------------------------------------------------------------------------------

function unsaved() {
  return [...items.values()].filter((i) => i.dirty).map((i) => i.node.code);
}

publishButton.addEventListener('click', async () => {
  if (!view || !submitted()) return;
  show(actionBox, 'info', '');
  const pending = unsaved();
  const yes = await confirmDialog({
    title: `Công bố kết quả thẩm định của ${unitName()}?`,
    body: [
      el('p', {}, `Đơn vị sẽ thấy điểm thẩm định và ý kiến thẩm định bên cạnh điểm tự chấm của từng mục, và nhận được `
        + 'thông báo.'),
      el('p', {}, 'Tổng điểm thẩm định: ', el('strong', {}, appraisedTotalNode.textContent), '.'),
      pending.length ? el('p', { class: 'notice' }, `${pending.length} mục có thay đổi chưa lưu sẽ không được công bố: `
        + `${pending.join(', ')}.`) : null,
    ],
    confirmLabel: 'Công bố',
  });
  if (!yes) return;
  try {
    const answer = await busy(publishButton, 'Đang công bố…', () => api.publishAppraisal(cid, code));
    showView(answer);
    show(actionBox, 'success', `Đã công bố kết quả thẩm định của ${unitName()}; đơn vị đã được thông báo.`);
  } catch (err) {
    if (err.status === 401) return;
    show(actionBox, 'error', errorText(err));
    if (err.status === 409) load();
  } finally {
    if (view) renderStatus();
  }
});

function reopenDialog() {
  const name = unitName();
  reasonDialog({
    title: `Mở lại bản tự đánh giá của ${name}?`,
    body: [
      el('p', {}, `${name} sẽ sửa được điểm tự chấm và phải phê duyệt lại báo cáo. Phê duyệt hiện tại được lưu vào `
        + 'lịch sử.'),
      view.state === 'locked' || (view.phase && currentState(view.phase) !== 'open')
        ? el('p', { class: 'notice' }, 'Thời hạn tự đánh giá của đơn vị đã hết: hãy gia hạn riêng cho đơn vị ở trang '
          + 'quản lý đợt đánh giá để đơn vị sửa được.') : null,
    ],
    label: 'Lý do mở lại (bắt buộc)', maxLength: 500, emptyMessage: 'Vui lòng nêu lý do mở lại.',
    confirmLabel: 'Mở lại để đơn vị sửa', busyLabel: 'Đang mở lại…',
    dataset: { kind: 'reopen', unit: code },
    submit: (reason) => api.reopenAssessment(cid, code, reason),
    onDone: (answer) => {
      showView(answer);
      show(actionBox, 'success', `Đã mở lại bản tự đánh giá của ${name}; đơn vị đã được thông báo kèm lý do.`);
    },
    onConflict: load,
  });
}

reopenButton.addEventListener('click', () => {
  if (view && submitted()) reopenDialog();
});

// ---- load ------------------------------------------------------------------------------------------------

async function load() {
  if (!cid || !code) return;
  seq += 1;
  const mine = seq;
  tree.setAttribute('aria-busy', 'true');
  try {
    const answer = await api.assessment(cid, code);
    if (mine !== seq) return;
    showView(answer);
  } catch (error) {
    if (mine !== seq) return;
    tree.removeAttribute('aria-busy');
    clear(tree);
    showError(pageBox, error);
  }
}

function remember() {
  const url = new URL(window.location.href);
  url.searchParams.set('dot', cid);
  url.searchParams.delete('don-vi');
  if (code) url.searchParams.set('unit', code);
  window.history.replaceState(null, '', url);
  backLink.href = campaignHref('/bo/', cid);
  resultsLink.href = campaignHref('/bo/ket-qua.html', cid);
}

const KIND_GROUPS = [['province', 'Tỉnh, thành phố'], ['ministry', 'Bộ, cơ quan ngang bộ']];

/** The unit picker's options, the provinces and the assessed ministries each under their own heading. */
function unitOptions(units) {
  const option = (u) => el('option', { value: u.code, selected: u.code === code }, `${u.code} — ${u.name}`);
  const groups = KIND_GROUPS.map(([kind, label]) => [label, units.filter((u) => (u.kind || 'province') === kind)])
    .filter(([, members]) => members.length);
  if (groups.length < 2) return units.map(option);
  return groups.map(([label, members]) => el('optgroup', { label }, members.map(option)));
}

async function openCampaign(value, wantedUnit = null) {
  cid = value;
  show(pageBox, 'info', '');
  show(actionBox, 'info', '');
  detail = await api.campaign(cid);
  learnServerClock(detail.phases);
  const units = detail.units || [];
  const chosen = units.find((u) => u.code === (wantedUnit || code)) || units[0] || null;
  code = chosen ? chosen.code : null;
  clear(unitSelect).append(...unitOptions(units));
  remember();
  if (!code) {
    tree.removeAttribute('aria-busy');
    clear(tree);
    show(pageBox, 'info', 'Đợt đánh giá chưa có đơn vị nào.');
    return;
  }
  await load();
}

unitSelect.addEventListener('change', async () => {
  const wantedUnit = unitSelect.value;
  const pending = unsaved();
  if (pending.length) {
    unitSelect.value = code; // stays until the user decides
    const yes = await confirmDialog({
      title: 'Chuyển sang đơn vị khác?',
      body: [el('p', {}, `${pending.length} mục có điểm thẩm định chưa lưu (${pending.join(', ')}); `
        + 'các thay đổi này sẽ bị bỏ.')],
      confirmLabel: 'Bỏ thay đổi và chuyển', focusCancel: true,
    });
    if (!yes) return;
    unitSelect.value = wantedUnit;
  }
  code = wantedUnit;
  remember();
  show(actionBox, 'info', '');
  load();
});

window.addEventListener('beforeunload', (event) => {
  if (unsaved().length) {
    event.preventDefault();
    event.returnValue = '';
  }
});

function start() {
  const params = new URLSearchParams(window.location.search);
  const wantedUnit = params.get('unit') || params.get('don-vi');
  return startCampaignPage(current, {
    select: campaignSelect, box: pageBox,
    open: (value, campaign, first) => openCampaign(value, first ? wantedUnit : null),
    none: () => {
      tree.removeAttribute('aria-busy');
      clear(tree);
    },
  });
}

if (current) start();
