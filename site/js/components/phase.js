// A phase on a page: live countdowns to its deadline, and its deadline with state badges.

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
