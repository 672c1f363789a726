// The criteria tree of a self-assessment (fields → criteria → sub-criteria): walking it, its totals, and the
// checks of a typed score against a leaf.

import { formatScore } from './format.js';

/** Sums of multiples of 0.25 are exact in binary; other steps are rounded to what the page shows. */
function round(value) {
  return Math.round(value * 10000) / 10000;
}

export function isLeaf(node) {
  return !(node.children && node.children.length);
}

/** Every node, depth first, with its depth (a field is 0). */
export function* walk(nodes, depth = 0) {
  for (const node of nodes || []) {
    yield [node, depth];
    yield* walk(node.children, depth + 1);
  }
}

export function leaves(nodes) {
  return [...walk(nodes)].map(([node]) => node).filter(isLeaf);
}

/** An id-safe form of a code: "1.2.3" → "1-2-3". */
export function slug(code) {
  return String(code).replace(/[^A-Za-z0-9_-]+/g, '-');
}

function addTo(sum, part) {
  sum.total += part.total;
  sum.max += part.max;
  sum.counted += part.counted;
}

function rounded(sum) {
  sum.total = round(sum.total);
  sum.max = round(sum.max);
  return sum;
}

/**
 * Totals of every parent node from its leaves: Map code → {total, max, counted}. `value(leaf)` gives a leaf's points
 * (null when it has none), `counts(leaf)` whether the leaf takes part (e.g. self-scored leaves only).
 */
export function totals(nodes, value, counts) {
  const out = new Map();
  function visit(node) {
    if (isLeaf(node)) {
      if (!counts(node)) return { total: 0, max: 0, counted: 0 };
      const v = value(node);
      return { total: v === null || v === undefined ? 0 : Number(v), max: Number(node.max) || 0,
        counted: v === null || v === undefined ? 0 : 1 };
    }
    const sum = { total: 0, max: 0, counted: 0 };
    for (const child of node.children) addTo(sum, visit(child));
    out.set(node.code, rounded(sum));
    return sum;
  }
  const all = { total: 0, max: 0, counted: 0 };
  for (const field of nodes || []) addTo(all, visit(field));
  out.set('', rounded(all));
  return out;
}

/** Whether `value` is a whole number of `step`s (with the tolerance decimal fractions need). */
function onStep(value, step) {
  if (!step) return true;
  const n = value / step;
  return Math.abs(n - Math.round(n)) < 1e-6;
}

/**
 * The score typed in a number input, checked against the leaf: {value: number | null (empty), error: text | null}.
 * The messages are the ones shown beside the input.
 */
export function readScore(input, leaf, { required = false } = {}) {
  const max = Number(leaf.max) || 0;
  const step = Number(leaf.step) || 0;
  if (input.validity && input.validity.badInput) {
    return { value: null, error: 'Điểm phải là một số, ví dụ 0,5.' };
  }
  const text = String(input.value || '').trim().replace(',', '.');
  if (!text) return { value: null, error: required ? 'Vui lòng nhập điểm.' : null };
  const value = Number(text);
  if (!Number.isFinite(value)) return { value: null, error: 'Điểm phải là một số, ví dụ 0,5.' };
  if (value < 0) return { value, error: 'Điểm không được nhỏ hơn 0.' };
  if (value > max + 1e-9) return { value, error: `Điểm không được lớn hơn điểm tối đa ${formatScore(max)}.` };
  if (!onStep(value, step)) {
    return { value, error: `Điểm phải là bội số của ${formatScore(step)} (ví dụ ${formatScore(step)}; `
      + `${formatScore(step * 2)}; ${formatScore(step * 3)}).` };
  }
  return { value, error: null };
}

/** "Từ 0 đến 2, bước 0,25." */
export function scoreHint(leaf) {
  const step = Number(leaf.step) || 0;
  return `Từ 0 đến ${formatScore(leaf.max)}${step ? `, bước ${formatScore(step)}` : ''}.`;
}

/** Whether a typed score says the same as a saved one ("1,50" and 1.5 do; "" and null do). */
export function sameScore(typed, saved) {
  const savedText = saved === null || saved === undefined ? '' : String(saved);
  return typed === savedText || (typed !== '' && savedText !== '' && Number(typed) === Number(savedText));
}
