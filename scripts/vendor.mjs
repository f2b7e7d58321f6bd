#!/usr/bin/env node
// Copies the browser builds of the npm dependencies the page uses into
// `www/vendor/` (git-ignored), so that the page works offline with no CDN and
// no bundler. Run after `npm ci`:  node scripts/vendor.mjs   (idempotent)

import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const OUT = path.join(REPO, 'www', 'vendor');

// [package, file inside the package, name in www/vendor/]
const FILES = [
  ['uplot', 'dist/uPlot.esm.js', 'uPlot.esm.js'],
  ['uplot', 'dist/uPlot.min.css', 'uPlot.min.css'],
  ['uplot', 'LICENSE', 'uPlot.LICENSE.txt'],
];

function fail(msg) {
  process.stderr.write(`vendor.mjs: ${msg}\n`);
  process.exit(1);
}

const pinned = JSON.parse(fs.readFileSync(path.join(REPO, 'package.json'), 'utf8'));
const wanted = { ...pinned.dependencies, ...pinned.devDependencies };

fs.mkdirSync(OUT, { recursive: true });
const checked = new Set();
let copied = 0;
for (const [pkg, rel, name] of FILES) {
  const pkgDir = path.join(REPO, 'node_modules', pkg);
  if (!checked.has(pkg)) {
    checked.add(pkg);
    let meta;
    try {
      meta = JSON.parse(fs.readFileSync(path.join(pkgDir, 'package.json'), 'utf8'));
    } catch {
      fail(`node_modules/${pkg} is missing: run \`npm ci\` (or \`npm install\`) first`);
    }
    if (wanted[pkg] && wanted[pkg] !== meta.version) {
      fail(`node_modules/${pkg} is ${meta.version} but package.json pins ${wanted[pkg]}: run \`npm ci\``);
    }
  }
  const src = path.join(pkgDir, rel);
  const dst = path.join(OUT, name);
  if (!fs.existsSync(src)) fail(`${path.relative(REPO, src)} not found`);
  const data = fs.readFileSync(src);
  if (fs.existsSync(dst) && fs.readFileSync(dst).equals(data)) continue;
  fs.writeFileSync(dst, data);
  copied++;
}
process.stdout.write(
  `vendor.mjs: www/vendor/ up to date (${FILES.length} files, ${copied} written)\n`,
);
