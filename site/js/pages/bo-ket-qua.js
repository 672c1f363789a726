// The organiser's PAR Index results, of the provinces or (a tab) of the assessed ministries: grade counts and the
// average, the ranking as a chart, every unit's rank (none for a ministry assessed but not ranked), index, grade and
// points per part (self-assessment as appraised, survey, imported) with its state (survey results annulled,
// provisional figures), sortable by clicking a column header, and the results workbook (both kinds).
import * as api from '../lib/api.js';
import { campaignHref } from '../lib/campaign.js';
import { clear, el, setParam, setTitle } from '../lib/dom.js';
import { fold, formatIndex, formatNumber, formatPercent, formatScore, outOf } from '../lib/format.js';
import { assessmentBadge } from '../components/badges.js';
import { barChart } from '../components/chart.js';
import { exportButton } from '../components/export-button.js';
import { show, showError } from '../components/messages.js';
import { startCampaignPage } from '../components/page.js';
import { sortHeaders } from '../components/sort-header.js';
import { tabs } from '../components/tabs.js';

const RANKED = 20; // units shown in the ranking chart; the table has them all
const KINDS = {
  province: { param: 'tinh', plural: 'tỉnh, thành phố',
    hint: 'Bấm vào tiêu đề cột để sắp xếp. Điểm thành phần: tự đánh giá (theo điểm thẩm định), điều tra xã hội học, '
      + 'nguồn khác (SIPAS…). Bấm tên đơn vị để xem bảng thẩm định. Phiếu trả lời: số phiếu điều tra xã hội học đã '
      + 'trả lời trên số phiếu đã phát hành của đơn vị (tỷ lệ trả lời). Nguy cơ can thiệp: điểm rủi ro 0–100 theo '
      + 'lần rà soát gần nhất.' },
  ministry: { param: 'bo-nganh', plural: 'bộ, cơ quan ngang bộ',
    hint: 'Bấm vào tiêu đề cột để sắp xếp. Điểm thành phần: tự đánh giá (theo điểm thẩm định), điều tra xã hội học '
      + '(ý kiến của lãnh đạo các sở, ngành, phòng chuyên môn ở các tỉnh, thành phố về bộ, ngành quản lý lĩnh vực của '
      + 'mình), nguồn khác. Bấm tên đơn vị để xem bảng thẩm định. Phiếu trả lời: số phiếu đánh giá bộ, ngành được '
      + 'tính và số tỉnh, thành phố có phiếu (không tính tỉnh, thành phố bị hủy kết quả). Đơn vị “Không xếp hạng” '
      + 'được đánh giá, có chỉ số nhưng không tham gia xếp hạng.' },
};
const current = api.requireSession('moha');

const part = (key) => (u) => Number(u.parts && u.parts[key] ? u.parts[key].points : 0) || 0;
const SORTS = {
  rank: { label: 'hạng', order: 'ascending', text: 'từ hạng 1', key: (u) => Number(u.rank) || Infinity },
  name: { label: 'tên đơn vị', order: 'ascending', text: 'theo bảng chữ cái', key: (u) => fold(u.name) },
  index: { label: 'chỉ số', order: 'descending', text: 'cao xuống thấp', key: (u) => Number(u.index) || 0 },
  grade: { label: 'nhóm', order: 'ascending', text: 'từ nhóm A', key: (u) => String(u.grade || 'Z') },
  self: { label: 'điểm tự đánh giá', order: 'descending', text: 'cao xuống thấp', key: part('self') },
  survey: { label: 'điểm điều tra XHH', order: 'descending', text: 'cao xuống thấp', key: part('survey') },
  imported: { label: 'điểm nguồn khác', order: 'descending', text: 'cao xuống thấp', key: part('imported') },
  responses: { label: 'số phiếu trả lời', order: 'descending', text: 'nhiều xuống ít',
    key: (u) => Number(u.survey ? u.survey.responses : u.responses) || 0 },
  risk: { label: 'điểm nguy cơ can thiệp', order: 'descending', text: 'cao xuống thấp',
    key: (u) => (u.integrity ? Number(u.integrity.score) : -1) },
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
const exportNode = document.getElementById('export-button');
const exportBox = document.getElementById('export-message');
const backLink = document.getElementById('back-link');
const unitsHint = document.getElementById('units-hint');
const riskColumn = document.getElementById('risk-column');

let kind = new URLSearchParams(window.location.search).get('loai') === KINDS.ministry.param ? 'ministry' : 'province';
const showKind = tabs(document.querySelector('[role="tablist"]'), (value) => {
  kind = value;
  setParam('loai', KINDS[kind].param);
  show(pageBox, 'info', '');
  load();
});

let cid = null;
let data = null;
let seq = 0;
const sorting = sortHeaders(table, SORTS, 'rank', () => {
  if (data) {
    renderTable();
    announce(true);
  }
});

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
  if (data.average_units !== undefined) {
    notes.push(data.average_units
      ? `Chỉ số trung bình là trung bình của ${formatNumber(data.average_units)} đơn vị có số liệu.`
      : 'Chưa có đơn vị nào có số liệu để tính chỉ số trung bình.');
  }
  if (provisional) notes.push(`${provisional} đơn vị có kết quả tạm tính (chưa công bố thẩm định hoặc chưa đủ số liệu).`);
  if (annulled) notes.push(`${annulled} đơn vị bị hủy kết quả điều tra xã hội học (không tính điểm phần này).`);
  const small = units.filter((u) => u.survey && u.survey.small_sample && !u.annulled).length;
  if (small) {
    notes.push(`${small} đơn vị có dưới ${formatNumber(data.min_responses)} phiếu trả lời: điểm điều tra xã hội học `
      + 'của các đơn vị này dựa trên quá ít ý kiến, cần thận trọng khi so sánh.');
  }
  const risky = units.filter((u) => u.integrity && u.integrity.flagged && !u.annulled).length;
  if (risky) notes.push(`${risky} đơn vị có nguy cơ can thiệp cao theo kết quả rà soát (chưa hủy kết quả).`);
  summaryNote.textContent = notes.join(' ');
}

// ---- chart -----------------------------------------------------------------------------------------------

function renderRanking() {
  // Units assessed but not ranked have no place in the ranking (the table lists them).
  const ranked = (data.units || []).filter((u) => u.index !== null && u.index !== undefined
    && u.rank !== null && u.rank !== undefined)
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

/** Answers and the response rate; a warning where the sample is too small to mean anything. */
function responsesCell(unit) {
  const s = unit.survey;
  if (!s) return el('td', { class: 'num' }, formatNumber(unit.responses || 0));
  const parts = [el('span', { class: 'nowrap' }, s.forms ? `${formatNumber(s.responses)}/${formatNumber(s.forms)}`
    : formatNumber(s.responses))];
  // A ministry's answers come from many provinces: how many, and how many answers annulled provinces cost.
  if (s.provinces !== undefined) parts.push(el('span', { class: 'muted nowrap' }, ` (${formatNumber(s.provinces)} tỉnh)`));
  if (s.cancelled) {
    parts.push(el('span', { class: 'muted nowrap' }, ` · ${formatNumber(s.cancelled)} phiếu của tỉnh bị hủy không tính`));
  }
  if (s.rate !== null && s.rate !== undefined) parts.push(el('span', { class: 'muted nowrap' }, ` (${formatPercent(s.rate)})`));
  if (s.small_sample) {
    parts.push(el('span', { class: 'badge badge-small-sample' },
      `Mẫu quá nhỏ (dưới ${formatNumber(data.min_responses)} phiếu)`));
  }
  return el('td', { class: 'num responses', dataset: { responses: String(s.responses),
    smallSample: String(Boolean(s.small_sample)) } }, parts);
}

/** The interference review's risk (score out of 100 and level) and what became of it (flagged, annulled). */
function riskCell(unit) {
  const r = unit.integrity;
  if (!r) return el('td', { class: 'risk' }, el('span', { class: 'muted' }, 'Chưa rà soát'));
  const out = [el('span', { class: `badge badge-risk badge-risk-${r.level}` }, `${r.score}/100 · ${r.level_name}`)];
  if (unit.annulled) out.push(el('span', { class: 'badge badge-risk-annulled' }, 'Đã hủy kết quả'));
  else if (r.flagged) out.push(el('span', { class: 'badge badge-flagged' }, 'Có dấu hiệu can thiệp'));
  return el('td', { class: 'risk', dataset: { risk: r.level } }, el('span', { class: 'badges' }, out));
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
  const how = SORTS[sorting.current()];
  const dir = how.order === 'ascending' ? 1 : -1;
  return [...units].sort((a, b) => {
    const x = how.key(a);
    const y = how.key(b);
    const cmp = typeof x === 'string' ? x.localeCompare(y, 'vi') : x - y;
    return dir * cmp || (Number(a.rank) || Infinity) - (Number(b.rank) || Infinity) || a.unit.localeCompare(b.unit);
  });
}

function rankCell(unit) {
  if (unit.rank !== null && unit.rank !== undefined) return el('td', { class: 'num rank' }, String(unit.rank));
  if (unit.ranked === false) {
    return el('td', { class: 'num rank', dataset: { unranked: 'true' } },
      el('span', { class: 'badge badge-unranked' }, 'Không xếp hạng'));
  }
  return el('td', { class: 'num rank' }, '—');
}

function renderTable() {
  const units = sorted(data.units || []);
  const ministries = kind === 'ministry';
  riskColumn.hidden = ministries; // interference is reviewed per province, where the respondents are
  clear(body);
  if (!units.length) {
    body.append(el('tr', {}, el('td', { colspan: ministries ? 9 : 10, class: 'empty' },
      ministries ? 'Đợt đánh giá không có bộ, cơ quan ngang bộ nào được đánh giá.' : 'Đợt đánh giá chưa có đơn vị nào.')));
  }
  body.append(...units.map((u) => {
    const href = campaignHref('/bo/tham-dinh.html', cid, { unit: u.unit });
    return el('tr', { dataset: { unit: u.unit, annulled: String(Boolean(u.annulled)),
      provisional: String(Boolean(u.provisional)) } },
    rankCell(u),
    el('th', { scope: 'row' }, el('a', { href }, u.name), el('span', { class: 'muted unit-code' }, ` (${u.unit})`)),
    el('td', { class: 'num index' }, el('strong', {}, formatIndex(u.index))),
    el('td', { class: 'grade' }, gradeBadge(u.grade)),
    responsesCell(u), ministries ? null : riskCell(u),
    partCell(u, 'self'), partCell(u, 'survey'), partCell(u, 'imported'),
    flags(u));
  }));
  table.removeAttribute('aria-busy');
}

function announce(withSort) {
  count.textContent = sorting.countText((data.units || []).length, withSort);
}

async function load() {
  if (!cid) return;
  unitsHint.textContent = KINDS[kind].hint;
  seq += 1;
  const mine = seq;
  table.setAttribute('aria-busy', 'true');
  try {
    const answer = await api.results(cid, kind);
    if (mine !== seq) return;
    data = answer;
    renderSummary();
    renderRanking();
    renderTable();
    sorting.mark();
    announce(false);
  } catch (error) {
    if (mine !== seq) return;
    table.removeAttribute('aria-busy');
    summary.removeAttribute('aria-busy');
    showError(pageBox, error);
  }
}

exportButton(exportNode, exportBox, { ready: () => Boolean(cid), request: () => api.resultsExport(cid) });

function follow(value, name) {
  cid = value;
  backLink.href = campaignHref('/bo/', cid);
  setTitle(`Kết quả Chỉ số CCHC — ${name || value}`);
  show(exportBox, 'info', '');
}

function start() {
  showKind(kind);
  sorting.mark();
  return startCampaignPage(current, {
    select, box: pageBox,
    open: (value, campaign) => {
      follow(value, campaign && campaign.name);
      return load();
    },
    none: () => {
      table.removeAttribute('aria-busy');
      summary.removeAttribute('aria-busy');
    },
  });
}

if (current) start();
