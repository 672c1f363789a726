// Tabs over one panel (the WAI-ARIA tabs pattern): buttons with role="tab" in a role="tablist", the selected one
// aria-selected and the only one in the tab order, arrow keys, Home and End moving between them; the panel labelled
// by the selected tab.

/**
 * Wires the tabs of `tablist` (each with data-value); `onSelect(value)` runs when the user picks another one.
 * Returns select(value), which shows a tab as selected without calling onSelect.
 */
export function tabs(tablist, onSelect) {
  const all = [...tablist.querySelectorAll('[role="tab"]')];
  function select(value) {
    for (const tab of all) {
      const on = tab.dataset.value === value;
      tab.setAttribute('aria-selected', String(on));
      tab.tabIndex = on ? 0 : -1;
      if (on) document.getElementById(tab.getAttribute('aria-controls'))?.setAttribute('aria-labelledby', tab.id);
    }
  }
  function pick(tab) {
    if (tab.getAttribute('aria-selected') === 'true') return;
    select(tab.dataset.value);
    onSelect(tab.dataset.value);
  }
  for (const tab of all) tab.addEventListener('click', () => pick(tab));
  tablist.addEventListener('keydown', (event) => {
    const at = all.indexOf(document.activeElement);
    if (at < 0) return;
    const to = { ArrowRight: at + 1, ArrowLeft: at - 1, Home: 0, End: all.length - 1 }[event.key];
    if (to === undefined) return;
    event.preventDefault();
    const tab = all[(to + all.length) % all.length];
    tab.focus();
    pick(tab);
  });
  return select;
}
