// Province home: the campaign's phases with live countdowns, the focal person, the roster's status, the links to
// the survey progress and the self-assessment, the unit's notifications.
import * as api from '../lib/api.js';
import { campaignHref, chooseCampaign, rememberCampaign } from '../lib/campaign.js';
import { learnServerClock } from '../lib/clock.js';
import { clear, el, setTitle } from '../lib/dom.js';
import { formatDateTime } from '../lib/format.js';
import { mountAccount } from '../components/account.js';
import { extendedBadge, rosterBadge, stateBadge } from '../components/badges.js';
import { fillCampaignSelect } from '../components/campaign-select.js';
import { errorText, show } from '../components/messages.js';
import { notificationsFailed, renderNotifications } from '../components/notifications.js';
import { countdown } from '../components/phase.js';

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

function phaseItem(phase, onExpire) {
  const state = phase.state;
  const badges = el('span', { class: 'badges' }, stateBadge(state), phase.extended ? extendedBadge() : null);
  const facts = el('dl', { class: 'facts' },
    el('div', {}, el('dt', {}, 'Mở từ ngày'), el('dd', {}, phase.opens_label)),
    el('div', {}, el('dt', {}, 'Thời hạn'), el('dd', {}, phase.deadline_label)));
  let remaining = null;
  if (state === 'open') {
    remaining = el('p', { class: 'remaining' }, countdown(phase.closes_at, onExpire));
  } else if (state === 'upcoming') {
    remaining = el('p', { class: 'remaining muted' }, `Chưa mở, mở từ ngày ${phase.opens_label}`);
  }
  return el('li', { class: `phase phase-${state}`, dataset: { phase: phase.code, state } },
    el('div', { class: 'phase-head' }, el('h3', {}, phase.name), badges),
    facts, remaining);
}

function renderPhases(campaign, reload) {
  clear(phaseList).append(...campaign.phases.map((p) => phaseItem(p, reload)));
  phaseList.removeAttribute('aria-busy');
}

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
  renderPhases(campaign, reload);
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

async function refresh(cid) {
  try {
    const list = await api.campaigns();
    await load(cid, list.items || []);
  } catch (error) {
    show(box, 'error', errorText(error));
  }
}

async function start() {
  mountAccount(current, { home: false });
  try {
    const [me, list] = await Promise.all([api.me(), api.campaigns()]);
    const name = me.display_name || me.username;
    document.getElementById('page-title').textContent = name;
    document.getElementById('account-name').textContent = name;
    setTitle(name);
    const items = list.items || [];
    if (!items.length) {
      show(box, 'info', 'Đơn vị chưa tham gia đợt đánh giá nào.');
      clear(phaseList).removeAttribute('aria-busy');
      return;
    }
    const chosen = chooseCampaign(items);
    rememberCampaign(chosen.id);
    fillCampaignSelect(select, items, chosen.id, (cid) => refresh(cid));
    await load(chosen.id, items);
  } catch (error) {
    if (error.status !== 401) show(box, 'error', errorText(error));
  }
}

if (current) start();
