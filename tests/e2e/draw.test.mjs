// End-to-end test of "Draw a digit": strokes drawn with the mouse, and a
// random test digit loaded from the keyboard, get a prediction from every run.
//   node --test --test-reporter=spec tests/e2e/draw.test.mjs

import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { READY_TIMEOUT, ARTIFACTS, useBrowser, withPage, errorBanner, chooseRuns, waitForSteps } from './helpers.mjs';

const env = useBrowser();
const RUNS = ['sgd', 'adam', 'rngd'];

/** Every run's block once `predicate(status text)` holds: [{run, label, probabilities}]. */
async function predictions(page, statusMatches) {
  await page.waitForFunction(
    ([ids, pattern]) => {
      const root = document.querySelector('#draw');
      const status = root.querySelector('[data-testid="draw-status"]').textContent;
      const blocks = [...root.querySelectorAll('[data-testid="draw-run"]')];
      return (
        root.dataset.predicted === 'true' &&
        new RegExp(pattern).test(status) &&
        ids.every((id) => blocks.some((b) => b.dataset.run === id && b.dataset.probabilities))
      );
    },
    [RUNS, statusMatches.source],
    { timeout: 30_000, polling: 100 },
  );
  return page.$$eval('#draw [data-testid="draw-run"]', (blocks) =>
    blocks.map((b) => ({ run: b.dataset.run, label: Number(b.dataset.label), probabilities: JSON.parse(b.dataset.probabilities) })),
  );
}

function assertValid(preds) {
  assert.deepEqual(preds.map((p) => p.run).sort(), [...RUNS].sort(), 'one prediction per run');
  for (const { run, label, probabilities } of preds) {
    assert.equal(probabilities.length, 10, `${run}: ten classes`);
    assert.ok(probabilities.every((p) => p >= 0 && p <= 1), `${run}: probabilities in [0, 1]: ${probabilities}`);
    const sum = probabilities.reduce((a, b) => a + b, 0);
    assert.ok(Math.abs(sum - 1) < 1e-4, `${run}: probabilities sum to ${sum}`);
    assert.equal(label, probabilities.indexOf(Math.max(...probabilities)), `${run}: the label is the most probable class`);
  }
}

/** A screenshot of the draw section alone, kept as an artifact. */
const shoot = (page, name) => page.getByTestId('draw').screenshot({ path: path.join(ARTIFACTS, name) });

/** Alpha (ink) summed over the 28×28 preview. */
const previewInk = (page) =>
  page.$eval('[data-testid="draw-preview"]', (c) =>
    c.getContext('2d').getImageData(0, 0, 28, 28).data.reduce((s, v, i) => (i % 4 === 3 ? s + v : s), 0),
  );

test('a drawn digit and a test digit get a prediction from every run', { timeout: READY_TIMEOUT + 240_000 }, async (t) => {
  await withPage(env, t, async ({ page, errors }) => {
    await chooseRuns(page, RUNS);
    await page.getByTestId('start').click();
    await waitForSteps(page, RUNS, 50, 180_000);
    assert.equal(await errorBanner(page), null, 'no error banner while training');

    // Draw a 7 with the mouse: a bar across the top, then a stroke down to the left.
    const pad = page.getByTestId('draw-pad');
    await pad.scrollIntoViewIfNeeded();
    const box = await pad.boundingBox();
    const at = (u, v) => [box.x + u * box.width, box.y + v * box.height];
    await page.mouse.move(...at(0.3, 0.25));
    await page.mouse.down();
    await page.mouse.move(...at(0.7, 0.25), { steps: 8 });
    await page.mouse.move(...at(0.45, 0.8), { steps: 12 });
    // Predictions come while the stroke is still being drawn (throttled), not only at the end.
    await page.waitForFunction(() => document.querySelector('#draw').dataset.predicted === 'true', null, { timeout: 30_000 });
    await page.mouse.up();
    await page.waitForTimeout(500); // the answer for the finished stroke
    const drawn = await predictions(page, /says/);
    assertValid(drawn);
    assert.ok((await previewInk(page)) > 255 * 20, 'the preprocessed 28×28 shows the drawing');
    console.log(`drawn 7: ${drawn.map((p) => `${p.run} says ${p.label}`).join(', ')}`);
    await shoot(page, 'draw-drawn.png');

    // The keyboard route: a random test digit, labelled, preprocessed the same way.
    await page.getByTestId('draw-random').focus();
    await page.keyboard.press('Enter');
    const test = await predictions(page, /^Test digit #\d+, labelled \d/);
    assertValid(test);
    const truth = Number(await page.getByTestId('draw').getAttribute('data-test-label'));
    assert.ok(truth >= 0 && truth <= 9, `the test digit's label ${truth}`);
    console.log(`test digit labelled ${truth}: ${test.map((p) => `${p.run} says ${p.label}`).join(', ')}`);
    await shoot(page, 'draw-test-digit.png');

    // Dark mode: the ink on the pad follows the theme (light strokes on a dark pad).
    await page.emulateMedia({ colorScheme: 'dark' });
    await page.waitForFunction(() => {
      const c = document.querySelector('[data-testid="draw-pad"]');
      const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
      for (let i = 0; i < d.length; i += 4) if (d[i + 3] === 255) return d[i] + d[i + 1] + d[i + 2] > 3 * 160;
      return false;
    }, null, { timeout: 5_000 });
    await shoot(page, 'draw-dark.png');
    await page.setViewportSize({ width: 360, height: 800 });
    const width = await page.getByTestId('draw').evaluate((el) => [el.scrollWidth, el.clientWidth]);
    assert.ok(width[0] <= width[1] + 1, `no sideways scrolling in the draw section at 360 px: ${width}`);
    await shoot(page, 'draw-phone.png');
    await page.emulateMedia({ colorScheme: 'light' });
    await page.setViewportSize({ width: 1280, height: 900 });

    // Clear empties the pad, the preview and the answers.
    await page.getByTestId('draw-clear').click();
    assert.equal(await page.getByTestId('draw').getAttribute('data-predicted'), 'false');
    assert.equal(await page.locator('#draw [data-testid="draw-run"]').count(), 0);
    assert.equal(await previewInk(page), 0);

    // The weights export the page's export bar saves: shapes follow the network.
    const weights = await page.evaluate(async () => {
      const w = await window.rngdLab.race.call('sgd', 'exportWeights');
      return {
        step: w.step,
        sizes: w.sizes,
        hidden: w.config.hidden,
        layers: w.layers.map((l) => [l.inputs, l.outputs, l.weights.length, l.biases.length]),
      };
    });
    assert.ok(weights.step >= 50, `exported at step ${weights.step}`);
    assert.deepEqual(weights.sizes, [784, ...weights.hidden, 10]);
    assert.deepEqual(
      weights.layers,
      weights.sizes.slice(1).map((out, l) => [weights.sizes[l], out, weights.sizes[l] * out, out]),
    );

    assert.deepEqual(errors, [], 'no console errors');
  });
});
