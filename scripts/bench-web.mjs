#!/usr/bin/env node
// Browser step-time benchmark, headless: serves the repo with scripts/serve.mjs,
// opens www/bench.html in Debian's Chromium through playwright-core (WebGPU on,
// as in the end-to-end tests), waits for the result and prints the table.
// When a native build exists (target/release/rngd-lab), it also times the same
// network natively with `rngd-lab bench --backends cpu` and prints wasm ÷ native
// for the CPU path.
//
//   node scripts/bench-web.mjs [--rounds 5] [--steps 100] [--warmup 120]
//       [--optimizers sgd,adam,rngd] [--backends cpu,gpu] [--worker]
//       [--json FILE] [--no-native] [--timeout SECONDS]
//
// Needs the wasm package in www/pkg (source scripts/lib.sh && build_web) and
// `npm install` (playwright-core). CHROMIUM=/path overrides /usr/bin/chromium.

import { spawn, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { CHROMIUM_ARGS } from './chromium.mjs';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

function usage(msg) {
  if (msg) process.stderr.write(`bench-web.mjs: ${msg}\n`);
  process.stderr.write(
    'usage: node scripts/bench-web.mjs [--rounds N] [--steps N] [--warmup N] [--optimizers sgd,adam,rngd]\n' +
      '                                 [--backends cpu,gpu] [--worker] [--json FILE] [--no-native] [--timeout S]\n',
  );
  process.exit(2);
}

function parseArgs(argv) {
  const o = { rounds: 5, steps: 100, warmup: 120, optimizers: null, backends: null, worker: false, json: null, native: true, timeout: 1800 };
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

/** Starts scripts/serve.mjs on a free port; resolves to {url, stop}. */
function startServer() {
  const child = spawn(process.execPath, [path.join(REPO, 'scripts', 'serve.mjs'), '--port', '0'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  const exited = new Promise((resolve) => child.once('exit', resolve));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      await exited;
    }
  };
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => {
      stop();
      reject(new Error(`serve.mjs did not start within 10 s: ${stderr}`));
    }, 10_000);
    child.stdout.on('data', (d) => {
      out += d;
      const m = out.match(/^serving (http:\/\/\S+\/)$/m);
      if (m) {
        clearTimeout(timer);
        resolve({ url: m[1], stop });
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`serve.mjs exited early (code ${code}): ${stderr}`));
    });
  });
}

/** The native CPU timing of the same net, or null (with a note on stderr). */
function nativeBench(o, result) {
  const bin = path.join(REPO, 'target', 'release', 'rngd-lab');
  if (!o.native || !fs.existsSync(bin) || !result.backends.cpu) return null;
  const json = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'rngd-bench-')), 'native.json');
  const args = [
    'bench', '--backends', 'cpu', '--variants', '1:0',
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
  for (const row of rec.nets[0].rows) out[row.name] = row.cells.cpu?.ms_per_step_median ?? null;
  return { bin, built: fs.statSync(bin).mtime.toISOString(), cpu: rec.cpu, msPerStep: out };
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
      console.log(`${'optimizer'.padEnd(9)}  ${'wasm ms/step'.padStart(12)}  ${'native ms/step'.padStart(14)}  ${'wasm ÷ native'.padStart(13)}`);
      for (const [opt, cells] of Object.entries(result.cells)) {
        const w = cells.cpu?.msMedian;
        const n = native.msPerStep[opt];
        const r = w != null && n ? w / n : null;
        result.wasmOverNative[opt] = r;
        const f = (x) => (x == null ? '-' : x.toFixed(3));
        console.log(`${opt.padEnd(9)}  ${f(w).padStart(12)}  ${f(n).padStart(14)}  ${(r == null ? '-' : r.toFixed(2)).padStart(13)}`);
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
