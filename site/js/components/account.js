// The account header of every signed-in page: who is signed in, Trang chính, Đổi mật khẩu, Đăng xuất.

import * as api from '../lib/api.js';
import { clear, el } from '../lib/dom.js';

/** Fills #account in the page header: who is signed in, Đổi mật khẩu, Đăng xuất. */
export function mountAccount(current, { home = true } = {}) {
  const box = document.getElementById('account');
  if (!box) return;
  const logout = el('button', { type: 'button', class: 'link-button' }, 'Đăng xuất');
  logout.addEventListener('click', async () => {
    logout.disabled = true;
    await api.logout();
    window.location.assign(api.LOGIN_PAGE);
  });
  clear(box).append(
    el('span', { class: 'account-name', id: 'account-name' }, current.displayName || current.username || ''),
    el('nav', { class: 'account-actions', 'aria-label': 'Tài khoản' },
      home ? el('a', { href: api.homeFor(current.role) }, 'Trang chính') : null,
      el('a', { href: '/doi-mat-khau.html' }, 'Đổi mật khẩu'),
      logout),
  );
}
