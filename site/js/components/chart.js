// Horizontal bar charts of percentages as inline SVG (no library), each with its data as a visually hidden table.

import { el } from '../lib/dom.js';
import { formatPercent } from '../lib/format.js';

const SVG_NS = 'http://www.w3.org/2000/svg';
const PLOT = 0.8; // the share of the width the 100% bar takes; the rest holds the value labels
const LINE = 18;
const BAR = 18;
const GAP = 14;
const TOP = 4;

function svgEl(tag, attrs = {}, text = null) {
  const node = document.createElementNS(SVG_NS, tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value !== null && value !== undefined) node.setAttribute(key, String(value));
  }
  if (text !== null) node.textContent = String(text);
  return node;
}

/** Splits a label into at most two lines of about `width` characters, at a space. */
function wrapLabel(text, width = 44) {
  const value = String(text || '');
  if (value.length <= width) return [value];
  const cut = value.lastIndexOf(' ', width);
  const at = cut > width / 2 ? cut : width;
  const rest = value.slice(at).trim();
  return [value.slice(0, at).trim(), rest.length > width ? `${rest.slice(0, width - 1)}…` : rest];
}

/** One row's label lines, track, bar and value text from `y` down; returns the row and where the next starts. */
function barRow(row, y) {
  const value = Math.max(0, Math.min(100, Number(row.value) || 0));
  const lines = wrapLabel(row.label);
  const g = svgEl('g', { class: 'chart-row' });
  lines.forEach((line, i) => g.append(svgEl('text', { class: 'chart-label', x: 0, y: y + LINE * (i + 1) - 4 },
    line)));
  const barTop = y + LINE * lines.length + 2;
  g.append(svgEl('rect', { class: 'chart-track', x: 0, y: barTop, width: `${PLOT * 100}%`, height: BAR }));
  if (value > 0) {
    g.append(svgEl('rect', { class: 'chart-bar', x: 0, y: barTop, width: `${PLOT * value}%`, height: BAR,
      'data-value': value }));
  }
  g.append(svgEl('text', { class: 'chart-value', x: `${PLOT * value + 1}%`, y: barTop + BAR - 4 },
    row.text || formatPercent(value)));
  return { g, next: barTop + BAR + GAP };
}

/** The grid lines and the axis labels at 0, 25, 50, 75, 100 below the bars. */
function axis(grid, axisTop, tickLabel) {
  for (const tick of [0, 25, 50, 75, 100]) {
    const x = `${PLOT * tick}%`;
    grid.append(svgEl('line', { x1: x, x2: x, y1: TOP, y2: axisTop - 4, class: 'chart-gridline' }));
    grid.append(svgEl('text', { class: 'chart-axis', x, y: axisTop + 12,
      'text-anchor': tick === 0 ? 'start' : 'middle' }, tickLabel ? tickLabel(tick) : `${tick}%`));
  }
}

/** The chart's numbers as a table (as wide as its content whatever its width says: the hidden box clips it). */
function dataTable(id, { caption, head, rows, cells }) {
  return el('table', { id, class: 'chart-data' },
    el('caption', {}, caption),
    el('thead', {}, el('tr', {}, head.map((h) => el('th', { scope: 'col' }, h)))),
    el('tbody', {}, rows.map((row) => {
      const values = cells(row);
      return el('tr', {}, el('th', { scope: 'row' }, values[0]), values.slice(1).map((v) => el('td', {}, v)));
    })));
}

let chartSeq = 0;

/**
 * A horizontal bar chart of percentages as inline SVG, with its data as a visually hidden table.
 * The SVG is one image for assistive technology (role="img", aria-label); the table carries the numbers.
 * Widths are percentages of the SVG's own width, so text keeps its size on a phone.
 * barChart({label, rows: [{label, value 0..100, text}], caption, head: [..], cells: (row) => [..], empty, tick})
 * tick(n) labels the axis at 0, 25, 50, 75, 100 (percentages by default; points for an index out of 100).
 */
export function barChart({ label, rows, caption, head, cells, empty = 'Chưa có số liệu.', tick: tickLabel = null }) {
  chartSeq += 1;
  const tableId = `chart-data-${chartSeq}`;
  const figure = el('figure', { class: 'chart' });
  if (!rows.length) {
    figure.append(el('p', { class: 'empty' }, empty));
    return figure;
  }
  const svg = svgEl('svg', { role: 'img', 'aria-label': `${label}. Số liệu chi tiết ở bảng ngay sau biểu đồ.`,
    width: '100%', class: 'bar-chart', focusable: 'false' });
  const grid = svgEl('g', { class: 'chart-grid', 'aria-hidden': 'true' });
  const bars = svgEl('g');
  svg.append(grid, bars);
  let y = TOP;
  for (const row of rows) {
    const { g, next } = barRow(row, y);
    bars.append(g);
    y = next;
  }
  axis(grid, y, tickLabel);
  svg.setAttribute('height', String(y + 18));
  figure.append(svg, el('div', { class: 'visually-hidden' }, dataTable(tableId, { caption, head, rows, cells })));
  return figure;
}
