// A decision that needs a written reason (annulling or reinstating a unit's survey results, reopening a unit's
// self-assessment): a modal form with a required reason, the API call on submit, the server's field error
// beside the reason.

import { el } from '../lib/dom.js';
import { buildDialog, dialogIds, openDialog } from './dialog.js';
import {
  busy, clearFieldErrors, errorText, messageBox, setFieldError, show, showFieldErrors,
} from './messages.js';

function reasonForm(ids, { label, maxLength }) {
  const textarea = el('textarea', { id: ids.id(''), name: 'reason', rows: 4, maxlength: maxLength, required: true,
    'aria-required': 'true', 'aria-describedby': ids.id('hint') });
  const field = el('div', { class: 'field' },
    el('label', { for: textarea.id }, label),
    el('p', { class: 'hint', id: ids.id('hint') }, 'Lý do được ghi vào nhật ký và gửi kèm thông báo tới đơn vị. '
      + `Tối đa ${maxLength} ký tự.`),
    textarea);
  return { field, textarea, box: messageBox(ids.id('message')) };
}

/** The API refused the reason: its message beside the field (422), else in the dialog's box. */
function refused(error, { textarea, box }, onConflict) {
  if (error.status === 422) {
    const marked = showFieldErrors(error, { reason: textarea });
    if (!marked.length) setFieldError(textarea, errorText(error));
    textarea.focus();
    return;
  }
  show(box, 'error', errorText(error));
  if (error.status === 409 && onConflict) onConflict(); // someone else changed it: show the current state
}

/**
 * Opens the dialog. submit(reason) → a promise of the API's answer; onDone(answer) once it succeeded (the dialog
 * is closed by then); onConflict() on a 409. dataset: the dialog's data-* (e.g. {kind, unit}).
 */
export function reasonDialog({ title, body, label, maxLength, emptyMessage, confirmLabel, busyLabel, danger = true,
  dataset = null, submit, onDone, onConflict = null }) {
  const ids = dialogIds('reason');
  const parts = reasonForm(ids, { label, maxLength });
  const { textarea, box } = parts;
  const ok = el('button', { type: 'submit', class: danger ? 'primary danger' : 'primary' }, confirmLabel);
  const cancel = el('button', { type: 'button' }, 'Đóng');
  const form = el('form', { novalidate: true }, parts.field, box, el('div', { class: 'actions' }, ok, cancel));
  const dialog = buildDialog(ids, { title, body, content: form, className: 'dialog reason-dialog', dataset });
  cancel.addEventListener('click', () => dialog.close());
  dialog.addEventListener('close', () => dialog.remove());
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    clearFieldErrors(form);
    show(box, 'info', '');
    const reason = textarea.value.trim();
    if (!reason) {
      setFieldError(textarea, emptyMessage);
      textarea.focus();
      return;
    }
    let answer;
    try {
      answer = await busy(ok, busyLabel, () => submit(reason));
    } catch (error) {
      if (error.status !== 401) refused(error, parts, onConflict);
      return;
    }
    dialog.close();
    await onDone(answer);
  });
  openDialog(dialog, { focus: textarea });
}
