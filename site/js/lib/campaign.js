// Which campaign a page shows: ?dot= in the address, else the first with an open phase, else the first.

import * as api from './api.js';
import { setParam } from './dom.js';

export function campaignParam() {
  return new URLSearchParams(window.location.search).get('dot');
}

/** The campaign in ?dot= if it is one of `items`, else the first with an open phase, else the first. */
export function chooseCampaign(items, wanted = campaignParam()) {
  return items.find((c) => c.id === wanted)
    || items.find((c) => (c.phases || []).some((p) => p.state === 'open'))
    || items[0] || null;
}

export function rememberCampaign(cid) {
  setParam('dot', cid);
}

/** A link to another page of the same campaign: campaignHref('/bo/', cid) → "/bo/?dot=…". */
export function campaignHref(path, cid, extra = {}) {
  const query = Object.entries({ dot: cid, ...extra })
    .map(([key, value]) => `${key}=${encodeURIComponent(value)}`).join('&');
  return `${path}?${query}`;
}

/**
 * The campaign a unit's page works on (?dot=, else one with an open phase), kept in the address, with the page's
 * #back-link to the unit's home (a province's or an assessed ministry's); null when the unit takes part in none.
 */
export async function unitCampaign() {
  const list = await api.campaigns();
  const chosen = chooseCampaign(list.items || []);
  if (!chosen) return null;
  rememberCampaign(chosen.id);
  const current = api.session();
  document.getElementById('back-link').href = campaignHref(api.homeFor(current && current.role), chosen.id);
  return chosen;
}
