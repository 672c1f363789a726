// Vietnamese formatting: dates and times in Asia/Ho_Chi_Minh (dd/mm/yyyy), numbers, percentages, scores, sizes,
// and folding for accent-insensitive filters.

export const TZ = 'Asia/Ho_Chi_Minh';

export const pad = (n) => String(n).padStart(2, '0');

// ---- dates and times -------------------------------------------------------------------------------------

const dateParts = new Intl.DateTimeFormat('vi-VN', {
  timeZone: TZ, day: '2-digit', month: '2-digit', year: 'numeric',
});
const timeParts = new Intl.DateTimeFormat('vi-VN', {
  timeZone: TZ, hour: '2-digit', minute: '2-digit', hourCycle: 'h23',
});

function partsOf(format, date) {
  const out = {};
  for (const part of format.formatToParts(date)) out[part.type] = part.value;
  return out;
}

function toDate(value) {
  const date = value instanceof Date ? value : new Date(value);
  return Number.isNaN(date.getTime()) ? null : date;
}

/** dd/mm/yyyy in Vietnam's time zone. */
export function formatDate(value) {
  const date = toDate(value);
  if (!date) return '';
  const p = partsOf(dateParts, date);
  return `${p.day}/${p.month}/${p.year}`;
}

/** HH:MM dd/mm/yyyy in Vietnam's time zone (the API's own labels read the same way). */
export function formatDateTime(value) {
  const date = toDate(value);
  if (!date) return '';
  const t = partsOf(timeParts, date);
  return `${t.hour}:${t.minute} ${formatDate(date)}`;
}

/**
 * "15/01/2022" (also 15-1-2022, 15.01.2022) → "2022-01-15"; null when it is not a real day.
 * Date fields are plain text in dd/mm/yyyy: a native date input shows the browser's own order (mm/dd on an
 * English Windows), which officials would misread.
 */
export function parseDateVN(text) {
  const m = /^\s*(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})\s*$/.exec(String(text || ''));
  if (!m) return null;
  const [day, month, year] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const probe = new Date(Date.UTC(year, month - 1, day));
  if (probe.getUTCFullYear() !== year || probe.getUTCMonth() !== month - 1 || probe.getUTCDate() !== day) return null;
  return `${year}-${pad(month)}-${pad(day)}`;
}

/** "Còn 3 ngày 04:12:09" / "Còn 04:12:09". */
export function formatRemaining(ms) {
  const total = Math.max(0, Math.floor(ms / 1000));
  const days = Math.floor(total / 86400);
  const clock = `${pad(Math.floor((total % 86400) / 3600))}:${pad(Math.floor((total % 3600) / 60))}:${pad(total % 60)}`;
  return days > 0 ? `Còn ${days} ngày ${clock}` : `Còn ${clock}`;
}

// ---- numbers ---------------------------------------------------------------------------------------------

const numberFormat = new Intl.NumberFormat('vi-VN');
const percentFormat = new Intl.NumberFormat('vi-VN', { minimumFractionDigits: 0, maximumFractionDigits: 1 });
const scoreFormat = new Intl.NumberFormat('vi-VN', { maximumFractionDigits: 2 });
const indexFormat = new Intl.NumberFormat('vi-VN', { minimumFractionDigits: 2, maximumFractionDigits: 2 });

/** "1.234" */
export function formatNumber(value) {
  return numberFormat.format(Number(value) || 0);
}

/** "45,5%" */
export function formatPercent(rate) {
  return `${percentFormat.format(Number(rate) || 0)}%`;
}

/** "12,5" / "0,25"; '—' when there is no score. */
export function formatScore(value) {
  if (value === null || value === undefined || value === '' || Number.isNaN(Number(value))) return '—';
  return scoreFormat.format(Number(value));
}

/** The index to two decimals, as the ministry publishes it: "91,80". */
export function formatIndex(value) {
  if (value === null || value === undefined || Number.isNaN(Number(value))) return '—';
  return indexFormat.format(Number(value));
}

/** "12,5/20" */
export function outOf(value, max) {
  return `${formatScore(value)}/${formatScore(max)}`;
}

/** "4,5 MB" */
export function formatMegabytes(bytes) {
  return `${(bytes / 1048576).toLocaleString('vi-VN', { maximumFractionDigits: 1 })} MB`;
}

/** "1,2 MB" / "35 KB" */
export function formatSize(bytes) {
  const n = Number(bytes) || 0;
  if (n >= 1048576) return formatMegabytes(n);
  return `${Math.max(1, Math.round(n / 1024)).toLocaleString('vi-VN')} KB`;
}

// ---- text ------------------------------------------------------------------------------------------------

/** Vietnamese-insensitive folding for filters: "ha noi" finds "Hà Nội", "da nang" finds "Đà Nẵng". */
export function fold(text) {
  return String(text || '').normalize('NFD').replace(/[\u0300-\u036f]/g, '').replace(/[đĐ]/g, 'd')
    .toLowerCase().replace(/\s+/g, ' ').trim();
}

/** "1. Đại biểu HĐND cấp tỉnh" */
export function groupLabel(group) {
  return `${group.code}. ${group.name}`;
}
