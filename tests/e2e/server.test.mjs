// Tests of scripts/serve.mjs: MIME types, 404s, no directory listing, no path
// traversal, --www. Needs neither the wasm package nor a browser.
//   node --test tests/e2e/

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { REPO, startServer } from './helpers.mjs';

let server;
before(async () => {
  server = await startServer();
});
after(async () => {
  await server?.stop();
});

/** Raw GET/HEAD with the path sent exactly as given (no URL normalisation). */
function request(rawPath, method = 'GET') {
  const { hostname, port } = new URL(server.url);
  return new Promise((resolve, reject) => {
    const req = http.request({ hostname, port, path: rawPath, method }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.on('error', reject);
    req.end();
  });
}

test('prints one `serving` line on 127.0.0.1 with the port it picked', () => {
  assert.match(server.url, /^http:\/\/127\.0\.0\.1:\d+\/$/);
  assert.notEqual(new URL(server.url).port, '0');
});

test('serves www/ at / with the right MIME types', async () => {
  const cases = [
    ['/', 'text/html', 'index.html'],
    ['/index.html', 'text/html', 'index.html'],
    ['/main.js', 'text/javascript', 'main.js'],
    ['/style.css', 'text/css', 'style.css'],
    ['/favicon.svg', 'image/svg+xml', 'favicon.svg'],
  ];
  for (const [p, type, file] of cases) {
    const res = await request(p);
    assert.equal(res.status, 200, p);
    assert.equal(res.headers['content-type'].split(';')[0], type, p);
    assert.equal(res.headers['content-encoding'], undefined, p);
    assert.deepEqual(res.body, fs.readFileSync(path.join(REPO, 'www', file)), p);
  }
  const head = await request('/main.js', 'HEAD');
  assert.equal(head.status, 200);
  assert.equal(Number(head.headers['content-length']), fs.statSync(path.join(REPO, 'www', 'main.js')).size);
  assert.equal(head.body.length, 0);
});

test('serves .wasm as application/wasm', { skip: !fs.existsSync(path.join(REPO, 'www', 'pkg', 'rngd_lab_bg.wasm')) && 'www/pkg not built' }, async () => {
  const res = await request('/pkg/rngd_lab_bg.wasm', 'HEAD');
  assert.equal(res.status, 200);
  assert.equal(res.headers['content-type'], 'application/wasm');
});

test('serves assets/ at /assets/, gzip files as raw bytes', { skip: !fs.existsSync(path.join(REPO, 'assets', 'mnist')) && 'assets/mnist missing' }, async () => {
  const res = await request('/assets/mnist/test-labels-idx1-ubyte.gz');
  assert.equal(res.status, 200);
  assert.equal(res.headers['content-type'], 'application/octet-stream');
  assert.equal(res.headers['content-encoding'], undefined);
  assert.deepEqual(res.body, fs.readFileSync(path.join(REPO, 'assets', 'mnist', 'test-labels-idx1-ubyte.gz')));
  assert.deepEqual([...res.body.subarray(0, 2)], [0x1f, 0x8b], 'still gzip');
});

test('404 for missing files, no directory listing', async () => {
  assert.equal((await request('/no-such-file.js')).status, 404);
  assert.equal((await request('/assets/no-such-file')).status, 404);
  // A directory without index.html is not listed.
  for (const p of ['/assets/', '/assets/mnist/']) {
    const res = await request(p);
    assert.equal(res.status, 404, p);
    assert.doesNotMatch(res.body.toString(), /idx|README/, p);
  }
  assert.equal((await request('/assets')).status, 301);
});

test('path traversal is blocked', async () => {
  const attempts = [
    '/../package.json',
    '/%2e%2e/package.json',
    '/%2E%2E%2Fpackage.json',
    '/assets/../package.json',
    '/assets/%2e%2e/package.json',
    '/assets/..%2f..%2fpackage.json',
    '/..%5cpackage.json',
    '/pkg/%00.js',
    '//etc/passwd',
    '/%2fetc%2fpasswd',
  ];
  for (const p of attempts) {
    const res = await request(p);
    assert.ok(res.status === 403 || res.status === 404 || res.status === 400, `${p} -> ${res.status}`);
    assert.doesNotMatch(res.body.toString(), /"name"|root:/, p);
  }
});

test('only GET and HEAD', async () => {
  const res = await request('/index.html', 'POST');
  assert.equal(res.status, 405);
});

test('--www serves another folder at /, with the repo\'s assets', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rngd-www-'));
  fs.writeFileSync(path.join(dir, 'index.html'), '<!doctype html><title>an older page</title>\n');
  const other = await startServer({ www: dir });
  try {
    const get = (p) =>
      new Promise((resolve, reject) => {
        http.get(new URL(p, other.url), (res) => {
          const chunks = [];
          res.on('data', (c) => chunks.push(c));
          res.on('end', () => resolve({ status: res.statusCode, body: Buffer.concat(chunks).toString() }));
        }).on('error', reject);
      });
    const index = await get('/');
    assert.equal(index.status, 200);
    assert.match(index.body, /an older page/);
    assert.equal((await get('/main.js')).status, 404, 'nothing of the repo\'s www/');
    if (fs.existsSync(path.join(REPO, 'assets', 'mnist'))) {
      assert.equal((await get('/assets/mnist/test-labels-idx1-ubyte.gz')).status, 200);
    }
  } finally {
    await other.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
