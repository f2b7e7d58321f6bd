// End-to-end tests of the page in headless Chromium:
//   node --test tests/e2e/
// Needs the wasm package in www/pkg/ (built by the lead's scripts), the npm
// dependencies (npm ci) and Chromium (/usr/bin/chromium or $CHROMIUM).

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { checkBuildOutputs, startServer, launchBrowser, collectErrors, screenshot } from './helpers.mjs';

const READY_TIMEOUT = 90_000; // wasm + dataset load
const TRAIN_TIMEOUT = 240_000; // SGD to >85 % test accuracy

let server = null;
let browser = null;

before(async () => {
  checkBuildOutputs();
  server = await startServer();
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close().catch(() => {});
  await server?.stop();
});

/** Open the page in a fresh context; resolves once the worker reported ready
 *  (or the page shows an error). */
async function openPage(t) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  t.after(() => context.close().catch(() => {}));
  const page = await context.newPage();
  const errors = collectErrors(page);
  await page.goto(server.url);
  await page.waitForFunction(
    () => document.body.dataset.ready === 'true' || !document.querySelector('#error').hidden,
    null,
    { timeout: READY_TIMEOUT, polling: 200 },
  );
  return { page, errors };
}

async function errorBanner(page) {
  const el = page.getByTestId('error');
  return (await el.isVisible()) ? (await el.locator('[data-role="message"]').innerText()).trim() : null;
}

async function assertNoErrorBanner(page, when) {
  const text = await errorBanner(page);
  assert.equal(text, null, `the page shows an error ${when}: ${text}`);
}

const acc = (page) => page.locator('[data-testid="test-accuracy"][data-run="sgd"]');
const steps = (page) => page.locator('[data-testid="steps"][data-run="sgd"]');
const runState = (page) => page.locator('[data-testid="run-state"][data-run="sgd"]');
const stepCount = async (page) => Number((await steps(page).innerText()).replace(/[^0-9]/g, '')) || 0;

/** Wait until the SGD run has made progress (or an error appears). */
async function waitForSteps(page, min, timeout = 60_000) {
  await page.waitForFunction(
    (n) => {
      const s = document.querySelector('[data-testid="test-accuracy"][data-run="sgd"]')?.dataset.step;
      return Number(s) >= n || !document.querySelector('#error').hidden;
    },
    min,
    { timeout, polling: 200 },
  );
}

async function saveFailure(t, page) {
  try {
    await screenshot(page, `failure-${t.name.replace(/[^a-z0-9]+/gi, '-').slice(0, 60)}.png`);
  } catch {
    // the page may be gone
  }
}

test('an SGD run trains live to over 85 % test accuracy', { timeout: READY_TIMEOUT + TRAIN_TIMEOUT + 60_000 }, async (t) => {
  const { page, errors } = await openPage(t);
  try {
    await assertNoErrorBanner(page, 'while loading');
    await assert.doesNotReject(page.getByTestId('start').click());
    await page.waitForFunction(
      () => {
        const v = Number(document.querySelector('[data-testid="test-accuracy"][data-run="sgd"]')?.dataset.value);
        return v > 0.85 || !document.querySelector('#error').hidden;
      },
      null,
      { timeout: TRAIN_TIMEOUT, polling: 500 },
    );
    await assertNoErrorBanner(page, 'during training');

    const value = Number(await acc(page).getAttribute('data-value'));
    assert.ok(value > 0.85 && value <= 1, `test accuracy ${value}`);
    assert.match(await acc(page).innerText(), /^\d{1,3}\.\d\d %$/);
    assert.equal(await runState(page).innerText(), 'training');

    await page.getByTestId('pause').click();
    await page.waitForFunction(
      () => document.querySelector('[data-testid="run-state"][data-run="sgd"]')?.textContent === 'paused',
      null,
      { timeout: 10_000 },
    );
    const pausedAt = await stepCount(page);
    await page.waitForTimeout(600);
    assert.equal(await stepCount(page), pausedAt, 'steps kept increasing after pause');
    assert.match(await page.getByTestId('status').innerText(), /Paused/);

    const history = await page.evaluate(() => window.rngdLab.history('sgd'));
    assert.ok(history.length >= 3, `only ${history.length} snapshots`);
    for (let i = 1; i < history.length; i++) {
      assert.ok(history[i].step > history[i - 1].step, 'steps increase');
      assert.ok(history[i].epoch > history[i - 1].epoch, 'epochs increase');
    }
    const last = history[history.length - 1];
    assert.equal(last.step, pausedAt);
    for (const key of ['train_loss', 'test_loss', 'test_accuracy', 'epoch']) {
      assert.ok(Number.isFinite(last[key]), `snapshot.${key} = ${last[key]}`);
    }
    assert.ok(history[0].train_loss > last.train_loss, `train loss went from ${history[0].train_loss} to ${last.train_loss}`);
    assert.ok(history[0].test_loss > last.test_loss, `test loss went from ${history[0].test_loss} to ${last.test_loss}`);

    // The charts received every snapshot (loss: train + test line).
    const accPoints = Number(await page.getByTestId('chart-accuracy').getAttribute('data-points'));
    const lossPoints = Number(await page.getByTestId('chart-loss').getAttribute('data-points'));
    assert.equal(accPoints, history.length);
    assert.equal(lossPoints, 2 * history.length);
    assert.equal(await page.locator('#chart-loss canvas').count(), 1);
    assert.equal(await page.locator('#chart-accuracy canvas').count(), 1);

    await page.waitForTimeout(300); // let the last animation frame draw
    await screenshot(page, 'page.png');
    assert.deepEqual(errors, [], 'console errors during a normal run');
  } catch (e) {
    await saveFailure(t, page);
    throw e;
  }
});

test('an invalid learning rate is reported on the page and the worker keeps working', { timeout: 180_000 }, async (t) => {
  const { page, errors } = await openPage(t);
  try {
    await assertNoErrorBanner(page, 'while loading');
    const lr = page.getByTestId('lr-input');
    const lrError = page.getByTestId('lr-error');

    for (const [text, pattern] of [
      ['abc', /must be a number/i],
      ['-1', /greater than 0/i],
      ['', /required/i],
    ]) {
      await lr.fill(text);
      await assert.doesNotReject(lrError.waitFor({ state: 'visible', timeout: 5000 }));
      assert.match(await lrError.innerText(), pattern);
      assert.equal(await lr.getAttribute('aria-invalid'), 'true');
      await page.getByTestId('start').click();
      const banner = await errorBanner(page);
      assert.ok(banner, `no error banner after Start with lr="${text}"`);
      assert.match(banner, /Cannot start/);
      assert.match(banner, /Learning rate/);
      assert.notEqual(await runState(page).innerText(), 'training');
      assert.equal(await acc(page).getAttribute('data-value'), null);
    }

    // Errors from the wasm Trainer constructor come back as messages on the
    // page (bypassing the page's own validation through the debug handle).
    for (const config of [{ optimizer: 'sgd', lr: -1 }, { optimizer: 'no-such-optimizer' }, { lr: 'abc' }]) {
      await page.evaluate(
        (cfg) => window.rngdLab.send({ type: 'reset', evalEvery: 25, runs: [{ id: 'sgd', config: cfg }] }),
        config,
      );
      await page.waitForFunction(
        () => /could not be created/.test(document.querySelector('#error').textContent),
        null,
        { timeout: 10_000 },
      );
      const banner = await errorBanner(page);
      const detail = banner.split('could not be created:')[1]?.trim() ?? '';
      assert.ok(detail.length > 3, `wasm error message for ${JSON.stringify(config)} is empty: "${banner}"`);
      await page.getByTestId('error').locator('[data-action="dismiss"]').click();
    }

    // A valid value clears the message and a run starts in the same worker.
    await lr.fill('0.05');
    await lrError.waitFor({ state: 'hidden', timeout: 5000 });
    assert.equal(await lr.getAttribute('aria-invalid'), 'false');
    await page.getByTestId('start').click();
    await waitForSteps(page, 50);
    await assertNoErrorBanner(page, 'after starting a valid run');
    assert.ok((await stepCount(page)) >= 50);
    assert.ok(Number(await acc(page).getAttribute('data-value')) >= 0);
    assert.match(await page.evaluate(() => location.hash), /lr=0\.05/);
    await page.getByTestId('pause').click();
    assert.deepEqual(errors, [], 'console errors for expected validation errors');
  } catch (e) {
    await saveFailure(t, page);
    throw e;
  }
});

test('a too large learning rate ends in a visible message and a new run can start', { timeout: 180_000 }, async (t) => {
  const { page, errors } = await openPage(t);
  try {
    await assertNoErrorBanner(page, 'while loading');
    const lr = page.getByTestId('lr-input');
    const waitForBanner = () =>
      page.waitForFunction(() => !document.querySelector('#error').hidden, null, { timeout: 60_000 });

    // Absurd: the wasm side may refuse it up front or let the run diverge.
    await lr.fill('1e6');
    await page.getByTestId('start').click();
    await waitForBanner();
    assert.match(await errorBanner(page), /SGD run (could not be created|stopped): \S/);

    // Large but accepted: the run diverges and the wasm error says so.
    await lr.fill('100');
    await page.getByTestId('start').click();
    await waitForBanner();
    const banner = await errorBanner(page);
    assert.match(banner, /SGD run stopped: \S/);
    assert.match(banner, /diverg/i, `the wasm error should say the run diverged: ${banner}`);
    assert.equal(await runState(page).innerText(), 'stopped (error)');
    assert.equal(await page.getByTestId('start').isDisabled(), false);

    await lr.fill('0.05');
    await page.getByTestId('start').click();
    await assertNoErrorBanner(page, 'after restarting');
    await waitForSteps(page, 50);
    await assertNoErrorBanner(page, 'after restarting');
    assert.equal(await runState(page).innerText(), 'training');
    await page.getByTestId('pause').click();
    assert.deepEqual(errors, [], 'console errors');
  } catch (e) {
    await saveFailure(t, page);
    throw e;
  }
});
