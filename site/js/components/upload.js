// An upload progress bar: a labelled <progress> that follows a file on its way to the storage.

import { el } from '../lib/dom.js';

/** {box, start(name), set(fraction | null), done()}; the box is hidden until start. */
export function uploadProgress(id) {
  const label = el('label', { for: id }, 'Đang tải tệp lên…');
  const bar = el('progress', { id, max: '100', value: '0' });
  const box = el('div', { class: 'upload-progress', hidden: true }, label, bar);
  let name = '';
  return {
    box,
    start(fileName) {
      name = fileName;
      box.hidden = false;
      bar.value = 0;
      label.textContent = `Đang tải “${name}” lên… 0%`;
    },
    set(fraction) {
      if (fraction === null) {
        bar.removeAttribute('value');
        label.textContent = `Đang tải “${name}” lên…`;
        return;
      }
      const percent = Math.round(fraction * 100);
      bar.value = percent;
      label.textContent = `Đang tải “${name}” lên… ${percent}%`;
    },
    done() {
      box.hidden = true;
    },
  };
}
