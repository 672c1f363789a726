// How a page starts: the campaign it shows (picked from a selector, or the unit's own) and the context line.

import * as api from '../lib/api.js';
import { chooseCampaign, rememberCampaign, unitCampaign } from '../lib/campaign.js';
import { clear, el, setTitle } from '../lib/dom.js';
import { mountAccount } from './account.js';
import { fillCampaignSelect, pickCampaign } from './campaign-select.js';
import { errorText, show, showError } from './messages.js';

/**
 * Starts a page that shows one campaign at a time: the account header, then the campaign picked (pickCampaign) and
 * open(cid, campaign, first) for it and every campaign the user picks; with none, none() and a message in `box`.
 * Errors go to `box`.
 */
export async function startCampaignPage(current, { select, box, open, none = null }) {
  mountAccount(current);
  try {
    const chosen = await pickCampaign(select, (cid, campaign) => {
      Promise.resolve(open(cid, campaign, false)).catch((error) => showError(box, error));
    });
    if (!chosen) {
      if (none) none();
      show(box, 'info', 'Chưa có đợt đánh giá nào.');
      return;
    }
    await open(chosen.id, chosen, true);
  } catch (error) {
    showError(box, error);
  }
}

/**
 * Starts a unit's page (no selector): the account header, then its campaign (unitCampaign) and open(campaign);
 * when the unit takes part in none, none() and `noneText` in `box`. Errors go to `box`.
 */
export async function startUnitPage(current, { box, open, none = null,
  noneText = 'Đơn vị chưa tham gia đợt đánh giá nào.' }) {
  mountAccount(current);
  try {
    const chosen = await unitCampaign();
    if (!chosen) {
      if (none) none();
      if (noneText) show(box, 'info', noneText);
      return;
    }
    await open(chosen);
  } catch (error) {
    showError(box, error);
  }
}

/**
 * Starts a unit's home page (a province's or an assessed ministry's): the account header, the unit's name as the
 * page's #page-title, the campaign selector, then load(cid, campaigns) for the campaign chosen and for every one the
 * user picks. `phaseList` is emptied when the unit takes part in no campaign. Returns refresh(cid): reads the
 * campaigns again and loads `cid` (e.g. when a deadline passes). Errors go to `box`.
 */
export function startUnitHome(current, { box, select, phaseList, load }) {
  async function refresh(cid) {
    try {
      const list = await api.campaigns();
      await load(cid, list.items || []);
    } catch (error) {
      if (error.status !== 401) show(box, 'error', errorText(error));
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
  start();
  return refresh;
}

/** "Đợt đánh giá: <strong>…</strong><br>Đơn vị: <strong>…</strong>" at the top of a unit's page. */
export function showContext(node, campaignName, unitName, { label = 'Đơn vị', id = null } = {}) {
  node.replaceChildren('Đợt đánh giá: ', el('strong', {}, campaignName), el('br'),
    `${label}: `, el('strong', { id }, unitName));
}
