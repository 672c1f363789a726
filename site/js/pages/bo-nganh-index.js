// An assessed ministry's home: the campaign's phases that concern it with live countdowns, its self-assessment's
// state and score, how many provincial respondents were asked to evaluate it and how many answered, its
// notifications.
import * as api from '../lib/api.js';
import { campaignHref } from '../lib/campaign.js';
import { learnServerClock } from '../lib/clock.js';
import { el } from '../lib/dom.js';
import { formatNumber, formatPercent, outOf } from '../lib/format.js';
import { renderAssessmentState } from '../components/assessment.js';
import { errorText } from '../components/messages.js';
import { notificationsFailed, renderNotifications } from '../components/notifications.js';
import { startUnitHome } from '../components/page.js';
import { renderPhaseList } from '../components/phase.js';

const current = api.requireSession('ministry');

const box = document.getElementById('page-message');
const select = document.getElementById('dot');
const phaseList = document.getElementById('phases');
const notificationList = document.getElementById('notifications');
const assessmentSummary = document.getElementById('assessment-summary');
const assessmentLink = document.getElementById('assessment-link');
const surveySummary = document.getElementById('survey-summary');
const surveyLink = document.getElementById('survey-link');
let refresh = null; // reads the campaigns again and shows one

function renderAssessment(view) {
  const state = el('span');
  renderAssessmentState(state, view);
  const t = view.totals || {};
  assessmentSummary.replaceChildren('Tình trạng: ', state, ' — tổng điểm tự chấm ',
    el('strong', {}, outOf(t.self || 0, t.self_max || 0)), '.');
}

function renderSurvey(counts) {
  if (!counts.asked) {
    surveySummary.textContent = 'Chưa có người nào được mời đánh giá Bộ trong đợt này.';
    return;
  }
  const provinces = (counts.provinces || []).filter((p) => !p.annulled && p.asked).length;
  surveySummary.replaceChildren(el('strong', {}, `${formatNumber(counts.answered)}/${formatNumber(counts.asked)}`),
    ` người được mời đã trả lời (${formatPercent(counts.rate)}), ở ${formatNumber(provinces)} tỉnh, thành phố.`);
}

async function load(cid, items) {
  const campaign = items.find((c) => c.id === cid);
  if (!campaign) return;
  learnServerClock(campaign.phases);
  assessmentLink.href = campaignHref('/bo-nganh/tu-danh-gia.html', cid);
  surveyLink.href = campaignHref('/bo-nganh/tien-do.html', cid);
  renderPhaseList(phaseList, campaign.phases, () => window.setTimeout(() => refresh(cid), 1500));
  const [view, counts, notes] = await Promise.allSettled([api.assessment(cid, current.unit),
    api.ministrySurvey(cid, current.unit), api.notifications(cid, current.unit)]);
  if (view.status === 'fulfilled') renderAssessment(view.value);
  else assessmentSummary.textContent = errorText(view.reason);
  if (counts.status === 'fulfilled') renderSurvey(counts.value);
  else surveySummary.textContent = errorText(counts.reason);
  if (notes.status === 'fulfilled') renderNotifications(notificationList, notes.value.items || []);
  else notificationsFailed(notificationList, notes.reason);
}

if (current) refresh = startUnitHome(current, { box, select, phaseList, load });
