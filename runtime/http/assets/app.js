/*
 * app.js - the jobrt dashboard: polls /api/overview every 2 s and draws
 * every served queue's numbers and, for the one chosen (the first until
 * another is picked: ?queue=NAME on every request), its live workers, the
 * rollout table, recent failures and a page of dead letters with Show,
 * Retry and Purge. Everything the server
 * sends goes into the page as text (textContent), never as HTML. The
 * token (the contents of --http-token-file) is kept in sessionStorage and
 * sent on every request as "Authorization: Bearer <token>".
 */
'use strict';

(function () {
  var POLL_MS = 2000;
  var TOKEN_KEY = 'jobrt.dashboard.token';
  var DLQ_PAGE = 50;

  var dlqBefore = null;    /* null: the newest page */
  var dlqNext = null;      /* the "before" of the next older page */
  var dlqShown = [];       /* entry ids in the table, newest first */
  var pollTimer = null;
  var currentQueue = null; /* the queue the panels show; null: the first */

  function $(id) { return document.getElementById(id); }

  /* An element with text (any value, shown as text) and a class. */
  function el(tag, text, cls) {
    var e = document.createElement(tag);
    if (text !== undefined && text !== null) e.textContent = String(text);
    if (cls) e.className = cls;
    return e;
  }

  function clear(node) {
    while (node.firstChild) node.removeChild(node.firstChild);
  }

  function td(text, cls) { return el('td', text, cls); }

  function emptyRow(tbody, cols, text) {
    var tr = el('tr');
    var c = td(text, 'empty');
    c.colSpan = cols;
    tr.appendChild(c);
    tbody.appendChild(tr);
  }

  function num(v) {
    return typeof v === 'number' && isFinite(v) ? v : null;
  }

  /* "850ms", "4.2s", "3m 5s", "2h 10m", "3d 4h". */
  function age(ms) {
    ms = num(ms);
    if (ms === null || ms < 0) return '-';
    if (ms < 1000) return Math.round(ms) + 'ms';
    var s = ms / 1000;
    if (s < 60) return s.toFixed(1) + 's';
    s = Math.floor(s);
    if (s < 3600) return Math.floor(s / 60) + 'm ' + (s % 60) + 's';
    if (s < 86400) {
      return Math.floor(s / 3600) + 'h ' + Math.floor(s % 3600 / 60) + 'm';
    }
    return Math.floor(s / 86400) + 'd ' + Math.floor(s % 86400 / 3600) + 'h';
  }

  function when(ms) {
    ms = num(ms);
    if (ms === null) return '-';
    return new Date(ms).toISOString().replace('T', ' ').replace('Z', ' UTC');
  }

  /* ---- the token and requests ------------------------------------------ */

  function token() {
    try {
      return sessionStorage.getItem(TOKEN_KEY) || '';
    } catch (e) {
      return '';
    }
  }

  function showTokenState() {
    var s = $('token-state');
    if (token()) {
      s.textContent = 'token set';
      s.className = 'token-state set';
    } else {
      s.textContent = 'no token';
      s.className = 'token-state';
    }
  }

  function notice(text, kind) {
    var n = $('notice');
    if (!text) {
      n.hidden = true;
      n.textContent = '';
      return;
    }
    n.textContent = text;
    n.className = kind === 'info' ? 'notice info' : 'notice';
    n.hidden = false;
  }

  /* Resolves to {status, body} (body: the parsed JSON, or null). */
  function api(method, path, body) {
    var headers = {'Accept': 'application/json'};
    var t = token();
    if (t) headers['Authorization'] = 'Bearer ' + t;
    var init = {method: method, headers: headers, credentials: 'omit',
                cache: 'no-store'};
    if (body !== undefined) {
      headers['Content-Type'] = 'application/json';
      init.body = JSON.stringify(body);
    }
    if (currentQueue) {
      path += (path.indexOf('?') < 0 ? '?' : '&') + 'queue=' +
        encodeURIComponent(currentQueue);
    }
    return fetch(path, init).then(function (r) {
      return r.text().then(function (text) {
        var parsed = null;
        try { parsed = text ? JSON.parse(text) : null; } catch (e) {}
        return {status: r.status, body: parsed};
      });
    });
  }

  function errorText(res) {
    return res.body && typeof res.body.error === 'string'
      ? res.body.error : 'HTTP ' + res.status;
  }

  /* The line shown when the server refuses a request. */
  function refusal(what, res) {
    if (res.status === 401) {
      return what + ' refused (401 Unauthorized): ' +
        (token() ? 'the server did not accept this token. '
                 : 'this needs the token. ') +
        'Enter the contents of the file given to --http-token-file in ' +
        'the Token field. (' + errorText(res) + ')';
    }
    if (res.status === 403) {
      return what + ' refused (403 Forbidden): ' + errorText(res);
    }
    return what + ' failed (HTTP ' + res.status + '): ' + errorText(res);
  }

  /* ---- drawing the overview --------------------------------------------- */

  function pickQueue(name) {
    currentQueue = name;
    dlqBefore = null;
    refresh();
  }

  function queueRow(tbody, name, s, chosen, several) {
    var tr = el('tr', null, chosen ? 'chosen' : '');
    tr.dataset.queue = String(name);
    var nc = td(several ? null : name, 'mono');
    if (several) {
      var b = el('button', name, 'queue-pick');
      b.type = 'button';
      b.title = chosen ? 'shown below' : 'show this queue below';
      b.addEventListener('click', function () { pickQueue(name); });
      nc.appendChild(b);
    }
    tr.appendChild(nc);
    var waiting = num(s.waiting);
    tr.appendChild(td(waiting === null || waiting < 0 ? '?' : waiting,
                      'num depth'));
    tr.appendChild(td(num(s.delayed), 'num'));
    tr.appendChild(td(num(s.parked), 'num'));
    tr.appendChild(td(num(s.running), 'num'));
    tr.appendChild(td(num(s.dlq), 'num'));
    tr.appendChild(td(num(s.oldest_waiting_ms) === null ||
                      s.oldest_waiting_ms < 0 ? '-' :
                      age(s.oldest_waiting_ms), 'num'));
    tr.appendChild(td(num(s.length), 'num'));
    tr.appendChild(td(num(s.live_workers), 'num'));
    tbody.appendChild(tr);
  }

  function drawQueue(o) {
    var s = o.queue_stats || {};
    var tbody = $('queue-table').tBodies[0];
    clear(tbody);
    var all = Array.isArray(o.queues) && o.queues.length
      ? o.queues : [{queue: o.queue, queue_stats: s}];
    all.forEach(function (q) {
      queueRow(tbody, q.queue, q.queue === o.queue ? s : q.queue_stats || {},
               q.queue === o.queue, all.length > 1);
    });
    var ps = $('pause-state');
    ps.textContent = (all.length > 1 ? o.queue + ': ' : '') + (s.paused
      ? 'Paused: no worker takes jobs from this queue until it is resumed.'
      : 'Taking jobs.');
    ps.className = s.paused ? 'pause-state paused' : 'pause-state';
    $('queue-pause').hidden = !!s.paused;
    $('queue-resume').hidden = !s.paused;
    var pp = Array.isArray(s.parked_pairs) ? s.parked_pairs : [];
    $('parked-pairs').textContent = pp.length ? 'Parked: ' + pp.map(
      function (p) { return p.job + ' v' + p.version + ' (' + p.count + ')'; }
    ).join(', ') : '';
  }

  function serves(list) {
    if (!Array.isArray(list) || list.length === 0) return 'nothing';
    return list.map(function (s) {
      return s.job + (s.min === s.max ? ' v' + s.min
                                      : ' v' + s.min + '..' + s.max);
    }).join(', ');
  }

  function drawWorkers(o) {
    var ws = Array.isArray(o.workers) ? o.workers : [];
    var tbody = $('workers-table').tBodies[0];
    clear(tbody);
    $('workers-count').textContent = '(' + ws.length +
      (o.workers_truncated ? '+, only the first shown' : '') + ')';
    if (ws.length === 0) {
      emptyRow(tbody, 8, 'no live worker on this queue');
      return;
    }
    ws.forEach(function (w) {
      var tr = el('tr');
      tr.dataset.consumer = String(w.consumer);
      tr.appendChild(td(w.consumer, 'mono consumer'));
      if (w.error !== undefined) {
        var c = td('record unreadable: ' + w.error, 'err');
        c.colSpan = 6;
        tr.appendChild(c);
      } else {
        tr.appendChild(td(w.host, 'mono'));
        tr.appendChild(td(w.pid, 'num'));
        tr.appendChild(td(w.state));
        tr.appendChild(td(w.inflight + '/' + w.concurrency, 'num'));
        var running = (w.running || []).map(function (r) {
          return r.job + ' v' + r.version + ' x' + r.count;
        }).join(', ');
        tr.appendChild(td(running || '-'));
        var pc = td(null);
        (w.plugins || []).forEach(function (p) {
          var line = el('span', p.name + ' ' + p.version + ', ' +
                        (p.build_id || '-') + ', gen ' + p.generation +
                        ': ' + serves(p.serves), 'plugin');
          if (p.pinned) {
            line.appendChild(el('span', ' (needs restart to reload: ' +
                                p.pinned + ')', 'pinned'));
          }
          pc.appendChild(line);
        });
        (w.draining || []).forEach(function (d) {
          pc.appendChild(el('span', 'draining ' + d.name + ' ' +
                            d.build_id + ', gen ' + d.generation + ': ' +
                            d.inflight + ' in flight', 'plugin'));
        });
        if (!pc.firstChild) pc.textContent = 'no plugin loaded';
        tr.appendChild(pc);
      }
      tr.appendChild(td(age(num(o.server_ms) - num(w.last_heartbeat_ms)) +
                        ' ago', 'num'));
      tbody.appendChild(tr);
    });
  }

  /* "local" is this process's own JSON view: shown as nested lists. */
  function drawValue(v) {
    if (v === null || typeof v !== 'object') return el('span', String(v));
    if (Array.isArray(v)) {
      if (v.length && v.every(function (x) {
        return x && typeof x === 'object' && !Array.isArray(x);
      })) {
        return drawObjects(v);
      }
      return el('span', v.map(function (x) {
        return typeof x === 'object' ? JSON.stringify(x) : String(x);
      }).join(', '));
    }
    var dl = el('dl', null, 'kv');
    Object.keys(v).forEach(function (k) {
      dl.appendChild(el('dt', k));
      var dd = el('dd');
      dd.appendChild(drawValue(v[k]));
      dl.appendChild(dd);
    });
    return dl;
  }

  /* A list of objects as a table with the union of their keys. */
  function drawObjects(list) {
    var keys = [];
    list.forEach(function (o) {
      Object.keys(o).forEach(function (k) {
        if (keys.indexOf(k) < 0) keys.push(k);
      });
    });
    var t = el('table'), head = el('tr'), body = el('tbody');
    keys.forEach(function (k) { head.appendChild(el('th', k)); });
    var thead = el('thead');
    thead.appendChild(head);
    t.appendChild(thead);
    list.forEach(function (o) {
      var tr = el('tr');
      keys.forEach(function (k) {
        var v = o[k];
        tr.appendChild(td(v === undefined ? '' :
                          typeof v === 'object' && v !== null
                            ? JSON.stringify(v) : String(v)));
      });
      body.appendChild(tr);
    });
    t.appendChild(body);
    return t;
  }

  function drawLocal(o) {
    var sec = $('local-section');
    if (o.local === undefined || o.local === null) {
      sec.hidden = true;
      return;
    }
    sec.hidden = false;
    var box = $('local');
    clear(box);
    box.appendChild(drawValue(o.local));
  }

  function drawRollout(o) {
    var rows = Array.isArray(o.rollout) ? o.rollout : [];
    var tbody = $('rollout-table').tBodies[0];
    clear(tbody);
    if (rows.length === 0) {
      emptyRow(tbody, 8, 'no job served, queued, delayed, parked or running');
    }
    rows.forEach(function (r) {
      var tr = el('tr');
      if (r.workers === 0 && r.queued + r.delayed + r.parked > 0) {
        tr.className = 'unserved';
        tr.title = 'not served by any live worker: these jobs park';
      } else if (r.queued + r.delayed + r.parked + r.running === 0) {
        tr.className = 'idle';
      }
      tr.dataset.job = String(r.job);
      tr.dataset.version = String(r.version);
      tr.appendChild(td(r.job, 'mono'));
      tr.appendChild(td('v' + r.version));
      tr.appendChild(td(r.workers, 'num workers'));
      tr.appendChild(td((r.builds || []).map(function (b) {
        return b.build_id + ' (' + b.workers + ')';
      }).join(', ') || '-', 'mono'));
      tr.appendChild(td(r.queued, 'num queued'));
      tr.appendChild(td(r.delayed, 'num delayed'));
      tr.appendChild(td(r.parked, 'num parked'));
      tr.appendChild(td(r.running, 'num running'));
      tbody.appendChild(tr);
    });
    var n = o.rollout_scan || {}, notes = [];
    if (n.stream_scan_cut) {
      notes.push('Queued counts the first ' + n.stream_scanned +
                 ' undelivered entries only.');
    }
    if (n.delayed_scan_cut) {
      notes.push('Delayed counts the first ' + n.delayed_scanned +
                 ' delayed jobs only.');
    }
    if (n.rows_cut) notes.push('More (job, version) pairs than shown.');
    $('rollout-note').textContent = notes.join(' ');
  }

  /* The jobs in flight, oldest first, with what their handlers last
   * reported through job_progress (ABI 1.2). */
  function drawRunning(o) {
    var rs = Array.isArray(o.running) ? o.running : [];
    var omitted = num(o.running_omitted) || 0;
    var tbody = $('running-table').tBodies[0];
    clear(tbody);
    $('running-count').textContent = '(' + (rs.length + omitted) + ')';
    if (rs.length === 0) emptyRow(tbody, 7, 'no job running');
    rs.forEach(function (r) {
      var tr = el('tr');
      tr.dataset.jobId = String(r.id);
      tr.appendChild(td(r.id, 'mono'));
      tr.appendChild(td(r.job, 'mono'));
      tr.appendChild(td(r.version));
      tr.appendChild(td(r.attempt, 'num'));
      tr.appendChild(td(r.worker, 'mono'));
      tr.appendChild(r.state === 'waiting'
        ? td('waiting for a limit', 'num')
        : td(age(num(o.server_ms) - num(r.started_ms)), 'num'));
      var pc = td(null, 'progress');
      if (r.progress && num(r.progress.percent) !== null) {
        var bar = el('progress', null, 'bar');
        bar.max = 100;
        bar.value = r.progress.percent;
        pc.appendChild(bar);
        pc.appendChild(el('span', r.progress.percent + '%', 'percent'));
        if (r.progress.message) {
          pc.appendChild(el('span', r.progress.message, 'message'));
        }
        pc.title = 'reported ' + when(r.progress.at_ms);
      } else {
        pc.textContent = '-';
      }
      tr.appendChild(pc);
      tbody.appendChild(tr);
    });
    if (omitted > 0) {
      emptyRow(tbody, 7, omitted + ' more not listed');
    }
    if (o.running_progress_error) {
      emptyRow(tbody, 7, 'progress not shown: ' + o.running_progress_error);
    }
  }

  function drawFailures(o) {
    var fs = Array.isArray(o.failures) ? o.failures : [];
    var tbody = $('failures-table').tBodies[0];
    clear(tbody);
    if (fs.length === 0) emptyRow(tbody, 6, 'no dead letters');
    fs.forEach(function (f) {
      var tr = el('tr');
      tr.appendChild(td(when(f.at)));
      tr.appendChild(td(f.id, 'mono'));
      tr.appendChild(td(f.job, 'mono'));
      tr.appendChild(td(f.v));
      tr.appendChild(td(f.reason));
      tr.appendChild(td(f.error, 'err'));
      tbody.appendChild(tr);
    });
  }

  /* ---- the DLQ table ---------------------------------------------------- */

  function selectedIds() {
    var ids = [];
    var boxes = $('dlq-table').tBodies[0].querySelectorAll(
      'input[type=checkbox]');
    Array.prototype.forEach.call(boxes, function (b) {
      if (b.checked) ids.push(b.dataset.entry);
    });
    return ids;
  }

  function drawDlq(res) {
    var tbody = $('dlq-table').tBodies[0];
    var keep = selectedIds();
    clear(tbody);
    var entries = Array.isArray(res.entries) ? res.entries : [];
    dlqNext = typeof res.next === 'string' ? res.next : null;
    dlqShown = [];
    $('dlq-total').textContent = '(' + res.total + ' in all' +
      (dlqBefore ? ', an older page' : '') + ')';
    $('dlq-older').disabled = dlqNext === null;
    $('dlq-newest').disabled = dlqBefore === null;
    if (entries.length === 0) emptyRow(tbody, 10, 'no dead letters here');
    entries.forEach(function (e) {
      var id = String(e.entry);
      dlqShown.push(id);
      var tr = el('tr');
      tr.dataset.entry = id;
      tr.dataset.jobId = e.id === null ? '' : String(e.id);
      var c = td(null), box = el('input');
      box.type = 'checkbox';
      box.dataset.entry = id;
      box.checked = keep.indexOf(id) >= 0;
      c.appendChild(box);
      tr.appendChild(c);
      tr.appendChild(td(id, 'mono'));
      tr.appendChild(td(e.id, 'mono'));
      tr.appendChild(td(e.job, 'mono'));
      tr.appendChild(td(e.v));
      tr.appendChild(td(e.reason));
      tr.appendChild(td(e.attempt === null ? '1' : e.attempt, 'num'));
      tr.appendChild(td(when(e.at)));
      tr.appendChild(td(e.error, 'err'));
      var a = td(null, 'actions');
      var show = el('button', 'Show', 'show');
      show.type = 'button';
      show.addEventListener('click', function () { showEntry(id); });
      var retry = el('button', 'Retry', 'retry');
      retry.type = 'button';
      retry.addEventListener('click', function () { act('retry', [id]); });
      var purge = el('button', 'Purge', 'purge danger');
      purge.type = 'button';
      purge.addEventListener('click', function () { act('purge', [id]); });
      a.appendChild(show);
      a.appendChild(retry);
      a.appendChild(purge);
      tr.appendChild(a);
      tbody.appendChild(tr);
    });
  }

  function loadDlq() {
    var q = '?count=' + DLQ_PAGE +
      (dlqBefore ? '&before=' + encodeURIComponent(dlqBefore) : '');
    return api('GET', '/api/dlq' + q).then(function (res) {
      if (res.status === 200 && res.body) drawDlq(res.body);
      return res;
    });
  }

  function showEntry(id) {
    api('GET', '/api/dlq/' + encodeURIComponent(id)).then(function (res) {
      if (res.status !== 200 || !res.body) {
        notice(refusal('Showing dead letter ' + id, res));
        return;
      }
      var d = res.body;
      $('dlq-detail-title').textContent = 'Dead letter ' + id +
        (d.encoded ? ' (fields decoded from dlq_fields)' : '');
      var tbody = $('dlq-detail-fields').tBodies[0];
      clear(tbody);
      (d.fields || []).forEach(function (f) {
        var tr = el('tr');
        tr.appendChild(td(f[0]));
        var v = td(null);
        v.appendChild(el('pre', f[1]));
        tr.appendChild(v);
        tbody.appendChild(tr);
      });
      $('dlq-detail').hidden = false;
    }).catch(function (e) {
      notice('Showing dead letter ' + id + ' failed: ' + e);
    });
  }

  /* Retry or purge the given entry ids (POST /api/dlq/retry|purge). */
  function act(what, ids) {
    if (ids.length === 0) {
      notice('Select dead letters first (the boxes in the first column).',
             'info');
      return;
    }
    if (what === 'purge' &&
        !window.confirm('Delete ' + ids.length + ' dead letter(s) for ' +
                        'good?')) {
      return;
    }
    var label = what === 'retry' ? 'Retry' : 'Purge';
    api('POST', '/api/dlq/' + what, {ids: ids}).then(function (res) {
      if (res.status !== 200 || !res.body) {
        notice(refusal(label, res));
        return;
      }
      var b = res.body, msg;
      if (what === 'retry') {
        msg = 'Re-enqueued ' + b.retried + ' job(s).';
        if (b.kept) msg += ' Kept ' + b.kept + ' (no fields to re-add).';
        if (b.cancelled) {
          msg += ' ' + b.cancelled + ' still cancelled: they will be ' +
            'dead-lettered again.';
        }
        if (b.expired) {
          msg += ' ' + b.expired + ' past expires_at: they will be ' +
            'dead-lettered again.';
        }
      } else {
        msg = 'Purged ' + b.purged + ' dead letter(s).';
      }
      if (b.not_found && b.not_found.length) {
        msg += ' Gone already: ' + b.not_found.join(', ') + '.';
      }
      notice(msg, 'info');
      $('dlq-detail').hidden = true;
      refresh();
    }).catch(function (e) {
      notice(label + ' failed: ' + e);
    });
  }

  /* Pause or resume the queue (POST /api/queue/pause|resume). */
  function pauseQueue(pause) {
    var body = {};
    if (pause) {
      var why = window.prompt('Pause the queue for the whole fleet: ' +
                              'running jobs finish, nothing new starts. ' +
                              'Reason (optional):', '');
      if (why === null) return;
      if (why) body.reason = why;
    }
    var label = pause ? 'Pause' : 'Resume';
    api('POST', '/api/queue/' + (pause ? 'pause' : 'resume'), body)
      .then(function (res) {
        if (res.status !== 200 || !res.body) {
          notice(refusal(label, res));
          return;
        }
        notice(pause
          ? (res.body.changed ? 'Paused: workers stop taking jobs within ' +
             'about 0.25 s.' : 'The queue was paused already.')
          : (res.body.changed ? 'Resumed: workers take jobs again.'
                              : 'The queue was not paused.'), 'info');
        refresh();
      }).catch(function (e) {
        notice(label + ' failed: ' + e);
      });
  }

  /* ---- polling ---------------------------------------------------------- */

  function setPollState(ok, text) {
    var s = $('poll-state');
    s.textContent = text;
    s.className = ok ? 'poll-state ok' : 'poll-state bad';
  }

  function refresh() {
    var overview = api('GET', '/api/overview').then(function (res) {
      if (res.status !== 200 || !res.body) {
        setPollState(false, 'not updated: HTTP ' + res.status);
        if (res.status === 401 || res.status === 403) {
          notice(refusal('Reading', res));
        }
        return;
      }
      var o = res.body;
      $('where').textContent = o.namespace + ' / ' + o.queue;
      setPollState(true, 'updated ' + new Date().toLocaleTimeString());
      drawQueue(o);
      drawWorkers(o);
      drawRunning(o);
      drawLocal(o);
      drawRollout(o);
      drawFailures(o);
      document.body.dataset.loaded = '1';
    });
    return Promise.all([overview, loadDlq()]).catch(function (e) {
      setPollState(false, 'not updated: ' + e);
    });
  }

  function poll() {
    clearTimeout(pollTimer);
    refresh().then(function () {
      pollTimer = setTimeout(poll, POLL_MS);
    });
  }

  function init() {
    showTokenState();
    $('token-form').addEventListener('submit', function (ev) {
      ev.preventDefault();
      var t = $('token').value.trim();
      try {
        if (t) sessionStorage.setItem(TOKEN_KEY, t);
      } catch (e) {}
      $('token').value = '';
      showTokenState();
      notice('');
      poll();
    });
    $('token-clear').addEventListener('click', function () {
      try { sessionStorage.removeItem(TOKEN_KEY); } catch (e) {}
      showTokenState();
    });
    $('queue-pause').addEventListener('click', function () {
      pauseQueue(true);
    });
    $('queue-resume').addEventListener('click', function () {
      pauseQueue(false);
    });
    $('dlq-retry-selected').addEventListener('click', function () {
      act('retry', selectedIds());
    });
    $('dlq-purge-selected').addEventListener('click', function () {
      act('purge', selectedIds());
    });
    $('dlq-all').addEventListener('change', function (ev) {
      var boxes = $('dlq-table').tBodies[0].querySelectorAll(
        'input[type=checkbox]');
      Array.prototype.forEach.call(boxes, function (b) {
        b.checked = ev.target.checked;
      });
    });
    $('dlq-older').addEventListener('click', function () {
      if (dlqNext) {
        dlqBefore = dlqNext;
        loadDlq();
      }
    });
    $('dlq-newest').addEventListener('click', function () {
      dlqBefore = null;
      loadDlq();
    });
    $('dlq-detail-close').addEventListener('click', function () {
      $('dlq-detail').hidden = true;
    });
    poll();
  }

  document.addEventListener('DOMContentLoaded', init);
})();
