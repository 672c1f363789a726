// The province's IT focal person: load, edit, save; locked outside the focal_person phase.
import * as api from '../lib/api.js';
import { currentState, learnServerClock, serverNow } from '../lib/clock.js';
import { clear, el } from '../lib/dom.js';
import { formatDateTime } from '../lib/format.js';
import { extendedBadge, stateBadge } from '../components/badges.js';
import { busy, clearFieldErrors, errorText, reportError, show } from '../components/messages.js';
import { showContext, startUnitPage } from '../components/page.js';
import { countdown } from '../components/phase.js';

const PHASE = 'focal_person';
const current = api.requireSession('province');

const form = document.getElementById('focal-form');
const fieldset = document.getElementById('focal-fieldset');
const fields = {
  full_name: document.getElementById('full_name'),
  position: document.getElementById('position'),
  mobile: document.getElementById('mobile'),
};
const button = document.getElementById('save-button');
const box = document.getElementById('form-message');
const context = document.getElementById('context');
const phaseInfo = document.getElementById('phase-info');
const lastSaved = document.getElementById('last-saved');
let cid = null;

function lockedText(phase) {
  if (!phase) return 'Đợt đánh giá này không có giai đoạn cử cán bộ đầu mối.';
  if (currentState(phase) === 'upcoming') {
    return `Giai đoạn “${phase.name}” chưa mở (mở từ ngày ${phase.opens_label}). Chưa thể cập nhật thông tin.`;
  }
  return `Đã hết thời hạn “${phase.name}” (${phase.deadline_label}). `
    + 'Phần mềm đã tự động khóa; liên hệ Bộ Nội vụ nếu cần gia hạn.';
}

function lock(message) {
  fieldset.disabled = true;
  form.classList.add('locked');
  show(box, 'error', message);
}

function renderPhase(phase) {
  clear(phaseInfo);
  if (!phase) return;
  const state = currentState(phase);
  phaseInfo.append(stateBadge(state));
  if (phase.extended) phaseInfo.append(extendedBadge());
  phaseInfo.append(el('span', {}, `Thời hạn: ${phase.deadline_label}`));
  if (state === 'open') {
    phaseInfo.append(el('span', {}, '· ', countdown(phase.closes_at, () => {
      renderPhase(phase);
      lock(lockedText(phase));
    })));
  }
}

function fill(focal) {
  for (const [name, input] of Object.entries(fields)) input.value = focal[name] || '';
  lastSaved.textContent = focal.updated_at_label
    ? `Cập nhật lần cuối lúc ${focal.updated_at_label}${focal.updated_by ? ` (tài khoản ${focal.updated_by})` : ''}.`
    : 'Đơn vị chưa khai báo cán bộ đầu mối.';
}

function start() {
  return startUnitPage(current, {
    box,
    none: () => lock('Đơn vị chưa tham gia đợt đánh giá nào.'),
    noneText: null,
    open: async (campaign) => {
      cid = campaign.id;
      showContext(context, campaign.name, current.displayName || current.unit || '');
      learnServerClock(campaign.phases);
      const phase = campaign.phases.find((p) => p.code === PHASE);
      renderPhase(phase);
      fill(await api.focalPerson(cid, current.unit));
      if (!phase || currentState(phase) !== 'open') lock(lockedText(phase));
      else fieldset.disabled = false;
    },
  });
}

form.addEventListener('submit', async (event) => {
  event.preventDefault();
  if (!cid || fieldset.disabled) return;
  clearFieldErrors(form);
  show(box, 'info', '');
  try {
    const saved = await busy(button, 'Đang lưu…', () => api.saveFocalPerson(cid, current.unit, {
      full_name: fields.full_name.value, position: fields.position.value, mobile: fields.mobile.value,
    }));
    fill(saved);
    show(box, 'success', `Đã lưu lúc ${saved.updated_at_label || formatDateTime(serverNow())}.`);
  } catch (error) {
    if (error.status === 423) {
      lock(errorText(error));
      return;
    }
    reportError(box, error, fields);
  }
});

if (current) start();
