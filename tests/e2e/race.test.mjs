// End-to-end tests of the race: one worker per run, free-running against
// wall-clock seconds, the fast RNGD switch, the time split, and the message for
// a browser without WebAssembly SIMD.
//   node --test tests/e2e/
// Needs the wasm package in www/pkg/, the npm dependencies and Chromium.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { useBrowser, withPage, errorBanner, chooseRuns, cell, runStep, waitForSteps } from './helpers.mjs';

const env = useBrowser();

const mode = (page) => page.locator('#controls').getAttribute('data-mode');
async function pauseAndWait(page) {
  await page.getByTestId('pause').click();
  await page.waitForFunction(() => ['paused', 'finished'].includes(document.querySelector('#controls').dataset.mode), null, {
    timeout: 60_000,
  });
}

test('without WebAssembly SIMD the page says so and starts nothing', { timeout: 60_000 }, async (t) => {
  // The browser has SIMD; take it away before the page's scripts run.
  const init = () => {
    WebAssembly.validate = () => false;
  };
  await withPage(
    env,
    t,
    async ({ page, errors }) => {
      const banner = await errorBanner(page);
      assert.match(banner ?? '', /lacks WebAssembly SIMD/);
      assert.match(banner, /current Chrome, Edge, Firefox or Safari/);
      assert.equal(await mode(page), 'unavailable');
      assert.equal(await page.getByTestId('start').isDisabled(), true);
      assert.match(await page.getByTestId('status').innerText(), /unavailable/);
      assert.equal(await page.evaluate(() => window.__rngdLab.workers), 0, 'no worker was started');
      await page.waitForTimeout(500);
      assert.equal(await page.evaluate(() => document.body.dataset.ready), undefined, 'nothing loaded');
      assert.deepEqual(errors, [], 'console errors');
    },
    { init },
  );
});

test('free-running: each run at its own pace, one worker each, read against wall-clock seconds', { timeout: 180_000 }, async (t) => {
  await withPage(
    env,
    t,
    async ({ page, errors }) => {
      // From the URL: free-running, and the x axis follows it.
      assert.equal(await page.getByTestId('free-running').isChecked(), true);
      assert.equal(await page.getByTestId('x-axis').inputValue(), 'time');
      const started = Date.now();
      await page.getByTestId('start').click();
      await waitForSteps(page, ['sgd'], 200, 120_000);
      await waitForSteps(page, ['rngd'], 25, 120_000);
      assert.equal(await errorBanner(page), null);
      assert.equal(await page.evaluate(() => window.__rngdLab.workers), 2, 'one worker per run');
      const [sgd, rngd] = [await runStep(page, 'sgd'), await runStep(page, 'rngd')];
      assert.ok(sgd >= 2 * rngd, `SGD (${sgd} steps) runs ahead of RNGD (${rngd} steps)`);
      for (const id of ['sgd', 'rngd']) assert.equal(await cell(page, 'run-state', id).innerText(), 'training');
      assert.match(await page.getByTestId('status').innerText(), /free-running: SGD at step [\d,]+, RNGD at step [\d,]+/);
      await pauseAndWait(page);
      const elapsed = (Date.now() - started) / 1000;

      // Wall-clock x: training seconds, increasing, within the time the test waited.
      const series = await page.evaluate(() => ({
        sgd: window.rngdLab.charts.accuracy.seriesData('sgd')[0],
        rngd: window.rngdLab.charts.accuracy.seriesData('rngd')[0],
        sgdHistory: window.rngdLab.history('sgd'),
        axis: window.rngdLab.charts.accuracy.xAxis(),
        legend: document.querySelector('#chart-accuracy .u-legend').textContent,
      }));
      assert.match(series.axis.label, /wall-clock seconds/);
      assert.match(series.legend, /^wall-clock seconds/);
      assert.equal(series.sgd.length, series.sgdHistory.length);
      for (const xs of [series.sgd, series.rngd]) {
        assert.ok(xs.length >= 1);
        for (let i = 1; i < xs.length; i++) assert.ok(xs[i] > xs[i - 1], 'seconds increase');
        assert.ok(xs[0] > 0 && xs[xs.length - 1] <= elapsed + 0.25, `seconds ${xs[0]} … ${xs[xs.length - 1]} (test waited ${elapsed} s)`);
      }
      assert.notDeepEqual(series.sgd, series.sgdHistory.map((s) => s.step), 'x is not the step');
      // The same runs by step: the histories do not line up, each went its own way.
      await page.getByTestId('x-axis').selectOption('step');
      const bySteps = await page.evaluate(() => window.rngdLab.charts.accuracy.seriesData('sgd')[0]);
      assert.deepEqual(bySteps, series.sgdHistory.map((s) => s.step));
      assert.ok(bySteps.every((x) => x % 25 === 0));

      // Paused means paused, in every worker.
      const steps = await page.evaluate(() => window.__rngdLab.steps());
      await page.waitForTimeout(600);
      assert.deepEqual(await page.evaluate(() => window.__rngdLab.steps()), steps);
      assert.match(await page.evaluate(() => location.hash), /mode=free/);

      // Back to lock-step: new runs, at the same steps.
      await page.getByTestId('free-running').setChecked(false);
      assert.equal(await page.getByTestId('x-axis').inputValue(), 'step', 'lock-step reads by step');
      assert.equal(await page.getByTestId('start').innerText(), 'Start new runs');
      await page.getByTestId('start').click();
      await waitForSteps(page, ['sgd', 'rngd'], 50, 120_000);
      await pauseAndWait(page);
      const lock = await page.evaluate(() => [window.rngdLab.history('sgd').map((s) => s.step), window.rngdLab.history('rngd').map((s) => s.step)]);
      assert.deepEqual(lock[0], lock[1], 'lock-step points line up');
      assert.match(await page.evaluate(() => location.hash), /mode=lockstep/);
      assert.deepEqual(errors, [], 'console errors');
    },
    { hash: 'runs=sgd,rngd&backend=cpu&mode=free' },
  );
});

test('the fast RNGD switch is the crate’s preset, goes into the run and labels it; the time split shows', { timeout: 180_000 }, async (t) => {
  await withPage(env, t, async ({ page, errors }) => {
    const presets = await page.evaluate(() => window.rngdLab.presets());
    assert.ok(presets.length >= 2, `presets ${JSON.stringify(presets)}`);
    assert.equal(presets[0].name, 'literal');
    const fast = presets.find((p) => p.name === 'fast');
    assert.ok(fast && fast.description && fast.settings, JSON.stringify(presets));
    // The fast switch is the crate's fast preset; off, the literal algorithm (the default).
    const sw = page.getByTestId('fast-rngd');
    assert.equal(await sw.isChecked(), false, 'the literal algorithm is the default');
    assert.match(await page.getByTestId('fast-rngd-description').innerText(), /^off: \S/);

    await chooseRuns(page, ['sgd', 'rngd']);
    await page.getByTestId('backend-select').selectOption('cpu');
    await sw.setChecked(true);
    assert.equal(await page.getByTestId('fast-rngd-description').innerText(), `fast: ${fast.description}`);
    assert.equal(await page.getByTestId('rngd-metric-every').inputValue(), String(fast.settings.metric_every));
    await page.getByTestId('start').click();
    await waitForSteps(page, ['sgd', 'rngd'], 50, 120_000);
    assert.equal(await errorBanner(page), null);
    assert.equal(await page.evaluate(() => window.__rngdLab.workers), 2);

    // The trainer says which preset its config matches: the label is the crate's word.
    assert.equal(await page.locator('tr.run-row[data-run="rngd"] .run-label').innerText(), 'RNGD (fast)');
    assert.equal(await page.locator('tr.run-row[data-run="sgd"] .run-label').innerText(), 'SGD');
    assert.match(await page.locator('#chart-accuracy .u-legend').innerText(), /RNGD \(fast\)/);
    assert.match(await page.evaluate(() => location.hash), new RegExp(`rngd-metric-every=${fast.settings.metric_every}`));
    const hist = await page.evaluate(() => window.rngdLab.history('rngd'));
    assert.ok(hist.every((s) => Number.isFinite(s.train_loss)) && hist.length >= 2, 'the fast run trains');
    assert.ok(hist[hist.length - 1].train_loss < hist[0].train_loss, 'and its loss falls');

    // Where the time goes: the parts add up; RNGD has a metric, SGD has none.
    await pauseAndWait(page);
    const split = async (id) => {
      const td = cell(page, 'time-split', id);
      const parts = await td.evaluate((el) =>
        Object.fromEntries(['forwardBackward', 'metricUpdate', 'precondition', 'inverse', 'update'].map((k) => [k, Number(el.dataset[k])])),
      );
      return { parts, text: (await td.innerText()).trim() };
    };
    const r = await split('rngd');
    const s = await split('sgd');
    for (const x of [r, s]) {
      const total = Object.values(x.parts).reduce((a, b) => a + b, 0);
      assert.ok(Math.abs(total - 100) < 0.5, `shares add up to ${total}: ${JSON.stringify(x.parts)}`);
    }
    assert.match(r.text, /fwd\+bwd \d+ %/);
    assert.ok(r.parts.metricUpdate > 0 && r.parts.precondition > 0, `RNGD split ${JSON.stringify(r.parts)}`);
    // SGD tracks RNGD's metric read-only (for the geometry view) but never preconditions with it.
    assert.equal(s.parts.precondition, 0, `SGD split ${JSON.stringify(s.parts)}`);
    assert.ok(s.parts.forwardBackward > 20, `SGD split ${JSON.stringify(s.parts)}`);

    // A bad RNGD setting is the crate's to refuse, with its own message.
    await page.evaluate(() =>
      window.rngdLab.send({ type: 'reset', evalEvery: 25, runs: [{ id: 'rngd', config: { optimizer: 'rngd', rngd: { metric_every: 0 } } }] }),
    );
    await page.waitForFunction(() => /could not be created/.test(document.querySelector('#error').textContent), null, { timeout: 30_000 });
    assert.match(await errorBanner(page), /RNGD run could not be created: .*metric_every/);
    assert.deepEqual(errors, [], 'console errors');
  });
});
