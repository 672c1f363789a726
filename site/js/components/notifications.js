// A unit's notifications as a list (newest first, as the API sends them).

import * as api from '../lib/api.js';
import { clear, el } from '../lib/dom.js';
import { formatDateTime } from '../lib/format.js';
import { errorText } from './messages.js';

/** Fills a <ul> with a unit's notifications. */
export function renderNotifications(list, items) {
  clear(list);
  list.removeAttribute('aria-busy');
  if (!items.length) {
    list.append(el('li', { class: 'empty' }, 'Chưa có thông báo nào.'));
    return;
  }
  list.append(...items.map((n) => el('li', { class: `notification kind-${n.kind || 'info'}` },
    el('p', { class: 'notification-head' },
      el('strong', {}, n.title),
      ' ',
      el('time', { datetime: n.at, class: 'muted' }, n.at_label || formatDateTime(n.at))),
    el('p', {}, n.message))));
}

/** The list's place when the notifications could not be read: the error, as its only item. */
export function notificationsFailed(list, error) {
  clear(list).append(el('li', { class: 'empty' }, errorText(error)));
  list.removeAttribute('aria-busy');
}

/** Reads a unit's notifications into `list` (the error in their place when that fails). */
export async function loadNotifications(list, cid, unit) {
  try {
    const notes = await api.notifications(cid, unit);
    renderNotifications(list, notes.items || []);
  } catch (error) {
    notificationsFailed(list, error);
  }
}
