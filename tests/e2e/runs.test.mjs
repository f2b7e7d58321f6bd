// End-to-end tests of the comparison page: SGD, Adam and RNGD side by side
// (in lock-step, one worker each), the header's WebGPU self-test line and the
// geometry view.
//   node --test tests/e2e/
// Needs the wasm package in www/pkg/, the npm dependencies and Chromium.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import {
  ARTIFACTS,
  useBrowser,
  screenshot,
  openPage,
  errorBanner,
  cell,
  waitForSteps,
  saveFailure,
} from './helpers.mjs';

const RUNS = ['sgd', 'adam', 'rngd'];

const env = useBrowser();

const number = async (locator) => Number((await locator.innerText()).replace(/[^0-9.]/g, ''));

test('SGD, Adam and RNGD advance together and plot their points', { timeout: 180_000 }, async (t) => {
  const { page, errors } = await openPage(env.browser, env.server, t);
  try {
    assert.equal(await errorBanner(page), null);
    for (const id of RUNS) assert.equal(await page.getByTestId(`use-${id}`).isChecked(), true, `${id} is on by default`);
    await page.getByTestId('start').click();
    await waitForSteps(page, RUNS, 100, 120_000);
    assert.equal(await errorBanner(page), null);

    for (const id of RUNS) {
      assert.equal(await cell(page, 'run-state', id).innerText(), 'training', id);
      const rate = await number(cell(page, 'steps-per-second', id));
      assert.ok(rate > 0, `${id} steps/s = ${rate}`);
    }
    // RNGD's own compute is much slower per step than SGD's.
    const [sgdRate, rngdRate] = [await number(cell(page, 'steps-per-second', 'sgd')), await number(cell(page, 'steps-per-second', 'rngd'))];
    assert.ok(rngdRate < sgdRate, `RNGD ${rngdRate} steps/s vs SGD ${sgdRate}`);

    await page.getByTestId('pause').click();
    await page.waitForFunction(() => document.querySelector('#controls').dataset.mode === 'paused', null, { timeout: 15_000 });

    // One worker per run, and lock-step: every worker stopped at the same step,
    // and the three histories have the same steps and epochs.
    assert.equal(await page.evaluate(() => window.__rngdLab.workers), 3, 'one worker per run');
    const at = await page.evaluate(() => window.__rngdLab.steps());
    assert.deepEqual(Object.keys(at).sort(), [...RUNS].sort());
    assert.equal(new Set(Object.values(at)).size, 1, `steps ${JSON.stringify(at)}`);
    const histories = await page.evaluate((ids) => Object.fromEntries(ids.map((id) => [id, window.rngdLab.history(id)])), RUNS);
    const steps = (id) => histories[id].map((s) => s.step);
    assert.ok(steps('rngd').length >= 4, `RNGD has ${steps('rngd').length} points`);
    assert.deepEqual(steps('sgd'), steps('rngd'));
    assert.deepEqual(steps('adam'), steps('rngd'));
    assert.deepEqual(
      histories.sgd.map((s) => s.epoch),
      histories.rngd.map((s) => s.epoch),
    );
    // Same initial weights and batches, different optimizers: different losses.
    assert.notEqual(histories.sgd[0].train_loss, histories.rngd[0].train_loss);

    // Every point is on the charts, one line per run (and per train/test for the loss).
    const counts = await page.evaluate((ids) => {
      const { loss, accuracy } = window.rngdLab.charts;
      return Object.fromEntries(
        ids.map((id) => [id, [accuracy.pointCount(id), loss.pointCount(`${id}:train`), loss.pointCount(`${id}:test`)]]),
      );
    }, RUNS);
    for (const id of RUNS) {
      const n = histories[id].length;
      assert.deepEqual(counts[id], [n, n, n], `${id}: chart points ${counts[id]} for ${n} snapshots`);
    }
    const legend = await page.locator('#chart-accuracy .u-legend').innerText();
    for (const label of ['SGD', 'Adam', 'RNGD']) assert.match(legend, new RegExp(label));
    const lossLegend = await page.locator('#chart-loss .u-legend').innerText();
    assert.match(lossLegend, /RNGD train/);
    assert.match(lossLegend, /RNGD test/);
    // Distinct line colours.
    const colours = await page.$$eval('#chart-accuracy .u-legend .u-series .u-marker', (els) =>
      els.map((el) => getComputedStyle(el).borderColor).filter((c) => c && c !== 'rgba(0, 0, 0, 0)'),
    );
    assert.ok(new Set(colours).size >= 3, `legend colours ${colours}`);
    assert.match(await page.getByTestId('status').innerText(), /Paused after \d+ steps/);

    await page.waitForTimeout(300);
    await screenshot(page, 'three-runs.png');
    assert.deepEqual(errors, [], 'console errors');
  } catch (e) {
    await saveFailure(t, page);
    throw e;
  }
});

const ADAPTER = /^WebGPU self-test: .+, metric kernel agrees with the CPU \(max error .+\)$/;
const NO_ADAPTER = /^No WebGPU adapter \(.+\)$/;

async function gpuLine(page) {
  await page.waitForFunction(() => document.querySelector('#gpu-status').dataset.selftest !== 'pending', null, {
    timeout: 60_000,
  });
  const el = page.getByTestId('gpu-status');
  return {
    state: await el.getAttribute('data-selftest'),
    text: (await page.getByTestId('gpu-selftest').innerText()).trim(),
    main: (await page.getByTestId('backend-summary').innerText()).trim(),
  };
}

// The case without an adapter is in backend.test.mjs, with training on the CPU.
test('the header reports the WebGPU self-test as secondary information', { timeout: 180_000 }, async (t) => {
  // The test browser runs with --enable-unsafe-webgpu: Chromium's software adapter is expected.
  const { page, errors } = await openPage(env.browser, env.server, t);
  try {
    const { state, text, main } = await gpuLine(page);
    t.diagnostic(`with --enable-unsafe-webgpu: ${text}`);
    if (process.env.RNGD_E2E_ALLOW_NO_WEBGPU === '1') assert.ok(ADAPTER.test(text) || NO_ADAPTER.test(text), text);
    else {
      assert.equal(state, 'adapter', `expected a WebGPU adapter in the test browser: ${text}`);
      assert.match(text, ADAPTER);
      const err = Number(await page.getByTestId('gpu-status').getAttribute('data-max-error'));
      assert.ok(err >= 0 && err < 1e-3, `max error ${err}`);
    }
    // The first line is about the runs, and there are none yet: it must not claim the GPU trains.
    assert.equal(main, 'No runs yet (backend: auto)');
    assert.equal(await page.getByTestId('gpu-status').getAttribute('data-state'), 'none');
    assert.deepEqual(errors, [], 'console errors');
  } catch (e) {
    await saveFailure(t, page);
    throw e;
  }
});

/** How many distinct colours a canvas shows, and the share of its pixels that are painted. */
function canvasInk(page, testid) {
  return page.evaluate((id) => {
    const c = document.querySelector(`[data-testid="${id}"]`);
    const { data } = c.getContext('2d').getImageData(0, 0, c.width, c.height);
    const colours = new Set();
    let painted = 0;
    for (let i = 0; i < data.length; i += 16) {
      if (data[i + 3] === 0) continue;
      painted++;
      colours.add((data[i] << 16) | (data[i + 1] << 8) | data[i + 2]);
    }
    return { colours: colours.size, painted: painted / (data.length / 16), width: c.width, height: c.height };
  }, testid);
}

async function waitForGeometry(page, { run, layer, minStep = 1 }) {
  await page.waitForFunction(
    ([r, l, s]) => {
      const g = document.querySelector('#geometry');
      return g.dataset.drawn === 'true' && g.dataset.run === r && g.dataset.layer === String(l) && Number(g.dataset.step) >= s;
    },
    [run, layer, minStep],
    { timeout: 60_000, polling: 200 },
  );
}

test('the geometry view draws the metric spectra and the selectors ν', { timeout: 180_000 }, async (t) => {
  const { page, errors } = await openPage(env.browser, env.server, t);
  try {
    const geometry = page.getByTestId('geometry');
    assert.equal(await geometry.getAttribute('data-drawn'), 'false');
    assert.equal(await page.getByTestId('geo-run').inputValue(), 'rngd', 'RNGD is shown by default');
    assert.equal(await page.getByTestId('geo-layer').inputValue(), '1', 'layer 1 is shown by default');
    assert.equal(await page.locator('#geo-layer option').count(), 4);

    await page.getByTestId('start').click();
    await waitForSteps(page, ['rngd'], 50, 120_000);
    await waitForGeometry(page, { run: 'rngd', layer: 1, minStep: 25 });

    // (a) one spectrum per neuron, (b) ν per sample and neuron: non-blank canvases.
    // Heat maps fill their plot area; bar charts only part of it.
    for (const [id, share] of [['geo-spectrum', 0.4], ['geo-nu', 0.4], ['geo-condition', 0.05], ['geo-nu-mean', 0.05]]) {
      const ink = await canvasInk(page, id);
      assert.ok(ink.width > 200 && ink.height > 50, `${id} size ${ink.width}×${ink.height}`);
      assert.ok(ink.painted > share, `${id}: only ${(100 * ink.painted).toFixed(1)} % painted`);
      assert.ok(ink.colours > 12, `${id}: only ${ink.colours} colours`);
    }
    const cond = await page.getByTestId('condition-text').innerText();
    assert.match(cond, /Condition numbers of the 80 neuron metrics \(81 × 81 each\): median κ = [\d.]+/);
    assert.match(await page.getByTestId('geo-meta').innerText(), /RNGD · layer 1 · step [\d,]+: the metric RNGD has learnt/);

    // Hovering a column reads out one neuron.
    const nu = page.getByTestId('geo-nu');
    const box = await nu.boundingBox();
    await nu.hover({ position: { x: box.width * 0.4, y: box.height / 2 } });
    await page.waitForFunction(() => /Neuron \d+ · κ = /.test(document.querySelector('[data-role="readout"]').textContent), null, {
      timeout: 5000,
    });
    await page.mouse.move(0, 0);

    // It refreshes on its own while training.
    const firstStep = Number(await geometry.getAttribute('data-step'));
    await waitForGeometry(page, { run: 'rngd', layer: 1, minStep: firstStep + 1 });

    // The input layer: one shared 785 × 785 metric.
    await page.getByTestId('geo-layer').selectOption('0');
    await waitForGeometry(page, { run: 'rngd', layer: 0 });
    assert.match(await page.getByTestId('condition-text').innerText(), /shared 785 × 785 metric: κ = [\d.]/);
    assert.ok((await canvasInk(page, 'geo-spectrum')).colours > 12);
    assert.equal(await page.getByTestId('geo-condition').isVisible(), false, 'no per-neuron bars for a shared metric');

    // The softmax layer has no ν.
    await page.getByTestId('geo-layer').selectOption('3');
    await waitForGeometry(page, { run: 'rngd', layer: 3 });
    assert.match(await page.getByTestId('condition-text').innerText(), /shared 81 × 81 metric/);

    // SGD steps without a metric but tracks RNGD's read-only: full rank, like RNGD's.
    await page.getByTestId('geo-layer').selectOption('1');
    await page.getByTestId('geo-run').selectOption('sgd');
    await waitForGeometry(page, { run: 'sgd', layer: 1 });
    assert.match(await page.getByTestId('geo-meta').innerText(), /tracked read-only beside SGD/);
    assert.match(await page.getByTestId('condition-text').innerText(), /median κ = [\d.]+/);

    await page.getByTestId('pause').click();
    await page.getByTestId('geo-run').selectOption('rngd');
    await page.getByTestId('geo-order').selectOption('nu');
    await waitForGeometry(page, { run: 'rngd', layer: 1 });
    await page.waitForTimeout(300);
    fs.mkdirSync(ARTIFACTS, { recursive: true });
    await page.getByTestId('geometry').screenshot({ path: path.join(ARTIFACTS, 'geometry.png') });
    assert.equal(await errorBanner(page), null);
    assert.deepEqual(errors, [], 'console errors');
  } catch (e) {
    await saveFailure(t, page);
    throw e;
  }
});
