/**
 * A release's evidence on its page (issue 18 section 5): each evidence's collection time, its
 * SHA-256 and a link to its JSON (the document with the release, its audit events and their
 * inclusion proofs at a signed checkpoint). "Show" fetches the JSON with the viewer's token (the
 * link alone reaches only public projects' evidence) and checks its bytes against the sha.
 */
import { authHeaders } from '../api';
import { h } from '../dom';
import type { Release, ReleaseEvidence } from '../types';

async function hexSha256(bytes: ArrayBuffer): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', bytes));
  return Array.from(digest, (b) => b.toString(16).padStart(2, '0')).join('');
}

function evidenceItem(e: ReleaseEvidence): HTMLElement {
  const shown = h('pre', { class: 'evidence-json', hidden: true });
  const status = h('span', { class: 'hint' });
  const show = h('button', {
    type: 'button',
    onclick: async () => {
      status.textContent = 'Loading…';
      const res = await fetch(new URL(e.filepath).pathname, { headers: authHeaders({ Accept: 'application/json' }), credentials: 'omit' });
      if (!res.ok) {
        status.textContent = `Could not load the evidence (${res.status}).`;
        return;
      }
      const bytes = await res.arrayBuffer();
      const sha = await hexSha256(bytes);
      status.textContent = sha === e.sha ? 'The JSON hashes to this sha.' : `The JSON hashes to ${sha}, not to this sha.`;
      shown.textContent = new TextDecoder().decode(bytes);
      shown.hidden = false;
    },
  }, ['Show']);
  return h('li', { class: 'evidence' }, [
    h('span', { text: `Collected ${new Date(e.collected_at).toLocaleString()} · sha ` }),
    h('code', { text: e.sha }),
    ' · ',
    h('a', { href: e.filepath, rel: 'noopener' }, ['JSON']),
    ' ',
    show,
    ' ',
    status,
    shown,
  ]);
}

/** The Evidence section: its list, or why there is none yet. */
export function evidenceSection(release: Release): HTMLElement {
  const evidences = release.evidences ?? [];
  return h('section', { class: 'evidences' }, [
    h('h3', { text: 'Evidence' }),
    evidences.length === 0
      ? h('p', { class: 'hint', text: 'No evidence yet: it is collected once a signed checkpoint of the audit log covers the release’s creation.' })
      : h('ul', {}, evidences.map(evidenceItem)),
  ]);
}
