// The roster table with its group filter, search box (debounced) and Trang trước / Trang sau paging over the
// API's next_cursor (a stack of the cursors that opened each page).

import * as api from '../lib/api.js';
import { byIds, clear, el, emailText } from '../lib/dom.js';
import { QUESTIONNAIRES } from '../lib/labels.js';
import { emptyRow, groupOptions, latestLoader, searchBoxes, shownRange } from './paged-table.js';

function rosterRow(item, stt, actions) {
  const questionnaires = (item.questionnaires || []).map((q) => QUESTIONNAIRES[q] || q).join(', ');
  return el('tr', { dataset: { rid: item.rid } },
    el('td', { class: 'code' }, String(stt)),
    el('th', { scope: 'row' }, item.full_name),
    el('td', {}, item.position),
    el('td', {}, item.agency),
    el('td', {}, item.group_name || item.group),
    el('td', { class: 'email' }, emailText(item.email)),
    el('td', { class: 'nowrap' }, item.phone || '—'),
    el('td', {}, item.ministry || '—'),
    el('td', {}, questionnaires || '—'),
    actions ? el('td', { class: 'row-actions' }, actions(item, stt)) : null);
}

function countText(page, items, first, filtered) {
  const range = shownRange(first, items.length);
  return filtered
    ? `Kết quả lọc: đang hiển thị ${range}${page.next_cursor ? ' (còn trang sau)' : ''}. `
      + `Toàn bộ danh sách có ${page.total} người.`
    : `Danh sách có ${page.total} người${items.length ? `; đang hiển thị ${range}` : ''}.`;
}

/** The cursors that opened each page so far: back and forth over the API's next_cursor. */
function cursorStack() {
  let cursors = [''];
  let index = 0;
  let next = null;
  return {
    index: () => index,
    current: () => cursors[index],
    setNext(cursor) {
      next = cursor;
    },
    reset() {
      cursors = [''];
      index = 0;
    },
    back() {
      if (index === 0) return false;
      index -= 1;
      cursors = cursors.slice(0, index + 1);
      return true;
    },
    forward() {
      if (!next) return false;
      cursors = cursors.slice(0, index + 1);
      cursors.push(next);
      index += 1;
      return true;
    },
  };
}

/**
 * The page supplies the elements by id: #roster-group, #roster-q, #roster-table (tbody), #roster-count,
 * #roster-prev, #roster-next, #roster-page.
 * actions(item, stt) → nodes for the last cell (none: a read-only table). onLoaded(page) gets every answer.
 */
export function rosterBrowser({ cid, unit, groups, limit = 50, actions = null, onLoaded = null, onError = null }) {
  const n = byIds({ group: 'roster-group', search: 'roster-q', table: 'roster-table', count: 'roster-count',
    prev: 'roster-prev', next: 'roster-next', pageInfo: 'roster-page' });
  const body = n.table.querySelector('tbody');
  groupOptions(n.group, groups);
  const pages = cursorStack();
  let last = null;
  const filtered = () => Boolean(n.group.value || n.search.value.trim());
  const fetchPage = latestLoader(n.table, () => api.roster(cid, unit, {
    group: n.group.value, q: n.search.value.trim(), limit, cursor: pages.current() }), onError);

  function render(page) {
    const items = page.items || [];
    const first = pages.index() * limit + 1;
    n.table.removeAttribute('aria-busy');
    clear(body).append(...(items.length ? items.map((item, i) => rosterRow(item, first + i, actions))
      : [emptyRow(n.table, filtered() ? 'Không có người nào phù hợp với điều kiện lọc.'
        : 'Danh sách chưa có người nào.')]));
    n.count.textContent = countText(page, items, first, filtered());
    n.prev.disabled = pages.index() === 0;
    n.next.disabled = !page.next_cursor;
    n.pageInfo.textContent = `Trang ${pages.index() + 1}`;
  }

  async function load() {
    const got = await fetchPage();
    if (!got) return null;
    const page = got.data;
    if (!(page.items || []).length && pages.back()) return load(); // the last rows of this page were removed
    pages.setNext(page.next_cursor);
    last = page;
    render(page);
    if (onLoaded) onLoaded(page);
    return page;
  }

  function reset() {
    pages.reset();
    return load();
  }

  n.prev.addEventListener('click', () => {
    if (pages.back()) load();
  });
  n.next.addEventListener('click', () => {
    if (pages.forward()) load();
  });
  n.group.addEventListener('change', reset);
  searchBoxes([n.search], reset);
  return { load, reset, reload: load, last: () => last };
}
