// How a page starts: the campaign it shows (picked from a selector, or the unit's own) and the context line.

import { unitCampaign } from '../lib/campaign.js';
import { el } from '../lib/dom.js';
import { mountAccount } from './account.js';
import { pickCampaign } from './campaign-select.js';
import { show, showError } from './messages.js';

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

/** "Đợt đánh giá: <strong>…</strong><br>Đơn vị: <strong>…</strong>" at the top of a unit's page. */
export function showContext(node, campaignName, unitName, { label = 'Đơn vị', id = null } = {}) {
  node.replaceChildren('Đợt đánh giá: ', el('strong', {}, campaignName), el('br'),
    `${label}: `, el('strong', { id }, unitName));
}
