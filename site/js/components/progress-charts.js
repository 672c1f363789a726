// A unit's (or the nation's) survey progress: its totals as a summary list, the response rate per group and
// questionnaire, the questionnaires answered per day.

import { el } from '../lib/dom.js';
import { formatNumber, formatPercent } from '../lib/format.js';
import { barChart } from './chart.js';

/** The totals of a unit or of the nation as a summary list (dl.summary), rate first. */
export function progressSummary(totals) {
  const t = totals || {};
  const items = [
    ['rate', 'Tỷ lệ trả lời', formatPercent(t.rate)],
    ['total', 'Số phiếu', formatNumber(t.total)],
    ['mailed', 'Đã gửi thư', formatNumber(t.mailed)],
    ['opened', 'Đã mở', formatNumber(t.opened)],
    ['submitted', 'Đã trả lời', formatNumber(t.submitted)],
    ['bounced', 'Thư bị trả lại', formatNumber(t.bounced)],
    ['not_sent', 'Chưa gửi', formatNumber((t.issued || 0) + (t.failed || 0))],
  ];
  return el('dl', { class: 'summary progress-summary' }, items.map(([key, name, value]) => el('div',
    { dataset: { total: key }, class: key === 'rate' ? 'summary-rate' : null },
    el('dt', {}, name), el('dd', {}, value))));
}

/** The response rate per group and questionnaire of a unit's progress as a bar chart. */
export function groupChart(byGroup) {
  const several = new Set();
  const seen = new Set();
  for (const g of byGroup || []) {
    if (seen.has(g.group)) several.add(g.group);
    seen.add(g.group);
  }
  const rows = (byGroup || []).map((g) => ({
    label: several.has(g.group) ? `${g.group}. ${g.group_name} — ${g.purpose_name}` : `${g.group}. ${g.group_name}`,
    value: g.rate,
    text: `${formatPercent(g.rate)} (${formatNumber(g.submitted)}/${formatNumber(g.total)})`,
    g,
  }));
  return barChart({
    label: 'Biểu đồ tỷ lệ trả lời theo nhóm đối tượng và phiếu',
    caption: 'Tỷ lệ trả lời theo nhóm đối tượng và phiếu',
    rows,
    head: ['Nhóm đối tượng', 'Phiếu', 'Số phiếu', 'Đã gửi thư', 'Đã trả lời', 'Thư bị trả lại', 'Tỷ lệ trả lời'],
    cells: ({ g }) => [`${g.group}. ${g.group_name}`, g.purpose_name, formatNumber(g.total), formatNumber(g.mailed),
      formatNumber(g.submitted), formatNumber(g.bounced), formatPercent(g.rate)],
    empty: 'Chưa phát hành phiếu khảo sát nên chưa có số liệu.',
  });
}

/** Questionnaires answered per day (local dates) as a titled bar chart: when people answered, reminders' effect. */
export function dayChart(byDay) {
  const days = byDay || [];
  const most = Math.max(1, ...days.map((d) => d.submitted));
  // [heading, figure]: its own visible title, as it follows the per-group chart under that chart's heading.
  return [el('h3', { class: 'chart-heading', id: 'day-chart-heading' }, 'Số phiếu được trả lời theo ngày'), barChart({
    label: 'Biểu đồ số phiếu được trả lời theo ngày',
    caption: 'Số phiếu được trả lời theo ngày',
    rows: days.map((d) => ({ label: d.label, value: (100 * d.submitted) / most, text: formatNumber(d.submitted), d })),
    head: ['Ngày', 'Số phiếu được trả lời'],
    cells: ({ d }) => [d.label, formatNumber(d.submitted)],
    empty: 'Chưa có phiếu nào được trả lời.',
  })];
}

/** Fills a totals box and a chart box from a unit's progress answer (with the annulment notice). */
export function renderUnitProgress(totalsNode, chartNode, data) {
  totalsNode.removeAttribute('aria-busy');
  totalsNode.replaceChildren(progressSummary(data.totals));
  if (data.annulled) totalsNode.append(el('p', { class: 'notice' }, 'Kết quả khảo sát của đơn vị đã bị hủy.'));
  chartNode.replaceChildren(groupChart(data.by_group));
}
