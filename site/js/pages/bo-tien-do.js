// The ministry's national survey progress: national totals, the ranking of response rates as a chart, every unit's
// progress in a table sorted by the API (by clicking a column header), each unit linked to its page, and the
// workbook export. Refreshed every 30 s while the page is visible.
import * as api from '../lib/api.js';
import { chooseCampaign, rememberCampaign } from '../lib/campaign.js';
import { clear, downloadFrom, el, setTitle } from '../lib/dom.js';
import { formatDateTime, formatNumber, formatPercent } from '../lib/format.js';
import { mountAccount } from '../components/account.js';
import { fillCampaignSelect } from '../components/campaign-select.js';
import { barChart } from '../components/chart.js';
import { busy, errorText, show } from '../components/messages.js';
import { progressSummary } from '../components/progress-charts.js';

const REFRESH_MS = 30000;
const RANKED = 15; // units shown in the ranking chart
const SORTS = {
  code: { label: 'mã đơn vị', order: 'ascending', text: 'tăng dần' },
  name: { label: 'tên đơn vị', order: 'ascending', text: 'theo bảng chữ cái' },
  submitted: { label: 'số phiếu đã trả lời', order: 'descending', text: 'nhiều xuống ít' },
  bounced: { label: 'số thư bị trả lại', order: 'descending', text: 'nhiều xuống ít' },
  rate: { label: 'tỷ lệ trả lời', order: 'descending', text: 'cao xuống thấp' },
};
const current = api.requireSession('ministry');

const pageBox = document.getElementById('page-message');
const select = document.getElementById('dot');
const totalsNode = document.getElementById('totals');
const updated = document.getElementById('updated');
const rankingNode = document.getElementById('ranking');
const rankingHint = document.getElementById('ranking-hint');
const table = document.getElementById('national-table');
const body = table.querySelector('tbody');
const count = document.getElementById('unit-count');
const exportButton = document.getElementById('export-button');
const exportBox = document.getElementById('export-message');

let cid = null;
const wantedSort = new URLSearchParams(window.location.search).get('sap-xep');
let sort = Object.hasOwn(SORTS, wantedSort || '') ? wantedSort : 'code';
let seq = 0;
let lastRefresh = 0;

function renderTotals(data) {
  const units = (data.units || []).length;
  clear(totalsNode).append(progressSummary(data.totals),
    el('p', { class: 'updated' }, el('strong', {}, `${data.rosters_submitted}/${units} đơn vị`),
      ' đã gửi danh sách đối tượng điều tra XHH.'));
  totalsNode.removeAttribute('aria-busy');
  updated.textContent = `Cập nhật lúc ${formatDateTime(new Date())}. `
    + 'Số liệu tự động cập nhật mỗi 30 giây khi trang đang mở.';
}

function renderRanking(units) {
  const counted = units.filter((u) => u.total > 0 && !u.annulled)
    .sort((a, b) => b.rate - a.rate || a.code.localeCompare(b.code));
  const top = counted.slice(0, RANKED);
  let hint = '';
  if (top.length < counted.length) {
    hint = `${top.length} đơn vị có tỷ lệ trả lời cao nhất trong số ${counted.length} đơn vị đã được phát hành phiếu.`;
  } else if (counted.length) {
    hint = `Tỷ lệ trả lời của ${counted.length} đơn vị đã được phát hành phiếu, từ cao xuống thấp.`;
  }
  rankingHint.textContent = hint;
  clear(rankingNode).append(barChart({
    label: `Biểu đồ xếp hạng tỷ lệ trả lời của ${top.length} đơn vị cao nhất`,
    caption: 'Xếp hạng tỷ lệ trả lời',
    rows: top.map((u, i) => ({ label: `${i + 1}. ${u.name}`, value: u.rate, u,
      text: `${formatPercent(u.rate)} (${formatNumber(u.submitted)}/${formatNumber(u.total)})` })),
    head: ['Hạng và đơn vị', 'Số phiếu', 'Đã trả lời', 'Tỷ lệ trả lời'],
    cells: ({ u, label }) => [label, formatNumber(u.total), formatNumber(u.submitted),
      formatPercent(u.rate)],
    empty: 'Chưa có đơn vị nào được phát hành phiếu khảo sát.',
  }));
}

function rosterCell(unit) {
  const sent = unit.roster_status === 'submitted';
  return el('td', {}, sent ? el('span', { class: 'yes' }, 'Đã gửi') : el('span', { class: 'no' }, 'Chưa gửi'),
    unit.annulled ? ' ' : null,
    unit.annulled ? el('span', { class: 'badge badge-link-bounced' }, 'Đã hủy kết quả') : null);
}

function num(value) {
  return el('td', { class: 'num' }, formatNumber(value));
}

function renderTable(data) {
  const units = data.units || [];
  clear(body);
  if (!units.length) {
    body.append(el('tr', {}, el('td', { colspan: 10, class: 'empty' }, 'Đợt đánh giá chưa có đơn vị nào.')));
  }
  body.append(...units.map((u) => {
    const href = `/bo/don-vi.html?dot=${encodeURIComponent(cid)}&don-vi=${encodeURIComponent(u.code)}`;
    return el('tr', { dataset: { unit: u.code } },
      el('td', { class: 'code' }, u.code),
      el('th', { scope: 'row' }, el('a', { href }, u.name)),
      rosterCell(u),
      num(u.total), num(u.mailed), num(u.opened), num(u.submitted), num(u.bounced),
      num((u.issued || 0) + (u.failed || 0)),
      el('td', { class: 'num' }, el('strong', {}, formatPercent(u.rate))));
  }));
  table.removeAttribute('aria-busy');
}

function markSort() {
  for (const th of table.querySelectorAll('th[data-sort]')) {
    const on = th.dataset.sort === sort;
    if (on) th.setAttribute('aria-sort', SORTS[sort].order);
    else th.removeAttribute('aria-sort');
    th.querySelector('.sort-icon').textContent = on ? (SORTS[sort].order === 'ascending' ? '▲' : '▼') : '⇅';
  }
}

async function load({ announce = false } = {}) {
  if (!cid) return;
  seq += 1;
  const mine = seq;
  table.setAttribute('aria-busy', 'true');
  try {
    const data = await api.nationalProgress(cid, sort);
    if (mine !== seq) return;
    lastRefresh = Date.now();
    setTitle(`Tiến độ khảo sát toàn quốc — ${data.name}`);
    renderTotals(data);
    renderRanking([...(data.units || [])]);
    renderTable(data);
    markSort();
    const how = SORTS[sort];
    count.textContent = `${(data.units || []).length} đơn vị${announce ? `, sắp xếp theo ${how.label} (${how.text})`
      : ''}.`;
  } catch (error) {
    if (mine !== seq) return;
    table.removeAttribute('aria-busy');
    if (error.status !== 401) show(pageBox, 'error', errorText(error));
  }
}

for (const th of table.querySelectorAll('th[data-sort]')) {
  th.querySelector('button').addEventListener('click', () => {
    sort = th.dataset.sort;
    const url = new URL(window.location.href);
    url.searchParams.set('sap-xep', sort);
    window.history.replaceState(null, '', url);
    markSort();
    load({ announce: true });
  });
}

exportButton.addEventListener('click', async () => {
  if (!cid) return;
  show(exportBox, 'info', '');
  try {
    const file = await busy(exportButton, 'Đang tạo tệp…', () => api.nationalProgressExport(cid));
    downloadFrom(file.url, file.filename);
    show(exportBox, 'success', `Đã tạo tệp ${file.filename}; trình duyệt đang tải xuống.`);
  } catch (error) {
    if (error.status !== 401) show(exportBox, 'error', errorText(error));
  }
});

async function start() {
  mountAccount(current);
  markSort();
  try {
    const list = await api.campaigns();
    const items = list.items || [];
    if (!items.length) {
      show(pageBox, 'info', 'Chưa có đợt đánh giá nào.');
      return;
    }
    const chosen = chooseCampaign(items);
    cid = chosen.id;
    rememberCampaign(cid);
    document.getElementById('back-link').href = `/bo/?dot=${encodeURIComponent(cid)}`;
    fillCampaignSelect(select, items, cid, (value) => {
      cid = value;
      document.getElementById('back-link').href = `/bo/?dot=${encodeURIComponent(cid)}`;
      load();
    });
    await load();
    window.setInterval(() => {
      if (document.visibilityState === 'visible') load();
    }, REFRESH_MS);
    document.addEventListener('visibilitychange', () => {
      if (document.visibilityState === 'visible' && Date.now() - lastRefresh >= REFRESH_MS) load();
    });
  } catch (error) {
    if (error.status !== 401) show(pageBox, 'error', errorText(error));
  }
}

if (current) start();
