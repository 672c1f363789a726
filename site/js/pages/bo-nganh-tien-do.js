// An assessed ministry's survey progress: how many provincial respondents (department and division leaders whose
// managing ministry it is) were asked to evaluate it and how many answered, in total and per province and group.
// Counts only; provinces whose survey results were annulled are listed, marked, and left out of the totals.
import * as api from '../lib/api.js';
import { clear, el, setTitle } from '../lib/dom.js';
import { formatNumber, formatPercent } from '../lib/format.js';
import { busy, show, showError } from '../components/messages.js';
import { showContext, startUnitPage } from '../components/page.js';

const current = api.requireSession('ministry');

const pageBox = document.getElementById('page-message');
const context = document.getElementById('context');
const totals = document.getElementById('totals');
const refreshButton = document.getElementById('refresh-button');
const table = document.getElementById('survey-table');
const count = document.getElementById('province-count');

let cid = null;

function fraction(answered, asked) {
  return `${formatNumber(answered)}/${formatNumber(asked)}`;
}

function rate(answered, asked) {
  return asked ? Math.round((1000 * answered) / asked) / 10 : 0;
}

function renderTotals(data) {
  const item = (key, label, value, extra = {}) => el('div', { dataset: { total: key }, ...extra },
    el('dt', {}, label), el('dd', {}, value));
  clear(totals).append(el('dl', { class: 'summary progress-summary' },
    item('asked', 'Được mời đánh giá', formatNumber(data.asked)),
    item('answered', 'Đã trả lời', formatNumber(data.answered)),
    item('rate', 'Tỷ lệ trả lời', formatPercent(data.rate), { class: 'summary-rate' })));
  totals.removeAttribute('aria-busy');
}

/** The groups answering the managing-ministry questionnaire, in the order the server lists them. */
function groupsOf(provinces) {
  const seen = new Map();
  for (const p of provinces) for (const g of p.groups || []) if (!seen.has(g.group)) seen.set(g.group, g.name);
  return [...seen].map(([group, name]) => ({ group, name }));
}

function renderTable(data) {
  const provinces = data.provinces || [];
  const groups = groupsOf(provinces);
  const head = el('tr', {}, el('th', { scope: 'col' }, 'Tỉnh, thành phố'),
    ...groups.map((g) => el('th', { scope: 'col', class: 'num', dataset: { group: g.group } }, g.name)),
    el('th', { scope: 'col', class: 'num' }, 'Tổng'), el('th', { scope: 'col', class: 'num' }, 'Tỷ lệ trả lời'));
  clear(table.tHead).append(head);
  const body = table.tBodies[0];
  clear(body);
  if (!provinces.length) {
    body.append(el('tr', {}, el('td', { colspan: groups.length + 3, class: 'empty' },
      'Chưa có người nào được mời đánh giá Bộ.')));
  }
  const counted = new Map(groups.map((g) => [g.group, { asked: 0, answered: 0 }]));
  for (const p of provinces) {
    const byGroup = new Map((p.groups || []).map((g) => [g.group, g]));
    if (!p.annulled) {
      for (const g of p.groups || []) {
        const sum = counted.get(g.group);
        sum.asked += g.asked;
        sum.answered += g.answered;
      }
    }
    body.append(el('tr', { dataset: { unit: p.unit, annulled: String(Boolean(p.annulled)) } },
      el('th', { scope: 'row' }, p.name,
        p.annulled ? [' ', el('span', { class: 'badge badge-annulled' }, 'Đã hủy kết quả, không tính')] : null),
      ...groups.map((g) => {
        const found = byGroup.get(g.group) || { asked: 0, answered: 0 };
        return el('td', { class: 'num', dataset: { group: g.group } }, fraction(found.answered, found.asked));
      }),
      el('td', { class: 'num', dataset: { total: 'row' } }, el('strong', {}, fraction(p.answered, p.asked))),
      el('td', { class: 'num' }, formatPercent(rate(p.answered, p.asked)))));
  }
  clear(table.tFoot);
  if (provinces.length) {
    table.tFoot.append(el('tr', {}, el('th', { scope: 'row' }, 'Cộng (không tính tỉnh, thành phố bị hủy kết quả)'),
      ...groups.map((g) => el('td', { class: 'num', dataset: { group: g.group } },
        fraction(counted.get(g.group).answered, counted.get(g.group).asked))),
      el('td', { class: 'num', dataset: { total: 'all' } }, el('strong', {}, fraction(data.answered, data.asked))),
      el('td', { class: 'num' }, formatPercent(data.rate))));
  }
  table.removeAttribute('aria-busy');
  count.textContent = `${formatNumber(provinces.length)} tỉnh, thành phố có người được mời đánh giá Bộ.`;
}

async function load() {
  if (!cid) return;
  table.setAttribute('aria-busy', 'true');
  try {
    const data = await api.ministrySurvey(cid, current.unit);
    setTitle(`Tiến độ khảo sát về Bộ — ${data.name || current.unit}`);
    document.getElementById('unit-name').textContent = data.full_name || data.name || current.unit;
    renderTotals(data);
    renderTable(data);
  } catch (error) {
    table.removeAttribute('aria-busy');
    totals.removeAttribute('aria-busy');
    showError(pageBox, error);
  }
}

refreshButton.addEventListener('click', async () => {
  show(pageBox, 'info', '');
  await busy(refreshButton, 'Đang cập nhật…', load);
});

function start() {
  return startUnitPage(current, {
    box: pageBox,
    none: () => {
      totals.removeAttribute('aria-busy');
      table.removeAttribute('aria-busy');
    },
    open: async (chosen) => {
      cid = chosen.id;
      showContext(context, chosen.name, current.displayName || current.unit || '', { id: 'unit-name' });
      await load();
    },
  });
}

if (current) start();
