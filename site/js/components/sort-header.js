// Sortable column headers (th[data-sort] with a button and a .sort-icon): the order in ?sap-xep=, aria-sort on
// the column, and the sentence that says how the table is sorted.

import { setParam } from '../lib/dom.js';

/**
 * sorts: key → {label, order: 'ascending' | 'descending', text}; onSort(key) after the user picks a column.
 * Returns {current(), mark(), countText(count, withSort)}.
 */
export function sortHeaders(table, sorts, fallback, onSort) {
  const wanted = new URLSearchParams(window.location.search).get('sap-xep');
  let sort = Object.hasOwn(sorts, wanted || '') ? wanted : fallback;
  const headers = [...table.querySelectorAll('th[data-sort]')];

  function mark() {
    for (const th of headers) {
      const on = th.dataset.sort === sort;
      if (on) th.setAttribute('aria-sort', sorts[sort].order);
      else th.removeAttribute('aria-sort');
      th.querySelector('.sort-icon').textContent = on ? (sorts[sort].order === 'ascending' ? '▲' : '▼') : '⇅';
    }
  }

  for (const th of headers) {
    th.querySelector('button').addEventListener('click', () => {
      sort = th.dataset.sort;
      setParam('sap-xep', sort);
      mark();
      onSort(sort);
    });
  }

  return {
    current: () => sort,
    mark,
    /** "63 đơn vị, sắp xếp theo tỷ lệ trả lời (cao xuống thấp)." — the order only right after a click. */
    countText(count, withSort) {
      const how = sorts[sort];
      return `${count} đơn vị${withSort ? `, sắp xếp theo ${how.label} (${how.text})` : ''}.`;
    },
  };
}
