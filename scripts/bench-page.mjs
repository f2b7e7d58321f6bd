#!/usr/bin/env node
// Page-pace benchmark: how fast the comparison page itself advances, as a
// visitor sees it. Serves a www folder, opens index.html in headless Chromium
// (the shared flags of scripts/chromium.mjs, through playwright-core), forces
// the CPU backend, starts SGD, Adam and RNGD in lock-step and, after a
// warm-up, measures the pace of the common step counter (steps/s) over
// several windows; it prints the median. The pace includes everything the
// page does: the steps of every run, the test evaluations every 25 steps, the
// messages and the drawing.
//
// Several --www folders are measured in turn, round after round (A B A B …),
// so that a busy machine hits them alike: e.g. an older copy of the page
// against the repo's.
//
//   node scripts/bench-page.mjs [--www DIR]... [--rounds 2] [--warmup 8] [--windows 5] [--window 4]
//       [--runs sgd,adam,rngd] [--free] [--json FILE]
//
//   --www DIR    a folder to serve at / (repeatable; default the repo's www/); the
//                repo's assets/ are served at /assets/ for every folder
//   --rounds N   times each folder is measured, interleaved
//   --warmup S   seconds of training before the first window
//   --windows K  windows per measurement, each --window S seconds long
//   --runs LIST  the runs to race
//   --free       also measure free-running (pages that have it), each run's own steps/s
//
// The pace is read from the page's own table: the step of each run's latest
// test evaluation (`data-step` of its accuracy cell) and when it changed, so
// older pages without test hooks are measured the same way. A window runs
// from one evaluation to the first one at least --window seconds later, and
// the next window starts where it ended; its pace is the steps between them
// divided by the time between them.
//
// Needs the wasm package in each folder's pkg/ and `npm install`
// (playwright-core). CHROMIUM=/path overrides /usr/bin/chromium.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { CHROMIUM_ARGS } from './chromium.mjs';
import { startServer } from './serve.mjs';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

function usage(msg) {
  if (msg) process.stderr.write(`bench-page.mjs: ${msg}\n`);
  process.stderr.write(
    'usage: node scripts/bench-page.mjs [--www DIR]... [--rounds N] [--warmup S] [--windows K] [--window S]\n' +
      '                                  [--runs sgd,adam,rngd] [--free] [--json FILE]\n',
  );
  process.exit(2);
}

function parseArgs(argv) {
  const o = { www: [], rounds: 2, warmup: 8, windows: 5, window: 4, runs: ['sgd', 'adam', 'rngd'], free: false, json: null };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const next = () => {
      if (i + 1 >= argv.length) usage(`${arg} needs a value`);
      return argv[++i];
    };
    const num = (min) => {
      const v = next();
      if (!/^\d+(\.\d+)?$/.test(v) || Number(v) < min) usage(`${arg} needs a number ≥ ${min}, got ${v}`);
      return Number(v);
    };
    switch (arg) {
      case '--www': {
        const dir = path.resolve(next());
        if (!fs.existsSync(path.join(dir, 'index.html'))) usage(`${dir} has no index.html`);
        if (!fs.existsSync(path.join(dir, 'pkg', 'rngd_lab.js'))) usage(`${dir}/pkg has no wasm package`);
        o.www.push(dir);
        break;
      }
      case '--rounds': o.rounds = Math.round(num(1)); break;
      case '--warmup': o.warmup = num(0); break;
      case '--windows': o.windows = Math.round(num(1)); break;
      case '--window': o.window = num(0.5); break;
      case '--runs': {
        o.runs = next().split(',').map((s) => s.trim()).filter(Boolean);
        const bad = o.runs.filter((r) => !['sgd', 'adam', 'rngd'].includes(r));
        if (o.runs.length === 0 || bad.length) usage(`--runs takes sgd, adam, rngd; got ${o.runs.join(',')}`);
        break;
      }
      case '--free': o.free = true; break;
      case '--json': o.json = next(); break;
      case '-h':
      case '--help': usage(); break;
      default: usage(`unknown argument: ${arg}`);
    }
  }
  if (o.www.length === 0) o.www.push(path.join(REPO, 'www'));
  return o;
}

function median(xs) {
  const v = xs.filter(Number.isFinite).sort((a, b) => a - b);
  if (v.length === 0) return null;
  const n = v.length;
  return n % 2 ? v[(n - 1) / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

/** Installed before the page's scripts: logs [time, step] whenever a run's latest evaluation changes. */
function installPaceLog() {
  window.__paceLog = {};
  const watch = () => {
    const body = document.querySelector('#runs tbody');
    if (!body) return false;
    new MutationObserver((records) => {
      const t = performance.now();
      for (const r of records) {
        const el = r.target;
        if (el.dataset?.testid !== 'test-accuracy' || !el.dataset.step) continue;
        const log = (window.__paceLog[el.dataset.run] ??= []);
        const step = Number(el.dataset.step);
        if (log.length === 0 || log[log.length - 1][1] !== step) log.push([t, step]);
      }
    }).observe(body, { subtree: true, attributes: true, attributeFilter: ['data-step'] });
    return true;
  };
  if (!watch()) document.addEventListener('DOMContentLoaded', watch);
}

/** Paces (steps/s) of up to `windows` consecutive windows of `log` ([[ms, step]]) from `t0` (ms). */
function windowPaces(log, t0, windows, windowMs) {
  const points = log.filter(([t]) => t >= t0);
  const out = [];
  let i = 0;
  while (out.length < windows && i < points.length) {
    const j = points.findIndex(([t], k) => k > i && t - points[i][0] >= windowMs);
    if (j < 0) break;
    out.push((1000 * (points[j][1] - points[i][1])) / (points[j][0] - points[i][0]));
    i = j;
  }
  return out;
}

/** One measurement of one folder: lock-step (the common counter) or free-running (each run). */
async function measure(browser, server, o, free) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  try {
    await context.addInitScript(installPaceLog);
    const page = await context.newPage();
    page.on('pageerror', (e) => process.stderr.write(`bench-page: page error: ${e.message}\n`));
    const hash = `runs=${o.runs.join(',')}&backend=cpu&mode=${free ? 'free' : 'lockstep'}`;
    await page.goto(`${server.url}#${hash}`);
    await page.waitForFunction(() => document.body.dataset.ready === 'true' || !document.querySelector('#error').hidden, null, {
      timeout: 120_000,
      polling: 200,
    });
    const banner = await page.evaluate(() => (document.querySelector('#error').hidden ? null : document.querySelector('#error').textContent.trim()));
    if (banner) throw new Error(`the page shows an error: ${banner}`);
    const hasFree = await page.evaluate(() => Boolean(document.querySelector('[name="free"]')));
    if (free && !hasFree) return null;
    // Older pages read the settings from the hash as well; the form must agree.
    const backend = await page.evaluate(() => document.querySelector('#backend').value);
    if (backend !== 'cpu') throw new Error(`the page did not take backend=cpu from the URL (it shows ${backend})`);
    await page.getByTestId('start').click();
    const start = await page.evaluate(() => performance.now());
    const t0 = start + 1000 * o.warmup;
    const windowMs = 1000 * o.window;
    // Until every run has its windows; a slow page gets up to four times as long.
    const limit = Date.now() + 1000 * o.warmup + 4 * o.windows * windowMs + 30_000;
    let log;
    let workers;
    for (;;) {
      await page.waitForTimeout(500);
      ({ log, workers } = await page.evaluate(() => ({ log: window.__paceLog, workers: window.__rngdLab?.workers ?? null })));
      if (o.runs.every((id) => windowPaces(log[id] ?? [], t0, o.windows, windowMs).length >= o.windows)) break;
      if (Date.now() > limit) {
        process.stderr.write('bench-page: not every run finished its windows in time; the medians use what there is\n');
        break;
      }
    }
    await page.getByTestId('pause').click().catch(() => {});
    const out = { workers, runs: {} };
    for (const id of o.runs) {
      const paces = windowPaces(log[id] ?? [], t0, o.windows, windowMs);
      out.runs[id] = { windows: paces, median: median(paces), steps: (log[id] ?? []).at(-1)?.[1] ?? 0 };
    }
    // Lock-step: every run is at the common step; its pace is the slowest run's.
    out.common = free ? null : median(o.runs.map((id) => out.runs[id].median));
    out.commonWindows = free ? null : out.runs[o.runs[o.runs.length - 1]].windows;
    return out;
  } finally {
    await context.close().catch(() => {});
  }
}

async function main() {
  const o = parseArgs(process.argv.slice(2));
  const executablePath = process.env.CHROMIUM || '/usr/bin/chromium';
  if (!fs.existsSync(executablePath)) throw new Error(`Chromium not found at ${executablePath} (apt-get install chromium, or set CHROMIUM)`);
  const { chromium } = await import('playwright-core');

  const servers = [];
  let browser;
  const results = o.www.map((dir) => ({ www: dir, lockstep: [], free: [] }));
  try {
    for (const dir of o.www) servers.push(await startServer({ www: dir }));
    browser = await chromium.launch({ executablePath, headless: true, args: CHROMIUM_ARGS });
    const label = (i) => {
      const rel = path.relative(process.cwd(), o.www[i]);
      return `${String.fromCharCode(65 + i)} (${rel.startsWith('..') ? o.www[i] : rel || '.'})`;
    };
    for (let round = 0; round < o.rounds; round++) {
      for (let i = 0; i < o.www.length; i++) {
        const load = os.loadavg()[0].toFixed(2);
        const m = await measure(browser, servers[i], o, false);
        results[i].lockstep.push({ ...m, load });
        process.stderr.write(
          `bench-page: round ${round + 1}, ${label(i)} lock-step: ${m.common?.toFixed(1) ?? '-'} steps/s ` +
            `[windows ${m.commonWindows.map((x) => (x == null ? '-' : x.toFixed(1))).join(' ')}] (load ${load}, workers ${m.workers ?? 'n/a'})\n`,
        );
        if (o.free) {
          const f = await measure(browser, servers[i], o, true);
          if (f) {
            results[i].free.push({ ...f, load: os.loadavg()[0].toFixed(2) });
            process.stderr.write(
              `bench-page: round ${round + 1}, ${label(i)} free-running: ` +
                o.runs.map((id) => `${id} ${f.runs[id].median?.toFixed(1) ?? '-'}`).join(', ') +
                ' steps/s\n',
            );
          }
        }
      }
    }

    const cpu = os.cpus();
    console.log(
      `rngd-lab page pace, headless Chromium, backend cpu, runs ${o.runs.join(', ')}: ` +
        `median of ${o.rounds} round(s) × ${o.windows} windows of ${o.window} s after ${o.warmup} s of warm-up`,
    );
    console.log(`machine: ${cpu.length} × ${cpu[0]?.model ?? 'unknown CPU'}`);
    for (let i = 0; i < o.www.length; i++) {
      const r = results[i];
      const all = r.lockstep.flatMap((m) => m.commonWindows);
      r.lockstepMedian = median(all);
      console.log(`${label(i)}  lock-step: ${r.lockstepMedian?.toFixed(1) ?? '-'} steps/s (per round: ${r.lockstep.map((m) => m.common?.toFixed(1) ?? '-').join(', ')})`);
      if (r.free.length) {
        r.freeMedian = Object.fromEntries(o.runs.map((id) => [id, median(r.free.flatMap((m) => m.runs[id].windows))]));
        console.log(`${' '.repeat(label(i).length)}  free-running: ${o.runs.map((id) => `${id} ${r.freeMedian[id]?.toFixed(1) ?? '-'}`).join(', ')} steps/s`);
      } else if (o.free) {
        console.log(`${' '.repeat(label(i).length)}  free-running: this page has no free-running mode`);
      }
    }
    if (o.www.length > 1 && results[0].lockstepMedian) {
      for (let i = 1; i < o.www.length; i++) {
        const r = results[i].lockstepMedian;
        if (r) console.log(`${label(i)} ÷ ${label(0)}: ${(r / results[0].lockstepMedian).toFixed(2)} × the lock-step pace`);
      }
    }
    if (o.json) {
      fs.writeFileSync(o.json, JSON.stringify({ options: o, results }, null, 2) + '\n');
      process.stderr.write(`bench-page: wrote ${o.json}\n`);
    }
  } finally {
    if (browser) await browser.close().catch(() => {});
    for (const s of servers) await s.stop();
  }
}

main().catch((e) => {
  process.stderr.write(`bench-page: ${e.message}\n`);
  process.exit(1);
});
