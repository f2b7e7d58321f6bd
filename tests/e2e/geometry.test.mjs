// End-to-end tests of the geometry views: SGD's tracked metric, the neuron
// maps and the chosen neuron's panel, the ν selectors beside the batch's
// digits, the input metric's eigenvectors. The numbers the page shows (kept in
// data attributes beside what is drawn) must be the trainer's own, fetched
// here through the same race.call the page uses (window.rngdLab.race).
//   node --test --test-reporter=spec tests/e2e/geometry.test.mjs

import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { ARTIFACTS, READY_TIMEOUT, useBrowser, withPage, chooseRuns, waitForSteps, errorBanner } from './helpers.mjs';

const env = useBrowser();

/** Waits until the geometry view shows `run`'s layer `layer`, drawn and not busy. */
async function shown(page, run, layer) {
  await page.waitForFunction(
    ([r, l]) => {
      const g = document.querySelector('#geometry');
      return g.dataset.drawn === 'true' && g.dataset.run === r && g.dataset.layer === String(l) && !g.dataset.busy;
    },
    [run, layer],
    { timeout: 60_000, polling: 200 },
  );
}

async function select(page, run, layer) {
  const runs = page.getByTestId('geo-run');
  if ((await runs.inputValue()) !== run) await runs.selectOption(run);
  await page.getByTestId('geo-layer').selectOption(String(layer));
  await page.getByTestId('geo-refresh').click();
  await shown(page, run, layer);
}

/** Waits for the neuron panel to show `index` with its numbers fetched. */
async function neuronShown(page, index) {
  await page.waitForFunction(
    (i) => {
      const s = document.querySelector('[data-testid="geo-neuron"]');
      return !s.hidden && s.dataset.index === String(i) && !s.dataset.busy && s.dataset.eigenvalues;
    },
    index,
    { timeout: 30_000, polling: 200 },
  );
}

const call = (page, ...args) => page.evaluate((a) => window.rngdLab.race.call(...a), args);
const data = async (page, testid, key) => JSON.parse(await page.getByTestId(testid).getAttribute(`data-${key}`));

test('the geometry views show the trainer’s own numbers, for SGD’s tracked metric and RNGD’s', { timeout: READY_TIMEOUT + 240_000 }, async (t) => {
  await withPage(env, t, async ({ page, errors }) => {
    page.on('response', (r) => r.status() >= 400 && errors.push(`HTTP ${r.status()} ${r.url()}`));
    await chooseRuns(page, ['sgd', 'rngd']);
    await page.getByTestId('start').click();
    await waitForSteps(page, ['sgd', 'rngd'], 20, 120_000);
    await page.getByTestId('pause').click();
    await page.waitForFunction(() => document.querySelector('#controls').dataset.mode === 'paused', null, { timeout: 20_000 });
    assert.equal(await errorBanner(page), null);

    // SGD, layer 1: the metric RNGD would learn, tracked read-only.
    await select(page, 'sgd', 1);
    assert.equal(await page.locator('#geometry').getAttribute('data-source'), 'tracked');
    assert.match(await page.getByTestId('geo-meta').innerText(), /tracked read-only/);
    const d = await call(page, 'sgd', 'diagnostics', 1);
    assert.equal(d.source, 'tracked');
    assert.deepEqual(await data(page, 'geo-overview', 'max'), d.spectra.map((s) => s.max));
    assert.deepEqual(await data(page, 'geo-overview', 'trace'), d.spectra.map((s) => s.trace));
    assert.deepEqual(await data(page, 'geo-overview', 'condition'), d.spectra.map((s) => s.condition));
    assert.deepEqual(await data(page, 'geo-health', 'dead'), d.selectors.dead);
    assert.deepEqual(await data(page, 'geo-health', 'saturated'), d.selectors.saturated);
    assert.equal(await page.getByTestId('geo-fallbacks').getAttribute('data-count'), '0');
    assert.ok(d.batch_images instanceof Object && d.batch_images.length === d.nu.length * 784, 'the batch digits come with ν');
    assert.ok(d.batch_labels.every((y) => y >= 0 && y <= 9));
    assert.ok(await page.getByTestId('geo-digits').isVisible(), 'the batch digits are drawn beside the ν rows');

    // A click on neuron 3's cell in the λmax map opens its panel.
    const n = d.spectra.length;
    const cols = Math.ceil(Math.sqrt(2 * n));
    const map = page.locator('[data-testid="geo-overview"] canvas[data-map="max"]');
    const box = await map.boundingBox();
    const cell = box.width / cols;
    await map.click({ position: { x: 3.5 * cell, y: 0.5 * cell } });
    await neuronShown(page, 3);
    const n3 = await call(page, 'sgd', 'neuron', 1, 3, 4);
    assert.deepEqual(await data(page, 'geo-neuron', 'eigenvalues'), n3.eigenvalues);
    assert.deepEqual(await data(page, 'geo-neuron', 'informative'), n3.informative.slice(0, 12));
    assert.deepEqual(await data(page, 'geo-neuron', 'nu'), n3.nu);
    // Two eigen-solvers (with and without vectors) agree to f32 round-off, not to the bit.
    assert.ok(Math.abs(n3.eigenvalues[0] - d.spectra[3].max) <= 1e-5 * d.spectra[3].max, 'the panel and the layer view agree');
    assert.equal(await page.locator('[data-testid="geo-neuron-vectors"] canvas').count(), 4);
    assert.equal(await page.locator('[data-testid="geo-informative"] canvas').count(), Math.min(12, d.nu.length));

    // From the keyboard: focus the maps, two right, one down, Enter.
    await page.getByTestId('geo-overview').focus();
    for (const key of ['ArrowRight', 'ArrowRight', 'ArrowDown']) await page.keyboard.press(key);
    const expected = 3 + 2 + cols;
    assert.equal(await page.getByTestId('geo-overview').getAttribute('data-cursor'), String(expected));
    assert.match(await page.getByTestId('geo-cursor').innerText(), new RegExp(`^Neuron ${expected} `));
    await page.keyboard.press('Enter');
    await neuronShown(page, expected);
    const nk = await call(page, 'sgd', 'neuron', 1, expected, 4);
    assert.deepEqual(await data(page, 'geo-neuron', 'eigenvalues'), nk.eigenvalues);
    await page.locator('#geometry').screenshot({ path: path.join(ARTIFACTS, 'geometry-neuron.png') });

    // Layer 0: the input metric's spectrum and its eigenvectors as 28×28 images.
    await select(page, 'sgd', 0);
    await page.waitForFunction(
      () => {
        const s = document.querySelector('[data-testid="geo-input"]');
        return s.dataset.eigenvalues && !s.dataset.busy;
      },
      null,
      { timeout: 60_000, polling: 200 },
    );
    const input = await call(page, 'sgd', 'inputEigenvectors', 8);
    assert.deepEqual(await data(page, 'geo-input', 'eigenvalues'), input.eigenvalues.slice(0, 8));
    assert.equal(input.vectors[0].length, 785);
    assert.equal(await page.locator('[data-testid="geo-input-vectors"] canvas').count(), 8);
    assert.equal(await page.getByTestId('geo-neuron').isHidden(), true, 'a new layer closes the neuron panel');
    await page.getByTestId('geo-input').screenshot({ path: path.join(ARTIFACTS, 'geometry-input.png') });

    // RNGD's own metric, with its fallback count shown.
    await select(page, 'rngd', 1);
    assert.equal(await page.locator('#geometry').getAttribute('data-source'), 'rngd');
    const r = await call(page, 'rngd', 'diagnostics', 1);
    assert.deepEqual(await data(page, 'geo-overview', 'max'), r.spectra.map((s) => s.max));
    assert.equal(await page.getByTestId('geo-fallbacks').getAttribute('data-count'), String(r.inverse_fallbacks));
    assert.match(await page.getByTestId('geo-fallbacks').innerText(), /Inverse fallbacks in this layer: \d+/);

    await page.locator('#geometry').screenshot({ path: path.join(ARTIFACTS, 'geometry-desktop.png') });
    assert.deepEqual(errors, []);
  });
});

test('on a phone the geometry views fit the width and a neuron opens by touch', { timeout: READY_TIMEOUT + 180_000 }, async (t) => {
  await withPage(
    env,
    t,
    async ({ page, errors }) => {
      await chooseRuns(page, ['sgd']);
      await page.getByTestId('start').click();
      await waitForSteps(page, ['sgd'], 10, 120_000);
      await page.getByTestId('pause').click();
      await page.waitForFunction(() => document.querySelector('#controls').dataset.mode === 'paused', null, { timeout: 20_000 });
      await select(page, 'sgd', 1);
      const map = page.locator('[data-testid="geo-overview"] canvas[data-map="condition"]');
      const box = await map.boundingBox();
      await map.click({ position: { x: box.width / 20, y: box.height / 20 } });
      await neuronShown(page, 0);
      const overflow = await page.evaluate(() => {
        const g = document.querySelector('#geometry');
        return [...g.querySelectorAll('*')].filter((el) => el.getBoundingClientRect().right > window.innerWidth + 1).map((el) => el.tagName + '.' + el.className);
      });
      assert.deepEqual(overflow, [], 'nothing in the geometry section is wider than the phone');
      await page.locator('#geometry').screenshot({ path: path.join(ARTIFACTS, 'geometry-phone.png') });
      assert.deepEqual(errors, []);
    },
    { viewport: { width: 360, height: 740 } },
  );
});
