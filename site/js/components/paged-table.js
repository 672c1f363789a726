// The parts the paged tables share (the roster, the respondents' progress): the group filter, search boxes that
// ask the server as the user types, the empty row, the "showing N–M" range, and loads where the newest answer wins.

import { clear, debounce, el } from '../lib/dom.js';
import { groupLabel } from '../lib/format.js';

/** Fills a group <select> with its groups after `first` (the "all" or "choose" option, value ''). */
export function groupOptions(select, groups, first = 'Tất cả các nhóm') {
  clear(select).append(el('option', { value: '' }, first),
    ...groups.map((g) => el('option', { value: g.code }, groupLabel(g))));
}

/** The per-group totals as a list: "1. Đại biểu HĐND cấp tỉnh: 3 người". */
export function groupCounts(counts) {
  return el('ul', { class: 'group-counts' }, (counts || []).map((c) => el('li', { dataset: { group: c.group } },
    el('span', { class: 'group-name' }, `${c.group}. ${c.name}`),
    el('strong', { class: 'group-count' }, `${c.count} người`))));
}

/** Text inputs that reload the table after a pause in typing, or at once on Enter. */
export function searchBoxes(inputs, reset) {
  const later = debounce(reset, 350);
  for (const input of inputs) {
    input.addEventListener('input', later);
    input.addEventListener('keydown', (event) => {
      if (event.key === 'Enter') {
        event.preventDefault();
        reset();
      }
    });
  }
}

export function emptyRow(table, text) {
  return el('tr', {}, el('td', { colspan: table.querySelectorAll('thead th:not([hidden])').length, class: 'empty' }, text));
}

/** "1–50" for the rows shown from `first`, "0" when there are none. */
export function shownRange(first, count) {
  return count ? `${first}–${first + count - 1}` : '0';
}

/**
 * A loader for `table`: fetchPage() with the table marked busy; resolves {data}, or null when a newer call
 * overtook it or it failed (then onError(error), the table no longer busy).
 */
export function latestLoader(table, fetchPage, onError) {
  let seq = 0;
  return async function run() {
    seq += 1;
    const mine = seq;
    table.setAttribute('aria-busy', 'true');
    try {
      const data = await fetchPage();
      return mine === seq ? { data } : null;
    } catch (error) {
      if (mine !== seq) return null;
      table.removeAttribute('aria-busy');
      if (onError) onError(error);
      return null;
    }
  };
}
