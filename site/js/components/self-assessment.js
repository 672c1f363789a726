// A unit's self-assessment, the same for a province and an assessed ministry (the server picks the framework of the
// unit's kind): the criteria tree (fields → criteria → sub-criteria) with each line's maximum and running totals that
// follow the inputs (and are confirmed by the server's totals after each save); per self-scored leaf a score, a note,
// an explanation and evidence files (uploaded to a presigned POST with a progress bar, removable), saved one item at
// a time; survey-measured and imported leaves shown read-only with their method; the state and the deadline; the
// approval (leader, decision, signed report), which lists what is still missing when the server refuses it; a
// read-only form once approved or locked; the appraised scores once published.
//
// It works on the markup both self-assessment pages share (#tree, #approve-form, #assess-bar …; only their texts
// differ): each page calls startSelfAssessment with its account's role.
import * as api from '../lib/api.js';
import { currentState, learnServerClock } from '../lib/clock.js';
import { isLeaf, leaves, readScore, sameScore, scoreHint, slug, totals, walk } from '../lib/criteria.js';
import { clear, el, setTitle } from '../lib/dom.js';
import { contentTypeOf, EVIDENCE_ACCEPT, EVIDENCE_KINDS, evidenceProblem, uploadEvidence } from '../lib/evidence.js';
import { formatDateTime, formatScore, outOf, parseDateVN } from '../lib/format.js';
import { approvalList, renderAssessmentState, renderFrameworkNote, scoreInput } from './assessment.js';
import { methodBadge } from './badges.js';
import { confirmDialog } from './dialog.js';
import { evidenceList } from './evidence.js';
import {
  clearFieldErrors, errorText, markProblems, messageBox, setFieldError, show, showError, showFieldErrors,
} from './messages.js';
import { showContext, startUnitPage } from './page.js';
import { phaseFacts } from './phase.js';
import { uploadProgress } from './upload.js';

let current = null;

const pageBox = document.getElementById('page-message');
const context = document.getElementById('context');
const stateNode = document.getElementById('assess-state');
const deadlineNode = document.getElementById('assess-deadline');
const totalNode = document.getElementById('assess-total');
const appraisedRow = document.getElementById('assess-appraised-row');
const appraisedNode = document.getElementById('assess-appraised');
const frameworkNote = document.getElementById('framework-note');
const lockNotice = document.getElementById('lock-notice');
const reopenedNode = document.getElementById('reopened');
const tree = document.getElementById('tree');

const approvalFacts = document.getElementById('approval-facts');
const missingBox = document.getElementById('missing-box');
const approveBox = document.getElementById('approve-message');
const approveForm = document.getElementById('approve-form');
const approveFieldset = document.getElementById('approve-fieldset');
const approveButton = document.getElementById('approve-button');
const approveFields = {
  leader_name: document.getElementById('leader_name'),
  leader_position: document.getElementById('leader_position'),
  decision_number: document.getElementById('decision_number'),
  decision_date: document.getElementById('decision_date'),
  report: document.getElementById('report'),
};
const reportProgress = uploadProgress('report-upload-progress');
document.getElementById('report-progress').append(reportProgress.box);
approveFields.report.setAttribute('accept', EVIDENCE_ACCEPT);

const bar = document.getElementById('assess-bar');
const barTotal = document.getElementById('bar-total');
const barUnsaved = document.getElementById('bar-unsaved');

let cid = null;
let unit = null;
let view = null; // the last assessment the server sent
const items = new Map(); // leaf code → {node, refs, saved, evidence, busy}
const totalNodes = new Map(); // parent code → the element showing its running total
let serverTotals = { fields: new Map(), overall: null }; // the server's own sums, from the last answer
let uploadedReport = null; // {key, id}: a signed report already in storage, not sent again on a retry
let reloadTimer = null;

// ---- state and notices -----------------------------------------------------------------------------------

function editable() {
  return Boolean(view && view.editable);
}

/** Why the form is read-only now, or null while the unit can score. */
function lockText() {
  if (!view) return null;
  if (view.state === 'approved') {
    const when = view.approval && view.approval.approved_at ? ` lúc ${formatDateTime(view.approval.approved_at)}` : '';
    return `Báo cáo tự đánh giá đã được phê duyệt và gửi Bộ Nội vụ${when}. Bảng điểm chỉ để xem; `
      + 'liên hệ Bộ Nội vụ nếu cần mở lại để sửa.';
  }
  if (view.state === 'locked') {
    const when = view.locked_at ? ` lúc ${formatDateTime(view.locked_at)}` : '';
    return `Đã hết thời hạn tự đánh giá; phần mềm đã tự động khóa bảng điểm${when}. Bảng điểm chỉ để xem; `
      + 'liên hệ Bộ Nội vụ nếu cần gia hạn.';
  }
  if (view.editable) return null;
  const phase = view.phase;
  if (phase) {
    const state = currentState(phase);
    if (state === 'upcoming') {
      return `Giai đoạn “${phase.name}” chưa mở (mở từ ngày ${phase.opens_label}). Chưa thể chấm điểm.`;
    }
    if (state === 'closed') {
      return `Đã hết thời hạn “${phase.name}” (${phase.deadline_label}). Bảng điểm chỉ để xem; `
        + 'liên hệ Bộ Nội vụ nếu cần gia hạn.';
    }
  }
  return 'Hiện không thể sửa bảng điểm. Bảng điểm chỉ để xem.';
}

function scheduleReload() {
  clearTimeout(reloadTimer);
  reloadTimer = setTimeout(() => load({ keepMessages: true }), 1500);
}

function renderStatus() {
  renderAssessmentState(stateNode, view);
  if (view.appraisal_published) {
    stateNode.append(' ', el('span', { class: 'badge badge-published' }, 'Bộ Nội vụ đã công bố kết quả thẩm định'));
  }
  clear(deadlineNode).append(...phaseFacts(view.phase, scheduleReload));
  renderFrameworkNote(frameworkNote, view.framework);
  const reason = lockText();
  lockNotice.hidden = !reason;
  lockNotice.textContent = reason || '';
  const reopened = view.reopened || [];
  clear(reopenedNode);
  if (reopened.length) {
    reopenedNode.append(el('ul', { class: 'plain-list reopened-list' }, reopened.map((r) => el('li', {},
      `Bộ Nội vụ đã mở lại bảng điểm lúc ${formatDateTime(r.at)}`, r.reason ? `. Lý do: ${r.reason}` : '.'))));
  }
  const published = Boolean(view.appraisal_published);
  appraisedRow.hidden = !published;
  if (published) {
    const t = view.totals || {};
    // Appraised points cover the self-scored lines and the imported ones (SIPAS …) the ministry entered.
    const max = totals(view.fields, () => 0, (l) => l.method === 'self' || l.method === 'imported').get('').max;
    appraisedNode.textContent = t.appraised === null || t.appraised === undefined ? 'Chưa có'
      : outOf(t.appraised, max);
  }
}

// ---- totals ----------------------------------------------------------------------------------------------

/** The score a leaf counts for now: what is typed when it is valid, else nothing. */
function liveValue(leaf) {
  const item = items.get(leaf.code);
  if (!item) return leaf.score;
  if (!item.refs.score) return item.saved.score;
  const { value, error } = readScore(item.refs.score, leaf);
  return error ? null : value;
}

function isSelf(leaf) {
  return leaf.method === 'self';
}

function renderTotals() {
  if (!view) return;
  const live = totals(view.fields, liveValue, isSelf);
  for (const [code, node] of totalNodes) {
    const sum = live.get(code);
    if (!sum) continue;
    const server = serverTotals.fields.get(code);
    node.textContent = outOf(sum.total, sum.max);
    const differs = server && Math.abs(server.total - sum.total) > 1e-9;
    node.nextElementSibling.textContent = differs ? ` (đã lưu: ${formatScore(server.total)})` : '';
  }
  const all = live.get('');
  const overall = serverTotals.overall;
  const saved = overall && Math.abs(overall.total - all.total) > 1e-9 ? ` (đã lưu: ${formatScore(overall.total)})` : '';
  totalNode.textContent = `${outOf(all.total, all.max)}${saved}`;
  barTotal.textContent = `${outOf(all.total, all.max)}${saved}`;
  const dirty = [...items.values()].filter((i) => i.dirty).length;
  barUnsaved.textContent = dirty ? `${dirty} mục có thay đổi chưa lưu.` : 'Mọi thay đổi đã được lưu.';
  barUnsaved.dataset.kind = dirty ? 'dirty' : 'ok';
}

function takeServerTotals(answer) {
  if (answer.totals) {
    serverTotals.overall = { total: Number(answer.totals.self) || 0, max: Number(answer.totals.self_max) || 0 };
  }
  for (const f of answer.fields || []) {
    serverTotals.fields.set(f.code, { total: Number(f.self_total) || 0, max: Number(f.self_max) || 0 });
  }
}

// ---- one leaf --------------------------------------------------------------------------------------------

function values(item) {
  const { refs } = item;
  return {
    note: refs.note.value.trim(),
    explanation: refs.explanation.value.trim(),
    evidence: item.evidence.map((e) => e.id),
  };
}

function sameIds(a, b) {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

function checkDirty(item) {
  const now = values(item);
  const same = sameScore(item.refs.score.value.trim(), item.saved.score)
    && now.note === item.saved.note && now.explanation === item.saved.explanation
    && sameIds(now.evidence, item.saved.evidence);
  const was = item.dirty;
  item.dirty = !same;
  item.article.dataset.dirty = String(item.dirty);
  if (item.dirty !== was || item.dirty) {
    setSaveState(item, item.dirty ? 'dirty' : (item.savedAt ? 'saved' : ''), item.dirty ? 'Có thay đổi chưa lưu.'
      : savedText(item));
  }
}

function savedText(item) {
  return item.savedAt ? `Đã lưu lúc ${formatDateTime(item.savedAt)}.` : '';
}

function setSaveState(item, kind, text) {
  if (item.refs.state.textContent !== text) item.refs.state.textContent = text;
  item.refs.state.dataset.kind = kind;
}

function setSaved(item, node) {
  item.node = node;
  item.saved = {
    score: node.score === undefined ? null : node.score,
    note: node.note || '',
    explanation: node.explanation || '',
    evidence: (node.evidence || []).map((e) => e.id),
  };
  item.evidence = [...(node.evidence || [])];
  item.savedAt = node.updated_at || null;
  item.dirty = false;
  item.article.dataset.dirty = 'false';
}

function renderEvidence(item) {
  const label = `mục ${item.node.code}`;
  clear(item.refs.evidenceBox).append(evidenceList(item.evidence, {
    label, remove: editable() ? (ev) => removeEvidence(item, ev) : null }));
}

/** PUT the leaf as it is on the page; resolves {ok, error} (error: the ApiError, or null for a local check). */
async function saveItem(item, { reason = null } = {}) {
  if (!editable() || item.busy) return { ok: false, error: null };
  const { refs } = item;
  clearFieldErrors(item.article);
  show(refs.box, 'info', '');
  const { value, error } = readScore(refs.score, item.node);
  if (error) {
    setFieldError(refs.score, error);
    setSaveState(item, 'error', 'Chưa lưu.');
    show(refs.box, 'error', reason ? `${reason} Vui lòng sửa điểm rồi bấm «Lưu».` : 'Chưa lưu được: điểm chưa hợp lệ.');
    refs.score.focus();
    return { ok: false, error: null };
  }
  item.busy = true;
  refs.save.disabled = true;
  refs.save.setAttribute('aria-busy', 'true');
  setSaveState(item, 'busy', 'Đang lưu…');
  try {
    const answer = await api.saveAssessmentItem(cid, unit, item.node.code, { score: value, ...values(item) });
    const node = answer.item || {};
    setSaved(item, { ...item.node, ...node });
    replaceLeaf(view.fields, item.node);
    takeServerTotals(answer);
    if (answer.totals) view.totals = { ...view.totals, ...answer.totals };
    renderEvidence(item);
    // The server's normalised values (trimmed, NFC) become what the inputs show.
    refs.score.value = item.saved.score === null ? '' : String(item.saved.score);
    refs.note.value = item.saved.note;
    refs.explanation.value = item.saved.explanation;
    item.savedAt = node.updated_at || new Date().toISOString();
    setSaveState(item, 'saved', savedText(item));
    renderTotals();
    refreshMissing();
    return { ok: true, error: null };
  } catch (err) {
    if (err.status === 401) return { ok: false, error: err };
    setSaveState(item, 'error', 'Chưa lưu.');
    if (err.status === 423 || err.status === 409) {
      show(refs.box, 'error', errorText(err));
      show(pageBox, 'error', errorText(err));
      scheduleReload();
      return { ok: false, error: err };
    }
    const fieldMap = { score: refs.score, note: refs.note, explanation: refs.explanation, evidence: refs.file };
    for (const d of err.details || []) { // a refused file is named as evidence[i]
      if (d && typeof d.field === 'string' && d.field.startsWith('evidence')) fieldMap[d.field] = refs.file;
    }
    const marked = showFieldErrors(err, fieldMap);
    show(refs.box, 'error', reason ? `${reason} ${errorText(err)}` : errorText(err));
    if (marked.length) marked[0].focus();
    return { ok: false, error: err };
  } finally {
    item.busy = false;
    refs.save.disabled = false;
    refs.save.removeAttribute('aria-busy');
    renderTotals();
  }
}

/** Whether the server refused the item because of its evidence files (a file failing the content check). */
function refusedEvidence(error) {
  return Boolean(error && error.status === 422
    && (error.details || []).some((d) => d && (d.field === 'evidence' || d.evidence || d.filename || d.id)));
}

function replaceLeaf(nodes, leaf) {
  for (const [node] of walk(nodes)) {
    if (node.code === leaf.code && isLeaf(node)) Object.assign(node, leaf);
  }
}

async function uploadFor(item) {
  const { refs } = item;
  const file = refs.file.files && refs.file.files[0];
  if (!file) return;
  setFieldError(refs.file, '');
  show(refs.box, 'info', '');
  const problem = evidenceProblem(file);
  if (problem) {
    setFieldError(refs.file, problem);
    refs.file.value = '';
    refs.file.focus();
    return;
  }
  refs.file.disabled = true;
  refs.progress.start(file.name);
  setSaveState(item, 'busy', `Đang tải “${file.name}” lên…`);
  let id;
  try {
    id = await uploadEvidence(cid, unit, item.node.code, file, { onProgress: (f) => refs.progress.set(f) });
  } catch (err) {
    refs.progress.done();
    refs.file.disabled = false;
    if (err.status === 401) return;
    setSaveState(item, 'error', 'Chưa tải lên được.');
    setFieldError(refs.file, errorText(err));
    refs.file.focus();
    if (err.status === 423 || err.status === 409) scheduleReload();
    return;
  }
  refs.progress.done();
  refs.file.disabled = false;
  refs.file.value = '';
  item.evidence.push({ id, filename: file.name, size: file.size, content_type: contentTypeOf(file),
    uploaded_at: new Date().toISOString(), url: null });
  renderEvidence(item);
  const { ok, error } = await saveItem(item, { reason: `Đã tải “${file.name}” lên nhưng chưa lưu vào mục.` });
  if (ok) {
    show(item.refs.box, 'success', `Đã thêm tài liệu “${file.name}” vào mục ${item.node.code}.`);
    return;
  }
  if (refusedEvidence(error)) { // the file failed the server's own check: it does not stay in the list
    item.evidence = item.evidence.filter((e) => e.id !== id);
    renderEvidence(item);
  }
  checkDirty(item); // otherwise it waits, marked unsaved, for «Lưu»
}

async function removeEvidence(item, evidence) {
  if (!editable()) return;
  const yes = await confirmDialog({
    title: 'Gỡ tài liệu kiểm chứng?',
    body: [el('p', {}, 'Gỡ tài liệu ', el('strong', {}, evidence.filename), ` khỏi mục ${item.node.code}?`)],
    confirmLabel: 'Gỡ tài liệu', danger: true, focusCancel: true,
  });
  if (!yes) return;
  item.evidence = item.evidence.filter((e) => e.id !== evidence.id);
  renderEvidence(item);
  const { ok } = await saveItem(item, { reason: 'Đã gỡ tài liệu trên trang nhưng chưa lưu.' });
  if (ok) {
    show(item.refs.box, 'success', `Đã gỡ tài liệu “${evidence.filename}” khỏi mục ${item.node.code}.`);
    item.refs.file.focus();
  } else {
    checkDirty(item);
  }
}

function appraisalResult(node) {
  if (!view.appraisal_published || !node.appraisal) return null;
  const a = node.appraisal;
  return el('div', { class: 'appraisal-result', dataset: { appraised: String(a.score) } },
    el('p', { class: 'appraisal-score' }, el('span', { class: 'appraisal-label' }, 'Điểm thẩm định: '),
      el('strong', {}, outOf(a.score, node.max))),
    a.comment ? el('p', { class: 'appraisal-comment' }, el('span', { class: 'appraisal-label' }, 'Ý kiến thẩm định: '),
      a.comment) : null);
}

function heading(depth, id, text) {
  return el(`h${Math.min(6, depth + 3)}`, { id, class: 'leaf-title' }, text);
}

/** A leaf's heading line: code and name, its maximum and its method. */
function leafHead(node, depth, titleId) {
  return el('div', { class: 'leaf-head' },
    heading(depth, titleId, `${node.code}. ${node.name}`),
    el('span', { class: 'leaf-max' }, `Tối đa ${formatScore(node.max)} điểm`),
    methodBadge(node));
}

/** The inputs of a self-scored leaf: {score, note, explanation, file, progress, evidenceBox, save, state, box}. */
function leafInputs(node, s, ids) {
  const note = el('textarea', { id: ids.note, rows: 2, maxlength: 2000 });
  note.value = node.note || '';
  const explanation = el('textarea', { id: ids.explanation, rows: 2, maxlength: 2000,
    'aria-describedby': `${ids.explanation}-hint` });
  explanation.value = node.explanation || '';
  return {
    score: scoreInput(ids.score, node, node.score, { 'aria-describedby': `${ids.score}-hint` }),
    note,
    explanation,
    file: el('input', { id: ids.file, type: 'file', accept: EVIDENCE_ACCEPT, 'aria-describedby': `${ids.file}-hint` }),
    progress: uploadProgress(`progress-${s}`),
    evidenceBox: el('div', { class: 'evidence-box', id: `evidence-${s}` }),
    save: el('button', { type: 'button', class: 'primary', 'aria-label': `Lưu mục ${node.code}` }, 'Lưu'),
    state: el('p', { class: 'save-state', role: 'status', id: `state-${s}` }),
    box: messageBox(`message-${s}`),
  };
}

/** The fieldset of a self-scored leaf: score, note, explanation | evidence files and the upload; Lưu. */
function leafControls(node, s, ids, refs) {
  const where = el('span', { class: 'visually-hidden' }, ` (mục ${node.code})`);
  const open = editable();
  return el('fieldset', { class: 'leaf-controls', disabled: !open },
    el('legend', { class: 'visually-hidden' }, `Chấm điểm mục ${node.code}`),
    el('div', { class: 'leaf-grid' },
      el('div', { class: 'leaf-inputs' },
        el('div', { class: 'field score-field' },
          el('label', { for: ids.score }, 'Điểm tự chấm', where.cloneNode(true)),
          el('p', { class: 'hint', id: `${ids.score}-hint` }, scoreHint(node)),
          refs.score),
        el('div', { class: 'field' }, el('label', { for: ids.note }, 'Ghi chú', where.cloneNode(true)), refs.note),
        el('div', { class: 'field' },
          el('label', { for: ids.explanation }, 'Giải trình', where.cloneNode(true)),
          el('p', { class: 'hint', id: `${ids.explanation}-hint` }, 'Bắt buộc khi không có tài liệu kiểm chứng.'),
          refs.explanation)),
      el('div', { class: 'leaf-evidence' },
        el('p', { class: 'evidence-heading', id: `evidence-heading-${s}` }, 'Tài liệu kiểm chứng'),
        refs.evidenceBox,
        el('div', { class: 'field upload-field', hidden: !open },
          el('label', { for: ids.file }, 'Thêm tài liệu kiểm chứng', where.cloneNode(true)),
          el('p', { class: 'hint', id: `${ids.file}-hint` }, `${EVIDENCE_KINDS}. Tệp được lưu vào mục ngay khi tải lên xong.`),
          refs.file),
        refs.progress.box)),
    el('div', { class: 'leaf-actions', hidden: !open }, refs.save, refs.state),
    refs.box);
}

function watchLeaf(item) {
  const { score, note, explanation, file, save } = item.refs;
  score.addEventListener('input', () => {
    const { error } = readScore(score, item.node);
    if (!error && score.getAttribute('aria-invalid') === 'true') setFieldError(score, '');
    checkDirty(item);
    renderTotals();
  });
  for (const input of [note, explanation]) input.addEventListener('input', () => {
    checkDirty(item);
    renderTotals();
  });
  score.addEventListener('keydown', (event) => {
    if (event.key === 'Enter') {
      event.preventDefault();
      saveItem(item);
    }
  });
  file.addEventListener('change', () => uploadFor(item));
  save.addEventListener('click', () => saveItem(item));
}

function selfLeaf(node, depth) {
  const s = slug(node.code);
  const ids = { score: `score-${s}`, note: `note-${s}`, explanation: `explanation-${s}`, file: `file-${s}` };
  const refs = leafInputs(node, s, ids);
  const titleId = `title-${s}`;
  const article = el('article', { class: 'assess-leaf', id: `leaf-${s}`, tabindex: '-1',
    'aria-labelledby': titleId, dataset: { code: node.code, method: node.method } },
  leafHead(node, depth, titleId),
  node.guidance ? el('p', { class: 'hint leaf-guidance' }, node.guidance) : null,
  leafControls(node, s, ids, refs),
  appraisalResult(node));
  const item = { node, article, refs, saved: null, evidence: [], dirty: false, busy: false, savedAt: null };
  setSaved(item, node);
  items.set(node.code, item);
  renderEvidence(item);
  if (item.savedAt) setSaveState(item, 'saved', savedText(item));
  watchLeaf(item);
  return article;
}

const READ_ONLY_TEXT = {
  survey: 'Điểm của tiêu chí này lấy từ kết quả điều tra xã hội học; đơn vị không tự chấm.',
  imported: 'Điểm của tiêu chí này lấy từ nguồn khác (SIPAS, số liệu kinh tế – xã hội…) do Bộ Nội vụ nhập; '
    + 'đơn vị không tự chấm.',
};

function readOnlyLeaf(node, depth) {
  const s = slug(node.code);
  const titleId = `title-${s}`;
  return el('article', { class: 'assess-leaf read-only', id: `leaf-${s}`, tabindex: '-1', 'aria-labelledby': titleId,
    dataset: { code: node.code, method: node.method } },
  leafHead(node, depth, titleId),
  node.guidance ? el('p', { class: 'hint leaf-guidance' }, node.guidance) : null,
  el('p', { class: 'muted method-note' }, READ_ONLY_TEXT[node.method] || 'Đơn vị không tự chấm tiêu chí này.'),
  appraisalResult(node));
}

function totalLine(node, label) {
  if (!leaves([node]).some(isSelf)) {
    return el('p', { class: 'node-totals' }, `Điểm tối đa: ${formatScore(node.max)} · không có mục đơn vị tự chấm`);
  }
  const value = el('strong', { class: 'running-total', dataset: { total: node.code } });
  const saved = el('span', { class: 'muted saved-total' });
  totalNodes.set(node.code, value);
  const parts = [el('span', {}, `Điểm tối đa: ${formatScore(node.max)}`), ' · ', el('span', {}, `${label}: `), value,
    saved];
  if (view.appraisal_published && node.appraised_total !== null && node.appraised_total !== undefined) {
    parts.push(' · ', el('span', {}, 'Thẩm định: '), el('strong', { class: 'appraised-total' },
      formatScore(node.appraised_total)));
  }
  return el('p', { class: 'node-totals' }, parts);
}

function renderNode(node, depth) {
  if (isLeaf(node)) return node.method === 'self' ? selfLeaf(node, depth) : readOnlyLeaf(node, depth);
  const s = slug(node.code);
  const headingId = `title-${s}`;
  const children = node.children.map((child) => renderNode(child, depth + 1));
  if (depth === 0) {
    return el('section', { class: 'card assess-field', id: `field-${s}`, 'aria-labelledby': headingId,
      dataset: { code: node.code } },
    el('h3', { id: headingId, class: 'field-title' }, `${node.code}. ${node.name}`),
    totalLine(node, 'Tự chấm'),
    children);
  }
  return el('div', { class: 'assess-group', dataset: { code: node.code }, role: 'group', 'aria-labelledby': headingId },
    heading(depth, headingId, `${node.code}. ${node.name}`),
    totalLine(node, 'Tự chấm'),
    children);
}

function renderTree() {
  items.clear();
  totalNodes.clear();
  const fields = view.fields || [];
  clear(tree).append(...fields.map((f) => renderNode(f, 0)));
  if (!fields.length) tree.append(el('p', { class: 'empty' }, 'Đợt đánh giá chưa có khung tiêu chí.'));
  tree.removeAttribute('aria-busy');
  bar.hidden = !editable();
  renderTotals();
}

// ---- approval --------------------------------------------------------------------------------------------

function leafName(code) {
  for (const [node] of walk(view.fields)) if (node.code === code) return node.name;
  return '';
}

function missingList(entries, title) {
  if (!entries.length) return null;
  return el('div', { class: 'missing', id: 'missing-list' },
    el('p', { class: 'missing-heading' }, el('strong', {}, title)),
    el('ul', { class: 'plain-list' }, entries.map((m) => el('li', { dataset: { code: m.code || '' } },
      m.code && m.code !== 'report'
        ? el('a', { href: `#leaf-${slug(m.code)}`, onclick: (event) => goTo(event, m.code) },
          `${m.code}. ${leafName(m.code)}`)
        : null,
      m.code && m.code !== 'report' ? ': ' : null,
      reasonText(m)))));
}

/** "Mục 1.1.2: chưa chấm điểm." → "chưa chấm điểm." (the code is already the link). */
function reasonText(entry) {
  const text = String(entry.message || '');
  if (!entry.code || entry.code === 'report') return text;
  return text.replace(new RegExp(`^Mục ${entry.code.replace(/[.]/g, '\\.')}:\\s*`), '');
}

function goTo(event, code) {
  const item = items.get(code);
  if (!item) return;
  event.preventDefault();
  item.article.scrollIntoView({ block: 'start' });
  (item.refs.score.disabled ? item.article : item.refs.score).focus();
}

function refreshMissing() {
  // Recomputed here from the saved items, as the server decides it (no score, or neither evidence nor explanation).
  if (!view || view.state !== 'draft') return;
  const entries = [];
  for (const item of items.values()) {
    if (item.saved.score === null || item.saved.score === undefined) {
      entries.push({ code: item.node.code, message: 'chưa chấm điểm.' });
    } else if (!item.saved.evidence.length && !item.saved.explanation) {
      entries.push({ code: item.node.code, message: 'chưa có tài liệu kiểm chứng hoặc giải trình lý do không có.' });
    }
  }
  clear(missingBox);
  const list = missingList(entries, `Còn ${entries.length} mục chưa đủ điều kiện phê duyệt:`);
  if (list) missingBox.append(list);
  else if (editable()) missingBox.append(el('p', { class: 'ready' }, 'Mọi tiêu chí tự chấm đã có điểm và tài liệu '
    + 'kiểm chứng hoặc giải trình. Đơn vị có thể phê duyệt báo cáo.'));
}

function renderApproval() {
  clear(approvalFacts);
  clear(missingBox);
  const a = view.approval;
  if (a) {
    approvalFacts.append(approvalList(a));
  }
  const canApprove = view.state === 'draft' && editable();
  approveForm.hidden = !canApprove;
  approveFieldset.disabled = !canApprove;
  if (view.state === 'draft') {
    if (!canApprove) approvalFacts.append(el('p', { class: 'muted' }, 'Chưa thể phê duyệt lúc này.'));
    refreshMissing();
  } else if (!a) {
    approvalFacts.append(el('p', { class: 'muted' }, 'Đơn vị chưa phê duyệt báo cáo trước khi hết thời hạn.'));
  }
}

function approvalValues() {
  const v = (key) => approveFields[key].value.trim();
  return { leader_name: v('leader_name'), leader_position: v('leader_position'),
    decision_number: v('decision_number'), decision_date: v('decision_date') };
}

function fileKey(file) {
  return `${file.name}|${file.size}|${file.lastModified}`;
}

approveFields.report.addEventListener('change', () => setFieldError(approveFields.report, ''));

/** The approval form's own checks, as [field key, message] in form order. */
function approvalProblems(body, file, reuse) {
  const problems = [];
  if (!body.leader_name) problems.push(['leader_name', 'Vui lòng nhập họ và tên lãnh đạo phê duyệt.']);
  if (!body.leader_position) problems.push(['leader_position', 'Vui lòng nhập chức vụ.']);
  if (!body.decision_number) problems.push(['decision_number', 'Vui lòng nhập số quyết định, văn bản phê duyệt.']);
  const day = parseDateVN(body.decision_date);
  if (!body.decision_date) problems.push(['decision_date', 'Vui lòng nhập ngày ký.']);
  else if (!day) problems.push(['decision_date', 'Ngày không hợp lệ. Nhập theo dạng ngày/tháng/năm, ví dụ 14/02/2022.']);
  if (!file) problems.push(['report', 'Vui lòng chọn tệp báo cáo tự đánh giá đã ký.']);
  else if (!reuse) {
    const problem = evidenceProblem(file);
    if (problem) problems.push(['report', problem]);
  }
  return problems;
}

function confirmApproval(body) {
  const dirty = [...items.values()].filter((i) => i.dirty);
  return confirmDialog({
    title: 'Phê duyệt báo cáo tự đánh giá?',
    body: [
      el('p', {}, 'Tổng điểm tự chấm: ', el('strong', {}, totalNode.textContent), '.'),
      el('p', {}, `Phê duyệt theo ${body.decision_number} ngày ${body.decision_date} của ${body.leader_position} `
        + `${body.leader_name}.`),
      dirty.length ? el('p', { class: 'notice' }, `${dirty.length} mục có thay đổi chưa lưu sẽ không được tính: `
        + dirty.map((i) => i.node.code).join(', ') + '.') : null,
      el('p', { class: 'notice' }, 'Sau khi phê duyệt, kết quả được gửi Bộ Nội vụ và bảng điểm bị khóa; '
        + 'chỉ Bộ Nội vụ có thể mở lại.'),
    ],
    confirmLabel: 'Phê duyệt và gửi',
  });
}

/** The signed report's evidence id: the one already uploaded for this very file, else a new upload. */
async function reportId(file, reuse) {
  if (reuse) return reuse;
  show(approveBox, 'info', `Đang tải báo cáo “${file.name}” lên…`);
  reportProgress.start(file.name);
  const id = await uploadEvidence(cid, unit, 'report', file, { onProgress: (f) => reportProgress.set(f) });
  uploadedReport = { key: fileKey(file), id };
  reportProgress.done();
  return id;
}

function approved(answer) {
  uploadedReport = null;
  approveForm.reset();
  showView(answer);
  show(approveBox, 'success', 'Đã phê duyệt báo cáo tự đánh giá và gửi Bộ Nội vụ'
    + `${answer.approval && answer.approval.approved_at ? ` lúc ${formatDateTime(answer.approval.approved_at)}` : ''}. `
    + 'Bảng điểm đã được khóa.');
  // The form is gone from under the focus: the notice saying why is where keyboard users land.
  lockNotice.setAttribute('tabindex', '-1');
  lockNotice.focus();
  lockNotice.scrollIntoView({ block: 'center' });
}

approveForm.addEventListener('submit', async (event) => {
  event.preventDefault();
  if (!editable() || view.state !== 'draft') return;
  clearFieldErrors(approveForm);
  show(approveBox, 'info', '');
  const body = approvalValues();
  const file = approveFields.report.files && approveFields.report.files[0];
  const reuse = file && uploadedReport && uploadedReport.key === fileKey(file) ? uploadedReport.id : null;
  const problems = approvalProblems(body, file, reuse);
  if (problems.length) {
    show(approveBox, 'error', problems.length === 1 ? 'Chưa phê duyệt được: một ô chưa hợp lệ. '
      + 'Vui lòng sửa ô được đánh dấu.' : `Chưa phê duyệt được: ${problems.length} ô chưa hợp lệ. `
      + 'Vui lòng sửa các ô được đánh dấu.');
    markProblems(problems.map(([key, message]) => [approveFields[key], message]));
    return;
  }
  const [y, m, d] = parseDateVN(body.decision_date).split('-');
  body.decision_date = `${d}/${m}/${y}`;
  if (!(await confirmApproval(body))) return;
  approveButton.disabled = true;
  approveButton.setAttribute('aria-busy', 'true');
  try {
    const report = await reportId(file, reuse);
    show(approveBox, 'info', 'Đang phê duyệt…');
    approved(await api.approveAssessment(cid, unit, { ...body, report }));
  } catch (err) {
    reportProgress.done();
    if (err.status === 401) return;
    approveRefused(err);
  } finally {
    approveButton.disabled = false;
    approveButton.removeAttribute('aria-busy');
  }
});

function approveRefused(err) {
  const fieldMap = { ...approveFields };
  // Items still blocking approval come as {field: "items", code, message}; the form's own fields by their name.
  const byCode = (err.details || []).filter((d) => d && d.code && (!d.field || d.field === 'items'));
  const marked = showFieldErrors(err, fieldMap);
  show(approveBox, 'error', errorText(err));
  if (byCode.length) {
    clear(missingBox).append(missingList(byCode, `Bộ Nội vụ chưa nhận phê duyệt: còn ${byCode.length} mục cần bổ sung:`));
    const first = missingBox.querySelector('a');
    (first || approveBox).focus();
    return;
  }
  if (marked.length) marked[0].focus();
  if (err.status === 423 || err.status === 409) scheduleReload();
}

// ---- load ------------------------------------------------------------------------------------------------

function showView(answer) {
  view = answer;
  serverTotals = { fields: new Map(), overall: null };
  takeServerTotals({ totals: answer.totals,
    fields: (answer.fields || []).map((f) => ({ code: f.code, self_total: f.self_total, self_max: f.self_max })) });
  setTitle(`Tự đánh giá, chấm điểm — ${answer.unit_name || unit}`);
  renderStatus();
  renderTree();
  renderApproval();
}

async function load({ keepMessages = false } = {}) {
  if (!cid) return;
  if (!keepMessages) show(pageBox, 'info', '');
  try {
    const answer = await api.assessment(cid, unit);
    if (items.size && [...items.values()].some((i) => i.dirty) && answer.editable) {
      // Keep what is being typed: only the state and the deadline change under it.
      view = { ...answer, fields: view.fields };
      renderStatus();
      renderApproval();
      return;
    }
    showView(answer);
  } catch (error) {
    tree.removeAttribute('aria-busy');
    showError(pageBox, error);
  }
}

window.addEventListener('beforeunload', (event) => {
  if ([...items.values()].some((i) => i.dirty) && editable()) {
    event.preventDefault();
    event.returnValue = '';
  }
});

function start() {
  unit = current.unit;
  return startUnitPage(current, {
    box: pageBox,
    none: () => {
      stateNode.textContent = '—';
      tree.removeAttribute('aria-busy');
      clear(tree);
    },
    open: async (chosen) => {
      cid = chosen.id;
      learnServerClock(chosen.phases);
      showContext(context, chosen.name, current.displayName || unit || '', { id: 'unit-name' });
      await load();
      if (view) document.getElementById('unit-name').textContent = view.unit_name || current.displayName || unit;
    },
  });
}

/** Starts the page for a signed-in account of `role` ("province" or "ministry"); other accounts go to their home. */
export function startSelfAssessment(role) {
  current = api.requireSession(role);
  if (current) start();
}
