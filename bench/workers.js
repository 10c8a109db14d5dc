'use strict';
// bench/workers.js - the workers row of ./scripts/bench: what running jobrt
// under its supervisor (`jobrt run --workers K`) costs or gains in drain
// throughput against one process (`--workers 0`). See bench/README.md,
// "Workers row". Usage (normally through ./scripts/bench --part workers):
//   node bench/workers.js --port P --build DIR [--rounds 5] [--jobs 200000]
//        [--concurrency 256] [--quick] [--out FILE] [--http-row]
//        [--events-row]
//
// --http-row (./scripts/bench --part http) measures instead what the
// operations endpoint costs: one process and the default supervisor
// (--workers 0 and 2, results kept), each with and without --http,
// /metrics scraped every second during the drain, alternating, ratio
// against the same without --http; and the supervisor with --http and
// events on against one process with neither (within 10 %: issue 15).
//
// --events-row (./scripts/bench --part events) measures what job lifecycle
// events cost (docs/events.md): one process, with `jobrt events` off and on
// for the drained queue (set before the enqueue, so the producer writes its
// enqueued events too, outside the clock; the drain writes started and
// completed ones, max len 10000), alternating, ratio against events off.
//
// Three configurations, each with results kept (--result-ttl left at its
// default) and with --result-ttl 0: one process at --concurrency C; a
// supervisor with 2 workers at C each; and 2 workers at C/2 each (the same
// slots in total as the one process). C is the headline's known-best
// per-process concurrency (scripts/bench: jobrt 1x256). Every round drains
// --jobs pre-enqueued no-op jobs once with each of the six, in an order that
// rotates each round. The clock runs from the first job taken (the group's
// first delivery, polled every 1 ms) to the queue being empty (undelivered +
// pending + delayed = 0, polled every 10 ms, as harness.js does). Medians
// over rounds; ratios against the one process with the same result
// setting. Needs no npm module (bench/resp.js talks to Redis).
const fs = require('fs');
const http = require('http');
const os = require('os');
const path = require('path');
const { spawn, execFileSync } = require('child_process');
const { Resp } = require('./resp');

// ---- options -------------------------------------------------------------

function parseArgs(argv) {
  const o = {
    port: 0, build: 'build-bench', rounds: 5, jobs: 200000, concurrency: 256,
    quick: false, out: path.join(__dirname, '.peers', 'last-workers.json'),
    httpRow: false, eventsRow: false,
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const v = () => {
      if (i + 1 >= argv.length) throw new Error(`${a} needs a value`);
      return argv[++i];
    };
    if (a === '--port') o.port = Number(v());
    else if (a === '--build') o.build = v();
    else if (a === '--rounds') o.rounds = Number(v());
    else if (a === '--jobs') o.jobs = Number(v());
    else if (a === '--concurrency') o.concurrency = Number(v());
    else if (a === '--quick') o.quick = true;
    else if (a === '--out') o.out = v();
    else if (a === '--http-row') o.httpRow = true;
    else if (a === '--events-row') o.eventsRow = true;
    else throw new Error(`unknown option ${a}`);
  }
  if (o.quick) {
    o.jobs = Math.min(o.jobs, 20000);
    o.rounds = 1;
  }
  if (!(o.port > 0) || !(o.rounds >= 1) || !(o.jobs >= 1000) ||
      !(o.concurrency >= 2 && o.concurrency <= 4096)) {
    throw new Error('need --port, --rounds >= 1, --jobs >= 1000, --concurrency in [2, 4096]');
  }
  o.build = path.resolve(o.build);
  return o;
}

const opt = parseArgs(process.argv.slice(2));
const URL = `redis://127.0.0.1:${opt.port}`;
const JOBRT = path.join(opt.build, 'jobrt');
const NOOP_PLUGINS = path.join(opt.build, 'plugins');
const TMP = fs.mkdtempSync(path.join(os.tmpdir(), 'jobrt-bench-workers-'));
const CLK_TCK = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;
const FIRST_POLL_MS = 1; // until the first job is taken
const DONE_POLL_MS = 10; // then until the queue is empty
const QUIET_CORES = 0.15; // other processes' CPU during a drain, in cores

const C = opt.concurrency;
const CONFIGS = [];
if (opt.eventsRow) {
  for (const events of [false, true]) {
    CONFIGS.push({ key: `w0c${C}-ttldefault${events ? '-events' : ''}`, workers: 0, concurrency: C, ttl: 'default', events });
  }
  // a fleet rate limit on the drained job, set far above the drain's rate:
  // what the limiter's reservations cost when they never hold a job back
  CONFIGS.push({ key: `w0c${C}-ttldefault-rate`, workers: 0, concurrency: C, ttl: 'default', events: false, rate: true });
} else if (opt.httpRow) {
  for (const workers of [0, 2]) {
    for (const http of [false, true]) {
      CONFIGS.push({ key: `w${workers}c${C}-ttldefault${http ? '-http' : ''}`, workers, concurrency: C, ttl: 'default', http });
    }
  }
  // everything on (issue 15): the supervisor, /metrics scraped, lifecycle
  // events written; against the one process with none of it
  CONFIGS.push({ key: `w2c${C}-ttldefault-http-events`, workers: 2, concurrency: C, ttl: 'default', http: true, events: true,
    baseKey: `w0c${C}-ttldefault` });
} else {
  for (const ttl of ['default', '0']) {
    for (const [workers, concurrency] of [[0, C], [2, C], [2, Math.floor(C / 2)]]) {
      CONFIGS.push({ key: `w${workers}c${concurrency}-ttl${ttl}`, workers, concurrency, ttl });
    }
  }
}
const cfgName = (c) => `--workers ${c.workers} --concurrency ${c.concurrency}${c.http ? ' --http' : ''}`
  + `${c.events === undefined ? '' : c.events ? ', events on' : ', events off'}`
  + `${c.rate ? ', rate limit' : ''}`;
const NAME_W = Math.max(32, ...CONFIGS.map((c) => cfgName(c).length + 2)); // table column
const ttlName = (t) => (t === 'default' ? 'kept (default)' : '--result-ttl 0');

const children = new Set(); // killed on the way out, whatever happened
function track(child) {
  children.add(child);
  child.on('exit', () => children.delete(child));
  return child;
}
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
function log(msg) { process.stderr.write(`[workers] ${msg}\n`); }
let redis = null;

function within(p, ms, what) {
  let t;
  return Promise.race([
    p,
    new Promise((_, rej) => { t = setTimeout(() => rej(new Error(`timed out: ${what}`)), ms); }),
  ]).finally(() => clearTimeout(t));
}

function median(xs) {
  const v = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return NaN;
  const m = v.length >> 1;
  return v.length % 2 ? v[m] : (v[m - 1] + v[m]) / 2;
}

// ---- measuring -------------------------------------------------------------

function rssKb(pid) {
  try {
    const m = /VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : 0;
  } catch { return 0; }
}

function ticksOf(pid, withChildren) {
  try {
    const st = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = st.slice(st.lastIndexOf(')') + 2).split(' ');
    const own = Number(f[11]) + Number(f[12]); // utime + stime
    return withChildren ? own + Number(f[13]) + Number(f[14]) : own; // + cutime + cstime
  } catch { return 0; }
}

async function redisCpuS() {
  let s = 0;
  for (const line of (await redis.call('INFO', 'cpu')).split('\n')) {
    const m = /^used_cpu_(sys|user):([\d.]+)/.exec(line.trim());
    if (m) s += Number(m[2]);
  }
  return s;
}

// XREADGROUP calls so far (INFO commandstats): jobs / reads is the mean
// batch a worker fetched.
async function redisReads() {
  const m = /cmdstat_xreadgroup:calls=(\d+)/.exec(await redis.call('INFO', 'commandstats'));
  return m ? Number(m[1]) : 0;
}

// CPU the whole machine was busy (/proc/stat) and the part of it that was
// ours: this process, its reaped children (jobrt enqueue, the worker or the
// supervisor, which reaps its own workers) and the redis-server. The rest is
// other load on the shared cores (as bench/reload.js measures it).
let redisPid = 0;
function cpuSnap() {
  const f = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  const total = f.slice(0, 8).reduce((a, x) => a + x, 0); // up to steal
  const idle = f[3] + f[4]; // idle + iowait
  return { t: process.hrtime.bigint(), busy: total - idle, ours: ticksOf(process.pid, true) + ticksOf(redisPid, false) };
}
function otherCores(a, b) {
  const secs = Number(b.t - a.t) / 1e9;
  return Math.max(0, (b.busy - a.busy) - (b.ours - a.ours)) / CLK_TCK / secs;
}

// The group's progress: taken = entries delivered at least once, left =
// not delivered + pending (delivered, not acked) + delayed. Finished
// entries stay in the stream until the next trim, so the undelivered part
// is the group's lag (or what entries-read says), and XLEN only if Redis
// can tell neither.
async function progress(queue, n) {
  const key = `jobrt:{${queue}}:stream`;
  const [groups, len, pend, delayed] = await Promise.all([
    redis.call('XINFO', 'GROUPS', key).catch(() => []),
    redis.call('XLEN', key),
    redis.call('XPENDING', key, 'jobrt').catch(() => [0]),
    redis.call('ZCARD', `jobrt:{${queue}}:delayed`),
  ]);
  let read = null;
  let lag = null;
  for (const g of groups) {
    const f = {};
    for (let i = 0; i + 1 < g.length; i += 2) f[g[i]] = g[i + 1];
    if (f.name !== 'jobrt') continue;
    if (f['entries-read'] !== null && f['entries-read'] !== undefined) read = Number(f['entries-read']);
    if (f.lag !== null && f.lag !== undefined) lag = Number(f.lag);
  }
  const pending = Number(pend[0]) || 0;
  const undelivered = lag !== null ? lag : read !== null ? Math.max(0, n - read) : len;
  const taken = (read !== null && read > 0) || undelivered < n || pending > 0;
  return { taken, left: undelivered + pending + Number(delayed || 0) };
}

// ---- processes -------------------------------------------------------------

const ndjson = new Map();
function ndjsonFile(n) {
  if (ndjson.has(n)) return ndjson.get(n);
  const file = path.join(TMP, `noop-${n}.ndjson`);
  const line = JSON.stringify({ job: 'noop', v: 1, payload: {} });
  fs.writeFileSync(file, `${line}\n`.repeat(n));
  ndjson.set(n, file);
  return file;
}

async function enqueue(queue, n) {
  const fd = fs.openSync(ndjsonFile(n), 'r');
  const child = track(spawn(JOBRT, ['enqueue', queue, '--redis', URL], { stdio: [fd, 'ignore', 'pipe'] }));
  let err = '';
  child.stderr.on('data', (d) => { err = (err + d).slice(-4096); });
  const code = await within(new Promise((res) => child.on('exit', res)), 300000, 'jobrt enqueue');
  fs.closeSync(fd);
  if (code !== 0) throw new Error(`jobrt enqueue failed (${code}): ${err}`);
}

// Starts `jobrt run` for cfg; its stderr (the supervisor's workers log to
// the same pipe) is kept, and each line's arrival noted where it says a
// worker process started or began taking jobs.
function startJobrt(cfg, queue) {
  const args = ['run', '--plugin-dir', NOOP_PLUGINS, '--redis', URL, '--queue', queue,
    '--workers', String(cfg.workers), '--concurrency', String(cfg.concurrency)];
  if (cfg.ttl !== 'default') args.push('--result-ttl', cfg.ttl);
  if (cfg.http) args.push('--http', '127.0.0.1:0');
  const t0 = performance.now();
  const child = track(spawn(JOBRT, args, { stdio: ['ignore', 'ignore', 'pipe'] }));
  const w = { child, log: '', exited: false, spawned_ms: t0, workerPids: new Map(), takingAt: new Map() };
  if (cfg.workers === 0) w.workerPids.set(0, child.pid);
  w.exit = new Promise((res) => child.on('exit', (code, sig) => { w.exited = true; res({ code, sig }); }));
  let partial = '';
  child.stderr.on('data', (d) => {
    const now = performance.now();
    w.log += d;
    const lines = (partial + d).split('\n');
    partial = lines.pop();
    for (const l of lines) {
      let m = /supervisor: worker (\d+) started \(pid (\d+)\)/.exec(l);
      if (m) w.workerPids.set(Number(m[1]), Number(m[2]));
      m = /ops: HTTP endpoint on [0-9.]+:(\d+)/.exec(l);
      if (m) w.httpPort = Number(m[1]);
      m = /INFO {1,2}(?:w(\d+) )?queue: connected to .*: taking jobs from queue/.exec(l);
      if (m) w.takingAt.set(m[1] ? Number(m[1]) : 0, now);
    }
  });
  w.pids = () => [...w.workerPids.values()];
  w.stop = async () => {
    if (!w.exited) child.kill('SIGTERM');
    let exit;
    try { exit = await within(w.exit, 60000, 'jobrt stop'); } catch { child.kill('SIGKILL'); exit = await w.exit; }
    // the supervisor's workers stop with it (PR_SET_PDEATHSIG): check
    const left = w.pids().filter((p) => { try { process.kill(p, 0); return true; } catch { return false; } });
    for (const p of left) { try { process.kill(p, 'SIGKILL'); } catch { /* gone */ } }
    let succeeded = 0;
    let summaries = 0;
    for (const m of w.log.matchAll(/stopped: (\d+) succeeded, (\d+) retried, (\d+) dead-lettered/g)) {
      succeeded += Number(m[1]);
      summaries++;
    }
    return { exit, succeeded, summaries, survivors: left };
  };
  return w;
}

// ---- one drain -------------------------------------------------------------

// GET /metrics; resolves true on a 200 with jobrt's counters in it.
function scrape(port) {
  return new Promise((res) => {
    http.get({ host: '127.0.0.1', port, path: '/metrics', timeout: 2000 }, (r) => {
      let body = '';
      r.on('data', (d) => { body += d; });
      r.on('end', () => res(r.statusCode === 200 && body.includes('jobrt_jobs_total')));
    }).on('error', () => res(false));
  });
}

let seq = 0;

async function drain(cfg, n) {
  await redis.call('FLUSHALL');
  const queue = `w${++seq}`;
  const cpu0 = cpuSnap();
  if (cfg.events) await redis.call('HSET', `jobrt:{${queue}}:events:config`, 'max_len', '10000');
  if (cfg.rate) await redis.call('HSET', `jobrt:{${queue}}:limits`, 'noop', '{"rate_per_s":100000,"burst":10000}');
  await enqueue(queue, n);
  const w = startJobrt(cfg, queue);

  // the first job taken: from then on the clock runs
  let p = await progress(queue, n);
  let tFirst = performance.now();
  const startLimit = performance.now() + 20000;
  while (!p.taken) {
    if (w.exited) throw new Error(`jobrt exited before taking a job:\n${w.log.slice(-4000)}`);
    if (performance.now() > startLimit) throw new Error(`no job taken within 20 s:\n${w.log.slice(-4000)}`);
    await sleep(FIRST_POLL_MS);
    tFirst = performance.now();
    p = await progress(queue, n);
  }
  const rcpu0 = await redisCpuS();
  const reads0 = await redisReads();
  const tick0 = new Map(w.pids().map((pid) => [pid, ticksOf(pid, false)]));
  const supTick0 = cfg.workers ? ticksOf(w.child.pid, false) : 0;

  const limitMs = Math.max(60000, n); // >= 1000 jobs/s or give up
  let peakKb = 0;
  let lastRss = 0;
  let lastScrape = 0;
  let scrapes = 0;
  while (p.left > 0 && performance.now() - tFirst < limitMs && !w.exited) {
    await sleep(DONE_POLL_MS);
    p = await progress(queue, n);
    const now = performance.now();
    if (cfg.http && w.httpPort && now - lastScrape >= 1000) { // as Prometheus would, but often
      lastScrape = now;
      scrape(w.httpPort).then((ok) => { if (ok) scrapes++; });
    }
    if (now - lastRss >= 50) { // peak RSS, sampled every 50 ms
      lastRss = now;
      const kb = w.pids().reduce((a, pid) => a + rssKb(pid), 0) + (cfg.workers ? rssKb(w.child.pid) : 0);
      if (kb > peakKb) peakKb = kb;
    }
  }
  const tEnd = performance.now();
  const rcpu1 = await redisCpuS();
  const reads1 = await redisReads();
  // RSS and CPU at the end of the drain, before anything stops
  const pids = w.pids();
  const perWorkerKb = pids.map(rssKb);
  const workersKb = perWorkerKb.reduce((a, kb) => a + kb, 0);
  const supKb = cfg.workers ? rssKb(w.child.pid) : 0;
  const ticks = pids.reduce((a, pid) => a + ticksOf(pid, false) - (tick0.get(pid) || 0), 0)
    + (cfg.workers ? ticksOf(w.child.pid, false) - supTick0 : 0);
  peakKb = Math.max(peakKb, workersKb + supKb);

  const st = await w.stop();
  const other = otherCores(cpu0, cpuSnap());
  const dlq = await redis.call('XLEN', `jobrt:{${queue}}:dlq`);
  // success records kept: fields of the record buckets (jobrt:{q}:done:<start>)
  // and, from an older worker, record keys of their own (jobrt:{q}:job:<id>)
  let records = 0;
  for (const start of await redis.call('ZRANGE', `jobrt:{${queue}}:done`, 0, -1))
    records += await redis.call('HLEN', `jobrt:{${queue}}:done:${start}`);
  let cursor = '0';
  do {
    const [next, keys] = await redis.call('SCAN', cursor, 'MATCH', `jobrt:{${queue}}:job:*`, 'COUNT', 10000);
    cursor = next;
    records += keys.length;
  } while (cursor !== '0');

  const secs = (tEnd - tFirst) / 1000;
  const taking = [...w.takingAt.entries()].sort((a, b) => a[0] - b[0]);
  const warnings = w.log.split('\n').filter((l) => / (WARN|ERROR) /.test(l));
  const restarts = (w.log.match(/supervisor: (restarting worker|worker \d+ \(pid \d+\) (exited by itself|is recycled))/g) || []).length;
  // a worker process still starting when the drain ended can die of the
  // stop's SIGTERM before it handles it: logged, not a failed drain
  const diedAtStop = (w.log.match(/supervisor: worker \d+ \(pid \d+\) died of SIGTERM/g) || []).length;
  const res = {
    config: cfg.key,
    scrapes: cfg.http ? scrapes : undefined,
    workers: cfg.workers,
    concurrency: cfg.concurrency,
    result_ttl: cfg.ttl,
    jobs: n,
    seconds: secs,
    jobs_per_s: p.left === 0 ? n / secs : NaN,
    spawn_to_first_job_ms: tFirst - w.spawned_ms,
    // when each worker process logged "taking jobs", from the first job taken
    taking_jobs_after_first_ms: Object.fromEntries(taking.map(([k, t]) => [k, t - tFirst])),
    worker_pids: pids,
    rss_end_workers_mib: workersKb / 1024,
    rss_end_per_worker_mib: perWorkerKb.map((kb) => kb / 1024),
    rss_end_supervisor_mib: supKb / 1024,
    rss_peak_all_mib: peakKb / 1024,
    redis_us_per_job: ((rcpu1 - rcpu0) * 1e6) / n,
    reads: reads1 - reads0,
    jobs_per_read: n / Math.max(1, reads1 - reads0),
    jobrt_us_per_job: ((ticks / CLK_TCK) * 1e6) / n,
    succeeded: st.succeeded,
    summaries: st.summaries,
    exit: st.exit,
    survivors: st.survivors,
    dlq,
    records,
    restarts,
    died_of_sigterm_at_stop: diedAtStop,
    // worker processes that never logged "taking jobs" before the stop
    never_taking: [...w.workerPids.keys()].filter((k) => !w.takingAt.has(k)).length,
    warnings,
    other_cores: other,
  };
  const wantSummaries = cfg.workers === 0 ? 1 : cfg.workers;
  const recordsOk = cfg.ttl === 'default' ? records === n : records === 0;
  res.ok = (!cfg.http || scrapes > 0) && p.left === 0 && st.succeeded === n && st.summaries + diedAtStop === wantSummaries && dlq === 0 &&
    recordsOk && restarts === 0 && st.survivors.length === 0 && st.exit.code === 0;
  if (!res.ok) {
    log(`${cfgName(cfg)} ${ttlName(cfg.ttl)} failed a check: left ${p.left}, succeeded ${st.succeeded} of ${n} `
      + `in ${st.summaries} summaries, dlq ${dlq}, records ${records}, restarts ${restarts}, `
      + `survivors ${st.survivors.length}, exit ${JSON.stringify(st.exit)}`);
  }
  if (warnings.length) log(`${cfgName(cfg)}: ${warnings.length} WARN/ERROR line(s):\n${warnings.slice(0, 5).join('\n')}`);
  return res;
}

// ---- main ------------------------------------------------------------------

function fmt(x, d = 0) {
  if (!Number.isFinite(x)) return 'n/a';
  return x.toLocaleString('en-US', { minimumFractionDigits: d, maximumFractionDigits: d });
}

function machine() {
  const sh = (cmd) => { try { return execFileSync('sh', ['-c', cmd]).toString().trim(); } catch { return '?'; } };
  return {
    nproc: os.cpus().length,
    cpu: os.cpus()[0] ? os.cpus()[0].model : '?',
    mem_gib: +(os.totalmem() / 2 ** 30).toFixed(1),
    kernel: os.release(),
    redis: sh('redis-server --version'),
    node: process.version,
    loadavg_at_start: os.loadavg().map((x) => +x.toFixed(2)),
    jobrt_rev: process.env.JOBRT_BENCH_REV ||
      sh(`git -C ${JSON.stringify(path.dirname(__dirname))} describe --always --dirty 2>/dev/null || echo unknown`),
  };
}

async function main() {
  const tStart = Date.now();
  for (const f of [JOBRT, path.join(NOOP_PLUGINS, 'noop.so')]) {
    if (!fs.existsSync(f)) throw new Error(`${f} is missing: build the jobrt and noop targets`);
  }
  redis = await Resp.connect(opt.port);
  redisPid = Number((/process_id:(\d+)/.exec(await redis.call('INFO', 'server')) || [])[1]) || 0;
  const mach = machine();
  log(`machine: ${mach.nproc} cpu (${mach.cpu}), ${mach.redis.split(' ').slice(0, 3).join(' ')}, load ${mach.loadavg_at_start.join(' ')}`);
  log(`${opt.rounds} round(s) of ${CONFIGS.length} drains of ${opt.jobs} no-op jobs: `
    + `${[...new Set(CONFIGS.map(cfgName))].join(', ')}; results kept and --result-ttl 0`);

  const rounds = [];
  for (let r = 0; r < opt.rounds; r++) {
    // rotate which configuration goes first each round
    const order = CONFIGS.map((_, i) => CONFIGS[(i + r) % CONFIGS.length]);
    const R = { order: order.map((c) => c.key), drains: {} };
    for (const c of order) {
      const d = await drain(c, opt.jobs);
      R.drains[c.key] = d;
      log(`round ${r + 1} ${cfgName(c).padEnd(30)} ${ttlName(c.ttl).padEnd(15)} ${fmt(d.jobs_per_s).padStart(8)} jobs/s, `
        + `RSS ${fmt(d.rss_end_workers_mib, 1)}+${fmt(d.rss_end_supervisor_mib, 1)} MiB, redis ${fmt(d.redis_us_per_job, 2)} `
        + `jobrt ${fmt(d.jobrt_us_per_job, 2)} us/job, others ${fmt(d.other_cores, 2)} cores${d.ok ? '' : ', FAILED A CHECK'}`);
    }
    rounds.push(R);
  }
  await redis.call('FLUSHALL');

  const med = {};
  for (const c of CONFIGS) {
    const ds = rounds.map((R) => R.drains[c.key]);
    const m = (f) => median(ds.map(f));
    med[c.key] = {
      jobs_per_s: m((d) => d.jobs_per_s),
      seconds: m((d) => d.seconds),
      spawn_to_first_job_ms: m((d) => d.spawn_to_first_job_ms),
      all_taking_after_first_ms: m((d) => Math.max(...Object.values(d.taking_jobs_after_first_ms))),
      rss_end_workers_mib: m((d) => d.rss_end_workers_mib),
      rss_end_supervisor_mib: m((d) => d.rss_end_supervisor_mib),
      rss_peak_all_mib: m((d) => d.rss_peak_all_mib),
      redis_us_per_job: m((d) => d.redis_us_per_job),
      jobrt_us_per_job: m((d) => d.jobrt_us_per_job),
      jobs_per_read: m((d) => d.jobs_per_read),
      per_round_jobs_per_s: ds.map((d) => d.jobs_per_s),
    };
  }
  // the row's own baseline: one process, or (--http-row) --http off
  const base = (c) => med[c.baseKey || (opt.httpRow || opt.eventsRow ? `w${c.workers}c${C}-ttldefault` : `w0c${C}-ttl${c.ttl}`)];
  const allOk = rounds.every((R) => Object.values(R.drains).every((d) => d.ok));
  const others = rounds.flatMap((R) => Object.values(R.drains).map((d) => d.other_cores));
  const noisy = others.filter((x) => x > QUIET_CORES).length;
  const warnLines = rounds.flatMap((R) => Object.values(R.drains).flatMap((d) => d.warnings));
  const sumOf = (f) => rounds.reduce((a, R) => a + Object.values(R.drains).reduce((b, d) => b + f(d), 0), 0);
  const diedAtStop = sumOf((d) => d.died_of_sigterm_at_stop);
  const neverTaking = sumOf((d) => d.never_taking);

  const L = [];
  L.push(`jobrt ${opt.eventsRow ? 'lifecycle events and rate limit row' : opt.httpRow ? 'operations endpoint (--http) row' : 'workers row'}: medians of ${opt.rounds} round(s); drain ${opt.jobs} no-op jobs; ${opt.quick ? 'QUICK smoke run, not a result; ' : ''}${new Date().toISOString()}`);
  L.push(opt.eventsRow
    ? 'clock: first job taken -> queue empty; ratio = jobs/s / the same with events off and no limit, this run; events on: an enqueued event per job (outside the clock), then one completed entry per completion batch (no started ones: a no-op job ends within 100 ms), MAXLEN ~ 10000; rate limit: noop at 100 000/s, burst 10 000 (the most jobrt limit takes; above this drain, so it holds back few jobs if any: the cost of the reservations)'
    : opt.httpRow
    ? 'clock: first job taken -> queue empty; ratio = jobs/s / the same without --http, this run (the last row: / --workers 0 without --http or events); /metrics scraped every 1 s with --http'
    : 'clock: first job taken -> queue empty; ratio = jobs/s / --workers 0 with the same result setting, this run');
  L.push('RSS: VmRSS at the end of the drain, summed over the worker processes; the supervisor\'s own beside it');
  L.push('');
  L.push(`${'configuration'.padEnd(NAME_W)}${'results'.padEnd(16)}${'jobs/s'.padStart(9)}${'ratio'.padStart(8)}`
    + `${'RSS MiB'.padStart(9)}${'+sup'.padStart(6)}${'redis'.padStart(8)}${'jobrt'.padStart(8)}${'jobs/'.padStart(7)}${'1st job'.padStart(9)}${'all in'.padStart(8)}`);
  L.push(`${''.padEnd(NAME_W)}${''.padEnd(16)}${''.padStart(9)}${''.padStart(8)}${'workers'.padStart(9)}${''.padStart(6)}`
    + `${'us/job'.padStart(8)}${'us/job'.padStart(8)}${'read'.padStart(7)}${'ms'.padStart(9)}${'ms'.padStart(8)}`);
  for (const ttl of ['default', '0']) {
    for (const c of CONFIGS.filter((x) => x.ttl === ttl)) {
      const x = med[c.key];
      const ratio = x.jobs_per_s / base(c).jobs_per_s;
      L.push(`${cfgName(c).padEnd(NAME_W)}${ttlName(ttl).padEnd(16)}${fmt(x.jobs_per_s).padStart(9)}${`${fmt(ratio, 2)}x`.padStart(8)}`
        + `${fmt(x.rss_end_workers_mib, 1).padStart(9)}${(c.workers ? fmt(x.rss_end_supervisor_mib, 1) : '-').padStart(6)}`
        + `${fmt(x.redis_us_per_job, 2).padStart(8)}${fmt(x.jobrt_us_per_job, 2).padStart(8)}${fmt(x.jobs_per_read, 0).padStart(7)}`
        + `${fmt(x.spawn_to_first_job_ms, 0).padStart(9)}${(c.workers ? fmt(x.all_taking_after_first_ms, 0) : '-').padStart(8)}`);
    }
  }
  if (opt.httpRow) {
    const all = CONFIGS.find((c) => c.baseKey);
    const r = med[all.key].jobs_per_s / base(all).jobs_per_s;
    L.push('');
    L.push(`target: ${r >= 0.9 ? 'MET ' : 'MISS'}  ${cfgName(all)} within 10% of one process (--workers 0, no --http, no events): ${fmt(r, 2)}x`);
  }
  L.push('');
  L.push('redis us/job = Redis CPU; jobrt us/job = CPU of every jobrt process (workers + supervisor), both over the drain;');
  L.push('jobs/read = jobs / XREADGROUP calls (a worker reads at most its free slots at a time)');
  L.push('1st job = spawn -> first job taken; all in = first job taken -> the last worker process logged "taking jobs"');
  L.push('');
  L.push('per round, jobs/s (cores other processes used during that drain; the order rotates each round):');
  for (const c of CONFIGS) {
    const cells = rounds.map((R) => `${fmt(R.drains[c.key].jobs_per_s).padStart(8)} (${fmt(R.drains[c.key].other_cores, 2)})`);
    L.push(`  ${cfgName(c).padEnd(NAME_W - 2)} ${ttlName(c.ttl).padEnd(15)} ${cells.join(' ')}`);
  }
  L.push('');
  L.push(`checks: ${allOk ? 'every drain ran every job once (worker summaries, no dead letters, success records as configured, no restarts, clean exits)' : 'FAILED (see the log above)'}`);
  L.push(`worker logs: ${warnLines.length} WARN/ERROR line(s)${warnLines.length ? ` (raw numbers have them), e.g. ${warnLines[0].slice(0, 160)}` : ''}`);
  if (diedAtStop || neverTaking) {
    L.push(`  ${diedAtStop} worker process(es) died of the stop's SIGTERM; ${neverTaking} had not logged "taking jobs" when the drain ended`);
  }
  L.push(`noise: other processes used median ${fmt(median(others), 2)}, max ${fmt(Math.max(...others), 2)} cores per drain; `
    + `${noisy} of ${others.length} drain(s) above ${QUIET_CORES}`);
  L.push(`machine: ${mach.nproc} cpu ${mach.cpu}, ${mach.mem_gib} GiB, ${mach.redis.split(' ').slice(0, 3).join(' ')}, node ${mach.node}, jobrt ${mach.jobrt_rev}; load before ${mach.loadavg_at_start.join(' ')}`);
  L.push(`wall time ${fmt((Date.now() - tStart) / 1000)} s; raw numbers: ${opt.out}`);
  process.stdout.write(L.join('\n') + '\n');

  fs.mkdirSync(path.dirname(opt.out), { recursive: true });
  fs.writeFileSync(opt.out, JSON.stringify({ options: opt, machine: mach, configs: CONFIGS, rounds,
    medians: med, ok: allOk, table: L }, null, 1));
  if (!allOk) process.exitCode = 1;
}

main()
  .catch((e) => { process.stderr.write(`workers: ${e.stack || e}\n`); process.exitCode = 1; })
  .finally(() => {
    for (const c of children) c.kill('SIGKILL');
    if (redis) redis.close();
    fs.rmSync(TMP, { recursive: true, force: true });
  });
