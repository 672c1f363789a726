// Login page: POST /auth/login, then the account's home (or the password page when a change is required).
import * as api from './api.js';
import * as ui from './ui.js';

const form = document.getElementById('login-form');
const username = document.getElementById('username');
const password = document.getElementById('password');
const button = document.getElementById('login-button');
const box = document.getElementById('login-message');

function destination(result) {
  return result.must_change_password ? '/doi-mat-khau.html' : api.homeFor(result.role);
}

const existing = api.session();
const flash = api.takeFlash();
if (existing && !flash) {
  window.location.replace(existing.mustChangePassword ? '/doi-mat-khau.html' : api.homeFor(existing.role));
} else if (flash) {
  ui.show(box, 'error', flash);
}

form.addEventListener('submit', async (event) => {
  event.preventDefault();
  ui.clearFieldErrors(form);
  ui.show(box, 'info', '');
  const missing = [];
  if (!username.value.trim()) missing.push([username, 'Vui lòng nhập tên đăng nhập.']);
  if (!password.value) missing.push([password, 'Vui lòng nhập mật khẩu.']);
  if (missing.length) {
    for (const [input, message] of missing) ui.setFieldError(input, message);
    missing[0][0].focus();
    return;
  }
  try {
    const result = await ui.busy(button, 'Đang đăng nhập…', () => api.login(username.value.trim(), password.value));
    ui.show(box, 'success', 'Đăng nhập thành công. Đang chuyển trang…');
    window.location.assign(destination(result));
  } catch (error) {
    password.value = '';
    const marked = ui.showFieldErrors(error, { username, password });
    ui.show(box, 'error', ui.errorText(error));
    (marked[0] || password).focus();
  }
});
