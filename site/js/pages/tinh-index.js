// Province home: the campaign's phases with live countdowns, the focal person, the roster's status, the links to
// the survey progress and the self-assessment, the unit's notifications.
import * as api from '../lib/api.js';
import { campaignHref } from '../lib/campaign.js';
import { learnServerClock } from '../lib/clock.js';
import { el } from '../lib/dom.js';
import { formatDateTime } from '../lib/format.js';
import { rosterBadge } from '../components/badges.js';
import { errorText } from '../components/messages.js';
import { notificationsFailed, renderNotifications } from '../components/notifications.js';
import { startUnitHome } from '../components/page.js';
import { renderPhaseList } from '../components/phase.js';

const current = api.requireSession('province');

const box = document.getElementById('page-message');
const select = document.getElementById('dot');
const phaseList = document.getElementById('phases');
const notificationList = document.getElementById('notifications');
const focalSummary = document.getElementById('focal-summary');
const focalLink = document.getElementById('focal-link');
const rosterSummary = document.getElementById('roster-summary');
const rosterLink = document.getElementById('roster-link');
const progressLink = document.getElementById('progress-link');
const assessmentLink = document.getElementById('assessment-link');
let refresh = null; // reads the campaigns again and shows one

function renderFocal(focal, phase, cid) {
  focalLink.href = campaignHref('/tinh/dau-moi.html', cid);
  if (focal && focal.full_name) {
    focalSummary.replaceChildren(
      el('strong', {}, focal.full_name),
      `, ${focal.position || ''}`,
      focal.mobile ? ` — điện thoại ${focal.mobile}` : '',
      focal.updated_at_label ? el('span', { class: 'muted' }, ` (cập nhật ${focal.updated_at_label})`) : '');
    focalLink.textContent = phase && phase.state === 'open' ? 'Sửa thông tin cán bộ đầu mối'
      : 'Xem thông tin cán bộ đầu mối';
  } else {
    focalSummary.textContent = 'Đơn vị chưa cử cán bộ đầu mối công nghệ thông tin.';
    focalLink.textContent = phase && phase.state === 'open' ? 'Khai báo cán bộ đầu mối'
      : 'Xem thông tin cán bộ đầu mối';
  }
}

function renderRoster(detail, cid) {
  rosterLink.href = campaignHref('/tinh/danh-sach.html', cid);
  const own = (detail.units || []).find((u) => u.code === current.unit);
  if (!own) {
    rosterSummary.textContent = 'Chưa có thông tin danh sách.';
    return;
  }
  const sent = own.roster_status === 'submitted' && own.roster_submitted_at
    ? ` lúc ${formatDateTime(own.roster_submitted_at)}` : '';
  rosterSummary.replaceChildren(rosterBadge(own.roster_status), `${sent} — `,
    el('strong', {}, `${own.roster_total || 0} người`));
}

async function load(cid, items) {
  const campaign = items.find((c) => c.id === cid);
  if (!campaign) return;
  learnServerClock(campaign.phases);
  progressLink.href = campaignHref('/tinh/tien-do.html', cid);
  assessmentLink.href = campaignHref('/tinh/tu-danh-gia.html', cid);
  const reload = () => window.setTimeout(() => refresh(cid), 1500);
  renderPhaseList(phaseList, campaign.phases, reload);
  const focalPhase = campaign.phases.find((p) => p.code === 'focal_person');
  const [focal, notes, detail] = await Promise.allSettled([
    api.focalPerson(cid, current.unit), api.notifications(cid, current.unit), api.campaign(cid)]);
  if (focal.status === 'fulfilled') renderFocal(focal.value, focalPhase, cid);
  else focalSummary.textContent = errorText(focal.reason);
  if (detail.status === 'fulfilled') renderRoster(detail.value, cid);
  else {
    rosterLink.href = campaignHref('/tinh/danh-sach.html', cid);
    rosterSummary.textContent = errorText(detail.reason);
  }
  if (notes.status === 'fulfilled') renderNotifications(notificationList, notes.value.items || []);
  else notificationsFailed(notificationList, notes.reason);
}

if (current) refresh = startUnitHome(current, { box, select, phaseList, load });
