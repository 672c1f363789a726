// Login throttling guidance: what a refused password's answer says about the attempts left and the wait, a
// countdown on the submit button while the server asks to wait, and the warning before the next wait.

/** {wait, left, after} from a 401/422 (wrong password) or 429 (must wait) answer; null fields when unknown. */
export function throttleOf(error) {
  const details = (error && Array.isArray(error.details)) ? error.details : [];
  const item = details.find((d) => d && typeof d === 'object' && ('attempts_left' in d || 'retry_after' in d)) || {};
  const int = (value) => (Number.isInteger(value) && value >= 0 ? value : null);
  let wait = int(item.retry_after) || 0;
  if (error && error.status === 429) wait = Math.max(wait, int(error.retryAfter) || 0, 1);
  return { wait, left: int(item.attempts_left), after: int(item.attempts_after_wait) };
}

/** The sentence added to a refusal: attempts left before a wait, or the wait (a 429's own message names it). */
export function throttleText({ wait, left, after }, status) {
  if (wait > 0) {
    const then = after ? ` Sau khi chờ, còn ${after} lần thử trước khi phải chờ lâu hơn.` : '';
    const lead = status === 429 ? '' : `Lần thử tiếp theo phải chờ ${wait} giây. `;
    return `${lead}Mật khẩu đã nhập vẫn được giữ.${then}`;
  }
  if (left !== null && left > 0) return `Còn ${left} lần thử trước khi phải chờ.`;
  return '';
}

const timers = new WeakMap();

/**
 * Disables `button` for `seconds`, its label counting down ("Đăng nhập (chờ 5 giây)"); then enables it and calls
 * `done`. A new hold replaces a running one.
 */
export function holdButton(button, seconds, done = () => {}) {
  const running = timers.get(button);
  if (running) clearInterval(running.id);
  const label = running ? running.label : button.textContent;
  const end = Date.now() + seconds * 1000;
  button.disabled = true;
  button.dataset.waiting = 'true';
  const tick = () => {
    const left = Math.ceil((end - Date.now()) / 1000);
    if (left > 0) {
      button.textContent = `${label} (chờ ${left} giây)`;
      return;
    }
    clearInterval(timers.get(button).id);
    timers.delete(button);
    button.textContent = label;
    button.disabled = false;
    delete button.dataset.waiting;
    done();
  };
  timers.set(button, { id: setInterval(tick, 250), label });
  tick();
}
