'use strict';
// bench/reload.js - the reload row of ./scripts/bench (issue 9): what a hot
// reload costs a jobrt worker under a steady load. See bench/README.md,
// "Reload row". Usage (normally through ./scripts/bench --part reload):
//   node bench/reload.js --port P --build DIR [--runs 5] [--rate 10000]
//        [--window 3] [--reloads 10] [--watch-renames 5] [--quick]
//        [--out FILE]
//
// One worker at the default options but for the queue (--concurrency 8)
// serves plugin file bench_reload.so, installed by rename from the two
// builds of bench/plugins/bench_reload.c. bench_producer enqueues no-op
// jobs at --rate the whole time. Each run has two windows of --window
// seconds at that load, in alternating order: one with no reload, one with
// --reloads installs (a, b, a, ...) by rename + SIGHUP, spread evenly. The
// plugin appends each job's completion time (CLOCK_MONOTONIC ns, taken by
// the handler as it returns) and its generation's init time; the gaps
// between consecutive completions inside a window give p50/p99/p99.9/max,
// and each reload gives rename -> init() of the new generation -> its first
// completed job. Then one worker with --watch gets --watch-renames installs
// by rename alone. Medians over runs. Needs only redis-cli, no npm module.
const fs = require('fs');
const os = require('os');
const path = require('path');
const { spawn, execFileSync } = require('child_process');

// ---- options -------------------------------------------------------------

function parseArgs(argv) {
  const o = {
    port: 0, build: 'build-bench', runs: 5, rate: 10000, window: 3,
    reloads: 10, watchRenames: 5, warm: 1, quick: false,
    out: path.join(__dirname, '.peers', 'last-reload.json'),
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const v = () => {
      if (i + 1 >= argv.length) throw new Error(`${a} needs a value`);
      return argv[++i];
    };
    if (a === '--port') o.port = Number(v());
    else if (a === '--build') o.build = v();
    else if (a === '--runs') o.runs = Number(v());
    else if (a === '--rate') o.rate = Number(v());
    else if (a === '--window') o.window = Number(v());
    else if (a === '--reloads') o.reloads = Number(v());
    else if (a === '--watch-renames') o.watchRenames = Number(v());
    else if (a === '--quick') o.quick = true;
    else if (a === '--out') o.out = v();
    else throw new Error(`unknown option ${a}`);
  }
  if (o.quick) {
    o.runs = 1;
    o.window = Math.min(o.window, 1);
    o.reloads = Math.min(o.reloads, 4);
    o.watchRenames = Math.min(o.watchRenames, 2);
  }
  if (!(o.port > 0) || !(o.runs >= 1) || !(o.rate >= 100 && o.rate <= 200000) ||
      !(o.window >= 0.5 && o.window <= 30) || !(o.reloads >= 1 && o.reloads <= 100) ||
      !(o.watchRenames >= 0 && o.watchRenames <= 20)) {
    throw new Error('need --port, --runs >= 1, --rate in [100, 200000], '
      + '--window in [0.5, 30] s, --reloads in [1, 100], --watch-renames in [0, 20]');
  }
  o.build = path.resolve(o.build);
  return o;
}

const opt = parseArgs(process.argv.slice(2));
const URL = `redis://127.0.0.1:${opt.port}`;
const JOBRT = path.join(opt.build, 'jobrt');
const PRODUCER = path.join(opt.build, 'bench', 'bench_producer');
const BUILDS = { a: path.join(opt.build, 'bench', 'reload', 'bench_reload_a.so'),
  b: path.join(opt.build, 'bench', 'reload', 'bench_reload_b.so') };
const TMP = fs.mkdtempSync(path.join(os.tmpdir(), 'jobrt-bench-reload-'));
// The completion records go to tmpfs when there is one: on a journaling
// file system (ext4 here) the handler's append could wait on the journal
// behind the harness's rename in the plugin directory, which would be the
// harness's stall, not the worker's.
const SHM = fs.existsSync('/dev/shm') ? fs.mkdtempSync('/dev/shm/jobrt-bench-reload-') : TMP;
const WATCH_SPACING_S = 0.8; // > the 250 ms --watch debounce + a reload
const STEADY_TOLERANCE = 0.03; // a window's completions within 3 % of the rate
const QUIET_CORES = 0.15; // other processes' CPU during a run, in cores
const MAX_REDOS = 5; // runs redone at most because the load was not steady

const children = new Set(); // killed on the way out, whatever happened
function track(child) {
  children.add(child);
  child.on('exit', () => children.delete(child));
  return child;
}
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const nowNs = () => process.hrtime.bigint(); // CLOCK_MONOTONIC, as the plugin
function log(msg) { process.stderr.write(`[reload] ${msg}\n`); }
function redisCli(...args) {
  return execFileSync('redis-cli', ['-h', '127.0.0.1', '-p', String(opt.port), ...args])
    .toString().trim();
}

function within(p, ms, what) {
  let t;
  return Promise.race([
    p,
    new Promise((_, rej) => { t = setTimeout(() => rej(new Error(`timed out: ${what}`)), ms); }),
  ]).finally(() => clearTimeout(t));
}

function pct(sorted, p) {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1));
  return sorted[i];
}

function median(xs) {
  const v = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return NaN;
  const m = v.length >> 1;
  return v.length % 2 ? v[m] : (v[m - 1] + v[m]) / 2;
}

// CPU the whole machine was busy (/proc/stat) and the part of it that was
// ours: this process, its reaped children (worker, producer, redis-cli)
// and the redis-server. The rest is other load on the shared 2 cores.
const CLK_TCK = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;
let redisPid = 0;
function ticksOf(pid, withChildren) {
  try {
    const st = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = st.slice(st.lastIndexOf(')') + 2).split(' ');
    const own = Number(f[11]) + Number(f[12]); // utime + stime
    return withChildren ? own + Number(f[13]) + Number(f[14]) : own; // + cutime + cstime
  } catch { return 0; }
}
function cpuSnap() {
  const f = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  const total = f.slice(0, 8).reduce((a, x) => a + x, 0); // up to steal
  const idle = f[3] + f[4]; // idle + iowait
  return { t: process.hrtime.bigint(), busy: total - idle, ours: ticksOf(process.pid, true) + ticksOf(redisPid, false) };
}
// Cores' worth of CPU that other processes used between two snapshots.
function otherCores(a, b) {
  const secs = Number(b.t - a.t) / 1e9;
  return Math.max(0, (b.busy - a.busy) - (b.ours - a.ours)) / CLK_TCK / secs;
}

// ---- processes -------------------------------------------------------------

// Installs build ('a' | 'b') as dir/bench_reload.so by rename; the copy is
// made first (prepare), so that the timed part is the rename alone.
function prepare(dir, build) {
  const tmp = path.join(dir, '.bench_reload.so.tmp');
  fs.copyFileSync(BUILDS[build], tmp);
  fs.chmodSync(tmp, 0o644);
  return tmp;
}
function installPrepared(dir, tmp) {
  fs.renameSync(tmp, path.join(dir, 'bench_reload.so'));
}

async function startWorker(dir, queue, outFile, extra) {
  // one process (--workers 0): a SIGHUP reloads it in place; under a
  // supervisor it would be a rolling reload of several
  const args = ['run', '--workers', '0', '--plugin-dir', dir, '--redis', URL,
    '--queue', queue, '--concurrency', '8', ...extra];
  const t0 = nowNs();
  const child = track(spawn(JOBRT, args, {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, BENCH_RELOAD_OUT: outFile },
  }));
  const w = { child, log: '', exited: false, spawned_ns: t0 };
  w.exit = new Promise((res) => child.on('exit', (code, sig) => { w.exited = true; res({ code, sig }); }));
  child.stderr.on('data', (d) => { w.log += d; });
  await within(new Promise((res, rej) => {
    const t = setInterval(() => {
      if (w.log.includes('taking jobs from queue')) { clearInterval(t); res(); }
      if (w.exited) { clearInterval(t); rej(new Error(`jobrt worker exited early:\n${w.log}`)); }
    }, 5);
  }), 15000, 'jobrt worker start');
  w.ready_ns = nowNs();
  w.count = (re) => (w.log.match(re) || []).length;
  w.stop = async () => {
    if (!w.exited) child.kill('SIGTERM');
    try { await within(w.exit, 40000, 'jobrt worker stop'); } catch { child.kill('SIGKILL'); await w.exit; }
    const m = /stopped: (\d+) succeeded, (\d+) retried, (\d+) dead-lettered/.exec(w.log);
    return m ? Number(m[1]) : NaN;
  };
  return w;
}

function startProducer(queue, seconds) {
  const child = track(spawn(PRODUCER, ['--port', String(opt.port), '--stream', `jobrt:{${queue}}:stream`,
    '--rate', String(opt.rate), '--seconds', String(seconds), '--job', 'bench_reload'],
  { stdio: ['ignore', 'pipe', 'inherit'] }));
  let out = '';
  child.stdout.on('data', (d) => { out += d; });
  const done = new Promise((res, rej) => child.on('exit', (code) => (code === 0
    ? res(JSON.parse(out)) : rej(new Error(`bench_producer exited ${code}`)))));
  return { child, done };
}

// Completions the plugin recorded so far: [{done, build, init}] (BigInt ns).
function readDone(file) {
  if (!fs.existsSync(file)) return [];
  const rows = [];
  for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
    if (!line) continue;
    const [d, b, i] = line.split(' ');
    rows.push({ done: BigInt(d), build: b, init: BigInt(i) });
  }
  return rows;
}
function countLines(file) {
  try {
    const buf = fs.readFileSync(file);
    let n = 0;
    for (let i = 0; i < buf.length; i++) if (buf[i] === 10) n++;
    return n;
  } catch { return 0; }
}

// Waits (bounded) until the plugin recorded n completions.
async function waitDone(file, n, ms) {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (countLines(file) >= n) return true;
    await sleep(20);
  }
  return countLines(file) >= n;
}

// ---- analysis ------------------------------------------------------------

// Gaps (ms) between consecutive completions inside [t0, t1).
function gapStats(sortedDone, t0, t1) {
  const inside = sortedDone.filter((d) => d >= t0 && d < t1);
  const gaps = [];
  for (let i = 1; i < inside.length; i++) gaps.push(Number(inside[i] - inside[i - 1]) / 1e6);
  gaps.sort((a, b) => a - b);
  return {
    completions: inside.length,
    jobs_per_s: inside.length / (Number(t1 - t0) / 1e9),
    p50_ms: pct(gaps, 0.5), p99_ms: pct(gaps, 0.99), p999_ms: pct(gaps, 0.999),
    max_ms: gaps.length ? gaps[gaps.length - 1] : NaN,
    over_1ms: gaps.filter((g) => g > 1).length,
    over_5ms: gaps.filter((g) => g > 5).length,
  };
}

// The longest gap between completions that ends in (t, t + 50 ms].
function maxGapAfter(sortedDone, t) {
  let best = 0;
  let prev = null;
  for (const d of sortedDone) {
    if (d > t + 50000000n) break;
    if (prev !== null && d > t && Number(d - prev) / 1e6 > best) best = Number(d - prev) / 1e6;
    prev = d;
  }
  return best;
}

// For each rename at t (BigInt ns), the generation whose init() came first
// after it: rename -> init, rename -> its first completed job, and the
// largest gap between completions within 50 ms after the rename.
function reloadLatencies(rows, sortedDone, renames, build) {
  const inits = [...new Set(rows.map((r) => r.init))].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const firstOf = new Map();
  for (const r of rows) {
    const f = firstOf.get(r.init);
    if (f === undefined || r.done < f.done) firstOf.set(r.init, r);
  }
  return renames.map((t, k) => {
    const next = renames[k + 1];
    const g = inits.find((i) => i > t && (next === undefined || i < next));
    if (g === undefined) return { ok: false, to: build[k] };
    const first = firstOf.get(g);
    let stall = 0;
    let stallAt = 0n;
    let prev = null;
    for (const d of sortedDone) {
      if (d > t + 50000000n) break;
      if (prev !== null && d > t && Number(d - prev) / 1e6 > stall) { stall = Number(d - prev) / 1e6; stallAt = prev; }
      prev = d;
    }
    return {
      ok: first.build === build[k],
      to: build[k],
      ran: first.build,
      rename_to_init_ms: Number(g - t) / 1e6,
      rename_to_first_job_ms: Number(first.done - t) / 1e6,
      max_gap_50ms_after_ms: stall,
      // where that gap began, from the rename (init_ms tells whether it
      // was before or after the new generation's init())
      max_gap_began_ms: Number(stallAt - t) / 1e6,
    };
  });
}

// ---- one run ---------------------------------------------------------------

let seq = 0;

async function sighupRun(r) {
  redisCli('FLUSHALL');
  const cpu0 = cpuSnap();
  const queue = `rl${++seq}`;
  const dir = path.join(TMP, `run${r}`, 'plugins');
  fs.mkdirSync(dir, { recursive: true, mode: 0o755 });
  fs.chmodSync(dir, 0o755);
  const outFile = path.join(SHM, `done-${r}.txt`);
  installPrepared(dir, prepare(dir, 'a'));
  const w = await startWorker(dir, queue, outFile, []);
  const W = opt.window;
  const spacer = 0.25;
  const total = opt.warm + 2 * W + spacer + 0.25;
  const prod = startProducer(queue, total);
  const order = r % 2 === 0 ? ['none', 'reload'] : ['reload', 'none'];
  const windows = {};
  const renames = [];
  const sent = []; // ns from the rename's start to SIGHUP sent
  const builds = [];
  let cur = 'a';
  await sleep(opt.warm * 1000);
  for (const kind of order) {
    const t0 = nowNs();
    const t1 = t0 + BigInt(Math.round(W * 1e9));
    if (kind === 'reload') {
      for (let k = 0; k < opt.reloads; k++) {
        const next = cur === 'a' ? 'b' : 'a';
        const tmp = prepare(dir, next);
        const at = t0 + BigInt(Math.round(((k + 0.5) * W * 1e9) / opt.reloads));
        const wait = Number(at - nowNs()) / 1e6;
        if (wait > 0) await sleep(wait);
        const t = nowNs();
        installPrepared(dir, tmp);
        w.child.kill('SIGHUP');
        sent.push(nowNs() - t);
        renames.push(t);
        builds.push(next);
        cur = next;
      }
    }
    const rest = Number(t1 - nowNs()) / 1e6;
    if (rest > 0) await sleep(rest);
    windows[kind] = [t0, t1];
    await sleep(spacer * 1000);
  }
  const p = await within(prod.done, (total + 30) * 1000, 'bench_producer');
  const drained = await waitDone(outFile, p.sent, 20000);
  const reloaded = w.count(/reload \(SIGHUP\): reloaded/g);
  const unloaded = w.count(/unloaded: drained, finalised, and verified gone/g);
  const rejected = w.count(/rejected: | leaked: /g);
  const succeeded = await w.stop();
  const other = otherCores(cpu0, cpuSnap());
  const dlq = Number(redisCli('XLEN', `jobrt:{${queue}}:dlq`)) || 0;
  const rows = readDone(outFile);
  const sorted = rows.map((x) => x.done).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const gen1 = rows.length ? rows.reduce((m, x) => (x.init < m ? x.init : m), rows[0].init) : 0n;
  const res = {
    order,
    producer: p,
    completions: rows.length,
    succeeded,
    dlq,
    reloads_logged: reloaded,
    unloaded_logged: unloaded,
    rejected_or_leaked_lines: rejected,
    // init() of generation 1 must fall between spawn and "taking jobs":
    // Node's hrtime and the plugin's CLOCK_MONOTONIC agree
    clock_ok: gen1 >= w.spawned_ns && gen1 <= w.ready_ns,
    none: gapStats(sorted, ...windows.none),
    // the same instants as the reloads', shifted into the no-reload window
    none_50ms_after_ms: renames.map((t) => maxGapAfter(sorted, t - windows.reload[0] + windows.none[0])),
    reload: gapStats(sorted, ...windows.reload),
    reloads: reloadLatencies(rows, sorted, renames, builds),
    other_cores: other,
  };
  // The load was not the fixed one if the worker fell behind (or caught
  // up) in a window, or if other processes took a share of the 2 cores:
  // such a run is redone (at most MAX_REDOS times in all).
  res.steady = [res.none, res.reload].every((x) => Math.abs(x.jobs_per_s / opt.rate - 1) <= STEADY_TOLERANCE)
    && other <= QUIET_CORES;
  res.reloads.forEach((x, k) => { x.rename_and_kill_ms = Number(sent[k]) / 1e6; });
  res.ok = drained && rows.length === p.sent && succeeded === p.sent && dlq === 0 &&
    reloaded === opt.reloads && unloaded === opt.reloads && rejected === 0 &&
    res.clock_ok && res.reloads.every((x) => x.ok);
  if (!res.ok) {
    log(`run ${r + 1} failed a check: sent ${p.sent}, recorded ${rows.length}, succeeded ${succeeded}, dlq ${dlq}, `
      + `reloads ${reloaded}/${opt.reloads}, unloads ${unloaded}, rejected/leaked ${rejected}, clock ${res.clock_ok}, `
      + `builds ${res.reloads.filter((x) => !x.ok).length} wrong`);
    log(w.log.split('\n').filter((l) => /ERROR|WARN/.test(l)).slice(0, 10).join('\n'));
  }
  return res;
}

// --watch: installs by rename alone, WATCH_SPACING_S apart, under the load.
async function watchRun(n) {
  redisCli('FLUSHALL');
  const queue = `rlw${++seq}`;
  const dir = path.join(TMP, 'watch', 'plugins');
  fs.mkdirSync(dir, { recursive: true, mode: 0o755 });
  fs.chmodSync(dir, 0o755);
  const outFile = path.join(SHM, 'done-watch.txt');
  installPrepared(dir, prepare(dir, 'a'));
  const w = await startWorker(dir, queue, outFile, ['--watch']);
  const total = opt.warm + n * WATCH_SPACING_S + 0.5;
  const prod = startProducer(queue, total);
  await sleep(opt.warm * 1000);
  const renames = [];
  const builds = [];
  let cur = 'a';
  const t0 = nowNs();
  for (let k = 0; k < n; k++) {
    const next = cur === 'a' ? 'b' : 'a';
    const tmp = prepare(dir, next);
    const at = t0 + BigInt(Math.round(k * WATCH_SPACING_S * 1e9));
    const wait = Number(at - nowNs()) / 1e6;
    if (wait > 0) await sleep(wait);
    const t = nowNs();
    installPrepared(dir, tmp);
    renames.push(t);
    builds.push(next);
    cur = next;
  }
  const p = await within(prod.done, (total + 30) * 1000, 'bench_producer');
  const drained = await waitDone(outFile, p.sent, 20000);
  const reloaded = w.count(/reload \(--watch\): reloaded/g);
  const succeeded = await w.stop();
  const rows = readDone(outFile);
  const sorted = rows.map((x) => x.done).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const res = { producer: p, completions: rows.length, succeeded, reloads_logged: reloaded,
    reloads: reloadLatencies(rows, sorted, renames, builds) };
  res.ok = drained && rows.length === p.sent && succeeded === p.sent && reloaded === n &&
    res.reloads.every((x) => x.ok);
  if (!res.ok) log(`--watch run failed a check: sent ${p.sent}, recorded ${rows.length}, succeeded ${succeeded}, reloads ${reloaded}/${n}`);
  return res;
}

// ---- main ------------------------------------------------------------------

function fmt(x, d) {
  return Number.isFinite(x) ? x.toFixed(d) : 'n/a';
}

function machine() {
  const sh = (cmd) => { try { return execFileSync('sh', ['-c', cmd]).toString().trim(); } catch { return '?'; } };
  return {
    nproc: os.cpus().length,
    cpu: os.cpus()[0] ? os.cpus()[0].model : '?',
    kernel: os.release(),
    redis: sh('redis-server --version'),
    loadavg_at_start: os.loadavg().map((x) => +x.toFixed(2)),
    jobrt_rev: process.env.JOBRT_BENCH_REV ||
      sh(`git -C ${JSON.stringify(path.dirname(__dirname))} describe --always --dirty 2>/dev/null || echo unknown`),
  };
}

async function main() {
  const tStart = Date.now();
  for (const f of [JOBRT, PRODUCER, BUILDS.a, BUILDS.b]) {
    if (!fs.existsSync(f)) throw new Error(`${f} is missing: build the jobrt and bench_reload targets`);
  }
  const mach = machine();
  log(`machine: ${mach.nproc} cpu (${mach.cpu}), load ${mach.loadavg_at_start.join(' ')}`);
  log(`${opt.runs} run(s): ${opt.rate} no-op jobs/s, --concurrency 8, windows of ${opt.window} s, `
    + `${opt.reloads} reloads (rename + SIGHUP) in the reload window; then ${opt.watchRenames} --watch installs`);

  redisPid = Number((/process_id:(\d+)/.exec(redisCli('INFO', 'server')) || [])[1]) || 0;
  const runs = [];
  const discarded = [];
  for (let r = 0; runs.length < opt.runs; r++) {
    const R = await sighupRun(r);
    const s = (x) => `p50 ${fmt(x.p50_ms, 3)} p99 ${fmt(x.p99_ms, 3)} p99.9 ${fmt(x.p999_ms, 3)} max ${fmt(x.max_ms, 3)} ms, ${Math.round(x.jobs_per_s)} jobs/s`;
    log(`run ${r + 1} (${R.order.join(', ')}): no reload ${s(R.none)}`);
    log(`run ${r + 1}                   reloads  ${s(R.reload)}`);
    log(`run ${r + 1} rename+SIGHUP -> first job on the new build, ms: ${R.reloads.map((x) => fmt(x.rename_to_first_job_ms, 2)).join(' ')}`);
    log(`run ${r + 1} other processes used ${fmt(R.other_cores, 2)} cores; producer ticks late ${R.producer.late_ticks}${R.steady ? '' : `; NOT STEADY (a window off the rate by > 3 %, or others used > ${QUIET_CORES} cores)`}`);
    if (!R.steady && discarded.length < MAX_REDOS) {
      log(`run ${r + 1} is redone: the machine was not quiet, so the load was not the fixed one`);
      discarded.push(R);
      continue;
    }
    runs.push(R);
  }
  let watch = null;
  if (opt.watchRenames > 0) {
    watch = await watchRun(opt.watchRenames);
    log(`--watch rename -> first job on the new build, ms: ${watch.reloads.map((x) => fmt(x.rename_to_first_job_ms, 1)).join(' ')}`);
  }
  redisCli('FLUSHALL');

  const med = (f) => median(runs.map(f));
  const all = runs.flatMap((R) => R.reloads);
  const allW = watch ? watch.reloads : [];
  const maxOf = (xs) => xs.reduce((m, x) => (x > m ? x : m), -Infinity);
  const m = {};
  for (const k of ['none', 'reload']) {
    m[k] = {};
    for (const s of ['p50_ms', 'p99_ms', 'p999_ms', 'max_ms', 'jobs_per_s', 'over_1ms', 'over_5ms']) {
      m[k][s] = med((R) => R[k][s]);
    }
  }
  const lat = {
    sighup_install_ms: med((R) => median(R.reloads.map((x) => x.rename_and_kill_ms))),
    sighup_init_ms: med((R) => median(R.reloads.map((x) => x.rename_to_init_ms))),
    sighup_first_ms: med((R) => median(R.reloads.map((x) => x.rename_to_first_job_ms))),
    sighup_first_max_ms: maxOf(all.map((x) => x.rename_to_first_job_ms)),
    sighup_stall_ms: med((R) => median(R.reloads.map((x) => x.max_gap_50ms_after_ms))),
    sighup_stall_max_ms: maxOf(all.map((x) => x.max_gap_50ms_after_ms)),
    none_stall_ms: med((R) => median(R.none_50ms_after_ms)),
    none_stall_max_ms: maxOf(runs.flatMap((R) => R.none_50ms_after_ms)),
    watch_init_ms: median(allW.map((x) => x.rename_to_init_ms)),
    watch_first_ms: median(allW.map((x) => x.rename_to_first_job_ms)),
    watch_first_max_ms: maxOf(allW.map((x) => x.rename_to_first_job_ms)),
  };
  const allOk = runs.every((R) => R.ok) && (!watch || watch.ok);

  const L = [];
  L.push(`jobrt reload row: medians of ${opt.runs} run(s); ${opt.quick ? 'QUICK smoke run, not a result; ' : ''}${new Date().toISOString()}`);
  L.push(`load: ${opt.rate} no-op jobs/s (bench_producer, XADD per job), one worker, --concurrency 8, other options default;`);
  L.push(`windows of ${opt.window} s; the reload window installs ${opt.reloads} builds (a, b, a, ...) by rename + SIGHUP`);
  L.push('');
  L.push('gap between consecutive job completions, ms   p50      p99    p99.9      max   >1ms  >5ms   jobs/s');
  for (const [k, name] of [['none', 'no reload'], ['reload', `${opt.reloads} reloads`]]) {
    const x = m[k];
    L.push(`  ${name.padEnd(42)}${fmt(x.p50_ms, 3).padStart(6)}${fmt(x.p99_ms, 3).padStart(9)}${fmt(x.p999_ms, 3).padStart(9)}`
      + `${fmt(x.max_ms, 3).padStart(9)}${fmt(x.over_1ms, 0).padStart(7)}${fmt(x.over_5ms, 0).padStart(6)}${fmt(x.jobs_per_s, 0).padStart(9)}`);
  }
  L.push(`  ratio reload / no reload${' '.repeat(20)}${fmt(m.reload.p50_ms / m.none.p50_ms, 2).padStart(6)}${fmt(m.reload.p99_ms / m.none.p99_ms, 2).padStart(9)}`
    + `${fmt(m.reload.p999_ms / m.none.p999_ms, 2).padStart(9)}${fmt(m.reload.max_ms / m.none.max_ms, 2).padStart(9)}`);
  L.push('');
  L.push('rename -> new build, ms (median of run medians; max over all reloads)');
  L.push(`  rename + SIGHUP: init() of the new generation ${fmt(lat.sighup_init_ms, 2)}, first job done on it ${fmt(lat.sighup_first_ms, 2)} (max ${fmt(lat.sighup_first_max_ms, 2)});`);
  L.push(`    of which the harness's rename(2) over the old file + kill(2) took ${fmt(lat.sighup_install_ms, 2)}`);
  L.push(`  longest completion gap in the 50 ms after a rename + SIGHUP: ${fmt(lat.sighup_stall_ms, 2)} (max ${fmt(lat.sighup_stall_max_ms, 2)});`);
  L.push(`    in the 50 ms after the same instants of the no-reload window: ${fmt(lat.none_stall_ms, 2)} (max ${fmt(lat.none_stall_max_ms, 2)})`);
  if (watch) {
    L.push(`  --watch, rename alone (${allW.length} installs, 250 ms debounce): init() ${fmt(lat.watch_init_ms, 1)}, first job done ${fmt(lat.watch_first_ms, 1)} (max ${fmt(lat.watch_first_max_ms, 1)})`);
  }
  L.push('');
  const targets = [
    ['p99.9 gap during reloads <= without', m.reload.p999_ms <= m.none.p999_ms,
      `${fmt(m.reload.p999_ms, 3)} vs ${fmt(m.none.p999_ms, 3)} ms`],
    ['p99.9 gap during reloads < 5 ms', m.reload.p999_ms < 5, `${fmt(m.reload.p999_ms, 3)} ms`],
  ];
  L.push('targets:');
  for (const [name, ok, val] of targets) L.push(`  ${ok ? 'MET ' : 'MISS'}  ${name.padEnd(40)} ${val}`);
  L.push(`checks: ${allOk ? 'every job ran once on the build installed at its dispatch (counts, build per reload, no rejects, leaks or dead letters)' : 'FAILED (see the log above)'}`);
  L.push('');
  const lag = runs.map((R) => R.producer.late_ticks);
  L.push(`noise: other processes used ${runs.map((R) => fmt(R.other_cores, 2)).join(' ')} cores per run; producer ticks late by > 250 us ${lag.join(' ')};`);
  L.push(`  ${discarded.length} run(s) redone (a window off the rate by > 3 %, or others used > ${QUIET_CORES} cores)${runs.some((R) => !R.steady) ? `; ${runs.filter((R) => !R.steady).length} kept anyway: NOT STEADY, rerun on a quiet machine` : ''}`);
  L.push(`machine: ${mach.nproc} cpu ${mach.cpu}, ${mach.redis.split(' ').slice(0, 3).join(' ')}, jobrt ${mach.jobrt_rev}; load before ${mach.loadavg_at_start.join(' ')}`);
  L.push(`wall time ${fmt((Date.now() - tStart) / 1000, 0)} s; raw numbers: ${opt.out}`);
  process.stdout.write(L.join('\n') + '\n');

  fs.mkdirSync(path.dirname(opt.out), { recursive: true });
  const big = (k, v) => (typeof v === 'bigint' ? v.toString() : v);
  fs.writeFileSync(opt.out, JSON.stringify({ options: opt, machine: mach, runs, discarded, watch, medians: m,
    latency: lat, targets, ok: allOk, table: L }, big, 1));
  if (!allOk) process.exitCode = 1;
}

main()
  .catch((e) => { process.stderr.write(`reload: ${e.stack || e}\n`); process.exitCode = 1; })
  .finally(() => {
    for (const c of children) c.kill('SIGKILL');
    fs.rmSync(TMP, { recursive: true, force: true });
    fs.rmSync(SHM, { recursive: true, force: true });
  });
