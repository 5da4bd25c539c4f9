/**
 * The one stylesheet of the web pages, bundled as a string (served at /-/ui/app.css).
 * System fonts only (no external requests); colours meet WCAG AA contrast on white;
 * tables reflow into labelled cards at phone width.
 */
export const APP_CSS = String.raw`
:root { --fg: #1f1f24; --muted: #525260; --line: #d0d0da; --bg: #ffffff; --soft: #f4f4f8;
  --accent: #1a56c4; --accent-fg: #ffffff; --danger: #b3261e; --ok: #1d6b34; --focus: #f5a700; }
* { box-sizing: border-box; }
html { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; font-size: 16px; color: var(--fg); background: var(--bg); line-height: 1.45; }
body { margin: 0; }
a { color: var(--accent); }
:focus-visible { outline: 3px solid var(--focus); outline-offset: 2px; }
.skip-link { position: absolute; left: -9999px; top: 0; background: var(--fg); color: #fff; padding: .5rem 1rem; z-index: 10; }
.skip-link:focus { left: .5rem; top: .5rem; }
.top { display: flex; flex-wrap: wrap; gap: .5rem 1rem; align-items: center; justify-content: space-between; padding: .6rem 1rem; background: #24243a; color: #fff; }
.top a, .top .who { color: #fff; }
.brand { font-weight: 700; text-decoration: none; }
#account { display: flex; gap: .75rem; align-items: center; flex-wrap: wrap; }
main { max-width: 72rem; margin: 0 auto; padding: 1rem; }
main:focus { outline: none; }
h1 { font-size: 1.5rem; margin: .5rem 0 1rem; word-break: break-word; }
h2 { font-size: 1.2rem; margin: 1.25rem 0 .5rem; }
h3 { font-size: 1.05rem; margin: 0 0 .25rem; word-break: break-word; }
button, .button { font: inherit; padding: .4rem .8rem; border-radius: 4px; border: 1px solid var(--accent); background: var(--accent); color: var(--accent-fg); cursor: pointer; text-decoration: none; display: inline-block; min-height: 2.25rem; }
button.secondary { background: var(--bg); color: var(--accent); }
button.danger { background: var(--danger); border-color: var(--danger); color: #fff; }
button:disabled { opacity: .55; cursor: not-allowed; }
.top button { background: transparent; border-color: #fff; color: #fff; }
input, select, textarea { font: inherit; padding: .35rem .5rem; border: 1px solid #767684; border-radius: 4px; max-width: 100%; background: #fff; color: var(--fg); }
input[type=checkbox] { width: 1.1rem; height: 1.1rem; }
label { font-weight: 600; }
.field { display: flex; flex-direction: column; gap: .2rem; margin-bottom: .75rem; }
.field.inline { flex-direction: row; align-items: center; gap: .5rem; }
.hint { color: var(--muted); font-size: .9rem; font-weight: 400; }
.error { color: var(--danger); font-weight: 600; margin: .2rem 0; }
.error:empty, .status:empty { display: none; }
.status { color: var(--ok); margin: .2rem 0; }
.toolbar { display: flex; flex-wrap: wrap; gap: .75rem; align-items: flex-end; margin: .5rem 0 1rem; }
.toolbar .field { margin: 0; }
[role=tablist] { display: flex; gap: .25rem; border-bottom: 2px solid var(--line); margin-bottom: 1rem; }
[role=tab] { background: transparent; color: var(--fg); border: 0; border-bottom: 3px solid transparent; border-radius: 0; margin-bottom: -2px; padding: .5rem 1rem; }
[role=tab][aria-selected=true] { border-bottom-color: var(--accent); color: var(--accent); font-weight: 700; }
table { border-collapse: collapse; width: 100%; }
caption { text-align: left; color: var(--muted); padding: .25rem 0; }
th, td { text-align: left; padding: .5rem; border-bottom: 1px solid var(--line); vertical-align: top; word-break: break-word; }
th { background: var(--soft); }
.pager { display: flex; gap: .5rem; margin: .75rem 0; }
.cards { list-style: none; padding: 0; margin: 0; display: grid; gap: .75rem; }
.card { border: 1px solid var(--line); border-radius: 6px; padding: .75rem 1rem; background: var(--bg); }
.card .meta { color: var(--muted); word-break: break-all; margin: .1rem 0 .4rem; }
.actions { display: flex; flex-wrap: wrap; gap: .5rem; margin-top: .5rem; }
.badge { display: inline-block; font-size: .8rem; font-weight: 700; padding: .05rem .45rem; border-radius: 999px; border: 1px solid currentColor; margin-left: .4rem; vertical-align: middle; }
.badge.filtered { color: #6b3fa0; }
.badge.inactive { color: var(--danger); }
.badge.delivered { color: var(--ok); }
.badge.failed { color: var(--danger); }
.badge.pending { color: #8a5a00; }
.secret { display: flex; flex-wrap: wrap; gap: .5rem; align-items: center; margin: .3rem 0; }
code { font-family: ui-monospace, "SFMono-Regular", Menlo, Consolas, monospace; background: var(--soft); padding: .1rem .3rem; border-radius: 3px; word-break: break-all; }
fieldset { border: 1px solid var(--line); border-radius: 6px; padding: .75rem 1rem; margin: 0 0 1rem; }
legend { font-weight: 700; padding: 0 .3rem; }
.headers-table input[type=text] { width: 100%; }
.filters { display: grid; grid-template-columns: repeat(auto-fill, minmax(16rem, 1fr)); gap: .25rem .75rem; max-height: 16rem; overflow: auto; }
.filters label { font-weight: 400; display: flex; gap: .4rem; align-items: center; word-break: break-all; }
.description { white-space: pre-wrap; }
.links { padding-left: 1.2rem; }
dialog { border: 1px solid var(--line); border-radius: 6px; max-width: min(32rem, 92vw); }
dialog::backdrop { background: rgba(0, 0, 0, .45); }
.notice { background: var(--soft); border-left: 4px solid var(--accent); padding: .75rem 1rem; }
.visually-hidden { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; }
@media (max-width: 40rem) {
  main { padding: .75rem; }
  .log-table thead { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); }
  .log-table, .log-table caption, .log-table tbody, .log-table tr, .log-table td { display: block; width: 100%; }
  .log-table tr { border: 1px solid var(--line); border-radius: 6px; margin-bottom: .5rem; }
  .log-table td { border: 0; padding: .25rem .5rem; }
  .log-table td::before { content: attr(data-label) ": "; font-weight: 700; }
  .headers-table thead { display: none; }
  .headers-table tr { display: grid; grid-template-columns: 1fr 1fr; gap: .25rem; border-bottom: 1px solid var(--line); padding: .25rem 0; }
  .headers-table td { border: 0; padding: .1rem; }
  .toolbar { flex-direction: column; align-items: stretch; }
}
`;
