/** The breadcrumbs of a page: Home, each group of a path (or the user namespace), the project, and the page itself. */
import { byId, h } from './dom';

export interface Crumb {
  label: string;
  href?: string;
}

/** Crumbs of a namespace path: each group prefix links to its group page, a user namespace to its user page. */
export function pathCrumbs(fullPath: string, namespaceKind: string, projectLast: boolean): Crumb[] {
  const parts = fullPath.split('/');
  return parts.map((part, i) => {
    const prefix = parts.slice(0, i + 1).join('/');
    if (projectLast && i === parts.length - 1) return { label: part, href: `/${prefix}` };
    if (namespaceKind === 'user' && i === 0) return { label: part, href: `/${prefix}` };
    return { label: part, href: `/groups/${prefix}` };
  });
}

/** Fill the shell's breadcrumb navigation; the last crumb is the current page. */
export function renderBreadcrumbs(crumbs: Crumb[]): void {
  const nav = byId('breadcrumbs');
  const all: Crumb[] = [{ label: 'Home', href: '/' }, ...crumbs];
  nav.replaceChildren(
    h(
      'ol',
      { class: 'breadcrumbs' },
      all.map((c, i) =>
        h('li', {}, [
          i === all.length - 1 ? h('span', { 'aria-current': 'page', text: c.label }) : c.href ? h('a', { href: c.href }, [c.label]) : c.label,
        ]),
      ),
    ),
  );
}
