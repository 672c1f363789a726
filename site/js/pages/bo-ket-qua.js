// The ministry's PAR Index results (issue 8): grade counts and the average, the ranking as a chart, every unit's
// rank, index, grade and points per part (self-assessment as appraised, survey, imported) with its state (survey
// results annulled, provisional figures), sortable by clicking a column header, and the results workbook.
import * as api from '../lib/api.js';
import { chooseCampaign, rememberCampaign } from '../lib/campaign.js';
import { clear, downloadFrom, el, setTitle } from '../lib/dom.js';
import { fold, formatIndex, formatNumber, formatScore, outOf } from '../lib/format.js';
import { mountAccount } from '../components/account.js';
import { assessmentBadge } from '../components/badges.js';
import { fillCampaignSelect } from '../components/campaign-select.js';
import { barChart } from '../components/chart.js';
import { busy, errorText, show } from '../components/messages.js';

const RANKED = 20; // units shown in the ranking chart; the table has them all
const current = api.requireSession('ministry');

const part = (key) => (u) => Number(u.parts && u.parts[key] ? u.parts[key].points : 0) || 0;
const SORTS = {
  rank: { label: 'hạng', order: 'ascending', text: 'từ hạng 1', key: (u) => Number(u.rank) || Infinity },
  name: { label: 'tên đơn vị', order: 'ascending', text: 'theo bảng chữ cái', key: (u) => fold(u.name) },
  index: { label: 'chỉ số', order: 'descending', text: 'cao xuống thấp', key: (u) => Number(u.index) || 0 },
  grade: { label: 'nhóm', order: 'ascending', text: 'từ nhóm A', key: (u) => String(u.grade || 'Z') },
  self: { label: 'điểm tự đánh giá', order: 'descending', text: 'cao xuống thấp', key: part('self') },
  survey: { label: 'điểm điều tra XHH', order: 'descending', text: 'cao xuống thấp', key: part('survey') },
  imported: { label: 'điểm nguồn khác', order: 'descending', text: 'cao xuống thấp', key: part('imported') },
};
const ASSESSMENT = { draft: 'Chưa gửi tự đánh giá', approved: 'Đã phê duyệt tự đánh giá', locked: 'Đã khóa (hết hạn)' };

const pageBox = document.getElementById('page-message');
const select = document.getElementById('dot');
const summary = document.getElementById('summary');
const summaryNote = document.getElementById('summary-note');
const rankingNode = document.getElementById('ranking');
const rankingHint = document.getElementById('ranking-hint');
const table = document.getElementById('results-table');
const body = table.querySelector('tbody');
const count = document.getElementById('unit-count');
const exportButton = document.getElementById('export-button');
const exportBox = document.getElementById('export-message');
const backLink = document.getElementById('back-link');

let cid = null;
let data = null;
let seq = 0;
const wanted = new URLSearchParams(window.location.search).get('sap-xep');
let sort = Object.hasOwn(SORTS, wanted || '') ? wanted : 'rank';

// ---- summary ---------------------------------------------------------------------------------------------

/** "từ 80 đến dưới 90" for a grade, from the campaign's grade bounds (highest first). */
function gradeRange(grades, i) {
  const g = grades[i];
  const above = i > 0 ? grades[i - 1].min : null;
  if (above === null) return `từ ${formatScore(g.min)} điểm`;
  if (!g.min) return `dưới ${formatScore(above)} điểm`;
  return `từ ${formatScore(g.min)} đến dưới ${formatScore(above)} điểm`;
}

function gradeBadge(code) {
  return code ? el('span', { class: `badge badge-grade badge-grade-${String(code).toLowerCase()}` }, code) : '—';
}

function renderSummary() {
  const units = data.units || [];
  const grades = [...(data.grades || [])].sort((a, b) => b.min - a.min);
  const counts = data.grade_counts || {};
  const items = [
    el('div', { dataset: { total: 'units' } }, el('dt', {}, 'Số đơn vị'), el('dd', {}, formatNumber(units.length))),
    el('div', { dataset: { total: 'average' }, class: 'summary-rate' }, el('dt', {}, 'Chỉ số trung bình'),
      el('dd', {}, formatIndex(data.average))),
    ...grades.map((g, i) => el('div', { dataset: { total: `grade-${g.code}` } },
      el('dt', {}, `${g.name || `Nhóm ${g.code}`} (${gradeRange(grades, i)})`),
      el('dd', {}, `${formatNumber(counts[g.code] || 0)} đơn vị`))),
  ];
  clear(summary).append(el('dl', { class: 'summary progress-summary results-summary' }, items));
  summary.removeAttribute('aria-busy');
  const provisional = units.filter((u) => u.provisional).length;
  const annulled = units.filter((u) => u.annulled).length;
  const notes = [`Chỉ số = tổng điểm các phần trên ${formatScore(data.maximum || 100)} điểm.`];
  if (provisional) notes.push(`${provisional} đơn vị có kết quả tạm tính (chưa công bố thẩm định hoặc chưa đủ số liệu).`);
  if (annulled) notes.push(`${annulled} đơn vị bị hủy kết quả điều tra xã hội học (không tính điểm phần này).`);
  summaryNote.textContent = notes.join(' ');
}

// ---- chart -----------------------------------------------------------------------------------------------

function renderRanking() {
  const ranked = (data.units || []).filter((u) => u.index !== null && u.index !== undefined)
    .sort((a, b) => (Number(a.rank) || Infinity) - (Number(b.rank) || Infinity) || a.unit.localeCompare(b.unit));
  const top = ranked.slice(0, RANKED);
  let hint = '';
  if (top.length < ranked.length) {
    hint = `${top.length} đơn vị có chỉ số cao nhất trong số ${ranked.length} đơn vị; bảng dưới đây có đủ mọi đơn vị.`;
  } else if (ranked.length) {
    hint = `Chỉ số của ${ranked.length} đơn vị, từ cao xuống thấp.`;
  }
  rankingHint.textContent = hint;
  const max = Number(data.maximum) || 100;
  clear(rankingNode).append(barChart({
    label: `Biểu đồ xếp hạng Chỉ số CCHC của ${top.length} đơn vị cao nhất`,
    caption: 'Xếp hạng Chỉ số CCHC',
    rows: top.map((u) => ({ label: `${u.rank}. ${u.name}`, value: (100 * Number(u.index)) / max, u,
      text: `${formatIndex(u.index)}${u.grade ? ` · ${u.grade}` : ''}` })),
    head: ['Hạng và đơn vị', 'Chỉ số', 'Nhóm'],
    cells: ({ u, label }) => [label, formatIndex(u.index), u.grade || '—'],
    tick: (t) => formatScore((t * max) / 100),
    empty: 'Chưa có kết quả của đơn vị nào.',
  }));
}

// ---- table -----------------------------------------------------------------------------------------------

function partCell(unit, key) {
  const p = unit.parts && unit.parts[key];
  if (!p) return el('td', { class: 'num' }, '—');
  return el('td', { class: 'num', dataset: { part: key } }, outOf(p.points, p.max));
}

function flags(unit) {
  const out = [assessmentBadge(unit.assessment_state, ASSESSMENT[unit.assessment_state])];
  out.push(unit.appraisal_published
    ? el('span', { class: 'badge badge-published' }, 'Đã công bố thẩm định')
    : el('span', { class: 'badge badge-unpublished' }, 'Chưa công bố thẩm định'));
  if (unit.annulled) out.push(el('span', { class: 'badge badge-annulled' }, 'Đã hủy kết quả điều tra'));
  if (unit.provisional) out.push(el('span', { class: 'badge badge-provisional' }, 'Tạm tính'));
  return el('td', { class: 'flags' }, el('span', { class: 'badges' }, out));
}

function sorted(units) {
  const how = SORTS[sort];
  const dir = how.order === 'ascending' ? 1 : -1;
  return [...units].sort((a, b) => {
    const x = how.key(a);
    const y = how.key(b);
    const cmp = typeof x === 'string' ? x.localeCompare(y, 'vi') : x - y;
    return dir * cmp || (Number(a.rank) || Infinity) - (Number(b.rank) || Infinity) || a.unit.localeCompare(b.unit);
  });
}

function renderTable() {
  const units = sorted(data.units || []);
  clear(body);
  if (!units.length) {
    body.append(el('tr', {}, el('td', { colspan: 8, class: 'empty' }, 'Đợt đánh giá chưa có đơn vị nào.')));
  }
  body.append(...units.map((u) => {
    const href = `/bo/tham-dinh.html?dot=${encodeURIComponent(cid)}&unit=${encodeURIComponent(u.unit)}`;
    return el('tr', { dataset: { unit: u.unit, annulled: String(Boolean(u.annulled)),
      provisional: String(Boolean(u.provisional)) } },
    el('td', { class: 'num rank' }, u.rank === null || u.rank === undefined ? '—' : String(u.rank)),
    el('th', { scope: 'row' }, el('a', { href }, u.name), el('span', { class: 'muted unit-code' }, ` (${u.unit})`)),
    el('td', { class: 'num index' }, el('strong', {}, formatIndex(u.index))),
    el('td', { class: 'grade' }, gradeBadge(u.grade)),
    partCell(u, 'self'), partCell(u, 'survey'), partCell(u, 'imported'),
    flags(u));
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

function announce(withSort) {
  const how = SORTS[sort];
  count.textContent = `${(data.units || []).length} đơn vị${withSort ? `, sắp xếp theo ${how.label} (${how.text})` : ''}.`;
}

for (const th of table.querySelectorAll('th[data-sort]')) {
  th.querySelector('button').addEventListener('click', () => {
    sort = th.dataset.sort;
    const url = new URL(window.location.href);
    url.searchParams.set('sap-xep', sort);
    window.history.replaceState(null, '', url);
    markSort();
    if (data) {
      renderTable();
      announce(true);
    }
  });
}

async function load() {
  if (!cid) return;
  seq += 1;
  const mine = seq;
  table.setAttribute('aria-busy', 'true');
  try {
    const answer = await api.results(cid);
    if (mine !== seq) return;
    data = answer;
    renderSummary();
    renderRanking();
    renderTable();
    markSort();
    announce(false);
  } catch (error) {
    if (mine !== seq) return;
    table.removeAttribute('aria-busy');
    summary.removeAttribute('aria-busy');
    if (error.status !== 401) show(pageBox, 'error', errorText(error));
  }
}

exportButton.addEventListener('click', async () => {
  if (!cid) return;
  show(exportBox, 'info', '');
  try {
    const file = await busy(exportButton, 'Đang tạo tệp…', () => api.resultsExport(cid));
    downloadFrom(file.url, file.filename);
    show(exportBox, 'success', `Đã tạo tệp ${file.filename}; trình duyệt đang tải xuống.`);
  } catch (error) {
    if (error.status !== 401) show(exportBox, 'error', errorText(error));
  }
});

function follow(value, name) {
  cid = value;
  backLink.href = `/bo/?dot=${encodeURIComponent(cid)}`;
  setTitle(`Kết quả Chỉ số CCHC — ${name || value}`);
  show(exportBox, 'info', '');
}

async function start() {
  mountAccount(current);
  markSort();
  try {
    const list = await api.campaigns();
    const items = list.items || [];
    if (!items.length) {
      table.removeAttribute('aria-busy');
      summary.removeAttribute('aria-busy');
      show(pageBox, 'info', 'Chưa có đợt đánh giá nào.');
      return;
    }
    const chosen = chooseCampaign(items);
    follow(chosen.id, chosen.name);
    rememberCampaign(cid);
    fillCampaignSelect(select, items, cid, (value) => {
      const picked = items.find((c) => c.id === value);
      follow(value, picked && picked.name);
      load();
    });
    await load();
  } catch (error) {
    if (error.status !== 401) show(pageBox, 'error', errorText(error));
  }
}

if (current) start();
