// A unit's changes of respondents' addresses after dispatch (direct corrections of failed deliveries and requests to
// the ministry), as a table: when, who, the addresses masked, the reason, the state and, for the ministry, the
// buttons that approve or refuse a pending request.

import { clear, el } from '../lib/dom.js';
import { formatDateTime } from '../lib/format.js';

function when(at, label) {
  return at ? el('time', { datetime: at }, label || formatDateTime(at)) : '—';
}

function address(value) {
  if (!value) return '—';
  return el('span', { class: 'masked-email', title: `Dấu vân tay: ${value.fingerprint}` }, value.masked);
}

function stateCell(change) {
  const parts = [el('span', { class: `badge change-${change.state}` }, change.state_name || change.state)];
  if (change.decided_at) {
    parts.push(' ', el('span', { class: 'muted' }, 'lúc ', when(change.decided_at, change.decided_at_label),
      change.decided_by ? ` (${change.decided_by})` : ''));
  }
  if (change.reissued) parts.push(el('p', { class: 'muted' }, `Đã gửi lại ${change.reissued} phiếu.`));
  if (change.decision_note) parts.push(el('p', {}, `Ý kiến của Bộ: ${change.decision_note}`));
  return parts;
}

function linksText(change) {
  return (change.links || []).map((l) => `${l.purpose_name || l.purpose}: ${l.state_name || l.state}`).join('; ');
}

/**
 * Fills `table` (thead given by the page; tbody filled here) with the changes. actions(change) → nodes for the last
 * cell (null: the table has no action column). `empty`: the text when there are none.
 */
export function renderAddressChanges(table, items, { actions = null, empty = 'Chưa có lần đổi email nào.' } = {}) {
  const body = table.querySelector('tbody');
  table.removeAttribute('aria-busy');
  // The action column ("Thao tác", the header's last cell) only while some row has something to do.
  const made = items.map((c) => (actions ? actions(c) : []));
  const header = actions ? table.querySelector('thead tr th:last-child') : null;
  if (header) header.hidden = !made.some((nodes) => nodes && nodes.length);
  const columns = table.querySelectorAll('thead th:not([hidden])').length || 6;
  if (!items.length) {
    clear(body).append(el('tr', {}, el('td', { colspan: String(columns), class: 'empty' }, empty)));
    return;
  }
  clear(body).append(...items.map((c, i) => el('tr', { dataset: { change: c.id, state: c.state } },
    el('td', {}, when(c.requested_at, c.requested_at_label),
      el('p', { class: 'muted' }, c.kind_name || c.kind)),
    el('th', { scope: 'row' }, c.full_name, el('p', { class: 'muted' }, linksText(c))),
    el('td', {}, address(c.old), ' → ', address(c.new)),
    el('td', {}, c.reason || '—'),
    el('td', {}, c.requested_by || '—'),
    el('td', { class: 'change-state' }, stateCell(c)),
    header && !header.hidden ? el('td', { class: 'row-actions' }, made[i]) : null)));
}
