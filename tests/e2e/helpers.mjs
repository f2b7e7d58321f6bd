// Shared helpers for the end-to-end tests: the static server as a child
// process, a headless Chromium through playwright-core, error collection.

import { execFileSync } from 'node:child_process';
import { before, after } from 'node:test';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

import { CHROMIUM_ARGS } from '../../scripts/chromium.mjs';
import { startServer as startServeChild } from '../../scripts/serve.mjs';

export const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const ARTIFACTS = path.join(REPO, 'tests', 'e2e', 'artifacts');

export { CHROMIUM_ARGS };

/** Throw a clear error unless the wasm package and the vendored uPlot exist.
 *  uPlot is vendored on the fly when node_modules has it. */
export function checkBuildOutputs() {
  const pkg = path.join(REPO, 'www', 'pkg', 'rngd_lab.js');
  if (!fs.existsSync(pkg)) {
    throw new Error(
      'www/pkg/rngd_lab.js does not exist: the wasm package must be built first ' +
        '(scripts/test.sh and scripts/demo.sh build it, or run `wasm-pack build --release --target web --out-dir www/pkg`).',
    );
  }
  if (!fs.existsSync(path.join(REPO, 'www', 'vendor', 'uPlot.esm.js'))) {
    execFileSync(process.execPath, [path.join(REPO, 'scripts', 'vendor.mjs')], { stdio: 'inherit' });
  }
}

/** Start `scripts/serve.mjs --port 0` (a child process) and wait for its `serving URL` line.
 *  @returns {Promise<{url: string, stop: () => Promise<void>}>} */
export const startServer = (opts) => startServeChild(opts);

export async function launchBrowser() {
  const executablePath = process.env.CHROMIUM || '/usr/bin/chromium';
  if (!fs.existsSync(executablePath)) {
    throw new Error(
      `Chromium not found at ${executablePath}: install it (apt-get install -y chromium) ` +
        'or point the CHROMIUM environment variable at a Chromium binary.',
    );
  }
  return chromium.launch({ executablePath, headless: true, args: CHROMIUM_ARGS });
}

/** Collect console errors and uncaught page errors of a page (and its workers). */
export function collectErrors(page) {
  const errors = [];
  page.on('console', (msg) => {
    if (msg.type() === 'error') errors.push(`console.error: ${msg.text()}`);
  });
  page.on('pageerror', (err) => errors.push(`page error: ${err.message}`));
  page.on('crash', () => errors.push('page crashed'));
  return errors;
}

/** The path of artifact `name`, its folder created. */
export function artifactPath(name) {
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  return path.join(ARTIFACTS, name);
}

export async function screenshot(page, name) {
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  const file = path.join(ARTIFACTS, name);
  await page.screenshot({ path: file, fullPage: true });
  return file;
}

/**
 * The server and browser a test file shares: registers `before` (checks the
 * build outputs, starts both) and `after` (stops both) and returns an object
 * whose `server` and `browser` are set once `before` has run.
 */
export function useBrowser() {
  const env = { server: null, browser: null };
  before(async () => {
    checkBuildOutputs();
    env.server = await startServer();
    env.browser = await launchBrowser();
  });
  after(async () => {
    await env.browser?.close().catch(() => {});
    await env.server?.stop();
  });
  return env;
}

// ------------------------------------------------------------ page helpers

export const READY_TIMEOUT = 90_000; // wasm + dataset load

/** Open the page in a fresh context of `browser`, with an optional URL hash
 *  (settings) and init script; resolves once the workers reported ready (or
 *  the page shows an error). */
export async function openPage(browser, server, t, { viewport = { width: 1280, height: 900 }, hash = '', init = null } = {}) {
  const context = await browser.newContext({ viewport });
  t.after(() => context.close().catch(() => {}));
  // A script that runs before the page's own (e.g. to take a browser feature away).
  if (init) await context.addInitScript(init);
  const page = await context.newPage();
  const errors = collectErrors(page);
  await page.goto(server.url + (hash ? `#${hash.replace(/^#/, '')}` : ''));
  await page.waitForFunction(
    () => document.body.dataset.ready === 'true' || !document.querySelector('#error').hidden,
    null,
    { timeout: READY_TIMEOUT, polling: 200 },
  );
  return { page, errors };
}

/** The text of the page's error banner, or null when it is hidden. */
export async function errorBanner(page) {
  const el = page.getByTestId('error');
  return (await el.isVisible()) ? (await el.locator('[data-role="message"]').innerText()).trim() : null;
}

/** Check exactly the optimizers in `ids` ('sgd', 'adam', 'rngd'). */
export async function chooseRuns(page, ids) {
  for (const id of ['sgd', 'adam', 'rngd']) await page.getByTestId(`use-${id}`).setChecked(ids.includes(id));
}

/** A cell of a run's row in the status table, by its data-testid. */
export const cell = (page, testid, run) => page.locator(`[data-testid="${testid}"][data-run="${run}"]`);

/** The step of a run's latest point (0 before the first). */
export async function runStep(page, run) {
  return Number(await cell(page, 'test-accuracy', run).getAttribute('data-step')) || 0;
}

/** Wait until every run in `runs` has a point at step ≥ min, or the error banner shows. */
export async function waitForSteps(page, runs, min, timeout = 60_000) {
  await page.waitForFunction(
    ([ids, n]) =>
      ids.every((id) => Number(document.querySelector(`[data-testid="test-accuracy"][data-run="${id}"]`)?.dataset.step) >= n) ||
      !document.querySelector('#error').hidden,
    [runs, min],
    { timeout, polling: 200 },
  );
}

/**
 * Open the page (openPage) and run `body({page, errors})`; on failure, save a
 * screenshot named after the test before passing the error on.
 */
export async function withPage(env, t, body, opts) {
  const { page, errors } = await openPage(env.browser, env.server, t, opts);
  try {
    await body({ page, errors });
  } catch (e) {
    await saveFailure(t, page);
    throw e;
  }
}

/** Save a screenshot named after a failing test (best effort). */
export async function saveFailure(t, page) {
  try {
    await screenshot(page, `failure-${t.name.replace(/[^a-z0-9]+/gi, '-').slice(0, 60)}.png`);
  } catch {
    // the page may be gone
  }
}
