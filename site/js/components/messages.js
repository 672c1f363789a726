// Messages and field errors: a message box with its live regions, errors beside their inputs, API errors on a
// form, busy buttons.

import { MESSAGES } from '../lib/api.js';
import { el } from '../lib/dom.js';

/**
 * A message box holds two live regions: role="alert" for errors and role="status" for the rest.
 * show(box, 'error' | 'success' | 'info', text)
 */
export function show(box, kind, text) {
  const alert = box.querySelector('[role="alert"]');
  const status = box.querySelector('[role="status"]');
  alert.textContent = '';
  status.textContent = '';
  box.dataset.kind = text ? kind : '';
  if (text) (kind === 'error' ? alert : status).textContent = text;
}

export function messageBox(id) {
  return el('div', { class: 'message', id },
    el('p', { role: 'alert', class: 'message-text' }),
    el('p', { role: 'status', class: 'message-text' }));
}

export function errorText(error) {
  return (error && error.message) || MESSAGES.badResponse;
}

/** Shows an API error in a box, unless it is a 401 (the page is already on its way to the login page). */
export function showError(box, error) {
  if (error.status !== 401) show(box, 'error', errorText(error));
}

function describedBy(input, id, on) {
  const ids = (input.getAttribute('aria-describedby') || '').split(/\s+/).filter(Boolean)
    .filter((x) => x !== id);
  if (on) ids.push(id);
  if (ids.length) input.setAttribute('aria-describedby', ids.join(' '));
  else input.removeAttribute('aria-describedby');
}

/** Field error beside an input: text in #<input id>-error, aria-invalid, tied with aria-describedby. */
export function setFieldError(input, message) {
  const id = `${input.id}-error`;
  let node = document.getElementById(id);
  if (!node) {
    node = el('p', { id, class: 'field-error' });
    input.insertAdjacentElement('afterend', node);
  }
  node.textContent = message || '';
  node.hidden = !message;
  if (message) input.setAttribute('aria-invalid', 'true');
  else input.removeAttribute('aria-invalid');
  describedBy(input, id, Boolean(message));
}

export function clearFieldErrors(form) {
  for (const input of form.querySelectorAll('[aria-invalid="true"]')) setFieldError(input, '');
}

/** Marks every [input, message] of `problems` and focuses the first; false when there are none. */
export function markProblems(problems) {
  if (!problems.length) return false;
  for (const [input, message] of problems) setFieldError(input, message);
  problems[0][0].focus();
  return true;
}

/**
 * Shows an ApiError's field details beside the inputs (fieldMap: API field name → input element).
 * Returns the inputs marked, in form order, so the caller can focus the first.
 */
export function showFieldErrors(error, fieldMap) {
  const marked = [];
  const byField = error && typeof error.fieldErrors === 'function' ? error.fieldErrors() : {};
  for (const [field, message] of Object.entries(byField)) {
    const input = fieldMap[field];
    if (input) {
      setFieldError(input, message);
      marked.push(input);
    }
  }
  marked.sort((a, b) => (a.compareDocumentPosition(b) & Node.DOCUMENT_POSITION_FOLLOWING ? -1 : 1));
  return marked;
}

/**
 * An API error on a form: field details beside their inputs (focus on the first), the rest in the message box.
 * When every detail found its field, the box only says that the form needs fixing.
 */
export function reportError(box, error, fieldMap = {}) {
  const marked = showFieldErrors(error, fieldMap);
  if (marked.length) {
    const count = marked.length;
    show(box, 'error', count === 1 ? `Chưa lưu được: ${marked[0].labels?.[0]?.textContent || 'một ô'} chưa hợp lệ. `
      + 'Vui lòng sửa ô được đánh dấu.' : `Chưa lưu được: ${count} ô chưa hợp lệ. Vui lòng sửa các ô được đánh dấu.`);
    marked[0].focus();
  } else {
    show(box, 'error', errorText(error));
  }
  return marked;
}

/** Disables a button while `work` runs, with a busy label. */
export async function busy(button, label, work) {
  const original = button.textContent;
  button.disabled = true;
  button.setAttribute('aria-busy', 'true');
  button.textContent = label;
  try {
    return await work();
  } finally {
    button.disabled = false;
    button.removeAttribute('aria-busy');
    button.textContent = original;
  }
}
