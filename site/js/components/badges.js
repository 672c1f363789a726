// Badges for states: a phase's, a roster's, a survey link's, an assessment's, a criterion's method.

import { el } from '../lib/dom.js';
import { ASSESSMENT_STATES, LINK_STATES, METHODS, PHASE_STATES, ROSTER_STATUS } from '../lib/labels.js';

export function stateBadge(state) {
  return el('span', { class: `badge badge-${state}` }, PHASE_STATES[state] || state);
}

export function extendedBadge() {
  return el('span', { class: 'badge badge-extended' }, 'đã gia hạn');
}

export function rosterBadge(status) {
  const state = status === 'submitted' ? 'submitted' : 'draft';
  return el('span', { class: `badge badge-roster-${state}` }, ROSTER_STATUS[state]);
}

export function linkBadge(state, name = null) {
  return el('span', { class: `badge badge-link badge-link-${state}`, dataset: { state } },
    name || LINK_STATES[state] || state);
}

export function assessmentBadge(state, label = null) {
  return el('span', { class: `badge badge-assess-${state}`, dataset: { state } },
    label || ASSESSMENT_STATES[state] || state);
}

export function methodBadge(node) {
  return el('span', { class: `badge badge-method badge-method-${node.method}` },
    node.method_label || METHODS[node.method] || node.method);
}
