// DOM building from text only (never HTML from data), and the small browser chores every page shares.

/**
 * el('p', {class: 'x', dataset: {a: 1}, onclick: fn}, 'text', child, ...).
 * Strings become text nodes: data from the API can never turn into markup.
 */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key === 'class') node.className = value;
    else if (key === 'dataset') Object.assign(node.dataset, value);
    else if (key.startsWith('on') && typeof value === 'function') node.addEventListener(key.slice(2), value);
    else if (key === 'text') node.textContent = String(value);
    else if (value === true) node.setAttribute(key, '');
    else node.setAttribute(key, String(value));
  }
  append(node, children);
  return node;
}

function append(node, children) {
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

/**
 * An e-mail address as text with line-break opportunities (<wbr>) before "@" and each ".": a narrow column wraps
 * it between its parts ("nguyen.van.an" / "@hagiang.gov.vn"), never in a part (nor after a hyphen in one).
 */
export function emailText(address) {
  const parts = String(address || '').split(/(?=[@.])/u).map((part) => el('span', { class: 'nowrap' }, part));
  return parts.flatMap((part, i) => (i ? [document.createElement('wbr'), part] : [part]));
}

export function clear(node) {
  node.replaceChildren();
  return node;
}

/** The elements of a page by id: byIds({box: 'page-message'}) → {box: <the element>}. */
export function byIds(ids) {
  return Object.fromEntries(Object.entries(ids).map(([name, id]) => [name, document.getElementById(id)]));
}

export function setTitle(text) {
  document.title = `${text} — Chỉ số CCHC`;
}

/** fn after `ms` of quiet (e.g. a search box that asks the server as the user types). */
export function debounce(fn, ms = 350) {
  let timer = null;
  return (...args) => {
    clearTimeout(timer);
    timer = setTimeout(() => fn(...args), ms);
  };
}

/** Offers a Blob as a download under `filename` (the browser's own save flow). */
export function saveBlob(blob, filename) {
  const url = URL.createObjectURL(blob);
  const link = el('a', { href: url, download: filename, hidden: true });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60000);
}

/**
 * Downloads from a short-lived link the API handed out (an export on S3): the file's own Content-Disposition
 * names it, so the page stays where it is.
 */
export function downloadFrom(url, filename) {
  const link = el('a', { href: url, download: filename || true, rel: 'noopener', hidden: true });
  document.body.append(link);
  link.click();
  link.remove();
}

/** Runs `work` on a timer while the page is visible, and at once when it comes back after `ms` or more. */
export function whileVisible(work, ms, lastRun) {
  window.setInterval(() => {
    if (document.visibilityState === 'visible') work();
  }, ms);
  document.addEventListener('visibilitychange', () => {
    if (document.visibilityState === 'visible' && Date.now() - lastRun() >= ms) work();
  });
}

/** Sets (or replaces) one query parameter in the address bar without a new history entry. */
export function setParam(name, value) {
  const url = new URL(window.location.href);
  url.searchParams.set(name, value);
  window.history.replaceState(null, '', url);
}
