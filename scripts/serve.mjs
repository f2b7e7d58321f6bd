#!/usr/bin/env node
// Dependency-free static file server for the rngd-lab page.
//
//   node scripts/serve.mjs [--port N] [--host 127.0.0.1] [--www DIR]
//
// Serves the repo's `www/` (or DIR, e.g. a copy of an older page to compare
// with) at `/` and the repo's `assets/` at `/assets/`.
// Prints exactly one line, `serving http://HOST:PORT/`, once listening
// (tests parse it). `--port 0` picks a free port. Nothing else goes to stdout;
// problems go to stderr.
//
// Imported, it serves nothing itself: `startServer({www})` runs it as a child
// process on a free port, for the tests and the benchmarks.

import http from 'node:http';
import fs from 'node:fs';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const SCRIPT = fileURLToPath(import.meta.url);
const REPO = path.resolve(path.dirname(SCRIPT), '..');
let WWW = path.join(REPO, 'www');
const ASSETS = path.join(REPO, 'assets');

const MIME = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.wasm': 'application/wasm',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.txt': 'text/plain; charset=utf-8',
  '.md': 'text/plain; charset=utf-8',
  '.gz': 'application/octet-stream',
};

function usage(msg) {
  if (msg) process.stderr.write(`serve.mjs: ${msg}\n`);
  process.stderr.write('usage: node scripts/serve.mjs [--port N] [--host 127.0.0.1] [--www DIR]\n');
  process.exit(2);
}

function parseArgs(argv) {
  const opts = { port: 8000, host: '127.0.0.1', www: null };
  for (let i = 0; i < argv.length; i++) {
    let arg = argv[i];
    let value;
    const eq = arg.indexOf('=');
    if (arg.startsWith('--') && eq > 0) {
      value = arg.slice(eq + 1);
      arg = arg.slice(0, eq);
    }
    const next = () => {
      if (value !== undefined) return value;
      if (i + 1 >= argv.length) usage(`${arg} needs a value`);
      return argv[++i];
    };
    switch (arg) {
      case '--port': {
        const v = next();
        const n = Number(v);
        if (!/^\d+$/.test(v) || n > 65535) usage(`bad port: ${v}`);
        opts.port = n;
        break;
      }
      case '--host':
        opts.host = next();
        break;
      case '--www': {
        const dir = path.resolve(next());
        if (!fs.existsSync(path.join(dir, 'index.html'))) usage(`--www ${dir} has no index.html`);
        opts.www = dir;
        break;
      }
      case '-h':
      case '--help':
        usage();
        break;
      default:
        usage(`unknown argument: ${arg}`);
    }
  }
  return opts;
}

/** Map a URL path to a file path inside WWW or ASSETS, or null if not allowed. */
function resolvePath(urlPath) {
  let decoded;
  try {
    decoded = decodeURIComponent(urlPath);
  } catch {
    return null;
  }
  if (decoded.includes('\0') || decoded.includes('\\')) return null;
  // Reject any `..` segment outright rather than normalising it away.
  const segments = decoded.split('/');
  if (segments.some((s) => s === '..')) return null;

  let base = WWW;
  let rel = decoded;
  if (decoded === '/assets' || decoded.startsWith('/assets/')) {
    base = ASSETS;
    rel = decoded.slice('/assets'.length);
  }
  const full = path.resolve(base, '.' + (rel.startsWith('/') ? rel : '/' + rel));
  if (full !== base && !full.startsWith(base + path.sep)) return null;
  return full;
}

/** The page's Content-Security-Policy, sent with every response as well as in
 *  index.html's meta tag: a meta tag does not reach Web Workers, which take
 *  their policy from their own script's response, and the workers are where
 *  the wasm runs and the dataset is fetched. Only this origin; wasm compiles
 *  ('wasm-unsafe-eval'), nothing else is evaluated; no inline script or style. */
const CSP =
  "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; worker-src 'self'; connect-src 'self'; " +
  "img-src 'self' data: blob:; style-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; " +
  "form-action 'none'; frame-ancestors 'none'";

function send(res, status, text, headers = {}) {
  const body = Buffer.from(text + '\n', 'utf8');
  res.writeHead(status, {
    'Content-Type': 'text/plain; charset=utf-8',
    'Content-Length': body.length,
    'X-Content-Type-Options': 'nosniff',
    ...headers,
  });
  res.end(res.req.method === 'HEAD' ? undefined : body);
}

function handle(req, res) {
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    send(res, 405, 'method not allowed', { Allow: 'GET, HEAD' });
    return;
  }
  let pathname;
  try {
    pathname = new URL(req.url, 'http://localhost').pathname;
  } catch {
    send(res, 400, 'bad request');
    return;
  }
  let file = resolvePath(pathname);
  if (file === null) {
    send(res, 403, 'forbidden');
    return;
  }
  fs.stat(file, (err, st) => {
    if (!err && st.isDirectory()) {
      // No directory listings: a directory serves its index.html or nothing.
      if (!pathname.endsWith('/')) {
        res.writeHead(301, { Location: pathname + '/', 'Content-Length': 0 });
        res.end();
        return;
      }
      file = path.join(file, 'index.html');
      fs.stat(file, (err2, st2) => serveFile(req, res, file, err2, st2));
      return;
    }
    serveFile(req, res, file, err, st);
  });
}

function serveFile(req, res, file, err, st) {
  if (err || !st.isFile()) {
    send(res, 404, 'not found');
    return;
  }
  const type = MIME[path.extname(file).toLowerCase()] || 'application/octet-stream';
  res.writeHead(200, {
    'Content-Type': type,
    'Content-Length': st.size,
    // A development server: always revalidate, so a rebuilt wasm is picked up.
    'Cache-Control': 'no-cache',
    'X-Content-Type-Options': 'nosniff',
    'Content-Security-Policy': CSP,
  });
  if (req.method === 'HEAD') {
    res.end();
    return;
  }
  const stream = fs.createReadStream(file);
  stream.on('error', (e) => {
    process.stderr.write(`serve.mjs: read error ${file}: ${e.message}\n`);
    res.destroy(e);
  });
  stream.pipe(res);
}

function main() {
  const opts = parseArgs(process.argv.slice(2));
  if (opts.www) WWW = opts.www;
  const server = http.createServer(handle);
  server.on('error', (e) => {
    process.stderr.write(`serve.mjs: ${e.message}\n`);
    process.exit(1);
  });
  server.listen(opts.port, opts.host, () => {
    const { port } = server.address();
    const host = opts.host.includes(':') ? `[${opts.host}]` : opts.host;
    process.stdout.write(`serving http://${host}:${port}/\n`);
  });

  function shutdown() {
    server.close(() => process.exit(0));
    server.closeAllConnections?.();
    setTimeout(() => process.exit(0), 1000).unref();
  }
  process.on('SIGINT', shutdown);
  process.on('SIGTERM', shutdown);
}

/**
 * Runs this server as a child process on a free port and waits for its
 * `serving URL` line.
 * @param {{www?: string}} opts  www: the folder to serve at / (default the repo's www/)
 * @returns {Promise<{url: string, stop: () => Promise<void>, child: import('node:child_process').ChildProcess}>}
 */
export function startServer({ www } = {}) {
  const args = [SCRIPT, '--port', '0', ...(www ? ['--www', www] : [])];
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d) => {
    stderr += d;
  });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 3000);
      await exited;
      clearTimeout(t);
    }
  };
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => {
      stop();
      reject(new Error(`serve.mjs did not start within 10 s; stderr: ${stderr}`));
    }, 10_000);
    child.stdout.on('data', (d) => {
      out += d;
      const m = out.match(/^serving (http:\/\/\S+\/)$/m);
      if (m) {
        clearTimeout(timer);
        resolve({ url: m[1], stop, child });
      }
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`serve.mjs exited early (code ${code}, signal ${signal}); stderr: ${stderr}`));
    });
  });
}

if (process.argv[1] && path.resolve(process.argv[1]) === SCRIPT) main();
