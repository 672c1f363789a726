// The ministry's national survey progress: national totals, the ranking of response rates as a chart, every unit's
// progress in a table sorted by the API (by clicking a column header), each unit linked to its page, the
// managing-ministry forms asked and answered about each assessed ministry, and the workbook export. Refreshed every
// 30 s while the page is visible.
import * as api from '../lib/api.js';
import { campaignHref } from '../lib/campaign.js';
import { clear, el, setTitle, whileVisible } from '../lib/dom.js';
import { formatDateTime, formatNumber, formatPercent } from '../lib/format.js';
import { barChart } from '../components/chart.js';
import { exportButton } from '../components/export-button.js';
import { showError } from '../components/messages.js';
import { startCampaignPage } from '../components/page.js';
import { progressSummary } from '../components/progress-charts.js';
import { sortHeaders } from '../components/sort-header.js';

const REFRESH_MS = 30000;
const RANKED = 15; // units shown in the ranking chart
const SORTS = {
  code: { label: 'mã đơn vị', order: 'ascending', text: 'tăng dần' },
  name: { label: 'tên đơn vị', order: 'ascending', text: 'theo bảng chữ cái' },
  submitted: { label: 'số phiếu đã trả lời', order: 'descending', text: 'nhiều xuống ít' },
  bounced: { label: 'số thư bị trả lại', order: 'descending', text: 'nhiều xuống ít' },
  rate: { label: 'tỷ lệ trả lời', order: 'descending', text: 'cao xuống thấp' },
};
const current = api.requireSession('moha');

const pageBox = document.getElementById('page-message');
const select = document.getElementById('dot');
const totalsNode = document.getElementById('totals');
const updated = document.getElementById('updated');
const rankingNode = document.getElementById('ranking');
const rankingHint = document.getElementById('ranking-hint');
const table = document.getElementById('national-table');
const body = table.querySelector('tbody');
const count = document.getElementById('unit-count');
const exportNode = document.getElementById('export-button');
const exportBox = document.getElementById('export-message');
const ministriesSection = document.getElementById('ministries-section');
const ministriesBody = document.getElementById('ministries-table').querySelector('tbody');

let cid = null;
let seq = 0;
let lastRefresh = 0;
const sorting = sortHeaders(table, SORTS, 'code', () => load({ announce: true }));

function averageText(average) {
  const a = average || {};
  if (!a.units) return 'Chưa có đơn vị nào có số liệu để tính tỷ lệ trả lời trung bình.';
  return `Tỷ lệ trả lời trung bình của các đơn vị: ${formatPercent(a.rate)} `
    + `(trung bình của ${formatNumber(a.units)} đơn vị có số liệu; đơn vị chưa được phát hành phiếu hoặc bị hủy kết `
    + 'quả không được tính).';
}

function renderTotals(data) {
  const units = (data.units || []).length;
  clear(totalsNode).append(progressSummary(data.totals),
    el('p', { class: 'updated', id: 'average' }, averageText(data.average)),
    el('p', { class: 'updated' }, el('strong', {}, `${data.rosters_submitted}/${units} đơn vị`),
      ' đã gửi danh sách đối tượng điều tra XHH.'));
  totalsNode.removeAttribute('aria-busy');
  updated.textContent = `Cập nhật lúc ${formatDateTime(new Date())}. `
    + 'Số liệu tự động cập nhật mỗi 30 giây khi trang đang mở.';
}

/** Competition ranks of values sorted from high to low: equal values share one (1, 2, 2, 4). */
function sharedRanks(sorted) {
  return sorted.map((value) => sorted.indexOf(value) + 1);
}

function renderRanking(units) {
  const counted = units.filter((u) => u.total > 0 && !u.annulled)
    .sort((a, b) => b.rate - a.rate || a.code.localeCompare(b.code));
  const ranks = sharedRanks(counted.map((u) => u.rate));
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
    rows: top.map((u, i) => ({ label: `${ranks[i]}. ${u.name}`, value: u.rate, u,
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
    const href = campaignHref('/bo/don-vi.html', cid, { 'don-vi': u.code });
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

/** Each assessed ministry: how many provincial respondents were asked to evaluate it and how many answered. */
function renderMinistries(ministries) {
  ministriesSection.hidden = !ministries.length;
  clear(ministriesBody).append(...ministries.map((m) => el('tr', { dataset: { unit: m.code } },
    el('td', { class: 'code' }, m.code),
    el('th', { scope: 'row' }, m.name,
      m.ranked === false ? [' ', el('span', { class: 'badge badge-unranked' }, 'Không xếp hạng')] : null),
    num(m.asked), num(m.answered),
    el('td', { class: 'num' }, el('strong', {}, formatPercent(m.rate))))));
}

async function load({ announce = false } = {}) {
  if (!cid) return;
  seq += 1;
  const mine = seq;
  table.setAttribute('aria-busy', 'true');
  try {
    const data = await api.nationalProgress(cid, sorting.current());
    if (mine !== seq) return;
    lastRefresh = Date.now();
    setTitle(`Tiến độ khảo sát toàn quốc — ${data.name}`);
    renderTotals(data);
    renderRanking([...(data.units || [])]);
    renderTable(data);
    renderMinistries(data.ministries || []);
    sorting.mark();
    count.textContent = sorting.countText((data.units || []).length, announce);
  } catch (error) {
    if (mine !== seq) return;
    table.removeAttribute('aria-busy');
    showError(pageBox, error);
  }
}

exportButton(exportNode, exportBox, { ready: () => Boolean(cid), request: () => api.nationalProgressExport(cid) });

function follow(value) {
  cid = value;
  document.getElementById('back-link').href = campaignHref('/bo/', cid);
}

async function start() {
  sorting.mark();
  await startCampaignPage(current, { select, box: pageBox, open: (value) => {
    follow(value);
    return load();
  } });
  whileVisible(load, REFRESH_MS, () => lastRefresh);
}

if (current) start();
