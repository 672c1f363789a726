// The campaign selector of a page (<select id="dot">) and the campaign it starts on.

import * as api from '../lib/api.js';
import { chooseCampaign, rememberCampaign } from '../lib/campaign.js';
import { clear, el } from '../lib/dom.js';

/** Fills a <select> with the campaigns; `onChange(cid)` runs when the user picks another. */
export function fillCampaignSelect(select, items, selected, onChange) {
  clear(select).append(...items.map((c) => el('option', { value: c.id, selected: c.id === selected }, c.name)));
  select.addEventListener('change', () => {
    rememberCampaign(select.value);
    onChange(select.value);
  });
}

/**
 * The campaigns of a page with a selector: reads them, chooses one (?dot=, else one with an open phase), keeps it
 * in the address and fills the selector; onChange(cid, campaign) when the user picks another. Null when none.
 */
export async function pickCampaign(select, onChange) {
  const list = await api.campaigns();
  const items = list.items || [];
  if (!items.length) return null;
  const chosen = chooseCampaign(items);
  rememberCampaign(chosen.id);
  fillCampaignSelect(select, items, chosen.id, (cid) => onChange(cid, items.find((c) => c.id === cid)));
  return chosen;
}

