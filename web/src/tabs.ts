/** Accessible tabs (WAI-ARIA tab pattern): arrow keys, Home and End move between tabs; the selected tab is in the URL's hash. */
import { h } from './dom';

export interface Tab {
  id: string;
  label: string;
  /** Renders the panel the first time its tab is selected. */
  render: (panel: HTMLElement) => void;
}

/** Tabs into `app`; `label` names the tab list for screen readers. */
export function renderTabs(app: HTMLElement, tabs: Tab[], label = 'Audit events'): void {
  const tablist = h('div', { role: 'tablist', 'aria-label': label });
  const buttons: HTMLButtonElement[] = [];
  const panels: HTMLElement[] = [];
  const rendered = new Set<string>();
  const select = (id: string, updateHash: boolean) => {
    tabs.forEach((t, i) => {
      const on = t.id === id;
      buttons[i]!.setAttribute('aria-selected', on ? 'true' : 'false');
      buttons[i]!.tabIndex = on ? 0 : -1;
      panels[i]!.hidden = !on;
      if (on && !rendered.has(id)) {
        rendered.add(id);
        t.render(panels[i]!);
      }
    });
    if (updateHash) history.replaceState(null, '', `#${id}`);
  };
  for (const t of tabs) {
    const panel = h('section', { role: 'tabpanel', id: `panel-${t.id}`, 'aria-labelledby': `tab-${t.id}`, tabindex: '0', hidden: true });
    const btn = h('button', { type: 'button', role: 'tab', id: `tab-${t.id}`, 'aria-controls': `panel-${t.id}`, 'aria-selected': 'false', tabindex: '-1', text: t.label });
    btn.addEventListener('click', () => select(t.id, true));
    btn.addEventListener('keydown', (e) => {
      const i = buttons.indexOf(btn);
      let j = e.key === 'ArrowRight' ? i + 1 : e.key === 'ArrowLeft' ? i - 1 : e.key === 'Home' ? 0 : e.key === 'End' ? buttons.length - 1 : null;
      if (j === null) return;
      e.preventDefault();
      j = (j + buttons.length) % buttons.length;
      select(tabs[j]!.id, true);
      buttons[j]!.focus();
    });
    buttons.push(btn);
    panels.push(panel);
    tablist.appendChild(btn);
  }
  app.appendChild(tablist);
  for (const p of panels) app.appendChild(p);
  const initial = location.hash.slice(1);
  select(tabs.some((t) => t.id === initial) ? initial : tabs[0]!.id, false);
}
