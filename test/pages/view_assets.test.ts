/** The log and streams views' assets: the charts bundle and the views' stylesheet, and the catalogue the shell hands the client. */
import { describe, expect, it } from 'vitest';
import { call, createGroup } from '../support/api';

describe('log and streams view assets', () => {
  it('serves the charts bundle and the views stylesheet with their types, the CSP and revalidation', async () => {
    for (const [path, type] of [
      ['/-/ui/charts.js', 'text/javascript; charset=utf-8'],
      ['/-/ui/views.css', 'text/css; charset=utf-8'],
    ] as const) {
      const res = await call('GET', path);
      expect(res.status, path).toBe(200);
      expect(res.headers.get('Content-Type')).toBe(type);
      expect(res.headers.get('Content-Security-Policy')).toContain("style-src 'self'");
      expect(res.headers.get('Cache-Control')).toBe('no-cache');
      expect((await res.text()).length).toBeGreaterThan(1000);
    }
  });

  it('keeps uPlot out of app.js: the charts bundle parses, sets window.auditEventsCharts, and never writes HTML', async () => {
    const charts = await (await call('GET', '/-/ui/charts.js')).text();
    expect(() => new Function(charts)).not.toThrow();
    expect(charts).toContain('auditEventsCharts');
    expect(charts).not.toMatch(/innerHTML|outerHTML|insertAdjacentHTML|document\.write|\beval\(/);
    const app = await (await call('GET', '/-/ui/app.js')).text();
    expect(app).toContain('/-/ui/charts.js');
    expect(app).not.toContain('uPlot');
    // uPlot's stylesheet is bundled into the views stylesheet.
    expect(await (await call('GET', '/-/ui/views.css')).text()).toContain('.u-over');
  });

  it('hands the client each event type with its description and category', async () => {
    // A page answers 200 only for a group that exists.
    const group = await createGroup();
    const html = await (await call('GET', `/groups/${group.full_path}/-/audit_events`)).text();
    expect(html).toContain('<option value="release_updated" label="A release was updated; details list each changed field with from and to" data-category="release_orchestration"></option>');
    expect(html).toContain('data-category="audit_events"');
  });
});
