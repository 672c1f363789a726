// A phase on a page: live countdowns to its deadline, its deadline with state badges, a unit's list of phases.

import { currentState, serverNow } from '../lib/clock.js';
import { clear, el } from '../lib/dom.js';
import { formatDateTime, formatRemaining } from '../lib/format.js';
import { extendedBadge, stateBadge } from './badges.js';

const countdowns = new Set();
let ticker = null;

function tick() {
  const now = serverNow();
  for (const item of countdowns) {
    if (!item.node.isConnected) {
      countdowns.delete(item);
      continue;
    }
    const left = item.closesAt - now;
    if (left <= 0) {
      countdowns.delete(item);
      item.node.textContent = 'Đã hết thời hạn';
      if (item.onExpire) item.onExpire();
    } else {
      item.node.textContent = formatRemaining(left);
    }
  }
  if (!countdowns.size && ticker) {
    clearInterval(ticker);
    ticker = null;
  }
}

/** A live "Còn … " text until `closesAt`; `onExpire` runs once when it reaches zero. */
export function countdown(closesAt, onExpire = null) {
  const node = el('span', { class: 'countdown', role: 'timer' });
  countdowns.add({ node, closesAt: Date.parse(closesAt), onExpire });
  if (!ticker) ticker = setInterval(tick, 1000);
  queueMicrotask(tick);
  return node;
}

/** The assessment's phase: a deadline label, a state badge and, while open, a live countdown. */
export function phaseFacts(phase, onExpire = null) {
  if (!phase) return ['—'];
  const state = currentState(phase);
  const parts = [el('span', {}, phase.deadline_label || formatDateTime(phase.closes_at)), ' ', stateBadge(state)];
  if (phase.extended) parts.push(' ', extendedBadge());
  if (state === 'open') parts.push(' ', countdown(phase.closes_at, onExpire));
  return parts;
}

/** Fills `node` with a phase's deadline, badges and countdown; again, with `onExpire` after it, when it ends. */
export function renderDeadline(node, phase, onExpire = null) {
  clear(node);
  if (!phase) {
    node.textContent = '—';
    return;
  }
  const state = currentState(phase);
  node.append(el('span', {}, phase.deadline_label), ' ', stateBadge(state),
    ...(phase.extended ? [' ', extendedBadge()] : []));
  if (state === 'open') {
    node.append(' ', countdown(phase.closes_at, () => {
      renderDeadline(node, phase, onExpire);
      if (onExpire) onExpire();
    }));
  }
}

/** One phase as a list item of a unit's home: name, state badges, opening day and deadline, and a live countdown
 * while open (`onExpire` runs when it ends). */
export function phaseItem(phase, onExpire = null) {
  const state = phase.state;
  const badges = el('span', { class: 'badges' }, stateBadge(state), phase.extended ? extendedBadge() : null);
  const facts = el('dl', { class: 'facts' },
    el('div', {}, el('dt', {}, 'Mở từ ngày'), el('dd', {}, phase.opens_label)),
    el('div', {}, el('dt', {}, 'Thời hạn'), el('dd', {}, phase.deadline_label)));
  let remaining = null;
  if (state === 'open') {
    remaining = el('p', { class: 'remaining' }, countdown(phase.closes_at, onExpire));
  } else if (state === 'upcoming') {
    remaining = el('p', { class: 'remaining muted' }, `Chưa mở, mở từ ngày ${phase.opens_label}`);
  }
  return el('li', { class: `phase phase-${state}`, dataset: { phase: phase.code, state } },
    el('div', { class: 'phase-head' }, el('h3', {}, phase.name), badges),
    facts, remaining);
}

/** Fills a unit's <ol> of phases (the ones the server says concern it) and marks it loaded. */
export function renderPhaseList(list, phases, onExpire = null) {
  clear(list).append(...phases.map((p) => phaseItem(p, onExpire)));
  list.removeAttribute('aria-busy');
}
