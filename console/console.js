// certfleet console: the pages over the agent's JSON API (/v1/...), from
// the same origin.  Every change is a POST with the token of GET /v1/csrf
// (X-Certfleet-CSRF), confirmed first.  Text from the API goes into the
// page as text (textContent), never as HTML.
'use strict';

const state = { csrf: null, role: null, agent: null, logBefore: 0 };

function $(id) { return document.getElementById(id); }

function el(tag, text, cls) {
  const e = document.createElement(tag);
  if (text !== undefined && text !== null) e.textContent = String(text);
  if (cls) e.className = cls;
  return e;
}

function setStatus(text, error) {
  const s = $('status');
  s.textContent = text;
  s.className = error ? 'status error' : 'status';
  s.hidden = !text;
}

async function fetchCsrf() {
  const r = await fetch('/v1/csrf', { cache: 'no-store' });
  if (!r.ok) throw new Error('GET /v1/csrf: HTTP ' + r.status);
  state.csrf = (await r.json()).token;
}

// One API call: the parsed JSON answer, or an Error with the agent's
// message.  A POST whose token the agent no longer takes (it restarted)
// gets a new token and goes once more.
async function api(method, path, body, retried) {
  const opts = { method: method, cache: 'no-store', headers: {} };
  if (method !== 'GET') {
    if (!state.csrf) await fetchCsrf();
    opts.headers['Content-Type'] = 'application/json';
    opts.headers['X-Certfleet-Console'] = '1';
    opts.headers['X-Certfleet-CSRF'] = state.csrf;
    opts.body = JSON.stringify(body || {});
  }
  const r = await fetch(path, opts);
  let j = null;
  try { j = await r.json(); } catch (e) { j = null; }
  if (r.ok) return j;
  const msg = j && j.message ? j.message : 'HTTP ' + r.status;
  if (r.status === 403 && method !== 'GET' && !retried &&
      /console token/.test(msg)) {
    await fetchCsrf();
    return api(method, path, body, true);
  }
  throw new Error(method + ' ' + path + ': ' + msg);
}

function confirmAction(text) {
  const d = $('confirm');
  $('confirm-text').textContent = text;
  return new Promise(function (resolve) {
    function done(answer) {
      $('confirm-ok').onclick = null;
      $('confirm-cancel').onclick = null;
      d.close();
      resolve(answer);
    }
    $('confirm-ok').onclick = function () { done(true); };
    $('confirm-cancel').onclick = function () { done(false); };
    d.showModal();
  });
}

function short(tp) { return tp ? tp.slice(0, 8) : ''; }
function day(iso) { return iso ? iso.replace('T', ' ').replace(/:\d\dZ?$/, '') : ''; }
function cell(tr, text, cls, title) {
  const td = el('td', text, cls);
  if (title) td.title = title;
  tr.appendChild(td);
  return td;
}
function fill(tableId, rows) {
  const tb = $(tableId).querySelector('tbody');
  tb.replaceChildren.apply(tb, rows);
}
function matchText(m) { return m === true ? 'True' : m === false ? 'False' : ''; }

// The days left as a bar over the lifetime: warning under a third,
// critical under a sixth (the shipped alert rules say the same).
function daysBar(c) {
  const span = el('span');
  if (c.DaysLeft === null || !c.NotBefore || !c.NotAfter) return span;
  const life = Math.max(1, (Date.parse(c.NotAfter) - Date.parse(c.NotBefore)) / 86400000);
  const m = el('meter');
  m.min = 0; m.max = life; m.value = Math.max(0, c.DaysLeft);
  m.low = life / 6; m.high = life / 3; m.optimum = life;
  m.title = c.DaysLeft + ' of ' + Math.round(life) + ' days left';
  span.appendChild(m);
  span.appendChild(el('span', c.DaysLeft, 'days'));
  return span;
}

// The fleet page asks each agent of this one's console_peers itself,
// from this browser with the admin's certificate: simple CORS GETs (no
// custom header, so no preflight), given up after FLEET_TIMEOUT ms so
// that one dead agent does not hold up the page.
const FLEET_TIMEOUT = 5000;

// An agent's whoami, certificates and services, asked at base (''
// for this agent): {who, certs, svcs, seen}, or an Error saying why not.
async function summary(base) {
  const ctl = new AbortController();
  const timer = setTimeout(function () { ctl.abort(); }, FLEET_TIMEOUT);
  const opts = { cache: 'no-store', signal: ctl.signal };
  if (base) { opts.mode = 'cors'; opts.credentials = 'include'; }
  async function get(path) {
    const r = await fetch(base + path, opts);
    let j = null;
    try { j = await r.json(); } catch (e) { j = null; }
    if (!r.ok) throw new Error('GET ' + path + ': ' + (j && j.message ? j.message : 'HTTP ' + r.status));
    return j;
  }
  try {
    const [who, certs, svcs] = await Promise.all([
      get('/v1/whoami'), get('/v1/certificates'), get('/v1/services')]);
    return { who: who, certs: certs, svcs: svcs, seen: new Date() };
  } catch (e) {
    if (ctl.signal.aborted) throw new Error('no answer within ' + FLEET_TIMEOUT / 1000 + ' s');
    throw e;
  } finally {
    clearTimeout(timer);
  }
}

// One row of the fleet table: name (a link to a peer's own console),
// then what the agent said, or that it did not answer (err).
function fleetRow(name, href, s, err) {
  const tr = el('tr');
  tr.dataset.agent = name;
  const td = cell(tr, href ? null : name);
  if (href) {
    const a = el('a', name);
    a.href = href;
    td.appendChild(a);
  }
  if (err) {
    tr.dataset.state = 'unreachable';
    tr.className = 'problem';
    cell(tr, '');
    cell(tr, '');
    cell(tr, 'unreachable: ' + err.message, 'match-false');
    for (let i = 0; i < 4; i++) cell(tr, '');
    return tr;
  }
  tr.dataset.state = 'ok';
  if (s.who.agent !== name) td.appendChild(el('span', ' (' + s.who.agent + ')'));
  const expiring = s.certs.filter(function (c) {
    if (c.DaysLeft === null || !c.NotBefore || !c.NotAfter) return false;
    const life = (Date.parse(c.NotAfter) - Date.parse(c.NotBefore)) / 86400000;
    return c.DaysLeft < life / 3;
  }).length;
  cell(tr, s.who.version);
  cell(tr, s.who.role);
  cell(tr, s.seen.toLocaleString());
  cell(tr, s.certs.length);
  cell(tr, expiring, expiring ? 'match-false' : '');
  cell(tr, s.svcs.length);
  const bad = s.svcs.filter(function (v) { return v.Match === false; }).length;
  cell(tr, bad, bad ? 'match-false' : 'match-true');
  return tr;
}

async function showFleet() {
  const [own, peers] = await Promise.all([
    summary(''), api('GET', '/v1/console/peers')]);
  const rows = [fleetRow(own.who.agent, null, own, null)];
  const answers = await Promise.allSettled(peers.map(function (p) {
    return summary(p.Url);
  }));
  answers.forEach(function (a, i) {
    rows.push(fleetRow(peers[i].Name, peers[i].Url + '/',
      a.status === 'fulfilled' ? a.value : null,
      a.status === 'rejected' ? a.reason : null));
  });
  fill('fleet-table', rows);
}

async function showCertificates() {
  const certs = await api('GET', '/v1/certificates');
  const sel = $('act-thumb');
  const keep = sel.value;
  const rows = certs.map(function (c) {
    const tr = el('tr');
    tr.dataset.thumbprint = c.Thumbprint;
    cell(tr, c.Thumbprint, 'mono');
    cell(tr, c.Subject, '', c.CertificateDomains.join(', '));
    cell(tr, c.Status, 'status-' + c.Status);
    cell(tr, c.Services.join(','));
    cell(tr, c.PrivateKeyExportable ? 'True' : 'False');
    cell(tr, day(c.NotAfter));
    cell(tr, '').appendChild(daysBar(c));
    tr.onclick = function () { select(c.Thumbprint); };
    return tr;
  });
  fill('cert-table', rows);
  sel.replaceChildren.apply(sel, certs.map(function (c) {
    const o = el('option', short(c.Thumbprint) + '  ' + c.Subject);
    o.value = c.Thumbprint;
    return o;
  }));
  if (keep) select(keep);
}

function select(tp) {
  $('act-thumb').value = tp;
  document.querySelectorAll('#cert-table tbody tr').forEach(function (tr) {
    tr.classList.toggle('selected', tr.dataset.thumbprint === tp);
  });
}

async function showServices() {
  const svcs = await api('GET', '/v1/services');
  fill('svc-table', svcs.map(function (s) {
    const tr = el('tr');
    tr.dataset.service = s.Service;
    cell(tr, s.Service);
    cell(tr, s.Kind);
    cell(tr, short(s.Assigned), 'mono', s.Assigned);
    cell(tr, short(s.OnDisk), 'mono', s.OnDisk);
    cell(tr, short(s.Served), 'mono', s.Served);
    cell(tr, matchText(s.Match), 'match match-' + s.Match);
    cell(tr, day(s.NotAfter));
    cell(tr, s.Endpoint);
    cell(tr, s.Problem);
    return tr;
  }));
}

async function showLog(older) {
  const q = ['newest=1', 'limit=200'];
  const since = $('log-since').value;
  if (since) q.push('since=' + Math.floor(Date.parse(since) / 1000));
  if (older && state.logBefore) q.push('before=' + state.logBefore);
  const recs = await api('GET', '/v1/log?' + q.join('&'));
  if (recs.length) state.logBefore = recs[0].Id;
  const want = {
    Operation: $('log-op').value.toLowerCase(),
    Actor: $('log-actor').value.toLowerCase(),
    Thumbprint: $('log-thumb').value.toLowerCase(),
    Outcome: $('log-outcome').value.toLowerCase(),
  };
  const shown = recs.filter(function (r) {
    return Object.keys(want).every(function (k) {
      return !want[k] || String(r[k] || '').toLowerCase().includes(want[k]);
    });
  }).reverse();
  fill('log-table', shown.map(function (r) {
    const tr = el('tr');
    cell(tr, r.Id);
    cell(tr, day(r.Time));
    cell(tr, r.Actor);
    cell(tr, r.Operation);
    cell(tr, short(r.Thumbprint), 'mono', r.Thumbprint);
    cell(tr, r.Outcome);
    return tr;
  }));
}

const pages = {
  fleet: showFleet, certificates: showCertificates,
  services: showServices, log: function () { return showLog(false); },
};

async function route() {
  let page = location.hash.replace(/^#\//, '');
  if (!pages[page]) page = 'fleet';
  document.body.dataset.ready = '';
  Object.keys(pages).forEach(function (p) {
    $('page-' + p).hidden = p !== page;
  });
  document.querySelectorAll('nav a').forEach(function (a) {
    a.classList.toggle('current', a.dataset.page === page);
  });
  try {
    await pages[page]();
  } catch (e) {
    setStatus(e.message, true);
  }
  document.body.dataset.ready = page;
}

// An admin action: confirmed, sent, its answer shown, the page reloaded.
async function act(question, path, body, done) {
  if (!(await confirmAction(question))) return;
  setStatus('Working…');
  document.body.dataset.busy = '1';
  try {
    const r = await api('POST', path, body);
    setStatus(done(r));
  } catch (e) {
    setStatus(e.message, true);
  }
  document.body.dataset.busy = '';
  await route();
  state.acts = (state.acts || 0) + 1;
  document.body.dataset.acts = String(state.acts); // tests wait for it
}

function enableOrDisable(op) {
  const tp = $('act-thumb').value;
  const services = $('act-services').value.trim();
  if (!tp || !services) { setStatus('Choose a certificate and services.', true); return; }
  act(op[0].toUpperCase() + op.slice(1) + ' ' + short(tp) + ' for ' + services +
      ' on ' + state.agent + '?', '/v1/' + op,
      { thumbprint: tp, services: services, force: $('act-force').checked },
      function (r) {
        return op + 'd ' + short(r.thumbprint) + ' for ' + services +
          (r.detail ? '\n' + r.detail : '');
      });
}

function download(name, b64) {
  const bin = atob(b64);
  const bytes = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
  const url = URL.createObjectURL(new Blob([bytes], { type: 'application/x-pkcs12' }));
  const a = el('a');
  a.href = url;
  a.download = name;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(function () { URL.revokeObjectURL(url); }, 10000);
}

function exportCert() {
  const tp = $('act-thumb').value;
  const pw = $('export-password');
  if (!tp || !pw.value) { setStatus('Choose a certificate and give a password.', true); return; }
  act('Export ' + short(tp) + ' with its private key from ' + state.agent + '?',
      '/v1/export', { thumbprint: tp, format: 'p12', password: pw.value },
      function (r) {
        pw.value = '';
        download(short(r.thumbprint) + '.pfx', r.data);
        return 'exported ' + short(r.thumbprint) + ' (downloaded)';
      });
}

function readBase64(file) {
  return new Promise(function (resolve, reject) {
    const fr = new FileReader();
    fr.onload = function () {
      const s = fr.result;
      resolve(s.slice(s.indexOf(',') + 1));
    };
    fr.onerror = function () { reject(new Error(file.name + ': cannot read it')); };
    fr.readAsDataURL(file);
  });
}

async function importFile(ev) {
  ev.preventDefault();
  const f = $('import-file').files[0];
  if (!f) { setStatus('Choose a file to import.', true); return; }
  const services = $('import-services').value.trim();
  const pw = $('import-password');
  const body = {
    files: [{ name: f.name, data: await readBase64(f) }],
    password: pw.value === '' ? null : pw.value,
    exportable: $('import-exportable').checked,
    services: services === '' ? null : services,
    force: $('import-force').checked,
  };
  act('Import ' + f.name + (services ? ' and enable it for ' + services : '') +
      ' on ' + state.agent + '?', '/v1/import', body, function (r) {
    pw.value = '';
    $('import-form').reset();
    return r.results.map(function (x) {
      return short(x.Thumbprint) + ': ' + x.Result +
        (x.Services ? ' for ' + x.Services : '') + (x.Detail ? '\n' + x.Detail : '');
    }).join('\n');
  });
}

async function start() {
  $('act-enable').onclick = function () { enableOrDisable('enable'); };
  $('act-disable').onclick = function () { enableOrDisable('disable'); };
  $('act-export').onclick = exportCert;
  $('import-form').onsubmit = importFile;
  $('log-filter').onsubmit = function (ev) { ev.preventDefault(); showLog(false).catch(function (e) { setStatus(e.message, true); }); };
  $('log-older').onclick = function () { showLog(true).catch(function (e) { setStatus(e.message, true); }); };
  window.addEventListener('hashchange', route);
  try {
    const who = await api('GET', '/v1/whoami');
    state.role = who.role;
    state.agent = who.agent;
    $('agent').textContent = who.agent + ' (certfleetd ' + who.version + ')';
    $('who').textContent = 'you: ' + who.role + ' ' + short(who.client.replace('SHA256:', ''));
    document.title = who.agent + ' - certfleet console';
    document.querySelectorAll('.admin').forEach(function (e) {
      e.hidden = who.role !== 'admin';
    });
  } catch (e) {
    setStatus(e.message, true);
  }
  await route();
}

start();
