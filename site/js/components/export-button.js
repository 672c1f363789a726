// A button that asks the API for a workbook and downloads it from the short-lived link it answers with.

import { downloadFrom } from '../lib/dom.js';
import { busy, show, showError } from './messages.js';

/** ready() says whether the page has what the export needs; request() → {url, filename}. */
export function exportButton(button, box, { ready, request }) {
  button.addEventListener('click', async () => {
    if (!ready()) return;
    show(box, 'info', '');
    try {
      const file = await busy(button, 'Đang tạo tệp…', request);
      downloadFrom(file.url, file.filename);
      show(box, 'success', `Đã tạo tệp ${file.filename}; trình duyệt đang tải xuống.`);
    } catch (error) {
      showError(box, error);
    }
  });
}
