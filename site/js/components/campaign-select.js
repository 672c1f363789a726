// The campaign selector of a page (<select id="dot">).

import { clear, el } from '../lib/dom.js';
import { rememberCampaign } from '../lib/campaign.js';

/** Fills a <select> with the campaigns; `onChange(cid)` runs when the user picks another. */
export function fillCampaignSelect(select, items, selected, onChange) {
  clear(select).append(...items.map((c) => el('option', { value: c.id, selected: c.id === selected }, c.name)));
  select.addEventListener('change', () => {
    rememberCampaign(select.value);
    onChange(select.value);
  });
}
