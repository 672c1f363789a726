// The ministry's integrity review: the units of a campaign by risk, each with its flags and their
// evidence in plain Vietnamese (a disclosure row per unit), an on-demand scan, and annulling or reinstating a unit's
// survey results, each with a required reason given in a dialog.
import * as api from '../lib/api.js';
import { campaignHref } from '../lib/campaign.js';
import { clear, el, setTitle } from '../lib/dom.js';
import { formatDate, formatDateTime, formatNumber, formatPercent } from '../lib/format.js';
import { QUESTIONNAIRES } from '../lib/labels.js';
import { busy, show, showError } from '../components/messages.js';
import { startCampaignPage } from '../components/page.js';
import { reasonDialog } from '../components/reason-dialog.js';
import { exportButton } from '../components/export-button.js';

const COLUMNS = 9;
const FLAG_THRESHOLD = 40; // the API's default; the answer's thresholds do not carry it
const current = api.requireSession('moha');

const pageBox = document.getElementById('page-message');
const select = document.getElementById('dot');
const scanButton = document.getElementById('scan-button');
const scanBox = document.getElementById('scan-message');
const table = document.getElementById('integrity-table');
const body = table.querySelector('tbody');
const count = document.getElementById('unit-count');
const backLink = document.getElementById('back-link');
const exportNode = document.getElementById('export-button');
const exportBox = document.getElementById('export-message');

let cid = null;
let seq = 0;
const expanded = new Set(); // units whose evidence is open, kept across reloads

// ---- formatting ------------------------------------------------------------------------------------------

function level(score) {
  if (score >= FLAG_THRESHOLD) return { key: 'high', name: 'Cao' };
  if (score > 0) return { key: 'medium', name: 'Trung bình' };
  return { key: 'low', name: 'Thấp' };
}

function scoreBadge(score) {
  const value = Number(score) || 0;
  const { key, name } = level(value);
  return el('span', { class: `badge badge-risk badge-risk-${key}`, dataset: { level: key } },
    `${value}/100 · ${name}`);
}

/** "từ 09:05 đến 09:12 ngày 12/03/2025", a single "lúc …" when both read the same to the minute, or both full
 * instants when the days differ. */
function span(from, to) {
  if (!from) return '';
  const a = formatDateTime(from);
  const b = to ? formatDateTime(to) : a;
  if (a === b) return `lúc ${a}`;
  const dayA = formatDate(from);
  if (dayA === formatDate(to)) return `từ ${a.slice(0, 5)} đến ${b.slice(0, 5)} ngày ${dayA}`;
  return `từ ${a} đến ${b}`;
}

function share(value) {
  return formatPercent((Number(value) || 0) * 100);
}

const CHANGE_STATES = { pending: 'Chờ Bộ duyệt', approved: 'Bộ đã đồng ý, phiếu đã gửi lại', refused: 'Bộ không đồng ý' };

/** The links (or answer sets) behind a flag: questionnaire and short number, time, address; never an internal id. */
function recordList(records) {
  const items = records || [];
  if (!items.length) return null;
  return el('div', { class: 'evidence-records' },
    el('span', { class: 'evidence-label' }, `Đường dẫn, thời gian và địa chỉ (${formatNumber(items.length)}):`),
    el('ul', { class: 'record-list' }, items.map((r) => el('li', {},
      el('span', { class: 'record-label' }, String(r.label || '')),
      r.time ? ` — ${r.time}` : '',
      r.address ? [' — ', el('code', {}, String(r.address))] : ''))));
}

/** "Dự kiến 0,089 · Phát hiện 6 · Xác suất 1,2 × 10⁻⁸": what honest answering gives, against what was seen. */
function numbers(flag) {
  const parts = [];
  if (flag.expected !== undefined && flag.expected !== null) parts.push(`Dự kiến ${formatDecimal(flag.expected)}`);
  if (flag.observed !== undefined && flag.observed !== null) parts.push(`Phát hiện ${formatDecimal(flag.observed)}`);
  if (flag.probability_label) parts.push(`Xác suất ${flag.probability_label}`);
  return parts.length ? el('p', { class: 'flag-numbers' }, parts.join(' · ')) : null;
}

/** As the evidence sentences write numbers: 17 · 2,5 · 0,054 (decimal comma). */
function formatDecimal(value) {
  const x = Number(value) || 0;
  const options = x >= 10 ? { maximumFractionDigits: 0 }
    : x >= 0.1 ? { maximumFractionDigits: 1 } : { maximumSignificantDigits: 2 };
  return new Intl.NumberFormat('vi-VN', options).format(x);
}

function fact(label, value) {
  return el('li', {}, el('span', { class: 'evidence-label' }, `${label}: `), value);
}

function questionnaireName(qid) {
  const text = String(qid || '');
  const known = Object.entries(QUESTIONNAIRES).find(([key]) => text === key || text.endsWith(key));
  return known ? `Phiếu ${known[1]}` : `Phiếu ${text}`;
}

function sharedEvidence(item, device) {
  const [address, agent] = String(item.address || '').split(' | ');
  return el('ul', { class: 'evidence-facts' },
    fact('Địa chỉ mạng', el('code', {}, address)),
    device && agent ? fact('Trình duyệt', el('code', {}, agent)) : null,
    fact('Số người trả lời', formatNumber(item.respondents)),
    item.from ? fact('Thời gian gửi phiếu', span(item.from, item.to)) : null);
}

/** The facts of a flag's headline evidence, beside its sentence (addresses, browsers, shares, spans). */
function listEvidence(flag) {
  const evidence = flag.evidence;
  const items = Array.isArray(evidence) ? evidence : [];
  switch (flag.rule) {
    case 'shared_ip':
    case 'shared_device':
      return items.length ? sharedEvidence(items[0], flag.rule === 'shared_device') : null;
    case 'identical_answers':
      return items.length ? el('ul', { class: 'evidence-facts' },
        fact('Phiếu', questionnaireName(items[0].questionnaire)),
        fact('Số phiếu trùng khớp', `${formatNumber(items[0].responses)} trên ${formatNumber(items[0].of)}`),
        items[0].from ? fact('Thời gian gửi phiếu', span(items[0].from, items[0].to)) : null) : null;
    case 'too_fast':
    case 'straight_lining':
      return flag.share !== undefined
        ? el('p', {}, `Chiếm ${share(flag.share)} số phiếu ${flag.rule === 'too_fast' ? 'đã gửi ' : ''}của đơn vị.`)
        : null;
    case 'address_changes':
      return el('div', {},
        el('p', {}, `${formatNumber(flag.requests)} đề nghị đổi email sau khi thư mời đã được gửi tới người nhận; `
          + `${formatNumber(flag.reissued || 0)} phiếu đã được gửi lại tới email mới.`),
        el('ul', { class: 'evidence-list' }, items.map((item) => el('li', { class: 'evidence-item' },
          el('ul', { class: 'evidence-facts' },
            fact('Đề nghị lúc', formatDateTime(item.requested_at)),
            fact('Tình trạng', CHANGE_STATES[item.state] || String(item.state)),
            item.decided_at ? fact('Bộ xử lý lúc', formatDateTime(item.decided_at)) : null,
            fact('Số phiếu liên quan', formatNumber((item.links || []).length)))))));
    case 'burst': {
      const b = evidence && !Array.isArray(evidence) ? evidence : {};
      return el('ul', { class: 'evidence-facts' },
        fact('Số phiếu', `${formatNumber(b.submissions)} trên ${formatNumber(b.of)}`),
        fact('Thời gian gửi phiếu', span(b.from, b.to)));
    }
    case 'province_ip':
    case 'link_many_devices':
      return null;
    default:
      return genericEvidence(evidence);
  }
}

/** An unknown rule's evidence, shown as plain text (never markup). */
function genericEvidence(evidence) {
  const items = Array.isArray(evidence) ? evidence : [evidence];
  return el('ul', { class: 'evidence-list compact' }, items.map((item) => el('li', {},
    item && typeof item === 'object'
      ? Object.entries(item).map(([k, v]) => `${k}: ${Array.isArray(v) ? v.join(', ') : v}`).join(' · ')
      : String(item))));
}

function evidencePanel(unit) {
  const flags = unit.flags || [];
  if (!flags.length) return el('p', { class: 'muted' }, 'Không phát hiện dấu hiệu can thiệp nào ở lần quét gần nhất.');
  return el('ol', { class: 'flag-list' }, flags.map((flag) => el('li', { class: 'flag', dataset: { rule: flag.rule } },
    el('p', { class: 'flag-name' }, el('strong', {}, flag.name || flag.rule)),
    flag.summary ? el('p', { class: 'flag-summary' }, String(flag.summary)) : null,
    numbers(flag),
    listEvidence(flag),
    recordList(flag.records))));
}

// ---- table -----------------------------------------------------------------------------------------------

function annulCell(unit) {
  if (!unit.annulled) return el('td', {}, el('span', { class: 'badge badge-valid' }, 'Còn hiệu lực'));
  return el('td', {}, el('span', { class: 'badge badge-annulled' }, 'Đã hủy kết quả'),
    unit.annul_reason ? el('span', { class: 'annul-reason muted' }, `Lý do: ${unit.annul_reason}`) : null);
}

function rows(unit) {
  const detailId = `evidence-${unit.unit}`;
  const open = expanded.has(unit.unit);
  const toggle = el('button', { type: 'button', class: 'small disclosure', 'aria-expanded': String(open),
    'aria-controls': detailId, 'aria-label': `Xem bằng chứng — ${unit.name}` }, 'Xem bằng chứng');
  const detail = el('tr', { id: detailId, class: 'evidence-row', hidden: !open, dataset: { unit: unit.unit } },
    el('td', { colspan: COLUMNS },
      el('h3', { class: 'evidence-heading' }, `Dấu hiệu và bằng chứng — ${unit.name}`),
      evidencePanel(unit)));
  toggle.addEventListener('click', () => {
    const now = toggle.getAttribute('aria-expanded') !== 'true';
    toggle.setAttribute('aria-expanded', String(now));
    detail.hidden = !now;
    if (now) expanded.add(unit.unit);
    else expanded.delete(unit.unit);
  });
  const answered = Number(unit.responses) > 0 || Number(unit.submitted) > 0;
  const action = !unit.annulled && !answered ? null : unit.annulled
    ? el('button', { type: 'button', class: 'small', 'aria-label': `Khôi phục kết quả — ${unit.name}` },
      'Khôi phục kết quả')
    : el('button', { type: 'button', class: 'small danger-outline',
      'aria-label': `Hủy kết quả khảo sát — ${unit.name}` }, 'Hủy kết quả khảo sát');
  if (action) action.addEventListener('click', () => openReasonDialog(unit, unit.annulled ? 'reinstate' : 'annul'));
  const flags = (unit.flags || []).length;
  const main = el('tr', { dataset: { unit: unit.unit, flagged: String(Boolean(unit.flagged)),
    annulled: String(Boolean(unit.annulled)) }, class: unit.flagged ? 'flagged' : null },
  el('td', { class: 'code' }, unit.unit),
  el('th', { scope: 'row' }, unit.name),
  el('td', {}, scoreBadge(unit.score)),
  el('td', {}, flags ? el('span', { class: 'no' }, 'Có') : el('span', { class: 'yes' }, 'Không')),
  el('td', { class: 'num' }, formatNumber(flags)),
  el('td', { class: 'num' }, formatNumber(unit.submitted)),
  el('td', {}, unit.scanned_at ? el('time', { datetime: unit.scanned_at },
    unit.scanned_at_label || formatDateTime(unit.scanned_at)) : '—'),
  annulCell(unit),
  el('td', {}, el('div', { class: 'row-actions' }, toggle, action
    || el('span', { class: 'muted' }, 'Chưa có phiếu trả lời'))));
  return [main, detail];
}

function render(data) {
  const units = [...(data.units || [])].sort((a, b) => (b.score - a.score) || String(a.unit).localeCompare(b.unit));
  clear(body);
  if (!units.length) {
    body.append(el('tr', {}, el('td', { colspan: COLUMNS, class: 'empty' },
      'Chưa có kết quả quét nào cho đợt đánh giá này. Bấm «Quét ngay» để quét.')));
  } else {
    body.append(...units.flatMap(rows));
  }
  table.removeAttribute('aria-busy');
  const flagged = units.filter((u) => u.flagged).length;
  const annulled = units.filter((u) => u.annulled).length;
  const marked = units.filter((u) => (u.flags || []).length).length;
  count.textContent = `${units.length} đơn vị đã được quét; ${marked} đơn vị có dấu hiệu, trong đó ${flagged} đơn vị `
    + 'có mức rủi ro cao (có dấu hiệu can thiệp)'
    + `${annulled ? `; ${annulled} đơn vị đã bị hủy kết quả` : ''}.`;
}

async function load() {
  if (!cid) return null;
  seq += 1;
  const mine = seq;
  table.setAttribute('aria-busy', 'true');
  try {
    const data = await api.integrity(cid);
    if (mine !== seq) return null;
    render(data);
    return data;
  } catch (error) {
    if (mine !== seq) return null;
    table.removeAttribute('aria-busy');
    showError(pageBox, error);
    return null;
  }
}

// ---- scan ------------------------------------------------------------------------------------------------

scanButton.addEventListener('click', async () => {
  if (!cid) return;
  show(scanBox, 'info', 'Đang quét các đơn vị có hoạt động mới; việc này có thể mất một lúc, vui lòng chờ…');
  try {
    seq += 1; // a load still on its way must not overwrite the scan's answer
    const data = await busy(scanButton, 'Đang quét…', () => api.scanIntegrity(cid));
    render(data);
    const flagged = (data.units || []).filter((u) => u.flagged).length;
    const scanned = Number(data.scanned) || 0;
    show(scanBox, 'success', scanned
      ? `Đã quét ${scanned} đơn vị có hoạt động mới lúc ${formatDateTime(new Date())}. `
        + `${flagged} đơn vị có dấu hiệu can thiệp.`
      : `Không có hoạt động mới kể từ lần quét trước; kết quả giữ nguyên. ${flagged} đơn vị có dấu hiệu can thiệp.`);
  } catch (error) {
    showError(scanBox, error);
  }
});

exportButton(exportNode, exportBox, { ready: () => Boolean(cid), request: () => api.integrityExport(cid) });

// ---- annul and reinstate ---------------------------------------------------------------------------------

const ACTIONS = {
  annul: {
    title: (u) => `Hủy kết quả khảo sát của ${u.name}?`,
    body: (u) => [
      `Toàn bộ kết quả khảo sát của ${u.name} sẽ bị loại khỏi mọi số liệu tổng hợp, tệp xuất và điểm số; `
        + 'các phiếu vẫn được lưu để phục vụ kiểm tra.',
      'Đơn vị nhận được thông báo kèm lý do. Việc hủy được ghi nhật ký và có thể khôi phục lại sau.',
    ],
    confirm: 'Hủy kết quả khảo sát',
    busy: 'Đang hủy…',
    call: (u, reason) => api.annulUnit(cid, u.unit, reason),
    done: (u) => `Đã hủy kết quả khảo sát của ${u.name}.`,
    danger: true,
  },
  reinstate: {
    title: (u) => `Khôi phục kết quả khảo sát của ${u.name}?`,
    body: (u) => [
      `Kết quả khảo sát của ${u.name} sẽ được tính lại vào số liệu tổng hợp, tệp xuất và điểm số.`,
      'Đơn vị nhận được thông báo kèm lý do. Việc khôi phục được ghi nhật ký.',
    ],
    confirm: 'Khôi phục kết quả',
    busy: 'Đang khôi phục…',
    call: (u, reason) => api.reinstateUnit(cid, u.unit, reason),
    done: (u) => `Đã khôi phục kết quả khảo sát của ${u.name}.`,
    danger: false,
  },
};

function openReasonDialog(unit, kind) {
  const action = ACTIONS[kind];
  reasonDialog({
    title: action.title(unit),
    body: action.body(unit).map((text) => el('p', {}, text)),
    label: 'Lý do (bắt buộc)', maxLength: 1000, emptyMessage: 'Vui lòng nêu lý do.',
    confirmLabel: action.confirm, busyLabel: action.busy, danger: action.danger,
    dataset: { kind, unit: unit.unit },
    submit: (reason) => action.call(unit, reason),
    onDone: () => {
      show(pageBox, 'success', action.done(unit));
      return load();
    },
    onConflict: load,
  });
}

// ---- start -----------------------------------------------------------------------------------------------

function follow(value, name) {
  cid = value;
  backLink.href = campaignHref('/bo/', cid);
  setTitle(`Rà soát can thiệp — ${name || value}`);
  show(scanBox, 'info', '');
}

function start() {
  return startCampaignPage(current, {
    select, box: pageBox,
    open: (value, campaign) => {
      follow(value, campaign && campaign.name);
      expanded.clear();
      return load();
    },
    none: () => table.removeAttribute('aria-busy'),
  });
}

if (current) start();
