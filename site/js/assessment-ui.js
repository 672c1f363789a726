// Shared by the self-assessment pages (the province's scoring form, the ministry's appraisal, the results): the
// criteria tree and its totals, scores in Vietnamese notation, the assessment's state badge, score validation,
// evidence files (checks, the two-step presigned upload with a progress bar, the list with its links).
import * as api from './api.js';
import * as ui from './ui.js';

const { el } = ui;

// ---- numbers ---------------------------------------------------------------------------------------------

const scoreFormat = new Intl.NumberFormat('vi-VN', { maximumFractionDigits: 2 });
const indexFormat = new Intl.NumberFormat('vi-VN', { minimumFractionDigits: 2, maximumFractionDigits: 2 });

/** "12,5" / "0,25"; '—' when there is no score. */
export function formatScore(value) {
  if (value === null || value === undefined || value === '' || Number.isNaN(Number(value))) return '—';
  return scoreFormat.format(Number(value));
}

/** The index to two decimals, as the ministry publishes it: "91,80". */
export function formatIndex(value) {
  if (value === null || value === undefined || Number.isNaN(Number(value))) return '—';
  return indexFormat.format(Number(value));
}

/** "12,5/20" */
export function outOf(value, max) {
  return `${formatScore(value)}/${formatScore(max)}`;
}

/** Sums of multiples of 0.25 are exact in binary; other steps are rounded to what the page shows. */
function round(value) {
  return Math.round(value * 10000) / 10000;
}

// ---- the tree --------------------------------------------------------------------------------------------

export function isLeaf(node) {
  return !(node.children && node.children.length);
}

/** Every node, depth first, with its depth (a field is 0). */
export function* walk(nodes, depth = 0) {
  for (const node of nodes || []) {
    yield [node, depth];
    yield* walk(node.children, depth + 1);
  }
}

export function leaves(nodes) {
  return [...walk(nodes)].map(([node]) => node).filter(isLeaf);
}

/** An id-safe form of a code: "1.2.3" → "1-2-3". */
export function slug(code) {
  return String(code).replace(/[^A-Za-z0-9_-]+/g, '-');
}

/**
 * Totals of every parent node from its leaves: Map code → {total, max, counted}. `value(leaf)` gives a leaf's points
 * (null when it has none), `counts(leaf)` whether the leaf takes part (e.g. self-scored leaves only).
 */
export function totals(nodes, value, counts) {
  const out = new Map();
  function visit(node) {
    if (isLeaf(node)) {
      if (!counts(node)) return { total: 0, max: 0, counted: 0 };
      const v = value(node);
      return { total: v === null || v === undefined ? 0 : Number(v), max: Number(node.max) || 0,
        counted: v === null || v === undefined ? 0 : 1 };
    }
    const sum = { total: 0, max: 0, counted: 0 };
    for (const child of node.children) {
      const part = visit(child);
      sum.total += part.total;
      sum.max += part.max;
      sum.counted += part.counted;
    }
    sum.total = round(sum.total);
    sum.max = round(sum.max);
    out.set(node.code, sum);
    return sum;
  }
  const all = { total: 0, max: 0, counted: 0 };
  for (const field of nodes || []) {
    const part = visit(field);
    all.total += part.total;
    all.max += part.max;
    all.counted += part.counted;
  }
  all.total = round(all.total);
  all.max = round(all.max);
  out.set('', all);
  return out;
}

// ---- states and methods ----------------------------------------------------------------------------------

export const ASSESSMENT_STATES = {
  draft: 'Đang nhập',
  approved: 'Đã phê duyệt',
  locked: 'Đã khóa',
};

export function assessmentBadge(state, label = null) {
  return el('span', { class: `badge badge-assess-${state}`, dataset: { state } },
    label || ASSESSMENT_STATES[state] || state);
}

export const METHODS = {
  self: 'Tự chấm, thẩm định',
  survey: 'Điều tra xã hội học',
  imported: 'Nguồn khác (SIPAS, KT-XH…)',
};

export function methodBadge(node) {
  return el('span', { class: `badge badge-method badge-method-${node.method}` },
    node.method_label || METHODS[node.method] || node.method);
}

// ---- scores ----------------------------------------------------------------------------------------------

/** Whether `value` is a whole number of `step`s (with the tolerance decimal fractions need). */
function onStep(value, step) {
  if (!step) return true;
  const n = value / step;
  return Math.abs(n - Math.round(n)) < 1e-6;
}

/**
 * The score typed in a number input, checked against the leaf: {value: number | null (empty), error: text | null}.
 * The messages are the ones shown beside the input.
 */
export function readScore(input, leaf, { required = false } = {}) {
  const max = Number(leaf.max) || 0;
  const step = Number(leaf.step) || 0;
  if (input.validity && input.validity.badInput) {
    return { value: null, error: 'Điểm phải là một số, ví dụ 0,5.' };
  }
  const text = String(input.value || '').trim().replace(',', '.');
  if (!text) return { value: null, error: required ? 'Vui lòng nhập điểm.' : null };
  const value = Number(text);
  if (!Number.isFinite(value)) return { value: null, error: 'Điểm phải là một số, ví dụ 0,5.' };
  if (value < 0) return { value, error: 'Điểm không được nhỏ hơn 0.' };
  if (value > max + 1e-9) return { value, error: `Điểm không được lớn hơn điểm tối đa ${formatScore(max)}.` };
  if (!onStep(value, step)) {
    return { value, error: `Điểm phải là bội số của ${formatScore(step)} (ví dụ ${formatScore(step)}; `
      + `${formatScore(step * 2)}; ${formatScore(step * 3)}).` };
  }
  return { value, error: null };
}

/** "Từ 0 đến 2, bước 0,25." */
export function scoreHint(leaf) {
  const step = Number(leaf.step) || 0;
  return `Từ 0 đến ${formatScore(leaf.max)}${step ? `, bước ${formatScore(step)}` : ''}.`;
}

/** A number input for a leaf's score: min 0, max, step = the leaf's step. */
export function scoreInput(id, leaf, value, attrs = {}) {
  return el('input', { id, type: 'number', inputmode: 'decimal', min: '0', max: String(leaf.max),
    step: leaf.step ? String(leaf.step) : 'any', class: 'score-input', autocomplete: 'off',
    value: value === null || value === undefined ? null : String(value), ...attrs });
}

// ---- evidence --------------------------------------------------------------------------------------------

export const EVIDENCE_MAX_BYTES = 20 * 1024 * 1024;
const TYPES = {
  pdf: 'application/pdf',
  doc: 'application/msword',
  docx: 'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
  xls: 'application/vnd.ms-excel',
  xlsx: 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
  jpg: 'image/jpeg',
  jpeg: 'image/jpeg',
  png: 'image/png',
};
export const EVIDENCE_ACCEPT = Object.keys(TYPES).map((ext) => `.${ext}`).join(',');
export const EVIDENCE_KINDS = 'PDF, Word (.doc, .docx), Excel (.xls, .xlsx), ảnh JPEG hoặc PNG; tối đa 20 MB';

function extension(name) {
  const match = /\.([A-Za-z0-9]+)$/.exec(String(name || ''));
  return match ? match[1].toLowerCase() : '';
}

/** The file's type as the storage will be told: by its extension (Windows often gives none for Office files). */
export function contentTypeOf(file) {
  return TYPES[extension(file.name)] || file.type || 'application/octet-stream';
}

/** Why a file cannot be evidence, or null. */
export function evidenceProblem(file, maxBytes = EVIDENCE_MAX_BYTES) {
  if (!file) return 'Vui lòng chọn tệp.';
  if (!TYPES[extension(file.name)]) {
    return `Tệp “${file.name}” không đúng loại cho phép. Chỉ nhận ${EVIDENCE_KINDS}.`;
  }
  if (file.size === 0) return `Tệp “${file.name}” rỗng (0 byte). Vui lòng chọn lại.`;
  if (file.size > maxBytes) {
    return `Tệp “${file.name}” quá lớn (${ui.formatMegabytes(file.size)}); tối đa ${ui.formatMegabytes(maxBytes)}.`;
  }
  return null;
}

/**
 * Uploads one evidence file: the API hands out a presigned POST (checking the name, type and size), the browser
 * posts the file there with a progress bar. Resolves with the evidence id to send with the item (or the approval).
 */
export async function uploadEvidence(cid, unit, code, file, { onProgress = null } = {}) {
  const grant = await api.evidenceUpload(cid, unit, {
    code, filename: file.name, content_type: contentTypeOf(file), size: file.size });
  if (grant.max_bytes && file.size > grant.max_bytes) {
    throw new api.ApiError(413, evidenceProblem(file, grant.max_bytes));
  }
  await api.uploadToStorage(grant.url, grant.fields, file, { onProgress });
  return grant.evidence_id;
}

/** An upload progress bar (a labelled <progress>): {box, start(name), set(fraction | null), done()}. */
export function uploadProgress(id) {
  const label = el('label', { for: id }, 'Đang tải tệp lên…');
  const bar = el('progress', { id, max: '100', value: '0' });
  const box = el('div', { class: 'upload-progress', hidden: true }, label, bar);
  let name = '';
  return {
    box,
    start(fileName) {
      name = fileName;
      box.hidden = false;
      bar.value = 0;
      label.textContent = `Đang tải “${name}” lên… 0%`;
    },
    set(fraction) {
      if (fraction === null) {
        bar.removeAttribute('value');
        label.textContent = `Đang tải “${name}” lên…`;
        return;
      }
      const percent = Math.round(fraction * 100);
      bar.value = percent;
      label.textContent = `Đang tải “${name}” lên… ${percent}%`;
    },
    done() {
      box.hidden = true;
    },
  };
}

/** "1,2 MB" / "35 KB" */
export function formatSize(bytes) {
  const n = Number(bytes) || 0;
  if (n >= 1048576) return ui.formatMegabytes(n);
  return `${Math.max(1, Math.round(n / 1024)).toLocaleString('vi-VN')} KB`;
}

/** One evidence file as a link (a short-lived presigned download) with its size and upload time. */
export function evidenceLink(item) {
  const facts = [formatSize(item.size)];
  if (item.uploaded_at) facts.push(`tải lên ${ui.formatDateTime(item.uploaded_at)}`);
  return [
    item.url ? el('a', { href: item.url, target: '_blank', rel: 'noopener', class: 'evidence-file' }, item.filename)
      : el('span', { class: 'evidence-file' }, item.filename),
    ' ', el('span', { class: 'muted evidence-meta' }, `(${facts.join(', ')})`),
  ];
}

/** The evidence list of a leaf; `remove(item)` (when given) adds a "Gỡ" button to each file. */
export function evidenceList(items, { remove = null, label = '' } = {}) {
  if (!items || !items.length) return el('p', { class: 'muted evidence-none' }, 'Chưa có tài liệu kiểm chứng.');
  return el('ul', { class: 'evidence-files' }, items.map((item) => el('li', { dataset: { evidence: item.id } },
    evidenceLink(item),
    remove ? el('button', { type: 'button', class: 'small danger-outline',
      'aria-label': `Gỡ tài liệu ${item.filename}${label ? ` khỏi ${label}` : ''}`,
      onclick: () => remove(item) }, 'Gỡ') : null)));
}

/** The assessment's phase: a deadline label, a state badge and, while open, a live countdown. */
export function phaseFacts(phase, onExpire = null) {
  if (!phase) return ['—'];
  const state = ui.currentState(phase);
  const parts = [el('span', {}, phase.deadline_label || ui.formatDateTime(phase.closes_at)), ' ', ui.stateBadge(state)];
  if (phase.extended) parts.push(' ', ui.extendedBadge());
  if (state === 'open') parts.push(' ', ui.countdown(phase.closes_at, onExpire));
  return parts;
}
