#!/usr/bin/env node
// Browser step-time benchmark, headless: serves the repo with scripts/serve.mjs,
// opens www/bench.html in Debian's Chromium through playwright-core (WebGPU on,
// as in the end-to-end tests), waits for the result and prints the table.
// When a native build exists (target/release/rngd-lab), it also times the same
// network natively with `rngd-lab bench --backends cpu` and prints wasm ÷ native
// for the CPU path. Both tables split each CPU step into the native bench's
// parts (fwd+bwd, metric, precond, inverse, other).
//
// `--presets fast` also times RNGD's fast preset, with the settings the wasm
// package gives it (rngdPresets()); natively it is the bench variant
// `<metric_every>:<input_rank>` besides the literal 1:0.
//
//   node scripts/bench-web.mjs [--rounds 5] [--steps 100] [--warmup 120]
//       [--optimizers sgd,adam,rngd] [--backends cpu,gpu] [--presets fast] [--worker]
//       [--json FILE] [--no-native] [--timeout SECONDS]
//
// Needs the wasm package in www/pkg (source scripts/lib.sh && build_web) and
// `npm install` (playwright-core). CHROMIUM=/path overrides /usr/bin/chromium.

import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { CHROMIUM_ARGS } from './chromium.mjs';
import { startServer } from './serve.mjs';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

function usage(msg) {
  if (msg) process.stderr.write(`bench-web.mjs: ${msg}\n`);
  process.stderr.write(
    'usage: node scripts/bench-web.mjs [--rounds N] [--steps N] [--warmup N] [--optimizers sgd,adam,rngd]\n' +
      '                                 [--backends cpu,gpu] [--presets fast] [--worker] [--json FILE] [--no-native]\n' +
      '                                 [--timeout S]\n',
  );
  process.exit(2);
}

function parseArgs(argv) {
  const o = { rounds: 5, steps: 100, warmup: 120, optimizers: null, backends: null, presets: null, worker: false, json: null, native: true, timeout: 1800 };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const next = () => {
      if (i + 1 >= argv.length) usage(`${arg} needs a value`);
      return argv[++i];
    };
    const int = (min) => {
      const v = next();
      if (!/^\d+$/.test(v) || Number(v) < min) usage(`${arg} needs an integer ≥ ${min}, got ${v}`);
      return Number(v);
    };
    switch (arg) {
      case '--rounds': o.rounds = int(1); break;
      case '--steps': o.steps = int(1); break;
      case '--warmup': o.warmup = int(0); break;
      case '--optimizers': o.optimizers = next(); break;
      case '--backends': o.backends = next(); break;
      case '--presets': o.presets = next(); break;
      case '--worker': o.worker = true; break;
      case '--json': o.json = next(); break;
      case '--no-native': o.native = false; break;
      case '--timeout': o.timeout = int(1); break;
      case '-h':
      case '--help': usage(); break;
      default: usage(`unknown argument: ${arg}`);
    }
  }
  return o;
}

/** The native CPU timing of the same net, or null (with a note on stderr). */
function nativeBench(o, result) {
  const bin = path.join(REPO, 'target', 'release', 'rngd-lab');
  if (!o.native || !fs.existsSync(bin) || !result.backends.cpu) return null;
  const json = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'rngd-bench-')), 'native.json');
  // Each RNGD preset row of the page is the native variant with the same speed
  // settings, written k:r:T so that the refresh period travels too.
  const variants = ['1:0:100'];
  const presetOf = {}; // native row name → page row name
  for (const row of result.rows ?? []) {
    if (!row.preset) continue;
    const { metric_every: k, input_rank: r, refresh: t } = row.rngd;
    const v = `${k}:${r}:${t}`;
    if (!variants.includes(v)) variants.push(v);
    // The native bench names a variant after the preset it matches, as the page does.
    presetOf[row.preset === 'literal' ? 'rngd' : `rngd ${row.preset}`] = row.name;
  }
  const args = [
    'bench', '--backends', 'cpu', '--variants', variants.join(','),
    '--hidden', result.options.hidden.join(','), '--batch', String(result.options.batch),
    '--rounds', String(o.rounds), '--steps', String(o.steps), '--warmup', String(o.warmup), '--json', json,
  ];
  process.stderr.write(`bench-web: native run: ${bin} ${args.join(' ')}\n`);
  try {
    execFileSync(bin, args, { stdio: ['ignore', 'ignore', 'inherit'] });
  } catch (e) {
    process.stderr.write(`bench-web: the native run failed (${e.message}); no wasm ÷ native\n`);
    return null;
  }
  const rec = JSON.parse(fs.readFileSync(json, 'utf8'));
  fs.rmSync(path.dirname(json), { recursive: true, force: true });
  const out = {};
  const split = {};
  for (const row of rec.nets[0].rows) {
    const name = presetOf[row.name] ?? row.name;
    out[name] = row.cells.cpu?.ms_per_step_median ?? null;
    split[name] = row.cells.cpu?.split_seconds ?? null;
  }
  return { bin, built: fs.statSync(bin).mtime.toISOString(), cpu: rec.cpu, msPerStep: out, split };
}

async function main() {
  const o = parseArgs(process.argv.slice(2));
  if (!fs.existsSync(path.join(REPO, 'www', 'pkg', 'rngd_lab.js'))) {
    throw new Error('www/pkg/rngd_lab.js does not exist: build the wasm package first (source scripts/lib.sh && build_web)');
  }
  const executablePath = process.env.CHROMIUM || '/usr/bin/chromium';
  if (!fs.existsSync(executablePath)) throw new Error(`Chromium not found at ${executablePath} (apt-get install chromium, or set CHROMIUM)`);
  const { chromium } = await import('playwright-core');

  const server = await startServer();
  let browser;
  try {
    browser = await chromium.launch({ executablePath, headless: true, args: CHROMIUM_ARGS });
    const page = await browser.newPage();
    page.on('console', (m) => {
      if (m.text().startsWith('bench: ')) process.stderr.write(`bench-web: ${m.text().slice(7)}\n`);
      else if (m.type() === 'error' || m.type() === 'warning') process.stderr.write(`bench-web: console.${m.type()}: ${m.text()}\n`);
    });
    page.on('pageerror', (e) => process.stderr.write(`bench-web: page error: ${e.message}\n`));
    const q = new URLSearchParams({ rounds: o.rounds, steps: o.steps, warmup: o.warmup });
    if (o.optimizers) q.set('optimizers', o.optimizers);
    if (o.backends) q.set('backends', o.backends);
    if (o.presets) q.set('presets', o.presets);
    if (o.worker) q.set('worker', '1');
    await page.goto(`${server.url}bench.html?${q}`);
    await page.waitForFunction(() => ['done', 'error'].includes(document.body.dataset.state), null, {
      timeout: o.timeout * 1000,
      polling: 500,
    });
    const error = await page.evaluate(() => window.benchError ?? null);
    if (error) throw new Error(`the benchmark page failed: ${error}`);
    const result = await page.evaluate(() => window.benchResult);
    await browser.close();
    browser = null;
    await server.stop();

    console.log(result.text);
    const native = nativeBench(o, result);
    if (native) {
      result.native = native;
      result.wasmOverNative = {};
      console.log('');
      console.log(`CPU path, wasm in Chromium ÷ native (${path.relative(REPO, native.bin)}, built ${native.built}, one thread on ${native.cpu ?? 'this CPU'}):`);
      const w0 = Math.max(9, ...Object.keys(result.cells).map((k) => k.length));
      // The page's split order (the native bench's), and the same names as trainer.timings().
      const keys = result.splitParts.map(([key]) => key);
      const parts = result.splitParts.map(([, label], i) => (i === 0 ? `native: ${label}` : label));
      console.log(
        `${'optimizer'.padEnd(w0)}  ${'wasm ms/step'.padStart(12)}  ${'native ms/step'.padStart(14)}  ${'wasm ÷ native'.padStart(13)}  ` +
          parts.map((p) => p.padStart(Math.max(p.length, 4))).join('  '),
      );
      for (const [opt, cells] of Object.entries(result.cells)) {
        const w = cells.cpu?.msMedian;
        const n = native.msPerStep[opt];
        const r = w != null && n ? w / n : null;
        result.wasmOverNative[opt] = r;
        const f = (x) => (x == null ? '-' : x.toFixed(3));
        const split = native.split[opt];
        const total = split ? keys.reduce((a, k) => a + (split[k] ?? 0), 0) : 0;
        const cols = parts.map((p, i) => (total > 0 ? `${Math.round((100 * (split[keys[i]] ?? 0)) / total)}%` : '-').padStart(Math.max(p.length, 4)));
        console.log(`${opt.padEnd(w0)}  ${f(w).padStart(12)}  ${f(n).padStart(14)}  ${(r == null ? '-' : r.toFixed(2)).padStart(13)}  ${cols.join('  ')}`);
      }
      console.log('(native and wasm ran one after the other, not interleaved: a ratio of medians)');
    }
    if (o.json) {
      fs.writeFileSync(o.json, JSON.stringify(result, null, 2) + '\n');
      process.stderr.write(`bench-web: wrote ${o.json}\n`);
    }
  } finally {
    if (browser) await browser.close().catch(() => {});
    await server.stop();
  }
}

main().catch((e) => {
  process.stderr.write(`bench-web: ${e.message}\n`);
  process.exit(1);
});
