// Parts of the self-assessment pages shared by the province's scoring form and the ministry's appraisal: a score
// input, the assessment's state, the framework note, the unit's approval as facts.

import { clear, el } from '../lib/dom.js';
import { formatDateTime, formatScore } from '../lib/format.js';
import { assessmentBadge } from './badges.js';
import { evidenceLink } from './evidence.js';

/** A number input for a leaf's score: min 0, max, step = the leaf's step. */
export function scoreInput(id, leaf, value, attrs = {}) {
  return el('input', { id, type: 'number', inputmode: 'decimal', min: '0', max: String(leaf.max),
    step: leaf.step ? String(leaf.step) : 'any', class: 'score-input', autocomplete: 'off',
    value: value === null || value === undefined ? null : String(value), ...attrs });
}

/** The state badge with the time of the approval or of the lock. */
export function renderAssessmentState(node, view) {
  clear(node).append(assessmentBadge(view.state, view.state_label));
  if (view.state === 'approved' && view.approval && view.approval.approved_at) {
    node.append(' ', el('span', {}, `lúc ${formatDateTime(view.approval.approved_at)}`));
  } else if (view.state === 'locked' && view.locked_at) {
    node.append(' ', el('span', {}, `lúc ${formatDateTime(view.locked_at)}`));
  }
}

/** "Bộ tiêu chí: … (phiên bản …); tổng điểm tối đa: …." with the sample badge. */
export function renderFrameworkNote(node, framework) {
  const fw = framework || {};
  node.replaceChildren(`Bộ tiêu chí: ${fw.title || '—'}`, fw.version ? ` (phiên bản ${fw.version})` : '',
    `; tổng điểm tối đa: ${formatScore(fw.maximum)}.`,
    fw.sample ? ' ' : null, fw.sample ? el('span', { class: 'badge badge-sample' }, 'Bộ tiêu chí mẫu') : null);
}

function fact(label, value) {
  return el('div', {}, el('dt', {}, label), el('dd', {}, value));
}

/** The unit's approval (leader, decision, signed report) as a list of facts. */
export function approvalList(a) {
  return el('dl', { class: 'facts approval-facts' },
    fact('Lãnh đạo phê duyệt', a.leader_name),
    fact('Chức vụ', a.leader_position),
    fact('Số quyết định, văn bản', a.decision_number),
    fact('Ngày ký', a.decision_date),
    a.report ? fact('Báo cáo đã ký', el('span', {}, evidenceLink(a.report))) : null,
    a.approved_at ? fact('Phê duyệt trên phần mềm lúc', formatDateTime(a.approved_at)) : null);
}
