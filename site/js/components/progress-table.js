// The respondents' progress table: each person's questionnaire links and their states, with filters (group,
// status, agency, search), offset paging and, where reminders can be sent, a checkbox per person not done.

import * as api from '../lib/api.js';
import { byIds, clear, el, emailText } from '../lib/dom.js';
import { formatDateTime, formatNumber } from '../lib/format.js';
import { PROGRESS_FILTERS, QUESTIONNAIRES } from '../lib/labels.js';
import { linkBadge } from './badges.js';
import { emptyRow, groupOptions, latestLoader, searchBoxes, shownRange } from './paged-table.js';

function linkTimes(link) {
  const parts = [];
  if (link.sent_at) parts.push(`gửi ${formatDateTime(link.sent_at)}`);
  if (link.opened_at) parts.push(`mở ${formatDateTime(link.opened_at)}`);
  if (link.submitted_at) parts.push(`trả lời ${link.submitted_at_label || formatDateTime(link.submitted_at)}`);
  if (link.reminders) parts.push(`đã nhắc ${link.reminders} lần`);
  return parts.join(' · ');
}

/** Whether a respondent still has a questionnaire to answer. */
export function pending(person) {
  return (person.links || []).some((l) => l.state !== 'submitted');
}

function linkList(person) {
  return el('ul', { class: 'link-statuses' }, (person.links || []).map((link) => el('li', {
    dataset: { purpose: link.purpose, state: link.state } },
  el('span', { class: 'link-purpose' }, link.purpose_name || QUESTIONNAIRES[link.purpose] || link.purpose),
  ' ', linkBadge(link.state, link.state_name),
  linkTimes(link) ? el('span', { class: 'link-times muted' }, linkTimes(link)) : null,
  link.delivery_name && link.state !== 'submitted'
    ? el('span', { class: 'link-delivery muted', dataset: { delivery: link.delivery } }, `Thư: ${link.delivery_name}`)
    : null,
  link.problem ? el('span', { class: 'link-problem' }, link.problem) : null)));
}

function personRow(person, check, actionNodes) {
  return el('tr', { dataset: { rid: person.rid } },
    check,
    el('td', { class: 'code' }, String(person.order)),
    el('th', { scope: 'row' }, person.full_name),
    el('td', {}, person.position || '—'),
    el('td', {}, person.agency || '—'),
    el('td', {}, person.group_name || person.group),
    el('td', { class: 'email' }, emailText(person.email)),
    el('td', { class: 'links-cell' }, linkList(person)),
    actionNodes ? el('td', { class: 'row-actions' }, actionNodes) : null);
}

/**
 * The chosen respondents (rid → name) and the checkboxes of the page shown, with the header's box `all` (null when
 * the table has none); onSelect(Map) on every change.
 */
function selection(all, onSelect) {
  const selected = new Map();
  const names = new Map();
  let boxes = [];
  function changed() {
    if (all) {
      const open = boxes.filter((b) => !b.disabled);
      const on = open.filter((b) => b.checked).length;
      all.checked = open.length > 0 && on === open.length;
      all.indeterminate = on > 0 && on < open.length;
      all.disabled = !open.length;
    }
    if (onSelect) onSelect(selected);
  }
  function cell(person) {
    const box = el('input', { type: 'checkbox', class: 'pick', value: person.rid,
      'aria-label': `Chọn ${person.full_name}`, disabled: !pending(person), checked: selected.has(person.rid) });
    box.addEventListener('change', () => {
      if (box.checked) selected.set(person.rid, person.full_name);
      else selected.delete(person.rid);
      changed();
    });
    boxes.push(box);
    names.set(person.rid, person.full_name);
    return el('td', { class: 'pick-cell' }, box);
  }
  if (all) {
    all.addEventListener('change', () => {
      for (const box of boxes.filter((b) => !b.disabled)) {
        box.checked = all.checked;
        if (box.checked) selected.set(box.value, names.get(box.value) ?? box.value);
        else selected.delete(box.value);
      }
      changed();
    });
  }
  return { selected, changed, cell,
    newPage() {
      boxes = [];
      names.clear();
    },
    clear() {
      selected.clear();
      for (const box of boxes) box.checked = false;
      changed();
    } };
}

function countText(data, people, filtered) {
  const first = (data.offset || 0) + 1;
  const shown = people.length ? `; đang hiển thị ${shownRange(first, people.length)}` : '';
  return filtered
    ? `Có ${formatNumber(data.matched)} người phù hợp (trong ${formatNumber(data.people_total)} người)${shown}.`
    : `Có ${formatNumber(data.people_total || 0)} người nhận phiếu${shown}.`;
}

function emptyText(data, filtered) {
  if (!data.people_total) return 'Chưa phát hành phiếu khảo sát cho đơn vị nên chưa có người nhận nào.';
  return filtered ? 'Không có người nào phù hợp với điều kiện lọc.' : 'Không còn người nào.';
}

function filterControls(groups) {
  const n = byIds({ group: 'pp-group', status: 'pp-status', agency: 'pp-agency', search: 'pp-q' });
  groupOptions(n.group, groups);
  clear(n.status).append(el('option', { value: '' }, 'Tất cả trạng thái'),
    ...Object.entries(PROGRESS_FILTERS).map(([value, name]) => el('option', { value }, name)));
  return {
    ...n,
    values: () => ({ group: n.group.value, status: n.status.value, agency: n.agency.value.trim(),
      q: n.search.value.trim() }),
    filtered: () => Boolean(n.group.value || n.status.value || n.agency.value.trim() || n.search.value.trim()),
    watch(reset) {
      n.group.addEventListener('change', reset);
      n.status.addEventListener('change', reset);
      searchBoxes([n.agency, n.search], reset);
    },
  };
}

/**
 * The page supplies the elements by id: #pp-group, #pp-status, #pp-agency, #pp-q, #pp-table, #pp-count, #pp-prev,
 * #pp-next, #pp-page (and #pp-all, the header checkbox, when `selectable`).
 * selectable: a checkbox per respondent who has not answered; onSelect(Map rid → name) on every change.
 * actions(person) → nodes for the last cell. onLoaded(data) gets every answer (its totals and by_group too).
 */
export function progressBrowser({ cid, unit, groups, limit = 50, selectable = false, onSelect = null,
  actions = null, onLoaded = null, onError = null }) {
  const n = byIds({ table: 'pp-table', count: 'pp-count', prev: 'pp-prev', next: 'pp-next', pageInfo: 'pp-page' });
  const body = n.table.querySelector('tbody');
  const filters = filterControls(groups);
  const picks = selection(selectable ? document.getElementById('pp-all') : null, onSelect);
  let offset = 0;
  let last = null;
  const fetchPage = latestLoader(n.table, () => api.unitProgress(cid, unit, { ...filters.values(), offset, limit }),
    onError);

  function render(data) {
    const people = data.people || [];
    n.table.removeAttribute('aria-busy');
    picks.newPage();
    // The action column ("Thao tác", the header's last cell) only while someone on the page has something to do.
    const made = people.map((p) => (actions ? actions(p) : []));
    const header = actions ? n.table.querySelector('thead tr th:last-child') : null;
    if (header) header.hidden = !made.some((nodes) => nodes && nodes.length);
    clear(body).append(...(people.length
      ? people.map((p, i) => personRow(p, selectable ? picks.cell(p) : null, header && !header.hidden ? made[i] : null))
      : [emptyRow(n.table, emptyText(data, filters.filtered()))]));
    n.count.textContent = countText(data, people, filters.filtered());
    n.prev.disabled = offset === 0;
    n.next.disabled = offset + limit >= (data.matched || 0);
    const pages = Math.max(1, Math.ceil((data.matched || 0) / limit));
    n.pageInfo.textContent = `Trang ${Math.floor(offset / limit) + 1}/${pages}`;
    picks.changed();
  }

  async function load() {
    const got = await fetchPage();
    if (!got) return null;
    const data = got.data;
    if (!(data.people || []).length && offset > 0 && data.matched) { // fewer people match than before
      offset = Math.max(0, Math.floor((data.matched - 1) / limit) * limit);
      return load();
    }
    last = data;
    render(data);
    if (onLoaded) onLoaded(data);
    return data;
  }

  function reset() {
    offset = 0;
    return load();
  }

  n.prev.addEventListener('click', () => {
    offset = Math.max(0, offset - limit);
    load();
  });
  n.next.addEventListener('click', () => {
    offset += limit;
    load();
  });
  filters.watch(reset);
  return { load, reset, reload: load, last: () => last, selected: () => picks.selected, clearSelection: picks.clear };
}
