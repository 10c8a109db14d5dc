'use strict';
// bench/harness.js - runs the workloads of ./scripts/bench against one
// private redis-server on 127.0.0.1 and prints medians and ratios.
// See bench/README.md. Usage (normally through ./scripts/bench):
//   node bench/harness.js --port P --build DIR [--rounds 3] [--jobs 200000]
//        [--quick] [--no-sweep] [--out FILE]
const fs = require('fs');
const os = require('os');
const path = require('path');
const { spawn, fork, execFileSync } = require('child_process');
const { createRequire } = require('module');

const PEERS_DIR = path.join(__dirname, '.peers');
const peerRequire = createRequire(path.join(PEERS_DIR, 'package.json'));
const Redis = peerRequire('ioredis');
const { Queue: BullQueue } = peerRequire('bullmq');
const BeeQueue = peerRequire('bee-queue');
const { nowUs, invoice } = require('./common');

// ---- options -------------------------------------------------------------

function parseArgs(argv) {
  const o = {
    port: 0, build: 'build-bench', rounds: 3, jobs: 200000, quick: false,
    sweep: true, out: path.join(PEERS_DIR, 'last-run.json'),
    latRate: 1000, latSeconds: 10,
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
    else if (a === '--quick') o.quick = true;
    else if (a === '--no-sweep') o.sweep = false;
    else if (a === '--out') o.out = v();
    else if (a === '--latency-seconds') o.latSeconds = Number(v());
    else throw new Error(`unknown option ${a}`);
  }
  if (o.quick) {
    o.jobs = Math.min(o.jobs, 20000);
    o.rounds = 1;
    o.latSeconds = Math.min(o.latSeconds, 3);
  }
  if (!(o.port > 0) || !(o.rounds >= 1) || !(o.jobs >= 100)) {
    throw new Error('need --port, --rounds >= 1, --jobs >= 100');
  }
  o.sweepJobs = Math.min(o.jobs, o.quick ? 10000 : 50000);
  o.build = path.resolve(o.build);
  return o;
}

const opt = parseArgs(process.argv.slice(2));
const HOST = '127.0.0.1';
const URL = `redis://${HOST}:${opt.port}`;
const JOBRT = path.join(opt.build, 'jobrt');
const CEILING = path.join(opt.build, 'bench', 'bench_ceiling');
const FLOOR = path.join(opt.build, 'bench', 'bench_pickup_floor');
const NOOP_PLUGINS = path.join(opt.build, 'plugins');
const BENCH_PLUGINS = path.join(opt.build, 'bench', 'plugins');
const TMP = fs.mkdtempSync(path.join(os.tmpdir(), 'jobrt-bench-'));
const CLK_TCK = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;
const SYSTEMS = ['jobrt', 'bullmq', 'bee'];
const LABEL = { jobrt: 'jobrt', bullmq: 'BullMQ', bee: 'bee-queue' };

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const redis = new Redis({ host: HOST, port: opt.port, maxRetriesPerRequest: 2 });

function log(msg) { process.stderr.write(`[bench] ${msg}\n`); }

// Rejects after ms unless p settles first.
function within(p, ms, what) {
  let t;
  return Promise.race([
    p,
    new Promise((_, rej) => { t = setTimeout(() => rej(new Error(`timed out: ${what}`)), ms); }),
  ]).finally(() => clearTimeout(t));
}

// ---- measuring -------------------------------------------------------------

async function redisCpuS() {
  const info = await redis.info('cpu');
  let s = 0;
  for (const line of info.split('\n')) {
    const m = /^used_cpu_(sys|user):([\d.]+)/.exec(line.trim());
    if (m) s += Number(m[2]);
  }
  return s;
}

function rssKb(pid) {
  try {
    const m = /VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : 0;
  } catch { return 0; }
}

function cpuTicks(pid) {
  try {
    const s = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
    return Number(f[11]) + Number(f[12]); // utime + stime
  } catch { return 0; }
}

// Context switches (voluntary + involuntary) of all threads of pid.
function ctxSwitches(pid) {
  let n = 0;
  try {
    for (const t of fs.readdirSync(`/proc/${pid}/task`)) {
      try {
        const st = fs.readFileSync(`/proc/${pid}/task/${t}/status`, 'utf8');
        for (const m of st.matchAll(/ctxt_switches:\s+(\d+)/g)) n += Number(m[1]);
      } catch { /* thread gone */ }
    }
  } catch { /* process gone */ }
  return n;
}

// Samples the summed VmRSS of pids every 50 ms; keeps the peak.
function rssSampler(pids) {
  let peak = 0;
  const tick = () => {
    const sum = pids.reduce((a, p) => a + rssKb(p), 0);
    if (sum > peak) peak = sum;
  };
  tick();
  const t = setInterval(tick, 50);
  return { stop() { clearInterval(t); tick(); return peak; } };
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

// ---- workers ---------------------------------------------------------------

// Starts `procs` jobrt workers; resolves once each logged "jobrt worker".
async function startJobrt(cfg, queue, pluginDir, env, keep = false) {
  const kids = [];
  for (let i = 0; i < cfg.procs; i++) {
    // --workers 0: each configuration's processes are the ones measured
    // (pids, RSS, CPU); the supervisor's own row is bench/workers.js.
    // keep: the defaults (outcome records kept for --result-ttl 1h); else
    // --result-ttl 0, as the peers' removeOnComplete / removeOnSuccess
    // cfg.workers (the supervised pickup row): a supervisor and that many
    // worker processes instead
    const args = ['run', '--workers', String(cfg.workers || 0), '--plugin-dir', pluginDir, '--redis', URL,
      '--queue', queue, '--concurrency', String(cfg.concurrency)];
    if (!keep) args.push('--result-ttl', '0');
    const child = spawn(JOBRT, args, { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, ...env } });
    const k = { child, log: '', exited: false };
    k.exit = new Promise((res) => child.on('exit', (code, sig) => { k.exited = true; res({ code, sig }); }));
    k.ready = new Promise((res, rej) => {
      child.stderr.on('data', (d) => {
        k.log = (k.log + d).slice(-65536);
        if ((k.log.match(/jobrt worker /g) || []).length >= Math.max(1, cfg.workers || 0)) res();
      });
      k.exit.then(() => rej(new Error(`jobrt worker exited early:\n${k.log}`)));
    });
    kids.push(k);
  }
  await within(Promise.all(kids.map((k) => k.ready)), 15000, 'jobrt worker start');
  return {
    pids: kids.map((k) => k.child.pid),
    async stop() {
      let processed = 0;
      for (const k of kids) if (!k.exited) k.child.kill('SIGTERM');
      for (const k of kids) {
        try { await within(k.exit, 40000, 'jobrt worker stop'); } catch { k.child.kill('SIGKILL'); await k.exit; }
        // one summary per worker process (several under a supervisor)
        const ms = [...k.log.matchAll(/stopped: (\d+) succeeded, (\d+) retried, (\d+) dead-lettered/g)];
        for (const m of ms) processed += Number(m[1]);
        if (ms.length < Math.max(1, cfg.workers || 0)) log(`jobrt worker ${k.child.pid} gave ${ms.length} summaries:\n${k.log.slice(-2000)}`);
      }
      return { processed, lat: [] };
    },
  };
}

// Starts `procs` peer_worker.js processes; resolves once each is ready.
async function startPeer(system, cfg, queue, workload) {
  const kids = [];
  for (let i = 0; i < cfg.procs; i++) {
    const conf = { system, port: opt.port, queue, concurrency: cfg.concurrency, workload };
    const child = fork(path.join(__dirname, 'peer_worker.js'), [JSON.stringify(conf)],
      { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    const k = { child, exited: false };
    k.exit = new Promise((res) => child.on('exit', (code) => { k.exited = true; res(code); }));
    k.ready = new Promise((res, rej) => {
      child.on('message', (m) => { if (m && m.type === 'ready') res(); });
      k.exit.then(() => rej(new Error(`${system} worker exited early`)));
    });
    k.stopped = new Promise((res) => child.on('message', (m) => { if (m && m.type === 'stopped') res(m); }));
    kids.push(k);
  }
  await within(Promise.all(kids.map((k) => k.ready)), 15000, `${system} worker start`);
  return {
    pids: kids.map((k) => k.child.pid),
    async stop() {
      let processed = 0;
      const lat = [];
      for (const k of kids) if (!k.exited) k.child.send({ type: 'stop' });
      for (const k of kids) {
        try {
          const m = await within(k.stopped, 20000, `${system} worker stop`);
          processed += m.processed;
          for (const x of m.lat) lat.push(x);
        } catch (e) {
          log(e.message);
          k.child.kill('SIGKILL');
        }
        await within(k.exit, 5000, 'peer exit').catch(() => k.child.kill('SIGKILL'));
      }
      return { processed, lat };
    },
  };
}

// The pickup floor (bench/pickup_floor.c): one hiredis client in
// XREADGROUP on jobrt's stream key, no handler; its samples go where
// bench_latency's do.
async function startFloor(queue, env) {
  const child = spawn(FLOOR, ['--port', String(opt.port), '--stream', `jobrt:{${queue}}:stream`,
    '--out', env.JOBRT_BENCH_LATENCY_OUT], { stdio: ['ignore', 'ignore', 'pipe'] });
  const k = { log: '', exited: false };
  k.exit = new Promise((res) => child.on('exit', () => { k.exited = true; res(); }));
  const ready = new Promise((res, rej) => {
    child.stderr.on('data', (d) => { k.log += d; if (k.log.includes('ready')) res(); });
    k.exit.then(() => rej(new Error(`bench_pickup_floor exited early:\n${k.log}`)));
  });
  await within(ready, 15000, 'bench_pickup_floor start');
  return {
    pids: [child.pid],
    async stop() {
      if (!k.exited) child.kill('SIGTERM');
      await within(k.exit, 5000, 'bench_pickup_floor stop').catch(() => child.kill('SIGKILL'));
      const m = /stopped: (\d+) succeeded/.exec(k.log);
      return { processed: m ? Number(m[1]) : 0, lat: [] };
    },
  };
}

function startWorkers(system, cfg, queue, workload, env) {
  if (system === 'floor') return startFloor(queue, env);
  if (system === 'jobrt') {
    const dir = workload === 'noop' || workload === 'kept' ? NOOP_PLUGINS : BENCH_PLUGINS;
    return startJobrt(cfg, queue, dir, env, workload === 'kept');
  }
  return startPeer(system, cfg, queue, workload);
}

// Jobs not yet finished (waiting or running), read straight from Redis.
async function remaining(system, queue) {
  if (system === 'jobrt' || system === 'floor') {
    // Finished entries stay in the stream until the next trim (up to about
    // a second), so XLEN overcounts: use the group's lag (entries not yet
    // delivered) plus its pending count; XLEN only if Redis cannot tell
    // the lag.
    const key = `jobrt:{${queue}}:stream`;
    const [[gerr, groups], [, len], [perr, pend], [, delayed]] = await redis.pipeline()
      .xinfo('GROUPS', key).xlen(key).xpending(key, 'jobrt')
      .zcard(`jobrt:{${queue}}:delayed`).exec();
    let waiting = len;
    if (!gerr) {
      for (const g of groups) {
        const f = {};
        for (let i = 0; i + 1 < g.length; i += 2) f[g[i]] = g[i + 1];
        if (f.name === 'jobrt' && f.lag !== null && f.lag !== undefined) waiting = Number(f.lag);
      }
    }
    return waiting + (perr ? 0 : Number(pend[0])) + Number(delayed || 0);
  }
  const p = system === 'bullmq' ? `bull:${queue}` : `bq:${queue}`;
  const res = await redis.pipeline()
    .llen(system === 'bullmq' ? `${p}:wait` : `${p}:waiting`)
    .llen(`${p}:active`).zcard(`${p}:delayed`).exec();
  return res.reduce((a, [err, n]) => a + (err ? 0 : n), 0);
}

async function failedCount(system, queue) {
  if (system === 'jobrt') return redis.xlen(`jobrt:{${queue}}:dlq`);
  if (system === 'bullmq') return redis.zcard(`bull:${queue}:failed`);
  return redis.scard(`bq:${queue}:failed`);
}

// ---- enqueueing ------------------------------------------------------------

// 'kept': no-op jobs with every system's default retention of completed
// jobs (jobrt: outcome records for 1 h; BullMQ: removeOnComplete false,
// every completed job kept; bee-queue: removeOnSuccess false); the other
// workloads remove them (jobrt --result-ttl 0)
const JOB_NAME = { noop: 'noop', kept: 'noop', json: 'bench_json', retry: 'bench_retry' };
const ndjsonCache = new Map();
function ndjsonFile(kind, n) {
  const key = `${kind}-${n}`;
  if (ndjsonCache.has(key)) return ndjsonCache.get(key);
  const file = path.join(TMP, `${key}.ndjson`);
  const lines = [];
  for (let i = 0; i < n; i++) {
    const payload = kind === 'json' ? invoice(i) : {};
    lines.push(JSON.stringify({ job: JOB_NAME[kind], v: 1, payload }));
  }
  fs.writeFileSync(file, lines.join('\n') + '\n');
  ndjsonCache.set(key, file);
  return file;
}

// Bulk-enqueues n jobs of kind ('noop' | 'json' | 'retry'); returns
// seconds taken. 'retry' jobs fail their first attempt and succeed on the
// second, 1 ms of backoff in between (jobrt: the bench_retry handler's own
// policy; peers: job options).
async function enqueueBulk(system, queue, kind, n) {
  if (system === 'jobrt') {
    const file = ndjsonFile(kind, n);
    const fd = fs.openSync(file, 'r');
    const t0 = performance.now();
    const child = spawn(JOBRT, ['enqueue', queue, '--redis', URL], { stdio: [fd, 'ignore', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d) => { err = (err + d).slice(-4096); });
    const code = await within(new Promise((res) => child.on('exit', res)), 300000, 'jobrt enqueue');
    const secs = (performance.now() - t0) / 1000;
    fs.closeSync(fd);
    if (code !== 0) throw new Error(`jobrt enqueue failed (${code}): ${err}`);
    return secs;
  }
  const data = [];
  for (let i = 0; i < n; i++) data.push(kind === 'json' ? invoice(i) : {});
  const name = JOB_NAME[kind];
  const retry = kind === 'retry';
  if (system === 'bullmq') {
    const q = new BullQueue(queue, { connection: { host: HOST, port: opt.port } });
    await q.waitUntilReady();
    const t0 = performance.now();
    for (let i = 0; i < n; i += 1000) {
      await q.addBulk(data.slice(i, i + 1000).map((d) => ({
        name,
        data: d,
        opts: {
          ...(kind === 'kept' ? {} : { removeOnComplete: true, removeOnFail: 1000 }),
          ...(retry ? { attempts: 2, backoff: { type: 'fixed', delay: 1 } } : {}),
        },
      })));
    }
    const secs = (performance.now() - t0) / 1000;
    await q.close();
    return secs;
  }
  const q = new BeeQueue(queue, {
    redis: { host: HOST, port: opt.port }, isWorker: false, getEvents: false,
    sendEvents: false, storeJobs: false,
  });
  await q.ready();
  const t0 = performance.now();
  for (let i = 0; i < n; i += 1000) {
    const errs = await q.saveAll(data.slice(i, i + 1000).map((d) => (retry
      ? q.createJob(d).retries(1).backoff('fixed', 1) : q.createJob(d))));
    if (errs && errs.size) throw new Error(`bee-queue saveAll: ${errs.size} error(s)`);
  }
  const secs = (performance.now() - t0) / 1000;
  await q.close();
  return secs;
}

// ---- workloads -------------------------------------------------------------

let queueSeq = 0;

// Pre-enqueue n jobs, start the workers, time worker-ready -> all done.
async function usedMemory() {
  return Number(/used_memory:(\d+)/.exec(await redis.info('memory'))[1]);
}

async function drain(system, cfg, kind, n) {
  await redis.flushall();
  const queue = `b${++queueSeq}`;
  const mem0 = await usedMemory();
  const enqS = await enqueueBulk(system, queue, kind, n);
  const memQueued = await usedMemory();
  const w = await startWorkers(system, cfg, queue, kind, {});
  const t0 = performance.now();
  const cpu0 = await redisCpuS();
  const tick0 = w.pids.reduce((a, p) => a + cpuTicks(p), 0);
  const cs0 = w.pids.reduce((a, p) => a + ctxSwitches(p), 0);
  const rss = rssSampler(w.pids);
  const limitMs = Math.max(60000, n); // >= 1000 jobs/s or give up
  let left = -1;
  for (let i = 0; i < limitMs / 10 + 1000; i++) {
    left = await remaining(system, queue);
    if (left === 0) break;
    if (performance.now() - t0 > limitMs) break;
    await sleep(10);
  }
  const secs = (performance.now() - t0) / 1000;
  const cpu1 = await redisCpuS();
  const tick1 = w.pids.reduce((a, p) => a + cpuTicks(p), 0);
  const cs1 = w.pids.reduce((a, p) => a + ctxSwitches(p), 0);
  const peakKb = rss.stop();
  const res = await w.stop();
  await sleep(1500); // jobrt trims finished entries about once a second
  const memDone = await usedMemory();
  const failed = await failedCount(system, queue);
  if (left !== 0) log(`${system} ${kind} drain did not finish: ${left} job(s) left`);
  if (res.processed !== n || failed) log(`${system} ${kind}: processed ${res.processed} of ${n}, failed ${failed}`);
  return {
    ok: left === 0 && failed === 0,
    jobs: n,
    enqueue_s: enqS,
    enqueue_jobs_per_s: n / enqS,
    seconds: secs,
    jobs_per_s: left === 0 ? n / secs : NaN,
    redis_us_per_job: ((cpu1 - cpu0) * 1e6) / n,
    worker_us_per_job: (((tick1 - tick0) / CLK_TCK) * 1e6) / n,
    ctx_switches_per_job: (cs1 - cs0) / n,
    peak_rss_mib: peakKb / 1024,
    // Redis memory: per job queued (after the enqueue) and per job done
    // (after the drain: what the system keeps of a finished job)
    queued_bytes_per_job: (memQueued - mem0) / n,
    done_bytes_per_job: (memDone - mem0) / n,
    processed: res.processed,
    failed,
  };
}

// Enqueue one job at a time at latRate/s; handler records start - enqueue.
async function latency(system, cfg) {
  await redis.flushall();
  const queue = `b${++queueSeq}`;
  const outFile = path.join(TMP, `lat-${queue}.txt`);
  const w = await startWorkers(system, cfg, queue, 'latency', { JOBRT_BENCH_LATENCY_OUT: outFile });
  await sleep(1000);
  const idleKb = w.pids.reduce((a, p) => a + rssKb(p), 0);
  const rss = rssSampler(w.pids);
  const n = Math.round(opt.latRate * opt.latSeconds);
  const periodMs = 1000 / opt.latRate;
  let add;
  let close = async () => {};
  if (system === 'jobrt' || system === 'floor') {
    const key = `jobrt:{${queue}}:stream`;
    const p = new Redis({ host: HOST, port: opt.port });
    add = (t) => p.xadd(key, '*', 'job', 'bench_latency', 'v', '1', 'payload', `{"t_us":${t}}`);
    close = () => p.quit();
  } else if (system === 'bullmq') {
    const q = new BullQueue(queue, { connection: { host: HOST, port: opt.port } });
    await q.waitUntilReady();
    add = (t) => q.add('bench_latency', { t_us: t }, { removeOnComplete: true, removeOnFail: 1000 });
    close = () => q.close();
  } else {
    const q = new BeeQueue(queue, {
      redis: { host: HOST, port: opt.port }, isWorker: false, getEvents: false,
      sendEvents: false, storeJobs: false,
    });
    await q.ready();
    add = (t) => q.createJob({ t_us: t }).save();
    close = () => q.close();
  }
  const start = performance.now();
  const deadline = start + opt.latSeconds * 3000;
  let sent = 0;
  while (sent < n && performance.now() < deadline) {
    const due = start + sent * periodMs;
    const wait = due - performance.now();
    if (wait > 0) await sleep(wait);
    await add(nowUs());
    sent++;
  }
  const sendS = (performance.now() - start) / 1000;
  for (let i = 0; i < 1000; i++) {
    if ((await remaining(system, queue)) === 0) break;
    await sleep(10);
  }
  const peakKb = rss.stop();
  await close();
  const res = await w.stop();
  let lat = res.lat;
  if (system === 'jobrt' || system === 'floor') {
    lat = fs.existsSync(outFile)
      ? fs.readFileSync(outFile, 'utf8').split('\n').filter(Boolean).map(Number) : [];
  }
  const warm = Math.min(100, Math.floor(lat.length / 10));
  const sorted = lat.slice(warm).sort((a, b) => a - b);
  if (lat.length !== sent) log(`${system} latency: ${lat.length} samples for ${sent} jobs`);
  return {
    ok: lat.length === sent,
    sent,
    rate: sent / sendS,
    samples: sorted.length,
    p50_ms: pct(sorted, 0.5) / 1000,
    p99_ms: pct(sorted, 0.99) / 1000,
    p999_ms: pct(sorted, 0.999) / 1000,
    max_ms: sorted.length ? sorted[sorted.length - 1] / 1000 : NaN,
    idle_rss_mib: idleKb / 1024,
    idle_rss_per_proc_mib: idleKb / 1024 / w.pids.length,
    light_load_peak_rss_mib: peakKb / 1024,
  };
}

function runCeiling(mode, n, del) {
  return new Promise((res, rej) => {
    const child = spawn(CEILING, ['--port', String(opt.port), '--jobs', String(n), '--mode', mode, '--batch', '100', '--del', del],
      { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d) => { out += d; });
    child.on('exit', (code) => (code === 0 ? res(JSON.parse(out)) : rej(new Error(`bench_ceiling ${mode} exited ${code}`))));
  });
}

async function ceiling(n) {
  const r = {};
  // consume reads what produce left; consume_trim what produce_2 left
  const steps = [['cycle', 'cycle', 'trim'], ['produce', 'produce', 'xdel'],
    ['consume', 'consume', 'xdel'], ['produce_2', 'produce', 'xdel'],
    ['consume_trim', 'consume', 'trim']];
  for (const [name, mode, del] of steps) {
    if (mode !== 'consume') await redis.flushall();
    const c0 = await redisCpuS();
    const out = await within(runCeiling(mode, n, del), 300000, `ceiling ${name}`);
    const c1 = await redisCpuS();
    r[name] = { jobs_per_s: out.jobs_per_s, redis_us_per_job: ((c1 - c0) * 1e6) / n };
  }
  return r;
}

// Checks that nowUs() agrees with the C CLOCK_REALTIME the jobrt probe uses:
// brackets 20 C readings between two of ours; returns the tightest bound.
async function clockCheck() {
  const child = spawn(CEILING, ['--now'], { stdio: ['pipe', 'pipe', 'inherit'] });
  let buf = '';
  let waiter = null;
  child.stdout.on('data', (d) => { buf += d; if (waiter && buf.includes('\n')) waiter(); });
  let best = { before: Infinity, after: Infinity };
  for (let i = 0; i < 20; i++) {
    const t0 = nowUs();
    const got = new Promise((res) => { waiter = res; });
    child.stdin.write('x\n');
    await within(got, 2000, 'clock check');
    const t1 = nowUs();
    const c = Number(buf.trim());
    buf = '';
    if (t1 - t0 < best.before + best.after) best = { before: c - t0, after: t1 - c };
  }
  child.stdin.end();
  return best; // both >= 0 when the clocks agree within the round trip
}

// ---- reporting -------------------------------------------------------------

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
    versions: Object.fromEntries(['bullmq', 'bee-queue', 'ioredis'].map((p) => {
      try { return [p, peerRequire(`${p}/package.json`).version]; } catch { return [p, '?']; }
    })),
  };
}

// ---- main ------------------------------------------------------------------

const DEFAULT_CFG = {
  jobrt: { procs: 1, concurrency: 256 },
  bullmq: { procs: 1, concurrency: 200 },
  bee: { procs: 2, concurrency: 50 },
};
const SWEEP = {
  jobrt: [{ procs: 1, concurrency: 64 }, { procs: 1, concurrency: 256 }, { procs: 1, concurrency: 1000 }, { procs: 2, concurrency: 256 }],
  bullmq: [{ procs: 1, concurrency: 200 }, { procs: 1, concurrency: 50 }, { procs: 2, concurrency: 100 }],
  bee: [{ procs: 2, concurrency: 50 }, { procs: 1, concurrency: 100 }, { procs: 2, concurrency: 100 }],
};
const cfgName = (c) => `${c.procs} proc x concurrency ${c.concurrency}`;

async function main() {
  const t0 = Date.now();
  const mach = machine();
  const clock = await clockCheck();
  log(`machine: ${mach.nproc} cpu (${mach.cpu}), ${mach.mem_gib} GiB, ${mach.redis.split(' ').slice(0, 3).join(' ')}, node ${mach.node}, load ${mach.loadavg_at_start.join(' ')}`);
  log(`peers: ${JSON.stringify(mach.versions)}; clock check: C clock ${clock.before} us after / ${clock.after} us before node's bracket`);
  log(`drain ${opt.jobs} jobs, ${opt.rounds} round(s), latency ${opt.latRate}/s for ${opt.latSeconds} s`);

  const best = { ...DEFAULT_CFG };
  const sweep = {};
  if (opt.sweep) {
    log(`sweep: noop drain of ${opt.sweepJobs} jobs per configuration`);
    for (const s of SYSTEMS) {
      sweep[s] = [];
      let top = -1;
      for (const c of SWEEP[s]) {
        const r = await drain(s, c, 'noop', opt.sweepJobs);
        sweep[s].push({ cfg: c, jobs_per_s: r.jobs_per_s });
        log(`  ${LABEL[s].padEnd(9)} ${cfgName(c).padEnd(28)} ${fmt(r.jobs_per_s)} jobs/s`);
        if (r.jobs_per_s > top) { top = r.jobs_per_s; best[s] = c; }
      }
    }
  }
  for (const s of SYSTEMS) log(`best config: ${LABEL[s]}: ${cfgName(best[s])}`);

  const rounds = [];
  const retryJobs = Math.max(1000, Math.round(opt.jobs / 4));
  for (let r = 0; r < opt.rounds; r++) {
    // rotate who goes first each round, so no system always runs on a
    // freshly started (or an already warm) redis-server
    const order = SYSTEMS.map((_, i) => SYSTEMS[(i + r) % SYSTEMS.length]);
    const R = { order, kept: {}, drain: {}, json: {}, retry: {}, latency: {}, ceiling: null };
    for (const s of order) {
      R.kept[s] = await drain(s, best[s], 'kept', opt.jobs);
      log(`round ${r + 1} kept    ${LABEL[s].padEnd(9)} ${fmt(R.kept[s].jobs_per_s)} jobs/s, redis ${fmt(R.kept[s].redis_us_per_job, 2)} us/job, ${fmt(R.kept[s].done_bytes_per_job)} B kept per job`);
    }
    for (const s of order) {
      R.drain[s] = await drain(s, best[s], 'noop', opt.jobs);
      log(`round ${r + 1} drain   ${LABEL[s].padEnd(9)} ${fmt(R.drain[s].jobs_per_s)} jobs/s, enqueue ${fmt(R.drain[s].enqueue_jobs_per_s)} jobs/s, redis ${fmt(R.drain[s].redis_us_per_job, 2)} us/job`);
    }
    for (const s of order) {
      R.json[s] = await drain(s, best[s], 'json', opt.jobs);
      log(`round ${r + 1} json    ${LABEL[s].padEnd(9)} ${fmt(R.json[s].jobs_per_s)} jobs/s`);
    }
    for (const s of order) {
      R.retry[s] = await drain(s, best[s], 'retry', retryJobs);
      log(`round ${r + 1} retry   ${LABEL[s].padEnd(9)} ${fmt(R.retry[s].jobs_per_s)} jobs/s, redis ${fmt(R.retry[s].redis_us_per_job, 2)} us/job`);
    }
    for (const s of order) {
      R.latency[s] = await latency(s, best[s]);
      const L = R.latency[s];
      log(`round ${r + 1} latency ${LABEL[s].padEnd(9)} p50 ${fmt(L.p50_ms, 3)} p99 ${fmt(L.p99_ms, 3)} p999 ${fmt(L.p999_ms, 3)} ms at ${fmt(L.rate)}/s, idle RSS ${fmt(L.idle_rss_mib, 1)} MiB`);
    }
    // the same probe through the supervisor and 2 worker processes
    R.latency_sup = await latency('jobrt', { ...best.jobrt, procs: 1, workers: 2 });
    log(`round ${r + 1} latency jobrt --workers 2 p50 ${fmt(R.latency_sup.p50_ms, 3)} p99 ${fmt(R.latency_sup.p99_ms, 3)} p999 ${fmt(R.latency_sup.p999_ms, 3)} ms at ${fmt(R.latency_sup.rate)}/s`);
    // and its floor: the same producer and stream, a bare blocked reader
    R.latency_floor = await latency('floor', {});
    log(`round ${r + 1} latency floor     p50 ${fmt(R.latency_floor.p50_ms, 3)} p99 ${fmt(R.latency_floor.p99_ms, 3)} p999 ${fmt(R.latency_floor.p999_ms, 3)} ms at ${fmt(R.latency_floor.rate)}/s`);
    {
      await redis.flushall();
      const w = await startJobrt({ procs: 1, concurrency: 8 }, `b${++queueSeq}`, NOOP_PLUGINS, {});
      await sleep(1000);
      R.jobrt_idle_rss_c8_mib = rssKb(w.pids[0]) / 1024;
      await w.stop();
    }
    R.ceiling = await ceiling(opt.jobs);
    log(`round ${r + 1} ceiling cycle ${fmt(R.ceiling.cycle.jobs_per_s)} consume ${fmt(R.ceiling.consume_trim.jobs_per_s)} (with XDEL ${fmt(R.ceiling.consume.jobs_per_s)}) produce ${fmt(R.ceiling.produce.jobs_per_s)} jobs/s`);
    rounds.push(R);
  }
  await redis.flushall();

  // medians over rounds
  const med = (f) => median(rounds.map(f));
  const rows = [];
  const row = (name, f, d, better) => {
    const v = Object.fromEntries(SYSTEMS.map((s) => [s, med((R) => f(R, s))]));
    rows.push({ name, v, d, better });
  };
  // the headline: every system as shipped, completed jobs kept
  row('drain noop, defaults (results kept), jobs/s', (R, s) => R.kept[s].jobs_per_s, 0, 'higher');
  row('Redis CPU per job, defaults, us', (R, s) => R.kept[s].redis_us_per_job, 2, 'lower');
  row('Redis memory per completed job kept, B', (R, s) => R.kept[s].done_bytes_per_job, 0, 'lower');
  row('Redis memory per queued job, B', (R, s) => R.drain[s].queued_bytes_per_job, 0, 'lower');
  row('worker CPU per job, defaults, us', (R, s) => R.kept[s].worker_us_per_job, 2, 'lower');
  row('drain noop, jobs/s', (R, s) => R.drain[s].jobs_per_s, 0, 'higher');
  row('realistic 1 KiB JSON, jobs/s', (R, s) => R.json[s].jobs_per_s, 0, 'higher');
  row('pickup p50, ms', (R, s) => R.latency[s].p50_ms, 3, 'lower');
  row('pickup p99, ms', (R, s) => R.latency[s].p99_ms, 3, 'lower');
  row('pickup p999, ms', (R, s) => R.latency[s].p999_ms, 3, 'lower');
  row('bulk enqueue noop, jobs/s', (R, s) => R.drain[s].enqueue_jobs_per_s, 0, 'higher');
  row('bulk enqueue 1 KiB JSON, jobs/s', (R, s) => R.json[s].enqueue_jobs_per_s, 0, 'higher');
  row('worker RSS idle (all procs), MiB', (R, s) => R.latency[s].idle_rss_mib, 1, 'lower');
  row('worker RSS peak, noop drain, MiB', (R, s) => R.drain[s].peak_rss_mib, 1, 'lower');
  row('worker RSS peak, JSON drain, MiB', (R, s) => R.json[s].peak_rss_mib, 1, 'lower');
  row('Redis CPU per job, noop drain, us', (R, s) => R.drain[s].redis_us_per_job, 2, 'lower');
  row('Redis CPU per job, JSON drain, us', (R, s) => R.json[s].redis_us_per_job, 2, 'lower');
  row('worker CPU per job, noop drain, us', (R, s) => R.drain[s].worker_us_per_job, 2, 'lower');
  row('worker CPU per job, JSON drain, us', (R, s) => R.json[s].worker_us_per_job, 2, 'lower');
  row('worker context switches per job, noop', (R, s) => R.drain[s].ctx_switches_per_job, 2, 'lower');
  // delivery guarantees: every job fails once and is retried after 1 ms
  row('retry once (fail, 1 ms backoff, ok), jobs/s', (R, s) => R.retry[s].jobs_per_s, 0, 'higher');
  row('Redis CPU per job, retry once, us', (R, s) => R.retry[s].redis_us_per_job, 2, 'lower');

  const ceil = {
    cycle: med((R) => R.ceiling.cycle.jobs_per_s),
    consume_xdel: med((R) => R.ceiling.consume.jobs_per_s),
    produce: med((R) => R.ceiling.produce.jobs_per_s),
    cycle_us: med((R) => R.ceiling.cycle.redis_us_per_job),
    consume_xdel_us: med((R) => R.ceiling.consume.redis_us_per_job),
    consume: med((R) => R.ceiling.consume_trim.jobs_per_s),
    consume_us: med((R) => R.ceiling.consume_trim.redis_us_per_job),
    produce_us: med((R) => R.ceiling.produce.redis_us_per_job),
  };

  const lines = [];
  const W = Math.max(36, ...rows.map((r) => r.name.length + 1));
  lines.push(`jobrt benchmark: medians of ${opt.rounds} round(s); drain ${opt.jobs} jobs; ${opt.quick ? 'QUICK smoke run, not a result; ' : ''}${new Date().toISOString()}`);
  lines.push(`configs: ${SYSTEMS.map((s) => `${LABEL[s]} ${cfgName(best[s])}`).join('; ')}`);
  lines.push('');
  lines.push(`${'workload'.padEnd(W)}${'jobrt'.padStart(11)}${'BullMQ'.padStart(11)}${'bee-queue'.padStart(11)}${'jobrt/BullMQ'.padStart(14)}${'jobrt/bee'.padStart(11)}  better`);
  for (const r of rows) {
    const ratio = (p) => (Number.isFinite(r.v.jobrt / r.v[p]) ? `${(r.v.jobrt / r.v[p]).toFixed(2)}x` : 'n/a');
    lines.push(`${r.name.padEnd(W)}${fmt(r.v.jobrt, r.d).padStart(11)}${fmt(r.v.bullmq, r.d).padStart(11)}${fmt(r.v.bee, r.d).padStart(11)}${ratio('bullmq').padStart(14)}${ratio('bee').padStart(11)}  ${r.better}`);
  }
  lines.push('');
  lines.push('bare-stream ceiling (bench_ceiling: one hiredis client, batches of 100, no Lua):');
  lines.push(`  cycle   XADD x100 + XREADGROUP + XACK + XTRIM ${fmt(ceil.cycle).padStart(9)} jobs/s  Redis ${fmt(ceil.cycle_us, 2)} us/job`);
  lines.push(`  produce XADD x100                         ${fmt(ceil.produce).padStart(9)} jobs/s  Redis ${fmt(ceil.produce_us, 2)} us/job`);
  lines.push(`  consume XREADGROUP + XACK + XTRIM MINID   ${fmt(ceil.consume).padStart(9)} jobs/s  Redis ${fmt(ceil.consume_us, 2)} us/job  (the commands jobrt sends, one trim per batch)`);
  const by = (name) => rows.find((r) => r.name === name).v;
  const drainJ = by('drain noop, jobs/s').jobrt;
  lines.push(`  consume, XDEL per entry instead of trim ${fmt(ceil.consume_xdel).padStart(9)} jobs/s  Redis ${fmt(ceil.consume_xdel_us, 2)} us/job  (the issue's ceiling; what jobrt did before d5391dc)`);
  lines.push(`  jobrt drain = ${fmt((100 * drainJ) / ceil.consume, 0)}% of the consume ceiling, ${fmt((100 * drainJ) / ceil.cycle, 0)}% of the cycle ceiling`);
  lines.push(`  jobrt bulk enqueue = ${fmt((100 * by('bulk enqueue noop, jobs/s').jobrt) / ceil.produce, 0)}% of the produce ceiling`);
  lines.push('');
  const sup = {
    p50: med((R) => R.latency_sup.p50_ms),
    p99: med((R) => R.latency_sup.p99_ms),
    p999: med((R) => R.latency_sup.p999_ms),
  };
  lines.push(`jobrt pickup through the supervisor (--workers 2 --concurrency ${best.jobrt.concurrency}): p50 ${fmt(sup.p50, 3)}, p99 ${fmt(sup.p99, 3)}, p999 ${fmt(sup.p999, 3)} ms`);
  lines.push(`pickup floor (bench_pickup_floor: the same producer, one hiredis client in XREADGROUP, no handler): p50 ${fmt(med((R) => R.latency_floor.p50_ms), 3)}, p99 ${fmt(med((R) => R.latency_floor.p99_ms), 3)}, p999 ${fmt(med((R) => R.latency_floor.p999_ms), 3)} ms`);
  lines.push('');
  const idleJ = med((R) => R.latency.jobrt.idle_rss_per_proc_mib);
  const idle8 = med((R) => R.jobrt_idle_rss_c8_mib);
  lines.push(`jobrt idle RSS at the default --concurrency 8: ${fmt(idle8, 1)} MiB (at ${best.jobrt.concurrency}: ${fmt(idleJ, 1)} MiB per process)`);
  lines.push('');
  const kept = by('drain noop, defaults (results kept), jobs/s');
  const keptCpu = by('Redis CPU per job, defaults, us').jobrt;
  const keptMem = by('Redis memory per completed job kept, B');
  const targets = [
    // issue 15: the default configuration
    ['defaults: drain >= 10x BullMQ', kept.jobrt / kept.bullmq >= 10, `${(kept.jobrt / kept.bullmq).toFixed(2)}x`],
    ['defaults: drain >= 6x bee-queue', kept.jobrt / kept.bee >= 6, `${(kept.jobrt / kept.bee).toFixed(2)}x`],
    ['defaults: Redis CPU <= 3 us per job', keptCpu <= 3, `${fmt(keptCpu, 2)} us`],
    ['defaults: memory per kept job <= BullMQ / 2', keptMem.jobrt <= keptMem.bullmq / 2, `${fmt(keptMem.jobrt)} B against ${fmt(keptMem.bullmq)} B`],
    ['drain >= 3.5x bee-queue', drainJ / by('drain noop, jobs/s').bee >= 3.5, `${(drainJ / by('drain noop, jobs/s').bee).toFixed(2)}x`],
    ['drain >= 5x BullMQ', drainJ / by('drain noop, jobs/s').bullmq >= 5, `${(drainJ / by('drain noop, jobs/s').bullmq).toFixed(2)}x`],
    ['drain >= 60% of the consume ceiling', drainJ / ceil.consume >= 0.6, `${fmt((100 * drainJ) / ceil.consume, 0)}%`],
    ['Redis CPU <= 5 us per job (noop drain)', by('Redis CPU per job, noop drain, us').jobrt <= 5, `${fmt(by('Redis CPU per job, noop drain, us').jobrt, 2)} us`],
    ['pickup p99 <= 0.3 ms at 1 000 jobs/s', by('pickup p99, ms').jobrt <= 0.3, `${fmt(by('pickup p99, ms').jobrt, 3)} ms`],
    ['pickup p999 <= 1 ms at 1 000 jobs/s', by('pickup p999, ms').jobrt <= 1, `${fmt(by('pickup p999, ms').jobrt, 3)} ms`],
    ['pickup p99 <= 0.3 ms, supervisor + 2 workers', sup.p99 <= 0.3, `${fmt(sup.p99, 3)} ms`],
    ['pickup p999 <= 1 ms, supervisor + 2 workers', sup.p999 <= 1, `${fmt(sup.p999, 3)} ms`],
    [`idle RSS < 10 MiB (jobrt, --concurrency ${best.jobrt.concurrency})`, idleJ < 10, `${fmt(idleJ, 1)} MiB`],
    ['idle RSS < 10 MiB (jobrt, --concurrency 8)', idle8 < 10, `${fmt(idle8, 1)} MiB`],
  ];
  lines.push('targets:');
  for (const [name, ok, val] of targets) lines.push(`  ${ok ? 'MET ' : 'MISS'}  ${name.padEnd(42)} ${val}`);
  lines.push('');
  lines.push(`machine: ${mach.nproc} cpu ${mach.cpu}, ${mach.mem_gib} GiB, ${mach.redis.split(' ').slice(0, 3).join(' ')}, node ${mach.node}, jobrt ${mach.jobrt_rev}`);
  lines.push(`load average before the run ${mach.loadavg_at_start.join(' ')} (a 1-min value above ~0.5 means other processes were busy on the 2 cores; the benchmark's own threads raise it during the run)`);
  lines.push(`wall time ${fmt((Date.now() - t0) / 1000)} s; raw numbers: ${opt.out}`);
  process.stdout.write(lines.join('\n') + '\n');

  fs.mkdirSync(path.dirname(opt.out), { recursive: true });
  fs.writeFileSync(opt.out, JSON.stringify({
    options: opt, machine: mach, clock_check_us: clock, configs: best, sweep, rounds,
    medians: rows, ceiling: ceil, targets, table: lines,
  }, null, 1));
}

main()
  .catch((e) => { process.stderr.write(`harness: ${e.stack || e}\n`); process.exitCode = 1; })
  .finally(async () => {
    redis.disconnect();
    fs.rmSync(TMP, { recursive: true, force: true });
  });
