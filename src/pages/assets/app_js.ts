/**
 * The one client script of the web pages, bundled as a string (served at /-/ui/app.js).
 * Plain ES2020, no framework. It renders with DOM APIs and textContent only (never innerHTML
 * with data), and talks only to the public REST v4 and GraphQL APIs with the personal access
 * token kept in sessionStorage. Written without template literals so it can live in
 * String.raw.
 */
export const APP_JS = String.raw`
(function () {
  'use strict';
  var TOKEN_KEY = 'audit-events-edge.token';
  var PAGE = document.body.getAttribute('data-page');
  var FULL_PATH = document.body.getAttribute('data-full-path') || '';
  var app = document.getElementById('app');
  var uid = 0;

  // ---- DOM helpers -------------------------------------------------------------------------
  function h(tag, attrs, children) {
    var el = document.createElement(tag);
    if (attrs) {
      Object.keys(attrs).forEach(function (k) {
        var v = attrs[k];
        if (v === null || v === undefined || v === false) return;
        if (k === 'text') el.textContent = String(v);
        else if (k.slice(0, 2) === 'on' && typeof v === 'function') el.addEventListener(k.slice(2), v);
        else if (k === 'checked' || k === 'disabled' || k === 'hidden') el[k] = !!v;
        else if (k === 'value') el.value = String(v);
        else el.setAttribute(k, v === true ? '' : String(v));
      });
    }
    (children || []).forEach(function (c) {
      if (c === null || c === undefined || c === false) return;
      el.appendChild(typeof c === 'string' ? document.createTextNode(c) : c);
    });
    return el;
  }
  function clear(el) { while (el.firstChild) el.removeChild(el.firstChild); return el; }
  function nextId(prefix) { uid += 1; return prefix + '-' + uid; }
  /** A live region for errors or statuses: present from the start so screen readers announce changes. */
  function region(kind) { return h('p', { class: kind === 'status' ? 'status' : 'error', 'aria-live': 'polite', id: nextId(kind) }); }
  function say(el, text) { el.textContent = text || ''; }
  function enc(path) { return encodeURIComponent(path); }
  function fmtTime(iso) {
    var d = new Date(iso);
    return isNaN(d.getTime()) ? String(iso) : d.toLocaleString();
  }
  function timeEl(iso) { return h('time', { datetime: iso, text: fmtTime(iso) }); }
  /** Only http(s) URLs become links; anything else is shown as text. */
  function safeHref(url) {
    try {
      var u = new URL(url, location.origin);
      return u.protocol === 'http:' || u.protocol === 'https:' ? u.href : null;
    } catch (e) { return null; }
  }

  // ---- Token -------------------------------------------------------------------------------
  function getToken() { try { return sessionStorage.getItem(TOKEN_KEY); } catch (e) { return null; } }
  function setToken(t) { sessionStorage.setItem(TOKEN_KEY, t); }
  function forgetToken() { sessionStorage.removeItem(TOKEN_KEY); }
  function authHeaders(extra) {
    var headers = extra || {};
    var t = getToken();
    if (t) headers['PRIVATE-TOKEN'] = t;
    return headers;
  }

  // ---- API ---------------------------------------------------------------------------------
  /** The API's own words from a REST error body (GitLab's message/error shapes). */
  function messageOf(body, status) {
    if (body && typeof body === 'object') {
      var m = body.message !== undefined ? body.message : (body.error_description || body.error);
      if (typeof m === 'string') return m;
      if (Array.isArray(m)) return m.join('; ');
      if (m && typeof m === 'object') {
        return Object.keys(m).map(function (k) {
          var v = m[k];
          return (Array.isArray(v) ? v : [v]).map(function (x) { return k + ' ' + x; }).join('; ');
        }).join('; ');
      }
    }
    if (typeof body === 'string' && body.trim()) return body.trim();
    return String(status);
  }
  function fail(message, status) { var e = new Error(message); e.status = status; return e; }
  function readBody(res) {
    return res.text().then(function (text) {
      try { return text ? JSON.parse(text) : null; } catch (e) { return text; }
    });
  }
  /** GET (or other method) on the REST API; resolves { body, response }, rejects with the API's message. */
  function rest(path, opts) {
    opts = opts || {};
    var headers = authHeaders({ Accept: 'application/json' });
    if (opts.body !== undefined) headers['Content-Type'] = 'application/json';
    return fetch(path, { method: opts.method || 'GET', headers: headers, body: opts.body === undefined ? undefined : JSON.stringify(opts.body), credentials: 'omit' })
      .then(function (res) {
        return readBody(res).then(function (body) {
          if (!res.ok) throw fail(messageOf(body, res.status), res.status);
          return { body: body, response: res };
        });
      });
  }
  /** POST /api/graphql; resolves data, rejects with the top-level errors' messages. */
  function gql(query, variables) {
    return fetch('/api/graphql', {
      method: 'POST',
      headers: authHeaders({ 'Content-Type': 'application/json', Accept: 'application/json' }),
      body: JSON.stringify({ query: query, variables: variables || {} }),
      credentials: 'omit',
    }).then(function (res) {
      return readBody(res).then(function (body) {
        if (body && Array.isArray(body.errors) && body.errors.length) {
          throw fail(body.errors.map(function (e) { return e.message; }).join('; '), res.status);
        }
        if (!res.ok || !body || !body.data) throw fail(messageOf(body, res.status), res.status);
        return body.data;
      });
    });
  }
  function capitalize(s) { return s.charAt(0).toUpperCase() + s.slice(1); }
  /** Run a GitLab-style mutation (one input argument named <Mutation>Input); resolves its payload. */
  function mutate(name, input, selection) {
    var q = 'mutation ($input: ' + capitalize(name) + 'Input!) { ' + name + '(input: $input) { errors ' + (selection || '') + ' } }';
    return gql(q, { input: input }).then(function (data) {
      var payload = data[name] || { errors: [] };
      if (!Array.isArray(payload.errors)) payload.errors = [];
      return payload;
    });
  }

  // ---- Account (header) --------------------------------------------------------------------
  var currentUser = null;
  function signInHref() { return '/-/sign_in?return=' + enc(location.pathname + location.hash); }
  function renderAccount() {
    var nav = clear(document.getElementById('account'));
    if (getToken()) {
      nav.appendChild(h('span', { class: 'who', text: currentUser ? 'Signed in as @' + currentUser.username : 'Signed in' }));
      nav.appendChild(h('button', { type: 'button', onclick: function () { forgetToken(); location.assign('/-/sign_in'); } }, ['Sign out']));
    } else if (PAGE !== 'sign_in') {
      nav.appendChild(h('a', { href: signInHref() }, ['Sign in']));
    }
  }
  function loadUser() {
    if (!getToken()) return Promise.resolve(null);
    return rest('/api/v4/user').then(function (r) { currentUser = r.body; renderAccount(); return currentUser; }, function () { return null; });
  }
  function signInNotice(what) {
    return h('p', { class: 'notice' }, [what + ' needs a personal access token. ', h('a', { href: signInHref() }, ['Sign in']), ' to continue.']);
  }

  // ---- Sign-in page ------------------------------------------------------------------------
  function returnPath() {
    var r = new URLSearchParams(location.search).get('return') || '';
    // Only same-site paths: never an open redirect.
    return r.charAt(0) === '/' && r.charAt(1) !== '/' && r.charAt(1) !== '\\' ? r : null;
  }
  function renderSignIn() {
    clear(app);
    if (getToken()) { renderSignedInHome(); return; }
    var err = region('error');
    var input = h('input', { id: 'token', name: 'token', type: 'password', autocomplete: 'off', spellcheck: 'false', required: true, 'aria-describedby': 'token-hint ' + err.id });
    var form = h('form', { class: 'card', novalidate: true, 'aria-labelledby': 'page-title' }, [
      h('div', { class: 'field' }, [
        h('label', { for: 'token', text: 'Personal access token' }),
        h('span', { class: 'hint', id: 'token-hint', text: 'A token with the api scope (read_api to only read). It is kept in this browser tab only (sessionStorage) and sent with every request; Sign out forgets it.' }),
        input, err,
      ]),
      h('button', { type: 'submit' }, ['Sign in']),
    ]);
    form.addEventListener('submit', function (e) {
      e.preventDefault();
      var t = input.value.trim();
      say(err, '');
      if (!t) { say(err, 'Enter a personal access token.'); input.focus(); return; }
      fetch('/api/v4/user', { headers: { 'PRIVATE-TOKEN': t, Accept: 'application/json' }, credentials: 'omit' }).then(function (res) {
        return readBody(res).then(function (body) {
          if (!res.ok) { say(err, messageOf(body, res.status)); input.focus(); return; }
          setToken(t);
          currentUser = body;
          var back = returnPath();
          if (back) location.assign(back); else { renderAccount(); renderSignIn(); }
        });
      }, function (e2) { say(err, e2.message); });
    });
    app.appendChild(form);
    input.focus();
  }
  function renderSignedInHome() {
    var list = h('ul', { class: 'links' });
    var err = region('error');
    app.appendChild(h('p', { text: currentUser ? 'Signed in as ' + currentUser.name + ' (@' + currentUser.username + ').' : 'Signed in.' }));
    app.appendChild(h('h2', { text: 'Your groups' }));
    app.appendChild(err);
    app.appendChild(list);
    if (currentUser && currentUser.is_admin) {
      app.appendChild(h('p', {}, [h('a', { href: '/admin/audit_events' }, ['Instance audit events (Admin area)'])]));
    }
    rest('/api/v4/groups?per_page=100').then(function (r) {
      (r.body || []).forEach(function (g) {
        list.appendChild(h('li', {}, [h('a', { href: '/groups/' + g.full_path + '/-/audit_events' }, [g.full_path])]));
      });
      if (!list.firstChild) list.appendChild(h('li', { text: 'No groups yet.' }));
    }, function (e) { say(err, e.message); });
  }

  // ---- Tabs --------------------------------------------------------------------------------
  function renderTabs(tabs) {
    var tablist = h('div', { role: 'tablist', 'aria-label': 'Audit events' });
    var buttons = [];
    var panels = [];
    tabs.forEach(function (t) {
      var panel = h('section', { role: 'tabpanel', id: 'panel-' + t.id, 'aria-labelledby': 'tab-' + t.id, tabindex: '0', hidden: true });
      var btn = h('button', { type: 'button', role: 'tab', id: 'tab-' + t.id, 'aria-controls': 'panel-' + t.id, 'aria-selected': 'false', tabindex: '-1', text: t.label });
      btn.addEventListener('click', function () { select(t.id, true); });
      btn.addEventListener('keydown', function (e) {
        var i = buttons.indexOf(btn);
        var j = e.key === 'ArrowRight' ? i + 1 : e.key === 'ArrowLeft' ? i - 1 : e.key === 'Home' ? 0 : e.key === 'End' ? buttons.length - 1 : null;
        if (j === null) return;
        e.preventDefault();
        j = (j + buttons.length) % buttons.length;
        select(tabs[j].id, true);
        buttons[j].focus();
      });
      buttons.push(btn);
      panels.push(panel);
      tablist.appendChild(btn);
    });
    app.appendChild(tablist);
    panels.forEach(function (p) { app.appendChild(p); });
    var rendered = {};
    function select(id, updateHash) {
      tabs.forEach(function (t, i) {
        var on = t.id === id;
        buttons[i].setAttribute('aria-selected', on ? 'true' : 'false');
        buttons[i].tabIndex = on ? 0 : -1;
        panels[i].hidden = !on;
        if (on && !rendered[id]) { rendered[id] = true; t.render(panels[i]); }
      });
      if (updateHash) history.replaceState(null, '', '#' + id);
    }
    var initial = location.hash.slice(1);
    select(tabs.some(function (t) { return t.id === initial; }) ? initial : tabs[0].id, false);
  }

  // ---- Log tab -----------------------------------------------------------------------------
  function logEndpoint(scope) {
    if (scope.kind === 'group') return '/api/v4/groups/' + enc(scope.path) + '/audit_events';
    if (scope.kind === 'project') return '/api/v4/projects/' + enc(scope.path) + '/audit_events';
    return '/api/v4/audit_events';
  }
  function show(v) { return typeof v === 'string' ? v : JSON.stringify(v); }
  /** The Action column: GitLab's custom message, or its change text ("Changed X from A to B"). */
  function actionOf(ev) {
    var d = ev.details || {};
    if (d.custom_message) return String(d.custom_message);
    if (d.change) {
      return 'Changed ' + show(d.change) + (d.from !== undefined && d.from !== null ? ' from ' + show(d.from) : '') + (d.to !== undefined && d.to !== null ? ' to ' + show(d.to) : '');
    }
    if (d.add) return 'Added ' + show(d.add) + (d.as ? ' as ' + show(d.as) : '');
    if (d.remove) return 'Removed ' + show(d.remove);
    return String(ev.event_type || '');
  }
  /** GitLab's REST entity keeps target_* and entity_path inside details; accept both places. */
  function field(ev, name) {
    if (ev[name] !== undefined && ev[name] !== null && ev[name] !== '') return ev[name];
    return ev.details && ev.details[name] !== undefined && ev.details[name] !== null ? ev.details[name] : '';
  }
  function targetOf(ev) {
    var details = field(ev, 'target_details');
    if (details !== '') return String(details);
    var type = field(ev, 'target_type');
    var id = field(ev, 'target_id');
    return type ? type + (id !== '' ? ' ' + id : '') : '';
  }
  function renderLog(panel, scope) {
    var idFrom = nextId('from'), idTo = nextId('to'), idType = nextId('type');
    var from = h('input', { id: idFrom, type: 'date', name: 'created_after' });
    var to = h('input', { id: idTo, type: 'date', name: 'created_before' });
    var type = h('input', { id: idType, type: 'text', name: 'event_type', list: 'event-types', autocomplete: 'off', placeholder: 'any' });
    var filterErr = region('error');
    var form = h('form', { class: 'toolbar', role: 'search', 'aria-label': 'Filter audit events', novalidate: true }, [
      h('div', { class: 'field' }, [h('label', { for: idFrom, text: 'From' }), from]),
      h('div', { class: 'field' }, [h('label', { for: idTo, text: 'To' }), to]),
      h('div', { class: 'field' }, [h('label', { for: idType, text: 'Event type' }), type]),
      h('button', { type: 'submit' }, ['Apply filters']),
    ]);
    var csvBtn = h('button', { type: 'button', class: 'secondary' }, ['Download CSV']);
    var csvErr = region('error');
    var csvStatus = region('status');
    var tbody = h('tbody');
    var table = h('table', { class: 'log-table' }, [
      h('caption', { text: 'Audit events, newest first' }),
      h('thead', {}, [h('tr', {}, ['Author', 'Action', 'Target', 'At'].map(function (c) { return h('th', { scope: 'col', text: c }); }))]),
      tbody,
    ]);
    var prev = h('button', { type: 'button', class: 'secondary', disabled: true }, ['Previous']);
    var next = h('button', { type: 'button', class: 'secondary', disabled: true }, ['Next']);
    var pageStatus = region('status');
    var loadErr = region('error');
    panel.appendChild(h('h2', { text: 'Log' }));
    panel.appendChild(form);
    panel.appendChild(filterErr);
    panel.appendChild(h('div', { class: 'toolbar' }, [csvBtn]));
    panel.appendChild(csvErr);
    panel.appendChild(csvStatus);
    panel.appendChild(loadErr);
    panel.appendChild(table);
    panel.appendChild(h('nav', { class: 'pager', 'aria-label': 'Audit log pages' }, [prev, next]));
    panel.appendChild(pageStatus);

    var pages = [];
    var index = 0;
    var nextUrl = null;
    function filterParams() {
      var p = new URLSearchParams();
      if (from.value) p.set('created_after', new Date(from.value + 'T00:00:00').toISOString());
      if (to.value) p.set('created_before', new Date(to.value + 'T23:59:59.999').toISOString());
      if (type.value.trim()) p.set('event_type', type.value.trim());
      return p;
    }
    function firstPage() {
      var p = filterParams();
      p.set('pagination', 'keyset');
      p.set('order_by', 'id');
      p.set('sort', 'desc');
      p.set('per_page', '20');
      return logEndpoint(scope) + '?' + p.toString();
    }
    function sameOrigin(link) {
      var u = new URL(link, location.origin);
      return u.pathname + u.search;
    }
    function load(url) {
      say(loadErr, '');
      prev.disabled = true; next.disabled = true;
      table.setAttribute('aria-busy', 'true');
      return rest(url).then(function (r) {
        clear(tbody);
        var events = Array.isArray(r.body) ? r.body : [];
        events.forEach(function (ev) {
          var author = (ev.details && ev.details.author_name) || ev.author_name || (ev.author_id !== undefined ? 'User ' + ev.author_id : '');
          tbody.appendChild(h('tr', { 'data-event-id': ev.id }, [
            h('td', { 'data-label': 'Author', text: author }),
            h('td', { 'data-label': 'Action' }, [actionOf(ev), h('br'), h('span', { class: 'hint', text: ev.event_type || '' })]),
            h('td', { 'data-label': 'Target' }, [targetOf(ev), field(ev, 'entity_path') ? h('br') : null, field(ev, 'entity_path') ? h('span', { class: 'hint', text: String(field(ev, 'entity_path')) }) : null]),
            h('td', { 'data-label': 'At' }, [timeEl(ev.created_at)]),
          ]));
        });
        if (!events.length) tbody.appendChild(h('tr', {}, [h('td', { colspan: '4', text: 'No events match.' })]));
        var link = r.response.headers.get('Link') || '';
        var m = /<([^>]+)>\s*;\s*rel="next"/.exec(link);
        nextUrl = m ? sameOrigin(m[1]) : null;
        next.disabled = !nextUrl;
        prev.disabled = index === 0;
        say(pageStatus, 'Page ' + (index + 1) + ', ' + events.length + ' events.');
      }, function (e) {
        clear(tbody);
        say(loadErr, e.status === 401 && !getToken() ? 'Sign in to read the audit log (' + e.message + ').' : e.message);
        prev.disabled = index === 0;
      }).then(function () { table.removeAttribute('aria-busy'); });
    }
    form.addEventListener('submit', function (e) {
      e.preventDefault();
      say(filterErr, '');
      if (from.value && to.value && from.value > to.value) { say(filterErr, 'From must be on or before To.'); from.focus(); return; }
      pages = [firstPage()]; index = 0; load(pages[0]);
    });
    next.addEventListener('click', function () {
      if (!nextUrl) return;
      pages = pages.slice(0, index + 1); pages.push(nextUrl); index += 1; load(pages[index]);
    });
    prev.addEventListener('click', function () {
      if (index === 0) return;
      index -= 1; load(pages[index]);
    });
    csvBtn.addEventListener('click', function () {
      say(csvErr, ''); say(csvStatus, 'Preparing the CSV…');
      csvBtn.disabled = true;
      var qs = filterParams().toString();
      fetch(logEndpoint(scope) + (qs ? '?' + qs : ''), { headers: authHeaders({ Accept: 'text/csv' }), credentials: 'omit' }).then(function (res) {
        if (!res.ok) return readBody(res).then(function (body) { throw fail(messageOf(body, res.status), res.status); });
        var cd = res.headers.get('Content-Disposition') || '';
        var m = /filename="?([^";]+)"?/.exec(cd);
        var name = m ? m[1] : 'audit_events.csv';
        return res.blob().then(function (blob) {
          var url = URL.createObjectURL(blob);
          var a = h('a', { href: url, download: name, hidden: true });
          document.body.appendChild(a);
          a.click();
          a.remove();
          setTimeout(function () { URL.revokeObjectURL(url); }, 10000);
          say(csvStatus, 'Downloaded ' + name + '.');
        });
      }).catch(function (e) { say(csvStatus, ''); say(csvErr, e.message); }).then(function () { csvBtn.disabled = false; });
    });
    pages = [firstPage()];
    load(pages[0]);
  }

  // ---- Streams tab -------------------------------------------------------------------------
  var HEADER_LIMIT = 20;
  var HEADER_LIMIT_MESSAGE = 'Headers are limited to 20 per destination';
  var DEST_FIELDS = 'id name destinationUrl verificationToken signingSecret active eventTypeFilters headers { nodes { id key value active } }';
  var STREAMS = {
    group: {
      list: 'query ($fullPath: ID!) { group(fullPath: $fullPath) { id externalAuditEventDestinations { nodes { ' + DEST_FIELDS + ' } } } }',
      nodes: function (data) { return data.group ? data.group.externalAuditEventDestinations.nodes : null; },
      create: 'externalAuditEventDestinationCreate', update: 'externalAuditEventDestinationUpdate', destroy: 'externalAuditEventDestinationDestroy',
      result: 'externalAuditEventDestination',
      headerCreate: 'auditEventsStreamingHeadersCreate', headerUpdate: 'auditEventsStreamingHeadersUpdate', headerDestroy: 'auditEventsStreamingHeadersDestroy',
      eventsAdd: 'auditEventsStreamingDestinationEventsAdd', eventsRemove: 'auditEventsStreamingDestinationEventsRemove',
      rotate: 'auditEventsStreamingDestinationSigningSecretRotate',
      withTokenField: true,
    },
    instance: {
      list: 'query { instanceExternalAuditEventDestinations { nodes { ' + DEST_FIELDS + ' } } }',
      nodes: function (data) { return data.instanceExternalAuditEventDestinations ? data.instanceExternalAuditEventDestinations.nodes : null; },
      create: 'instanceExternalAuditEventDestinationCreate', update: 'instanceExternalAuditEventDestinationUpdate', destroy: 'instanceExternalAuditEventDestinationDestroy',
      result: 'instanceExternalAuditEventDestination',
      headerCreate: 'auditEventsStreamingInstanceHeadersCreate', headerUpdate: 'auditEventsStreamingInstanceHeadersUpdate', headerDestroy: 'auditEventsStreamingInstanceHeadersDestroy',
      eventsAdd: 'auditEventsStreamingDestinationInstanceEventsAdd', eventsRemove: 'auditEventsStreamingDestinationInstanceEventsRemove',
      rotate: 'auditEventsStreamingDestinationInstanceSigningSecretRotate',
      withTokenField: false,
    },
  };
  // Delivery log and replay (ours; GitLab has none): fields of each destination.
  var DELIVERY_FIELDS = 'id deliveryCounts { pending delivered failed total } deliveries(first: 20, status: $status) { nodes { id eventId eventType status attemptsCount lastHttpStatus lastError updatedAt } }';
  var DELIVERIES_QUERY = {
    group: 'query ($fullPath: ID!, $status: AuditEventStreamingDeliveryStatus) { group(fullPath: $fullPath) { externalAuditEventDestinations(first: 100) { nodes { ' + DELIVERY_FIELDS + ' } } } }',
    instance: 'query ($status: AuditEventStreamingDeliveryStatus) { instanceExternalAuditEventDestinations(first: 100) { nodes { ' + DELIVERY_FIELDS + ' } } }',
  };
  var REDELIVER = 'auditEventsStreamingDeliveryRedeliver';

  function eventTypes() {
    var list = document.getElementById('event-types');
    return list ? Array.prototype.map.call(list.options, function (o) { return o.value; }) : [];
  }

  var confirmDialog = null;
  /** A <dialog> asking to confirm; resolves true when confirmed. Focus returns to the opener. */
  function confirmDelete(message, opener) {
    if (!confirmDialog) {
      var text = h('p', { id: 'confirm-text' });
      var cancel = h('button', { type: 'button', class: 'secondary', value: 'cancel' }, ['Cancel']);
      var ok = h('button', { type: 'button', class: 'danger', value: 'delete' }, ['Delete']);
      confirmDialog = h('dialog', { 'aria-labelledby': 'confirm-title', 'aria-describedby': 'confirm-text' }, [
        h('h2', { id: 'confirm-title', text: 'Delete streaming destination?' }), text, h('div', { class: 'actions' }, [cancel, ok]),
      ]);
      cancel.addEventListener('click', function () { confirmDialog.close('cancel'); });
      ok.addEventListener('click', function () { confirmDialog.close('delete'); });
      confirmDialog.text = text;
      confirmDialog.cancelButton = cancel;
      document.body.appendChild(confirmDialog);
    }
    return new Promise(function (resolve) {
      say(confirmDialog.text, message);
      confirmDialog.returnValue = 'cancel';
      confirmDialog.addEventListener('close', function onClose() {
        confirmDialog.removeEventListener('close', onClose);
        if (opener && opener.isConnected) opener.focus();
        resolve(confirmDialog.returnValue === 'delete');
      });
      confirmDialog.showModal();
      confirmDialog.cancelButton.focus();
    });
  }

  function renderStreams(panel, scope) {
    var cfg = STREAMS[scope.kind];
    var listErr = region('error');
    var listStatus = region('status');
    var addBtn = h('button', { type: 'button' }, ['Add streaming destination']);
    var formHost = h('div');
    var list = h('ul', { class: 'cards', 'aria-label': 'Streaming destinations' });
    panel.appendChild(h('h2', { text: 'Streams' }));
    panel.appendChild(h('p', { class: 'hint', text: 'Every audit event is sent as a signed HTTP POST to each active destination (only the selected event types when a destination is filtered).' }));
    panel.appendChild(h('div', { class: 'toolbar' }, [addBtn]));
    panel.appendChild(listStatus);
    panel.appendChild(formHost);
    panel.appendChild(listErr);
    panel.appendChild(list);

    function reload() {
      say(listErr, '');
      return gql(cfg.list, scope.kind === 'group' ? { fullPath: scope.path } : {}).then(function (data) {
        var nodes = cfg.nodes(data);
        clear(list);
        if (!nodes) { say(listErr, 'The group was not found, or you cannot manage its streams.'); return; }
        nodes.forEach(function (d) { list.appendChild(renderDestination(d)); });
        if (!nodes.length) list.appendChild(h('li', { class: 'hint', text: 'No streaming destinations yet.' }));
      }, function (e) { clear(list); say(listErr, e.message); });
    }

    function secretRow(label, value, opts) {
      var code = h('code', { hidden: true, text: value || '' });
      var status = region('status');
      var reveal = h('button', { type: 'button', class: 'secondary', 'aria-expanded': 'false' }, ['Reveal ' + label.toLowerCase()]);
      var copy = h('button', { type: 'button', class: 'secondary' }, ['Copy ' + label.toLowerCase()]);
      code.id = nextId('secret');
      reveal.setAttribute('aria-controls', code.id);
      reveal.addEventListener('click', function () {
        var shown = code.hidden;
        code.hidden = !shown;
        reveal.setAttribute('aria-expanded', shown ? 'true' : 'false');
        reveal.textContent = (shown ? 'Hide ' : 'Reveal ') + label.toLowerCase();
      });
      copy.addEventListener('click', function () {
        say(status, '');
        if (!navigator.clipboard) { status.className = 'error'; say(status, 'The clipboard is not available; reveal the value and copy it by hand.'); return; }
        navigator.clipboard.writeText(value || '').then(function () { status.className = 'status'; say(status, label + ' copied to the clipboard.'); },
          function (e) { status.className = 'error'; say(status, 'Could not copy: ' + e.message); });
      });
      var parts = [h('strong', { text: label + ':' }), code, reveal, copy];
      if (opts && opts.extra) parts.push(opts.extra);
      return h('div', { class: 'secret' }, parts.concat([status]));
    }

    function renderDestination(d) {
      var err = region('error');
      var status = region('status');
      var filters = d.eventTypeFilters || [];
      var headers = (d.headers && d.headers.nodes) || [];
      var title = h('h3', {}, [d.name || '']);
      if (filters.length) title.appendChild(h('span', { class: 'badge filtered', text: 'Filtered' }));
      if (!d.active) title.appendChild(h('span', { class: 'badge inactive', text: 'Inactive' }));
      var edit = h('button', { type: 'button', class: 'secondary' }, ['Edit']);
      var del = h('button', { type: 'button', class: 'danger' }, ['Delete']);
      var deliveriesBtn = h('button', { type: 'button', class: 'secondary', 'aria-expanded': 'false' }, ['Recent deliveries']);
      var deliveries = h('div', { hidden: true });
      deliveries.id = nextId('deliveries');
      deliveriesBtn.setAttribute('aria-controls', deliveries.id);
      var rotate = null;
      if (cfg.rotate) {
        rotate = h('button', { type: 'button', class: 'secondary' }, ['Rotate signing secret']);
        rotate.addEventListener('click', function () {
          say(err, '');
          mutate(cfg.rotate, { destinationId: d.id }, '').then(function (p) {
            if (p.errors.length) { say(err, p.errors.join('; ')); return; }
            reload().then(function () { say(listStatus, 'Signing secret of ' + d.name + ' rotated; the previous one still signs for a while.'); });
          }, function (e) { say(err, e.message); });
        });
      }
      var card = h('li', { class: 'card', 'data-destination-id': d.id }, [
        title,
        h('p', { class: 'meta' }, [h('span', { class: 'visually-hidden', text: 'URL: ' }), d.destinationUrl || '']),
        filters.length ? h('p', { text: 'Event types: ' + filters.join(', ') }) : h('p', { class: 'hint', text: 'All event types' }),
        h('p', { class: 'hint', text: headers.length + ' custom header' + (headers.length === 1 ? '' : 's') + (headers.length ? ': ' + headers.map(function (x) { return x.key; }).join(', ') : '') }),
        secretRow('Verification token', d.verificationToken),
        d.signingSecret !== undefined ? secretRow('Signing secret', d.signingSecret, { extra: rotate }) : null,
        h('div', { class: 'actions' }, [edit, del, deliveriesBtn]),
        err, status, deliveries,
      ]);
      edit.addEventListener('click', function () { openForm(d, edit); });
      del.addEventListener('click', function () {
        confirmDelete('Delete "' + (d.name || '') + '" (' + (d.destinationUrl || '') + ')? Events stop streaming to it.', del).then(function (yes) {
          if (!yes) return;
          say(err, '');
          mutate(cfg.destroy, { id: d.id }, '').then(function (p) {
            if (p.errors.length) { say(err, p.errors.join('; ')); return; }
            reload().then(function () { say(listStatus, 'Destination ' + (d.name || '') + ' deleted.'); addBtn.focus(); });
          }, function (e) { say(err, e.message); });
        });
      });
      deliveriesBtn.addEventListener('click', function () {
        var open = deliveries.hidden;
        deliveries.hidden = !open;
        deliveriesBtn.setAttribute('aria-expanded', open ? 'true' : 'false');
        if (open) loadDeliveries(d, deliveries);
      });
      return card;
    }

    function loadDeliveries(d, host, status) {
      clear(host);
      var err = region('error');
      var done = region('status');
      var selectId = nextId('delivery-status');
      var select = h('select', { id: selectId }, [['', 'All'], ['PENDING', 'Pending'], ['DELIVERED', 'Delivered'], ['FAILED', 'Failed']].map(function (o) {
        return h('option', { value: o[0], text: o[1] });
      }));
      select.value = status || '';
      select.addEventListener('change', function () { loadDeliveries(d, host, select.value); host.querySelector('select').focus(); });
      var refresh = h('button', { type: 'button', class: 'secondary' }, ['Refresh']);
      refresh.addEventListener('click', function () { loadDeliveries(d, host, select.value); host.querySelector('button').focus(); });
      var counts = h('p', { class: 'hint' });
      host.appendChild(h('h4', { text: 'Recent deliveries' }));
      host.appendChild(h('div', { class: 'toolbar' }, [h('div', { class: 'field' }, [h('label', { for: selectId, text: 'Status' }), select]), refresh]));
      host.appendChild(counts);
      host.appendChild(err);
      host.appendChild(done);
      var vars = { status: status || null };
      if (scope.kind === 'group') vars.fullPath = scope.path;
      gql(DELIVERIES_QUERY[scope.kind], vars).then(function (data) {
        var all = cfg.nodes(data) || [];
        var mine = all.filter(function (x) { return x.id === d.id; })[0];
        if (!mine) { say(err, 'This destination no longer exists.'); return; }
        var c = mine.deliveryCounts;
        if (c) say(counts, c.total + ' deliveries: ' + c.delivered + ' delivered, ' + c.pending + ' pending, ' + c.failed + ' failed.');
        var nodes = (mine.deliveries && mine.deliveries.nodes) || [];
        if (!nodes.length) { host.appendChild(h('p', { class: 'hint', text: 'No deliveries yet.' })); return; }
        var tbody = h('tbody');
        nodes.forEach(function (n) {
          var redeliver = h('button', { type: 'button', class: 'secondary', 'aria-label': 'Redeliver event ' + n.eventId }, ['Redeliver']);
          redeliver.addEventListener('click', function () {
            say(err, ''); say(done, '');
            redeliver.disabled = true;
            mutate(REDELIVER, { destinationId: d.id, eventId: n.eventId }, 'delivery { status }').then(function (p) {
              if (p.errors.length) { say(err, p.errors.join('; ')); return; }
              say(done, 'Event ' + n.eventId + ' queued for redelivery.');
            }, function (e) { say(err, e.message); }).then(function () { redeliver.disabled = false; });
          });
          var st = String(n.status || '').toLowerCase();
          tbody.appendChild(h('tr', { 'data-event-id': n.eventId }, [
            h('td', { 'data-label': 'Event', text: String(n.eventId) + (n.eventType ? ' · ' + n.eventType : '') }),
            h('td', { 'data-label': 'Status' }, [h('span', { class: 'badge ' + st, text: st })]),
            h('td', { 'data-label': 'Attempts', text: String(n.attemptsCount) + (n.lastHttpStatus ? ' (HTTP ' + n.lastHttpStatus + ')' : '') + (n.lastError ? ' ' + n.lastError : '') }),
            h('td', { 'data-label': 'Updated' }, [n.updatedAt ? timeEl(n.updatedAt) : '']),
            h('td', { 'data-label': 'Action' }, [redeliver]),
          ]));
        });
        host.appendChild(h('table', { class: 'log-table' }, [
          h('caption', { text: 'Deliveries to ' + (d.name || '') + ', newest first' }),
          h('thead', {}, [h('tr', {}, ['Event', 'Status', 'Attempts', 'Updated', 'Action'].map(function (c2) { return h('th', { scope: 'col', text: c2 }); }))]),
          tbody,
        ]));
      }, function (e) { say(err, e.message); });
    }

    /** The add/edit form. dest null adds a destination; otherwise edits it. */
    function openForm(dest, opener) {
      clear(formHost);
      addBtn.disabled = true;
      var state = { dest: dest };
      var formErr = region('error');
      var ids = { url: nextId('dest-url'), name: nextId('dest-name'), token: nextId('dest-token'), active: nextId('dest-active') };
      var urlErr = region('error'), nameErr = region('error'), tokenErr = region('error'), headersErr = region('error'), filtersErr = region('error');
      var url = h('input', { id: ids.url, type: 'text', inputmode: 'url', autocomplete: 'off', value: dest ? dest.destinationUrl : '', 'aria-describedby': urlErr.id, required: true });
      var name = h('input', { id: ids.name, type: 'text', autocomplete: 'off', value: dest ? dest.name : '', 'aria-describedby': ids.name + '-hint ' + nameErr.id });
      var token = h('input', { id: ids.token, type: 'text', autocomplete: 'off', spellcheck: 'false', 'aria-describedby': ids.token + '-hint ' + tokenErr.id });
      var active = h('input', { id: ids.active, type: 'checkbox', checked: dest ? !!dest.active : true });
      var heading = h('h3', { id: nextId('form-title'), text: dest ? 'Edit destination' : 'Add streaming destination' });
      var rowsBody = h('tbody');
      var rows = [];
      var removedHeaders = [];
      function renumber() {
        rows.forEach(function (r, i) {
          r.key.setAttribute('aria-label', 'Header ' + (i + 1) + ' key');
          r.value.setAttribute('aria-label', 'Header ' + (i + 1) + ' value');
          r.active.setAttribute('aria-label', 'Header ' + (i + 1) + ' active');
          r.remove.setAttribute('aria-label', 'Remove header ' + (i + 1));
        });
      }
      function addRow(hd) {
        var r = { id: hd ? hd.id : null, orig: hd || null };
        r.key = h('input', { type: 'text', autocomplete: 'off', value: hd ? hd.key : '' });
        r.value = h('input', { type: 'text', autocomplete: 'off', value: hd ? hd.value : '' });
        r.active = h('input', { type: 'checkbox', checked: hd ? !!hd.active : true });
        r.remove = h('button', { type: 'button', class: 'secondary' }, ['Remove']);
        r.err = region('error');
        r.key.setAttribute('aria-describedby', r.err.id);
        r.tr = h('tr', {}, [h('td', {}, [r.key, r.err]), h('td', {}, [r.value]), h('td', {}, [r.active]), h('td', {}, [r.remove])]);
        r.remove.addEventListener('click', function () {
          var i = rows.indexOf(r);
          rows.splice(i, 1);
          if (r.id) removedHeaders.push(r);
          r.tr.remove();
          say(headersErr, '');
          renumber();
          (rows[i] ? rows[i].key : rows[i - 1] ? rows[i - 1].key : addHeader).focus();
        });
        rows.push(r);
        rowsBody.appendChild(r.tr);
        renumber();
        return r;
      }
      var addHeader = h('button', { type: 'button', class: 'secondary' }, ['Add header']);
      addHeader.addEventListener('click', function () {
        // The same rule and words as the API: at most 20 headers per destination.
        if (rows.length >= HEADER_LIMIT) { say(headersErr, HEADER_LIMIT_MESSAGE); return; }
        say(headersErr, '');
        addRow(null).key.focus();
      });
      ((dest && dest.headers && dest.headers.nodes) || []).forEach(function (hd) { addRow(hd); });
      var existingFilters = (dest && dest.eventTypeFilters) || [];
      var filterBoxes = eventTypes().concat(existingFilters.filter(function (t) { return eventTypes().indexOf(t) < 0; })).map(function (t) {
        var box = h('input', { type: 'checkbox', value: t, checked: existingFilters.indexOf(t) >= 0 });
        return { type: t, box: box, label: h('label', {}, [box, t]) };
      });
      var submit = h('button', { type: 'submit' }, [dest ? 'Save changes' : 'Add destination']);
      var cancel = h('button', { type: 'button', class: 'secondary' }, ['Cancel']);
      var tokenField = h('div', { class: 'field' }, [
        h('label', { for: ids.token, text: 'Verification token (optional)' }),
        h('span', { class: 'hint', id: ids.token + '-hint', text: '16 to 24 characters, sent as X-Gitlab-Event-Streaming-Token. Generated when left empty; it cannot be changed later.' }),
        token, tokenErr,
      ]);
      var form = h('form', { class: 'card', novalidate: true, 'aria-labelledby': heading.id }, [
        heading,
        formErr,
        h('div', { class: 'field' }, [h('label', { for: ids.url, text: 'Destination URL' }), url, urlErr]),
        h('div', { class: 'field' }, [h('label', { for: ids.name, text: 'Name' }), h('span', { class: 'hint', id: ids.name + '-hint', text: 'Optional; at most 72 characters.' }), name, nameErr]),
        !dest && cfg.withTokenField ? tokenField : null,
        h('div', { class: 'field inline' }, [active, h('label', { for: ids.active, text: 'Active (events are streamed to this destination)' })]),
        h('fieldset', {}, [
          h('legend', { text: 'Custom HTTP headers (at most 20)' }),
          h('table', { class: 'headers-table' }, [
            h('thead', {}, [h('tr', {}, ['Key', 'Value', 'Active', ''].map(function (c) { return h('th', { scope: 'col', text: c }); }))]),
            rowsBody,
          ]),
          h('div', { class: 'actions' }, [addHeader]),
          headersErr,
        ]),
        h('fieldset', {}, [
          h('legend', { text: 'Event type filters (none selected: every event type)' }),
          h('div', { class: 'filters' }, filterBoxes.map(function (f) { return f.label; })),
          filtersErr,
        ]),
        h('div', { class: 'actions' }, [submit, cancel]),
      ]);
      function close() { clear(formHost); addBtn.disabled = false; if (opener && opener.isConnected) opener.focus(); else addBtn.focus(); }
      cancel.addEventListener('click', function () { if (state.dest && !dest) reload(); close(); });
      function placeDestErrors(errors) {
        errors.forEach(function (m) {
          var target = /^(destination ?url|url)\b/i.test(m) ? urlErr : /^name\b/i.test(m) ? nameErr : /^verification token\b/i.test(m) ? tokenErr : formErr;
          target.textContent = target.textContent ? target.textContent + '; ' + m : m;
        });
      }
      form.addEventListener('submit', function (e) {
        e.preventDefault();
        [formErr, urlErr, nameErr, tokenErr, headersErr, filtersErr].forEach(function (r) { say(r, ''); });
        rows.forEach(function (r) { say(r.err, ''); });
        submit.disabled = true;
        var problems = false;
        function note(errors, where) { if (errors && errors.length) { problems = true; where(errors); } }
        var step;
        if (!state.dest) {
          var input = { destinationUrl: url.value };
          if (scope.kind === 'group') input.groupPath = scope.path;
          if (name.value.trim()) input.name = name.value;
          if (cfg.withTokenField && token.value !== '') input.verificationToken = token.value;
          step = mutate(cfg.create, input, cfg.result + ' { ' + DEST_FIELDS + ' }').then(function (p) {
            if (p.errors.length) { placeDestErrors(p.errors); throw null; }
            state.dest = p[cfg.result];
            if (!active.checked) {
              return mutate(cfg.update, { id: state.dest.id, active: false }, '').then(function (p2) { note(p2.errors, function (x) { say(formErr, x.join('; ')); }); });
            }
          });
        } else {
          var upd = { id: state.dest.id };
          if (url.value !== state.dest.destinationUrl) upd.destinationUrl = url.value;
          if (name.value !== state.dest.name) upd.name = name.value;
          if (active.checked !== !!state.dest.active) upd.active = active.checked;
          step = Object.keys(upd).length === 1 ? Promise.resolve() : mutate(cfg.update, upd, cfg.result + ' { ' + DEST_FIELDS + ' }').then(function (p) {
            if (p.errors.length) { placeDestErrors(p.errors); throw null; }
            state.dest = p[cfg.result] || state.dest;
          });
        }
        step.then(function () {
          var destId = state.dest.id;
          var chain = Promise.resolve();
          // Filters first: headers added afterwards record events the filter then already governs.
          chain = chain.then(function () {
            var current = (state.dest && state.dest.eventTypeFilters) || [];
            var wanted = filterBoxes.filter(function (f) { return f.box.checked; }).map(function (f) { return f.type; });
            var add = wanted.filter(function (t) { return current.indexOf(t) < 0; });
            var remove = current.filter(function (t) { return wanted.indexOf(t) < 0; });
            var showF = function (x) { say(filtersErr, (filtersErr.textContent ? filtersErr.textContent + '; ' : '') + x.join('; ')); };
            return (add.length ? mutate(cfg.eventsAdd, { destinationId: destId, eventTypeFilters: add }, 'eventTypeFilters').then(function (p) { note(p.errors, showF); if (!p.errors.length) state.dest.eventTypeFilters = p.eventTypeFilters || current.concat(add); }) : Promise.resolve())
              .then(function () {
                if (!remove.length) return null;
                return mutate(cfg.eventsRemove, { destinationId: destId, eventTypeFilters: remove }, '').then(function (p) {
                  note(p.errors, showF);
                  if (!p.errors.length) state.dest.eventTypeFilters = (state.dest.eventTypeFilters || []).filter(function (t) { return remove.indexOf(t) < 0; });
                });
              });
          });
          removedHeaders.slice().forEach(function (r) {
            chain = chain.then(function () {
              return mutate(cfg.headerDestroy, { headerId: r.id }, '').then(function (p) {
                if (p.errors.length) note(p.errors, function (x) { say(headersErr, x.join('; ')); });
                else removedHeaders.splice(removedHeaders.indexOf(r), 1);
              });
            });
          });
          rows.forEach(function (r) {
            chain = chain.then(function () {
              var shown = function (x) { say(r.err, x.join('; ')); };
              if (!r.id) {
                return mutate(cfg.headerCreate, { destinationId: destId, key: r.key.value, value: r.value.value, active: r.active.checked }, 'header { id key value active }').then(function (p) {
                  if (p.errors.length) { note(p.errors, /limited to/i.test(p.errors.join(' ')) ? function (x) { say(headersErr, x.join('; ')); } : shown); return; }
                  r.id = p.header ? p.header.id : r.id;
                  r.orig = { key: r.key.value, value: r.value.value, active: r.active.checked };
                });
              }
              if (r.orig && r.orig.key === r.key.value && r.orig.value === r.value.value && !!r.orig.active === r.active.checked) return null;
              return mutate(cfg.headerUpdate, { headerId: r.id, key: r.key.value, value: r.value.value, active: r.active.checked }, '').then(function (p) {
                if (p.errors.length) { note(p.errors, shown); return; }
                r.orig = { key: r.key.value, value: r.value.value, active: r.active.checked };
              });
            });
          });
          return chain;
        }).then(function () {
          if (problems) {
            heading.textContent = 'Edit destination';
            submit.textContent = 'Save changes';
            if (tokenField.isConnected) tokenField.remove();
            if (!formErr.textContent) say(formErr, 'The destination is saved, but some changes were not: see the messages below.');
            return;
          }
          var verb = dest ? 'saved' : 'added';
          close();
          reload().then(function () { say(listStatus, 'Destination ' + (state.dest.name || '') + ' ' + verb + '.'); });
        }).catch(function (e2) {
          if (e2) say(formErr, e2.message);
        }).then(function () {
          submit.disabled = false;
          var firstErr = form.querySelector('.error:not(:empty)');
          if (firstErr) {
            // Move focus to the field the first error is about (its container's input).
            var field = firstErr.parentElement && firstErr.parentElement.querySelector('input');
            (field || submit).focus();
          }
        });
      });
      formHost.appendChild(form);
      url.focus();
    }

    addBtn.addEventListener('click', function () { openForm(null, addBtn); });
    reload();
  }

  // ---- Releases page -----------------------------------------------------------------------
  function renderReleases(path) {
    var err = region('error');
    var list = h('div');
    app.appendChild(err);
    app.appendChild(list);
    var signedIn = !!getToken();
    var project = rest('/api/v4/projects/' + enc(path)).then(function (r) { return r.body; }, function () { return null; });
    rest('/api/v4/projects/' + enc(path) + '/releases').then(function (r) {
      return project.then(function (p) {
        var releases = Array.isArray(r.body) ? r.body : [];
        if (!releases.length) { list.appendChild(h('p', { class: 'hint', text: 'No releases yet.' })); return; }
        // Links of non-public projects need the token; navigation cannot send a header, so the
        // tracked URL carries it as private_token (as GitLab's download URLs accept).
        var withToken = signedIn && !(p && p.visibility === 'public');
        releases.forEach(function (rel) {
          var links = (rel.assets && rel.assets.links) || [];
          var ul = h('ul', { class: 'links' });
          links.forEach(function (l) {
            var href = safeHref(l.direct_asset_url || '');
            if (href && withToken) href += (href.indexOf('?') < 0 ? '?' : '&') + 'private_token=' + enc(getToken());
            ul.appendChild(h('li', {}, [
              href ? h('a', { href: href, rel: 'noreferrer' }, [l.name || href]) : h('span', { text: l.name || '' }),
              l.link_type ? h('span', { class: 'badge', text: l.link_type }) : null,
            ]));
          });
          list.appendChild(h('article', { class: 'card', 'aria-labelledby': 'release-' + rel.tag_name }, [
            h('h2', { id: 'release-' + rel.tag_name, text: rel.name || rel.tag_name }),
            h('p', { class: 'meta' }, ['Tag ', h('code', { text: rel.tag_name }), rel.released_at ? ' · released ' : '', rel.released_at ? timeEl(rel.released_at) : '', rel.author ? ' · by ' + rel.author.name : '']),
            rel.description ? h('p', { class: 'description', text: rel.description }) : null,
            h('h3', { text: 'Assets' }),
            links.length ? ul : h('p', { class: 'hint', text: 'No asset links.' }),
          ]));
        });
      });
    }, function (e) {
      say(err, e.message);
      if (!signedIn) app.appendChild(signInNotice('This project'));
    });
  }

  // ---- Boot --------------------------------------------------------------------------------
  function boot() {
    renderAccount();
    var userReady = loadUser();
    if (PAGE === 'sign_in') { userReady.then(renderSignIn); return; }
    if (PAGE === 'project_releases') {
      app.appendChild(h('p', {}, [h('a', { href: '/' + FULL_PATH + '/-/audit_events' }, ['Audit events of this project'])]));
      renderReleases(FULL_PATH);
      return;
    }
    if (!getToken()) { app.appendChild(signInNotice('The audit log')); return; }
    if (PAGE === 'group_audit_events') {
      renderTabs([
        { id: 'log', label: 'Log', render: function (p) { renderLog(p, { kind: 'group', path: FULL_PATH }); } },
        { id: 'streams', label: 'Streams', render: function (p) { renderStreams(p, { kind: 'group', path: FULL_PATH }); } },
      ]);
    } else if (PAGE === 'admin_audit_events') {
      renderTabs([
        { id: 'log', label: 'Log', render: function (p) { renderLog(p, { kind: 'instance' }); } },
        { id: 'streams', label: 'Streams', render: function (p) { renderStreams(p, { kind: 'instance' }); } },
      ]);
    } else if (PAGE === 'project_audit_events') {
      app.appendChild(h('p', {}, [h('a', { href: '/' + FULL_PATH + '/-/releases' }, ['Releases of this project'])]));
      var panel = h('section', { 'aria-label': 'Log' });
      app.appendChild(panel);
      renderLog(panel, { kind: 'project', path: FULL_PATH });
    }
  }
  boot();
})();
`;
