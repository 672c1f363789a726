// Login page: POST /auth/login, then the account's home (or the password page when a change is required).
import * as api from '../lib/api.js';
import { busy, clearFieldErrors, errorText, markProblems, show, showFieldErrors } from '../components/messages.js';
import { holdButton, throttleOf, throttleText } from '../components/throttle.js';

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
  show(box, 'error', flash);
}

form.addEventListener('submit', async (event) => {
  event.preventDefault();
  clearFieldErrors(form);
  show(box, 'info', '');
  const missing = [];
  if (!username.value.trim()) missing.push([username, 'Vui lòng nhập tên đăng nhập.']);
  if (!password.value) missing.push([password, 'Vui lòng nhập mật khẩu.']);
  if (markProblems(missing)) return;
  try {
    const result = await busy(button, 'Đang đăng nhập…', () => api.login(username.value.trim(), password.value));
    show(box, 'success', 'Đăng nhập thành công. Đang chuyển trang…');
    window.location.assign(destination(result));
  } catch (error) {
    // The typed password stays (selected, so that typing replaces it): after a wait it may well be the right one.
    const limits = throttleOf(error);
    const marked = error.status === 429 ? [] : showFieldErrors(error, { username, password });
    show(box, 'error', [errorText(error), throttleText(limits, error.status)].filter(Boolean).join(' '));
    if (limits.wait > 0) {
      holdButton(button, limits.wait, () => show(box, 'info', 'Đã hết thời gian chờ. Bạn có thể đăng nhập lại.'));
    }
    const target = marked[0] || password;
    target.focus();
    if (target === password) password.select();
  }
});
