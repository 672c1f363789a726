// Password change: current, new, repeat; the repeat is checked here, the rules by the server.
import * as api from '../lib/api.js';
import { serverNow } from '../lib/clock.js';
import { formatDateTime } from '../lib/format.js';
import { mountAccount } from '../components/account.js';
import { busy, clearFieldErrors, errorText, markProblems, show, showFieldErrors } from '../components/messages.js';
import { holdButton, throttleOf, throttleText } from '../components/throttle.js';

const current = api.requireSession();
if (current) {
  mountAccount(current);
  document.getElementById('back-link').href = api.homeFor(current.role);
  document.getElementById('who').textContent = current.username || '';
  document.getElementById('must-change').hidden = !current.mustChangePassword;

  const form = document.getElementById('password-form');
  const fields = {
    current_password: document.getElementById('current_password'),
    new_password: document.getElementById('new_password'),
    repeat_password: document.getElementById('repeat_password'),
  };
  const button = document.getElementById('password-button');
  const box = document.getElementById('password-message');

  // Validates the session early, so an expired one goes back to the login page before the user types.
  api.me().then((me) => { document.getElementById('who').textContent = me.username; }).catch((error) => {
    if (error.status !== 401) show(box, 'error', errorText(error));
  });

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    clearFieldErrors(form);
    show(box, 'info', '');
    const problems = [];
    if (!fields.current_password.value) problems.push([fields.current_password, 'Vui lòng nhập mật khẩu hiện tại.']);
    if (!fields.new_password.value) problems.push([fields.new_password, 'Vui lòng nhập mật khẩu mới.']);
    if (!fields.repeat_password.value) {
      problems.push([fields.repeat_password, 'Vui lòng nhập lại mật khẩu mới.']);
    } else if (fields.new_password.value !== fields.repeat_password.value) {
      problems.push([fields.repeat_password, 'Mật khẩu nhập lại không khớp với mật khẩu mới.']);
    }
    if (problems.length) {
      show(box, 'error', problems.length === 1 ? problems[0][1] : 'Vui lòng kiểm tra các ô được đánh dấu.');
      markProblems(problems);
      return;
    }
    try {
      await busy(button, 'Đang lưu…', () => api.changePassword(fields.current_password.value,
        fields.new_password.value));
      form.reset();
      show(box, 'success', `Đã đổi mật khẩu lúc ${formatDateTime(serverNow())}. `
        + 'Các phiên đăng nhập khác của tài khoản này đã được đăng xuất.');
      document.getElementById('must-change').hidden = true;
    } catch (error) {
      // The server names the field without its own text: the field shows the message, the box repeats it.
      // A wrong current password is throttled like a login: the same countdown and warning, the typed text kept.
      const marked = error.status === 429 ? [] : showFieldErrors(error, fields);
      const limits = throttleOf(error);
      show(box, 'error', [errorText(error), throttleText(limits, error.status)].filter(Boolean).join(' '));
      if (limits.wait > 0) {
        holdButton(button, limits.wait, () => show(box, 'info', 'Đã hết thời gian chờ. Bạn có thể thử lại.'));
      }
      if (marked[0]) marked[0].focus();
      else if (error.status === 429) fields.current_password.focus();
    }
  });
}
