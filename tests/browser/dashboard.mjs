// dashboard.mjs - drives Debian's headless Chromium (playwright-core, no
// browser download) through the dashboard of a running `jobrt run --http`,
// for tests/e2e/dashboard.sh, which starts Redis and the worker, fills the
// queue and passes everything in the environment:
//   DASH_URL         the endpoint, e.g. http://127.0.0.1:PORT
//   DASH_TOKEN_FILE  the worker's --http-token-file
//   DASH_QUEUE       the worker's queue
//   DASH_CONSUMER    the worker's consumer name
//   DASH_DEPTH       the queue's depth (undelivered jobs) when this starts
//   DASH_OK_QUEUED   how many of those are `ok` v1 jobs
//   DASH_HOLD        id of the `progress` job holding the only slot
//   DASH_HOLD_RELEASE   the file whose creation ends that job
//   DASH_HOLD_MESSAGE   the message of its 50 % progress report
//   DASH_RECORD      JOBRT_TESTKIT_RECORD of the worker (its dir missing)
//   DASH_REC_ID      id of the `record` job (max 1 attempt) queued last
//   DASH_WORK        where the screenshot goes
//   JOBRT_SCREENSHOT_DIR  if set, the screenshot is copied there too
//   JOBRT_BIN REDIS_URL CHROMIUM
// Every wait has a deadline; any failed check exits 1 with one line.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { chromium } from 'playwright-core';

const env = (k) => {
  const v = process.env[k];
  if (v === undefined || v === '') throw new Error(`${k} is not set`);
  return v;
};
const url = env('DASH_URL');
const queue = env('DASH_QUEUE');
const jobrt = env('JOBRT_BIN');
const redisUrl = env('REDIS_URL');
const token = fs.readFileSync(env('DASH_TOKEN_FILE'), 'utf8').split('\n')[0];
const dlqKey = `jobrt:{${queue}}:dlq`;

function log(msg) {
  process.stderr.write(`[dashboard.mjs ${new Date().toISOString()}] ${msg}\n`);
}

function check(cond, what) {
  if (!cond) throw new Error(what);
}

function run(cmd, args) {
  return execFileSync(cmd, args, { encoding: 'utf8' }).trim();
}

// redis-cli: -s for a unix socket (REDIS_URL unix://PATH), else -u URL.
function redis(...args) {
  const where = redisUrl.startsWith('unix://')
    ? ['-s', redisUrl.slice(7)] : ['-u', redisUrl];
  return run('redis-cli', [...where, ...args]);
}

// Entries delivered to the group and not acknowledged (running here).
function pending() {
  return Number(redis('XPENDING', `jobrt:{${queue}}:stream`, 'jobrt')
    .split('\n')[0]);
}

function dlqLen() {
  return Number(redis('XLEN', dlqKey));
}

function jobStatus(id) {
  try {
    return JSON.parse(run(jobrt, ['status', id, '-q', queue, '-r', redisUrl]))
      .status;
  } catch (e) {
    return null;
  }
}

function enqueue(job, id, payload, ...extra) {
  run(jobrt, ['enqueue', queue, job, '-v', '1', '--id', id, '--payload',
              payload, '-r', redisUrl, ...extra]);
}

async function waitFor(desc, timeoutMs, fn) {
  const deadline = Date.now() + timeoutMs;
  let lastErr = null;
  for (;;) {
    try {
      if (await fn()) return;
    } catch (e) {
      lastErr = e;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs / 1000}s waiting for: ` +
                      desc + (lastErr ? ` (last error: ${lastErr.message})`
                                      : ''));
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function text(page, selector) {
  const l = page.locator(selector);
  if ((await l.count()) === 0) return null;
  return (await l.first().textContent()).trim();
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  headless: true,
  // Root in a container: Chromium's sandbox needs user namespaces.
  args: ['--no-sandbox', '--disable-dev-shm-usage', '--disable-gpu'],
});
const problems = [];
try {
  const context = await browser.newContext({ viewport: { width: 1400,
                                                         height: 1000 } });
  const page = await context.newPage();
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('console', (m) => {
    // A refused request logs "Failed to load resource": expected here.
    if (m.type() === 'error' && !/Failed to load resource/.test(m.text())) {
      problems.push(`console error: ${m.text()}`);
    }
  });
  // confirm() is accepted; the pause button's prompt() gets a reason
  page.on('dialog', (d) => (d.type() === 'prompt'
    ? d.accept('paused by the browser test') : d.accept()));

  // ---- the page loads and shows the queue, its depth and the worker -----
  const res = await page.goto(url + '/');
  check(res && res.status() === 200, `GET / gave ${res && res.status()}`);
  await waitFor('the first overview drawn', 10000,
                async () => (await page.getAttribute('body',
                                                     'data-loaded')) === '1');
  const row = `#queue-table tbody tr[data-queue="${queue}"]`;
  await waitFor(`queue ${queue} with depth ${env('DASH_DEPTH')}`, 10000,
                async () => (await text(page, `${row} td.depth`)) ===
                  env('DASH_DEPTH'));
  log(`queue ${queue} shown with depth ${env('DASH_DEPTH')}`);
  // ---- a worker serving two queues: both listed, either shown below --------
  const row2 = '#queue-table tbody tr[data-queue="dash2"]';
  await waitFor('the second queue listed', 10000,
                async () => (await page.locator(row2).count()) === 1);
  check(/chosen/.test(await page.getAttribute(row, 'class') || ''),
        `${queue} is not marked as the one shown`);
  await page.click(`${row2} button.queue-pick`);
  await waitFor('dash2 shown below', 10000, async () =>
    (await text(page, '#where')) === 'jobrt / dash2' &&
    /chosen/.test(await page.getAttribute(row2, 'class') || ''));
  await page.click(`${row} button.queue-pick`);
  await waitFor(`${queue} shown again`, 10000, async () =>
    (await text(page, '#where')) === `jobrt / ${queue}`);
  log('two queues listed; switched to dash2 and back');
  const worker = `#workers-table tbody tr[data-consumer="${
    env('DASH_CONSUMER')}"]`;
  await waitFor('the live worker with its plugin', 10000, async () => {
    const t = await text(page, worker);
    return t !== null && t.includes('running') && t.includes('testkit');
  });
  log(`live worker ${env('DASH_CONSUMER')} shown`);
  await waitFor("the supervisor's view of its worker process", 10000,
                async () => {
    const t = await text(page, '#local');
    return (await page.locator('#local-section').isVisible()) && t !== null &&
      t.includes('supervisor') && t.includes('ready');
  });
  log(`this process: ${(await text(page, '#local')).replace(/\s+/g, ' ')}`);
  const okRow = '#rollout-table tbody tr[data-job="ok"][data-version="1"]';
  await waitFor(`rollout row ok v1 with ${env('DASH_OK_QUEUED')} queued`,
                10000, async () =>
    (await text(page, `${okRow} td.queued`)) === env('DASH_OK_QUEUED') &&
    (await text(page, `${okRow} td.workers`)) === '1');
  log('rollout row shown');
  const holdRow = `#running-table tbody tr[data-job-id="${env('DASH_HOLD')}"]`;
  await waitFor(`${env('DASH_HOLD')} running at 50 %`, 15000, async () => {
    const t = await text(page, holdRow);
    return t !== null && t.includes('50%') &&
      t.includes(env('DASH_HOLD_MESSAGE')) &&
      t.includes(env('DASH_CONSUMER'));
  });
  log(`running job: ${(await text(page, holdRow)).replace(/\s+/g, ' ')}`);

  // ---- a job dead-lettered, shown in the DLQ table ----------------------
  const rec = env('DASH_REC_ID');
  fs.writeFileSync(env('DASH_HOLD_RELEASE'), '');
  await waitFor(`${rec} dead-lettered`, 30000, () => dlqLen() === 1);
  const recRow = `#dlq-table tbody tr[data-job-id="${rec}"]`;
  await waitFor(`${rec} in the DLQ table`, 10000,
                async () => (await page.locator(recRow).count()) === 1);
  await waitFor(`${rec} in the recent failures`, 10000, async () =>
    (await page.locator('#failures-table tbody').textContent()).includes(rec));
  log(`${rec} shown in the DLQ table and the failures`);

  // ---- a write without the token is refused and says so ------------------
  await page.click(`${recRow} button.retry`);
  await waitFor('the refusal message', 10000, async () => {
    const n = page.locator('#notice');
    return (await n.isVisible()) && /401/.test(await n.textContent()) &&
      /token/i.test(await n.textContent());
  });
  log(`refused without the token: ${await text(page, '#notice')}`);
  check(dlqLen() === 1, 'a retry without the token changed the DLQ');
  const direct = await page.evaluate(async (r) => {
    const entry = document.querySelector(r).dataset.entry;
    const resp = await fetch('/api/dlq/purge', {
      method: 'POST', headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ ids: [entry] }) });
    return resp.status;
  }, recRow);
  check(direct === 401, `a purge without the token gave ${direct}, not 401`);
  check(dlqLen() === 1, 'a purge without the token changed the DLQ');
  const pausedKey = `jobrt:{${queue}}:paused`;
  await page.click('#queue-pause');
  await waitFor('the pause refused without the token', 10000, async () =>
    /^Pause refused \(401/.test(await text(page, '#notice')));
  check(redis('EXISTS', pausedKey) === '0',
        'a pause without the token paused the queue');

  // ---- what the server sends is shown as text, never as markup ----------
  const evil = '<img src=x id=injected onerror="document.title=1">' +
    '<b>bold</b>';
  redis('XADD', dlqKey, '*', 'id', 'evil-1', 'job', 'ok', 'v', '1',
        'payload', evil, 'dlq_reason', 'permanent_failure', 'dlq_error', evil,
        'dlq_at', String(Date.now()));
  const evilRow = '#dlq-table tbody tr[data-job-id="evil-1"]';
  await waitFor('the markup entry in the DLQ table', 10000,
                async () => (await page.locator(evilRow).count()) === 1);
  check((await text(page, `${evilRow} td.err`)) === evil,
        'the error was not shown as the literal text');
  await page.click(`${evilRow} button.show`);
  await waitFor('the entry detail', 10000,
                () => page.locator('#dlq-detail').isVisible());
  const detail = await page.locator('#dlq-detail-fields').textContent();
  check(detail.includes(evil) && detail.includes('payload'),
        'the detail does not show the payload as text');
  check((await page.locator('#injected').count()) === 0 &&
        (await page.locator('main b').count()) === 0,
        'markup from the server became elements');
  log('server text is shown as text');

  // ---- with the token: purge and retry -----------------------------------
  await page.fill('#token', token);
  await page.click('#token-save');
  await waitFor('the token taken', 5000,
                async () => (await text(page, '#token-state')) === 'token set');
  await page.click(`${evilRow} button.purge`);
  await waitFor('the purge answered', 10000, async () =>
    /Purged 1 /.test(await page.locator('#notice').textContent()));
  check(dlqLen() === 1, `after the purge the DLQ has ${dlqLen()}, not 1`);
  fs.mkdirSync(path.dirname(env('DASH_RECORD')), { recursive: true });
  await waitFor(`${rec} still in the table`, 10000,
                async () => (await page.locator(recRow).count()) === 1);
  await page.click(`${recRow} button.retry`);
  await waitFor('the retry answered', 10000, async () =>
    /Re-enqueued 1 job/.test(await page.locator('#notice').textContent()));
  await waitFor(`${rec} to run and succeed`, 20000,
                () => jobStatus(rec) === 'succeeded');
  check(dlqLen() === 0, `after the retry the DLQ has ${dlqLen()}`);
  const recorded = fs.readFileSync(env('DASH_RECORD'), 'utf8');
  check(recorded.split('\n').includes(rec),
        `${rec} is not in ${env('DASH_RECORD')}: ${recorded}`);
  log(`${rec} retried from the page and ran`);
  await page.reload();
  await waitFor('the token kept across a reload (sessionStorage)', 5000,
                async () => (await text(page, '#token-state')) === 'token set');

  // ---- pause and resume from the page -------------------------------------
  await page.click('#queue-pause');
  await waitFor('the pause answered', 10000, async () =>
    /^Paused: workers stop/.test(await text(page, '#notice')));
  check(/paused by the browser test/.test(redis('GET', pausedKey)),
        `${pausedKey} after Pause: ${redis('GET', pausedKey)}`);
  await waitFor('the page to show the pause', 10000, async () =>
    /^(\S+: )?Paused:/.test(await text(page, '#pause-state')) &&
    await page.locator('#queue-resume').isVisible());
  await page.click('#queue-resume');
  await waitFor('the resume answered', 10000, async () =>
    /^Resumed/.test(await text(page, '#notice')));
  check(redis('EXISTS', pausedKey) === '0', 'the queue is still paused');
  await waitFor('the page to show the queue taking jobs', 10000, async () =>
    /^(\S+: )?Taking jobs\.$/.test(await text(page, '#pause-state')));
  log('paused and resumed from the page');

  // ---- a busy moment for the screenshot -----------------------------------
  enqueue('fail', 'invoice-77', '{"invoice":77}');
  await waitFor('invoice-77 dead-lettered', 20000, () => dlqLen() === 1);
  const release2 = path.join(env('DASH_WORK'), 'release-hold-2');
  enqueue('progress', 'monthly-report-7', JSON.stringify({
    ms: 120000, message: 'rendering page 31 of 62', file: release2 }));
  await waitFor('monthly-report-7 running', 10000, () => pending() === 1);
  for (let i = 1; i <= 12; i++) enqueue('ok', `report-${i}`, '{}');
  enqueue('ok', 'later-1', '{}', '--delay', '1h');
  await waitFor('the busy queue drawn', 15000, async () =>
    (await text(page, `${row} td.depth`)) === '12' &&
    (await page.locator('#dlq-table tbody tr[data-job-id="invoice-77"]')
      .count()) === 1 &&
    /rendering page/.test(await text(page, '#running-table tbody') || ''));
  const shot = path.join(env('DASH_WORK'), 'dashboard.png');
  await page.screenshot({ path: shot, fullPage: true });
  log(`screenshot ${shot}`);
  if (process.env.JOBRT_SCREENSHOT_DIR) {
    fs.mkdirSync(process.env.JOBRT_SCREENSHOT_DIR, { recursive: true });
    fs.copyFileSync(shot, path.join(process.env.JOBRT_SCREENSHOT_DIR,
                                    'dashboard.png'));
    log(`copied to ${process.env.JOBRT_SCREENSHOT_DIR}/dashboard.png`);
  }
  fs.writeFileSync(release2, '');
  check(problems.length === 0, problems.join('; '));
  log('all checks passed');
} catch (e) {
  process.stderr.write(`FAIL: dashboard.mjs: ${e.message}\n`);
  if (problems.length) process.stderr.write(`also: ${problems.join('; ')}\n`);
  await browser.close();
  process.exit(1);
}
await browser.close();
