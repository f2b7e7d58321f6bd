// End-to-end tests of the backend choice: the Backend select (auto / GPU /
// CPU), each run's badge, the header line, and the fall-back to the CPU when
// a run's GPU device is lost.
//   node --test tests/e2e/
// Needs the wasm package in www/pkg/, the npm dependencies and Chromium.
//
// The test browser runs with --enable-unsafe-webgpu, which gives headless
// Chromium a software WebGPU adapter (SwiftShader): `gpu` trains on it, and
// `auto` declines it (a software adapter is slower than the CPU path). A
// second browser without the flag has no adapter at all. SwiftShader is slow,
// (RNGD about 1 step/s on a 2-core machine), so the GPU runs here are 50 to
// 75 steps of SGD and Adam, and of RNGD once.
// RNGD_E2E_ALLOW_NO_WEBGPU=1 skips the tests that need the software adapter.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chromium } from 'playwright-core';
import {
  CHROMIUM_ARGS,
  useBrowser,
  screenshot,
  openPage,
  errorBanner,
  chooseRuns,
  cell,
  runStep,
  waitForSteps,
  saveFailure,
} from './helpers.mjs';

const NO_WEBGPU_OK = process.env.RNGD_E2E_ALLOW_NO_WEBGPU === '1';

const env = useBrowser();

/** What a run's badge says: {kind, text, adapter, reason}. */
async function badge(page, run) {
  const td = cell(page, 'run-backend', run);
  return {
    kind: await td.getAttribute('data-kind'),
    badge: (await td.locator('[data-role="badge"]').innerText()).trim(),
    detail: (await td.locator('[data-role="detail"]').innerText()).trim(),
    adapter: await td.getAttribute('data-adapter'),
    reason: await td.getAttribute('data-reason'),
  };
}

/** The header line: what the runs train on, and the WebGPU self-test. */
async function header(page) {
  const el = page.getByTestId('gpu-status');
  return {
    state: await el.getAttribute('data-state'),
    selftest: await el.getAttribute('data-selftest'),
    text: (await page.getByTestId('backend-summary').innerText()).trim(),
    selftestText: (await page.getByTestId('gpu-selftest').innerText()).trim(),
  };
}

async function selftestDone(page) {
  await page.waitForFunction(() => document.querySelector('#gpu-status').dataset.selftest !== 'pending', null, {
    timeout: 60_000,
  });
}

/** Wait until the runs in `runs` have their backend (the trainers are built). */
async function waitForBackends(page, runs, timeout = 60_000) {
  await page.waitForFunction(
    (ids) =>
      ids.every((id) => document.querySelector(`[data-testid="run-backend"][data-run="${id}"]`)?.dataset.kind) ||
      !document.querySelector('#error').hidden,
    runs,
    { timeout, polling: 200 },
  );
}

async function pauseAndWait(page) {
  await page.getByTestId('pause').click();
  await page.waitForFunction(() => ['paused', 'finished'].includes(document.querySelector('#controls').dataset.mode), null, {
    timeout: 60_000,
  });
}

/** A second browser without --enable-unsafe-webgpu: no WebGPU adapter on Linux. */
async function launchWithoutWebGpu(t) {
  const plain = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: CHROMIUM_ARGS.filter((a) => a !== '--enable-unsafe-webgpu'),
  });
  t.after(() => plain.close().catch(() => {}));
  return plain;
}

test(
  'backend GPU trains SGD and RNGD on the software adapter, and the loss falls',
  { timeout: 240_000, skip: NO_WEBGPU_OK && 'RNGD_E2E_ALLOW_NO_WEBGPU=1' },
  async (t) => {
    const { page, errors } = await openPage(env.browser, env.server, t);
    try {
      assert.equal(await errorBanner(page), null);
      assert.equal(await page.getByTestId('backend-select').inputValue(), 'auto', 'auto is the default');
      await selftestDone(page);
      const before = await header(page);
      assert.equal(before.state, 'none');
      assert.match(before.text, /^No runs yet \(backend: auto\)$/);

      await chooseRuns(page, ['sgd', 'rngd']);
      await page.getByTestId('backend-select').selectOption('gpu');
      assert.match(await header(page).then((h) => h.text), /^No runs yet \(backend: GPU\)$/);
      await page.getByTestId('start').click();
      await waitForSteps(page, ['sgd', 'rngd'], 50, 180_000);
      assert.equal(await errorBanner(page), null);
      await pauseAndWait(page);

      for (const run of ['sgd', 'rngd']) {
        const b = await badge(page, run);
        t.diagnostic(`${run}: ${JSON.stringify(b)}`);
        assert.equal(b.kind, 'gpu', `${run} trains on the GPU: ${JSON.stringify(b)}`);
        assert.equal(b.badge, 'GPU');
        assert.ok(b.adapter && b.adapter.length > 2, 'the adapter is named');
        assert.equal(b.detail, b.adapter);
        assert.match(b.reason, /^gpu: /);
      }
      const h = await header(page);
      assert.equal(h.state, 'gpu');
      assert.match(h.text, /^All runs train on the GPU: .+/);
      assert.match(await page.getByTestId('backend-note').innerText(), /SGD and RNGD on the GPU \(.+\): gpu: /);

      const histories = await page.evaluate(() => ({ sgd: window.rngdLab.history('sgd'), rngd: window.rngdLab.history('rngd') }));
      for (const [run, hist] of Object.entries(histories)) {
        assert.ok(hist.length >= 2, `${run}: ${hist.length} points`);
        const [first, last] = [hist[0], hist[hist.length - 1]];
        for (const key of ['train_loss', 'test_loss', 'test_accuracy']) assert.ok(Number.isFinite(last[key]), `${run} ${key}`);
        assert.ok(last.train_loss < first.train_loss, `${run} train loss ${first.train_loss} → ${last.train_loss}`);
        assert.ok(last.test_loss < first.test_loss, `${run} test loss ${first.test_loss} → ${last.test_loss}`);
      }
      assert.deepEqual(
        histories.sgd.map((s) => s.step),
        histories.rngd.map((s) => s.step),
        'lock-step on the GPU too',
      );
      // The geometry view reads the state back from the GPU.
      await page.waitForFunction(() => document.querySelector('#geometry').dataset.drawn === 'true', null, { timeout: 60_000 });

      // The choice is kept in the URL, and changing it means new runs.
      assert.match(await page.evaluate(() => location.hash), /backend=gpu/);
      await page.getByTestId('backend-select').selectOption('cpu');
      assert.equal(await page.getByTestId('start').innerText(), 'Start new runs');
      await page.getByTestId('backend-select').selectOption('gpu');
      await screenshot(page, 'backend-gpu.png');
      assert.deepEqual(errors, [], 'console errors');
    } catch (e) {
      await saveFailure(t, page);
      throw e;
    }
  },
);

test(
  'backend auto declines the software adapter and says why; CPU is the CPU',
  { timeout: 180_000, skip: NO_WEBGPU_OK && 'RNGD_E2E_ALLOW_NO_WEBGPU=1' },
  async (t) => {
    const { page, errors } = await openPage(env.browser, env.server, t);
    try {
      await chooseRuns(page, ['sgd', 'adam']);
      // The backend is read from the URL too.
      await page.evaluate(() => {
        location.hash = 'runs=sgd,adam&backend=auto';
      });
      await page.getByTestId('start').click();
      await waitForSteps(page, ['sgd', 'adam'], 25);
      assert.equal(await errorBanner(page), null);
      for (const run of ['sgd', 'adam']) {
        const b = await badge(page, run);
        assert.equal(b.kind, 'cpu', `${run}: ${JSON.stringify(b)}`);
        assert.equal(b.badge, 'CPU');
        assert.equal(b.adapter, null);
        assert.match(b.reason, /^auto: .*software adapter/, `the badge says why: ${b.reason}`);
        assert.equal(b.detail, 'software GPU declined');
      }
      const h = await header(page);
      assert.equal(h.state, 'cpu');
      assert.match(h.text, /^All runs train on the CPU/);
      assert.doesNotMatch(h.text, /on the GPU/);
      assert.match(await page.getByTestId('backend-note').innerText(), /SGD and Adam on the CPU: auto: .*software adapter/);
      await pauseAndWait(page);

      // Backend CPU, from the URL hash.
      await page.evaluate(() => {
        location.hash = 'runs=sgd&backend=cpu';
      });
      await page.waitForFunction(() => document.querySelector('#backend').value === 'cpu');
      await page.getByTestId('start').click();
      await waitForSteps(page, ['sgd'], 25);
      const b = await badge(page, 'sgd');
      assert.equal(b.kind, 'cpu');
      assert.match(b.reason, /^cpu: /);
      assert.equal(b.detail, 'chosen');
      assert.equal(await cell(page, 'run-backend', 'adam').getAttribute('data-kind'), '', 'Adam is not included');
      await pauseAndWait(page);
      assert.deepEqual(errors, [], 'console errors');
    } catch (e) {
      await saveFailure(t, page);
      throw e;
    }
  },
);

test('without a WebGPU adapter, GPU is refused with a clear error and auto trains on the CPU', { timeout: 180_000 }, async (t) => {
  const plain = await launchWithoutWebGpu(t);
  const { page, errors } = await openPage(plain, env.server, t);
  try {
    await selftestDone(page);
    const h0 = await header(page);
    t.diagnostic(`without --enable-unsafe-webgpu: ${h0.selftestText}`);
    if (h0.selftest !== 'no-adapter') {
      t.skip(`this Chromium offers WebGPU without the flag: ${h0.selftestText}`);
      return;
    }
    assert.match(h0.selftestText, /^No WebGPU adapter \(.+\)$/);

    await chooseRuns(page, ['sgd', 'rngd']);
    await page.getByTestId('backend-select').selectOption('gpu');
    await page.getByTestId('start').click();
    await page.waitForFunction(() => /could not be created/.test(document.querySelector('#error').textContent), null, {
      timeout: 30_000,
    });
    const banner = await errorBanner(page);
    t.diagnostic(banner);
    assert.match(banner, /^The SGD and RNGD runs could not be created: backend gpu was asked for, but .*adapter/i);
    assert.equal(await page.getByTestId('start').isDisabled(), false, 'the page can start again');
    assert.notEqual(await page.locator('#controls').getAttribute('data-mode'), 'running');
    for (const run of ['sgd', 'rngd']) assert.equal(await cell(page, 'run-backend', run).getAttribute('data-kind'), '');
    await page.getByTestId('error').locator('[data-action="dismiss"]').click();

    // Auto trains on the CPU and says why.
    await page.getByTestId('backend-select').selectOption('auto');
    await page.getByTestId('start').click();
    await waitForSteps(page, ['sgd', 'rngd'], 25);
    assert.equal(await errorBanner(page), null);
    for (const run of ['sgd', 'rngd']) {
      const b = await badge(page, run);
      assert.equal(b.kind, 'cpu', `${run}: ${JSON.stringify(b)}`);
      assert.match(b.reason, /^auto: .*adapter.*; training on the CPU$/i, b.reason);
      assert.equal(b.detail, 'no WebGPU adapter');
    }
    const h = await header(page);
    assert.equal(h.state, 'cpu');
    assert.match(h.text, /^All runs train on the CPU/);
    await pauseAndWait(page);
    assert.deepEqual(errors, [], 'console errors (a missing adapter must not log an error)');
  } catch (e) {
    await saveFailure(t, page);
    throw e;
  }
});

test(
  'a GPU run whose device is lost goes on on the CPU and the page says so',
  { timeout: 240_000, skip: NO_WEBGPU_OK && 'RNGD_E2E_ALLOW_NO_WEBGPU=1' },
  async (t) => {
    const { page, errors } = await openPage(env.browser, env.server, t);
    try {
      await chooseRuns(page, ['sgd', 'adam']);
      await page.getByTestId('backend-select').selectOption('gpu');
      await page.getByTestId('start').click();
      await waitForSteps(page, ['sgd', 'adam'], 50, 180_000);
      assert.equal(await errorBanner(page), null);
      assert.equal((await badge(page, 'sgd')).kind, 'gpu');

      const answer = await page.evaluate(() => window.__rngdLab.loseDevice('sgd'));
      assert.equal(answer.error, undefined, `loseDevice: ${answer.error}`);
      const notice = page.locator('[data-testid="backend-notice"][data-run="sgd"]');
      await notice.waitFor({ state: 'visible', timeout: 60_000 });
      const text = await notice.innerText();
      t.diagnostic(text);
      const lost = Number(await notice.getAttribute('data-lost-steps'));
      assert.ok(Number.isInteger(lost) && lost >= 0, `lost steps ${lost}`);
      assert.match(text, /^The SGD run lost its GPU and goes on on the CPU \(lost steps: (\d+), computed again\)\. \S.+/);
      assert.equal(Number(text.match(/lost steps: (\d+)/)[1]), lost);
      assert.equal(await page.locator('[data-testid="run-message"][data-run="sgd"]').isVisible(), false, 'not an error');

      const b = await badge(page, 'sgd');
      assert.equal(b.kind, 'cpu');
      assert.equal(b.badge, 'CPU');
      assert.equal(b.detail, 'the GPU was lost');
      assert.ok(
        text.toLowerCase().includes(b.reason.replace(/[.!?]$/, '').toLowerCase()),
        `the notice gives the library's reason: ${b.reason}`,
      );
      assert.equal((await badge(page, 'adam')).kind, 'gpu', 'the other run keeps its GPU');
      const h = await header(page);
      assert.equal(h.state, 'mixed');
      assert.match(h.text, /^Adam on the GPU \(.+\), SGD on the CPU$/);

      // Both go on, in lock-step.
      const from = Math.max(await runStep(page, 'sgd'), await runStep(page, 'adam'));
      await waitForSteps(page, ['sgd', 'adam'], from + 25, 120_000);
      for (const run of ['sgd', 'adam']) assert.equal(await cell(page, 'run-state', run).innerText(), 'training');
      await pauseAndWait(page);
      const hist = await page.evaluate(() => window.rngdLab.history('sgd'));
      for (let i = 1; i < hist.length; i++) assert.ok(hist[i].step > hist[i - 1].step, 'steps increase');
      assert.ok(Number.isFinite(hist[hist.length - 1].train_loss));
      await screenshot(page, 'device-lost.png');
      assert.deepEqual(errors, [], 'console errors');
    } catch (e) {
      await saveFailure(t, page);
      throw e;
    }
  },
);
