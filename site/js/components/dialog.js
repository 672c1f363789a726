// Modal dialogs: opening one with the focus handled, and a confirmation built from text nodes.

import { el } from '../lib/dom.js';

/**
 * Opens a <dialog> modally (the rest of the page is inert, Escape closes it) and gives the focus back to what
 * had it when the dialog closes. `focus`: the element to start on (else the dialog's first field).
 */
export function openDialog(dialog, { focus = null } = {}) {
  const opener = document.activeElement;
  dialog.addEventListener('close', () => {
    if (opener && opener.isConnected && typeof opener.focus === 'function') opener.focus();
  }, { once: true });
  dialog.showModal();
  if (focus) focus.focus();
}

let dialogSeq = 0;

/** Ids unique on the page for one dialog's parts: dialogIds('confirm') → {seq, id(part)}. */
export function dialogIds(prefix) {
  dialogSeq += 1;
  const seq = dialogSeq;
  return { seq, id: (part) => (part ? `${prefix}-${part}-${seq}` : `${prefix}-${seq}`) };
}

/** A <dialog> with a title and a body, removed from the page once closed. */
export function buildDialog(ids, { title, body, content, className = 'dialog', dataset = null }) {
  const dialog = el('dialog', { class: className, 'aria-labelledby': ids.id('title'),
    'aria-describedby': ids.id('body'), dataset },
  el('h2', { id: ids.id('title') }, title),
  el('div', { id: ids.id('body'), class: 'dialog-body' }, body),
  content);
  document.body.append(dialog);
  return dialog;
}

/**
 * A confirmation dialog built from text nodes. Resolves true when the user confirms, false on Hủy or Escape.
 * confirmDialog({title, body: [nodes or strings], confirmLabel, cancelLabel, danger, focusCancel})
 */
export function confirmDialog({ title, body = [], confirmLabel = 'Đồng ý', cancelLabel = 'Hủy', danger = false,
  focusCancel = false }) {
  const ok = el('button', { type: 'button', class: danger ? 'primary danger' : 'primary' }, confirmLabel);
  const cancel = el('button', { type: 'button' }, cancelLabel);
  const actions = el('div', { class: 'actions' }, ok, cancel);
  const dialog = buildDialog(dialogIds('confirm'), { title, body, content: actions });
  return new Promise((resolve) => {
    let answer = false;
    ok.addEventListener('click', () => {
      answer = true;
      dialog.close();
    });
    cancel.addEventListener('click', () => dialog.close());
    dialog.addEventListener('close', () => {
      dialog.remove();
      resolve(answer);
    });
    openDialog(dialog, { focus: focusCancel ? cancel : ok });
  });
}
