// The dashboard's single page: plain HTML, CSS and browser JavaScript in one string, no build step, no CDN.
// Every value from the lease table reaches the DOM through textContent, dataset, title or CSSOM properties only
// (never innerHTML): worker ids and lease keys are user-controlled strings. The script polls `api/dashboard`.
// (No backticks or dollar-brace in the script below: it lives inside a template literal.)

const STYLE = `
:root { font: 13px/1.4 system-ui, sans-serif; color: #1d2433; background: #f6f7f9; }
body { margin: 0; padding: 12px 18px; }
h1 { font-size: 17px; margin: 0 0 2px; } h2 { font-size: 14px; margin: 14px 0 6px; }
#summary, .muted { color: #5b6475; } #error { background: #fde2e1; color: #8a1c17; padding: 6px 10px; border-radius: 4px; margin: 8px 0; }
#problems { margin: 8px 0; padding: 0; list-style: none; }
#problems li { background: #fff4d6; border-left: 4px solid #e0a400; padding: 5px 10px; margin: 3px 0; }
#problems li.none { background: #e3f5e6; border-color: #2e9d4a; }
#map { position: relative; background: #fff; border: 1px solid #d5d9e0; border-radius: 4px; padding: 4px 0; }
.map-row { position: relative; height: 34px; margin: 3px 6px; }
.map-row.norange { height: auto; display: flex; flex-wrap: wrap; gap: 2px; }
.map-row.norange .shard { position: static; width: 60px; height: 30px; }
.shard { position: absolute; top: 0; height: 32px; box-sizing: border-box; border: 1px solid rgba(0,0,0,.35);
  border-radius: 3px; overflow: hidden; white-space: nowrap; font-size: 11px; padding: 1px 3px; color: #111; }
.shard[data-state=unassigned] { background: #d9dce2 !important; border-style: dotted; }
.shard[data-state=handoff] { border: 2px dashed #111; }
.shard[data-state=finished] { opacity: .45; background-image: repeating-linear-gradient(45deg, transparent 0 4px, rgba(0,0,0,.18) 4px 6px); }
.shard.stalled { outline: 2px solid #d21f1f; outline-offset: -2px; }
.axis { display: flex; justify-content: space-between; color: #8a92a3; font-size: 10px; margin: 0 6px; }
#legend span { display: inline-block; margin-right: 12px; }
.swatch { display: inline-block; width: 10px; height: 10px; border-radius: 2px; margin-right: 4px; vertical-align: -1px; border: 1px solid rgba(0,0,0,.3); }
table { border-collapse: collapse; background: #fff; width: 100%; }
th, td { text-align: left; padding: 3px 8px; border-bottom: 1px solid #e6e8ec; font-variant-numeric: tabular-nums; white-space: nowrap; }
th { background: #eef0f4; font-weight: 600; }
td.wrap { white-space: normal; overflow-wrap: anywhere; min-width: 8em; }
td.owner { max-width: 16em; overflow: hidden; text-overflow: ellipsis; }
.cols { display: grid; grid-template-columns: minmax(0, 1fr) minmax(0, 2.2fr); gap: 18px; }
.scroll { overflow-x: auto; }
#timeline { list-style: none; padding: 0; margin: 0; max-height: 300px; overflow: auto; background: #fff; border: 1px solid #d5d9e0; }
#timeline li { padding: 2px 8px; border-bottom: 1px solid #eef0f4; }
input { font: inherit; padding: 2px 6px; }
`;

const SCRIPT = `
'use strict';
var API = new URL('api/dashboard', location.href).toString();
var view = null, baselineSeq = null, errorText = '';
var colours = new Map();
function $(id) { return document.getElementById(id); }
function el(tag, cls, text) {
  var e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined && text !== null) e.textContent = String(text);
  return e;
}
function colour(owner) {
  if (owner === null) return '#d9dce2';
  if (!colours.has(owner)) colours.set(owner, 'hsl(' + Math.round((colours.size * 137.508 + 200) % 360) + ', 62%, 68%)');
  return colours.get(owner);
}
function dur(ms) {
  if (ms === null || ms === undefined) return '-';
  if (ms < 1000) return Math.round(ms) + ' ms';
  if (ms < 60000) return (ms / 1000).toFixed(1) + ' s';
  var s = Math.floor(ms / 1000);
  if (s < 3600) return Math.floor(s / 60) + ' min ' + (s % 60) + ' s';
  return Math.floor(s / 3600) + ' h ' + Math.floor((s % 3600) / 60) + ' min';
}
function short(seq) { return seq.length > 24 ? seq.slice(0, 8) + '…' + seq.slice(-8) : seq; }
function time(ms) { return new Date(ms).toLocaleTimeString(); }
function lagOf(l) {
  if (!l.lag) return null;
  if (l.lag.error !== undefined) return null;
  var a = l.lag.millisBehindLatest, b = l.lag.pendingRecordAgeMillis;
  if (a === null && b === null) return l.lag.caughtUp ? 0 : null;
  return Math.max(a === null ? 0 : a, b === null ? 0 : b);
}
function stalledKeys(v) {
  var s = new Set();
  v.problems.forEach(function (p) { if (p.kind === 'stalled-lease' && p.leaseKey) s.add(p.leaseKey); });
  return s;
}
function replace(id, children) {
  var node = $(id);
  var frag = document.createDocumentFragment();
  children.forEach(function (c) { frag.appendChild(c); });
  node.replaceChildren(frag);
}
function renderHeader(v) {
  var st = v.status;
  $('table-name').textContent = st.tableName;
  $('summary').textContent = st.leases.length + ' leases · ' + st.workers.length + ' workers · read ' + time(Date.parse(st.readAt)) +
    (v.lagMeasuredAt ? ' · lag measured ' + time(v.lagMeasuredAt) : ' · lag not measured') +
    ' · refreshing every ' + dur(v.refreshMillis) + ' · tracking since ' + time(v.trackingSince);
  var err = $('error');
  err.hidden = !errorText;
  err.textContent = errorText;
}
function renderProblems(v) {
  if (v.problems.length === 0) { replace('problems', [el('li', 'none', 'No problems seen.')]); return; }
  replace('problems', v.problems.map(function (p) {
    var li = el('li', 'problem', p.message);
    li.dataset.kind = p.kind;
    return li;
  }));
}
function renderMap(v, stalled) {
  var rows = new Map(), norange = [];
  v.status.leases.forEach(function (l, i) {
    var p = v.layout[i];
    var d = el('div', 'shard' + (stalled.has(l.leaseKey) ? ' stalled' : ''), l.shardId.replace(/^shardId-0*(\\d)/, '#$1'));
    d.dataset.shard = l.shardId;
    d.dataset.leaseKey = l.leaseKey;
    d.dataset.owner = l.owner === null ? '' : l.owner;
    d.dataset.state = l.state;
    d.dataset.depth = String(p.depth);
    d.dataset.parents = l.parents.join(',');
    d.style.background = colour(l.owner);
    d.title = l.leaseKey + '\\nstate: ' + l.state + '\\nowner: ' + (l.owner === null ? '-' : l.owner) +
      (l.handoff ? '\\nhandoff: ' + l.handoff.from + ' → ' + (l.handoff.to === null ? '?' : l.handoff.to) : '') +
      '\\ncheckpoint: ' + l.checkpoint + '\\nparents: ' + (l.parents.join(', ') || '-') + '\\nchildren: ' + (l.children.join(', ') || '-');
    if (p.x0 === null) { norange.push(d); return; }
    d.style.left = (p.x0 * 100) + '%';
    d.style.width = 'max(3px, ' + ((p.x1 - p.x0) * 100) + '%)';
    if (!rows.has(p.depth)) rows.set(p.depth, []);
    rows.get(p.depth).push(d);
  });
  var out = [];
  Array.from(rows.keys()).sort(function (a, b) { return a - b; }).forEach(function (depth) {
    var row = el('div', 'map-row');
    row.dataset.depth = String(depth);
    rows.get(depth).forEach(function (d) { row.appendChild(d); });
    out.push(row);
  });
  if (norange.length > 0) {
    var row = el('div', 'map-row norange');
    norange.forEach(function (d) { row.appendChild(d); });
    out.push(el('div', 'muted', 'Leases without a stored hash-key range:'), row);
  }
  if (out.length === 0) out.push(el('div', 'muted', 'The lease table is empty.'));
  replace('map', out);
  var owners = new Set();
  v.status.leases.forEach(function (l) { owners.add(l.owner); });
  replace('legend', Array.from(owners).sort().map(function (o) {
    var s = el('span');
    var sw = el('span', 'swatch');
    sw.style.background = colour(o);
    s.append(sw, o === null ? 'unassigned' : o);
    return s;
  }));
}
function renderShards(v, stalled) {
  var filter = $('filter').value.trim().toLowerCase();
  var now = Date.parse(v.status.readAt);
  var leases = v.status.leases.filter(function (l) {
    return !filter || l.leaseKey.toLowerCase().indexOf(filter) >= 0 || (l.owner || '').toLowerCase().indexOf(filter) >= 0 || l.state.indexOf(filter) >= 0;
  });
  function score(l) { return (stalled.has(l.leaseKey) ? 1e15 : 0) + (lagOf(l) === null ? -1 : lagOf(l)); }
  leases.sort(function (a, b) { return score(b) - score(a) || (a.leaseKey < b.leaseKey ? -1 : 1); });
  var shown = leases.slice(0, 200);
  $('shard-count').textContent = 'showing ' + shown.length + ' of ' + leases.length + (filter ? ' matching' : '') + ', worst first';
  replace('shard-rows', shown.map(function (l) {
    var tr = el('tr');
    tr.dataset.shard = l.shardId;
    var since = v.counterSince[l.leaseKey];
    var lag = l.lag;
    var behind = !lag ? '-' : lag.error !== undefined ? '? ' + lag.error : lag.millisBehindLatest === null ? '-' : dur(lag.millisBehindLatest);
    var pending = !lag || lag.error !== undefined ? '-' : lag.caughtUp ? 'caught up' : dur(lag.pendingRecordAgeMillis);
    var cp = short(l.checkpoint) + (l.checkpointSubSequenceNumber > 0 ? '/' + l.checkpointSubSequenceNumber : '');
    [l.stream === undefined ? l.shardId : l.leaseKey, l.state, l.owner === null ? '-' : l.owner,
      l.counter + (since !== undefined ? ' · ' + dur(Math.max(0, now - since)) + ' ago' : ''),
      cp, behind, pending, (l.parents.join(', ') || '-') + ' → ' + (l.children.join(', ') || '-')]
      .forEach(function (text, i) {
        var td = el('td', i === 2 ? 'owner' : i === 7 ? 'wrap' : '', text);
        if (i === 2) td.title = text;
        tr.appendChild(td);
      });
    return tr;
  }));
}
function renderWorkers(v, events) {
  var stats = new Map();
  function get(w) { if (!stats.has(w)) stats.set(w, { held: 0, gained: 0, lost: 0 }); return stats.get(w); }
  v.status.workers.forEach(function (w) { get(w.workerId).held = w.leases; });
  events.forEach(function (e) {
    if (e.kind !== 'assigned' && e.kind !== 'moved' && e.kind !== 'released') return;
    if (e.to !== null) get(e.to).gained++;
    if (e.from !== null) get(e.from).lost++;
  });
  replace('worker-rows', Array.from(stats.keys()).sort().map(function (w) {
    var s = stats.get(w), tr = el('tr'), name = el('td', 'wrap'), sw = el('span', 'swatch');
    tr.dataset.worker = w;
    sw.style.background = colour(w);
    name.append(sw, w);
    tr.append(name, el('td', '', s.held), el('td', '', s.gained), el('td', '', s.lost));
    return tr;
  }));
}
function renderTimeline(events) {
  var words = { created: 'new lease', assigned: 'assigned', moved: 'moved', released: 'released', handoff: 'handoff started', finished: 'reached SHARD_END', removed: 'lease removed' };
  var items = events.slice(-200).reverse().map(function (e) {
    var who = e.kind === 'created' || e.kind === 'finished' ? (e.to === null ? '' : ' (' + e.to + ')')
      : ': ' + (e.from === null ? 'nobody' : e.from) + ' → ' + (e.to === null ? 'nobody' : e.to);
    var li = el('li', '', time(e.at) + '  ' + e.shardId + '  ' + words[e.kind] + who);
    li.dataset.kind = e.kind;
    li.dataset.shard = e.shardId;
    return li;
  });
  replace('timeline', items.length ? items : [el('li', 'muted', 'No ownership change since this page was opened.')]);
}
function render() {
  if (view === null) { renderHeaderOnlyError(); return; }
  var events = view.events.filter(function (e) { return e.seq > baselineSeq; });
  var stalled = stalledKeys(view);
  renderHeader(view);
  renderProblems(view);
  renderMap(view, stalled);
  renderShards(view, stalled);
  renderWorkers(view, events);
  renderTimeline(events);
  document.body.dataset.readAt = view.status.readAt;
}
function renderHeaderOnlyError() { var err = $('error'); err.hidden = !errorText; err.textContent = errorText; }
function poll() {
  var wait = 5000;
  fetch(API, { cache: 'no-store' }).then(function (r) {
    return r.json().then(function (body) {
      if (!r.ok) throw new Error(body && body.error ? body.error.message : 'HTTP ' + r.status);
      view = body;
      if (baselineSeq === null) baselineSeq = body.events.length ? body.events[body.events.length - 1].seq : 0;
      errorText = '';
    });
  }).catch(function (e) {
    errorText = 'Could not read the lease table: ' + (e && e.message ? e.message : String(e)) + ' (showing the last good read, retrying)';
  }).then(function () {
    render();
    if (view) wait = Math.max(500, view.refreshMillis);
    setTimeout(poll, wait);
  });
}
$('filter').addEventListener('input', function () { if (view) renderShards(view, stalledKeys(view)); });
poll();
`;

/** The dashboard page; `nonce` must match the response's Content-Security-Policy. */
export function dashboardPage(nonce: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>ts-kcl lease dashboard</title><style nonce="${nonce}">${STYLE}</style></head>
<body>
<h1>ts-kcl lease dashboard · <span id="table-name">…</span></h1>
<div id="summary">loading…</div>
<div id="error" role="alert" hidden></div>
<ul id="problems" aria-label="problems"></ul>
<h2>Shard map <span class="muted">(hash-key range left to right; children under their parents; colour = owner)</span></h2>
<div id="map"></div>
<div class="axis"><span>hash key 0</span><span>2^127</span><span>2^128 − 1</span></div>
<div id="legend"></div>
<div class="cols">
<div><h2>Workers <span class="muted">(gained/lost while this page is open)</span></h2>
<table><thead><tr><th>worker</th><th>held</th><th>gained</th><th>lost</th></tr></thead><tbody id="worker-rows"></tbody></table>
<h2>Ownership timeline</h2><ol id="timeline"></ol></div>
<div><h2>Shards <span class="muted" id="shard-count"></span></h2>
<input id="filter" placeholder="filter: shard, owner or state" aria-label="filter shards">
<div class="scroll"><table><thead><tr><th>shard</th><th>state</th><th>owner</th><th>counter · moved</th><th>checkpoint</th><th>behind tip</th><th>oldest pending</th><th>parents → children</th></tr></thead>
<tbody id="shard-rows"></tbody></table></div></div>
</div>
<script nonce="${nonce}">${SCRIPT}</script>
</body></html>
`;
}
