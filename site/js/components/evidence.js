// Evidence files on a page: one file as a link with its size and upload time, a leaf's list of them.

import { el } from '../lib/dom.js';
import { formatDateTime, formatSize } from '../lib/format.js';

/** One evidence file as a link (a short-lived presigned download) with its size and upload time. */
export function evidenceLink(item) {
  const facts = [formatSize(item.size)];
  if (item.uploaded_at) facts.push(`tải lên ${formatDateTime(item.uploaded_at)}`);
  return [
    item.url ? el('a', { href: item.url, target: '_blank', rel: 'noopener', class: 'evidence-file' }, item.filename)
      : el('span', { class: 'evidence-file' }, item.filename),
    ' ', el('span', { class: 'muted evidence-meta' }, `(${facts.join(', ')})`),
  ];
}

/** The evidence list of a leaf; `remove(item)` (when given) adds a "Gỡ" button to each file. */
export function evidenceList(items, { remove = null, label = '' } = {}) {
  if (!items || !items.length) return el('p', { class: 'muted evidence-none' }, 'Chưa có tài liệu kiểm chứng.');
  return el('ul', { class: 'evidence-files' }, items.map((item) => el('li', { dataset: { evidence: item.id } },
    evidenceLink(item),
    remove ? el('button', { type: 'button', class: 'small danger-outline',
      'aria-label': `Gỡ tài liệu ${item.filename}${label ? ` khỏi ${label}` : ''}`,
      onclick: () => remove(item) }, 'Gỡ') : null)));
}
