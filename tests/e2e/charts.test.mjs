// End-to-end tests of the curves and the export: empty axes before training,
// points on every series, log scale, smoothing, accuracy/error, legend
// toggles, zoom and its reset, and the exported CSV, JSON, PNG and weights.
//   node --test --test-reporter=spec tests/e2e/charts.test.mjs
// Needs the wasm package in www/pkg/, the npm dependencies and Chromium.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { ARTIFACTS, useBrowser, openPage, errorBanner, waitForSteps, screenshot, saveFailure } from './helpers.mjs';

const RUNS = ['sgd', 'adam', 'rngd'];
// The fast RNGD preset keeps the three runs quick on a busy machine.
const HASH = 'runs=sgd,adam,rngd&rngd-preset=fast&seed=3';

const env = useBrowser();

/** How many pixels of the chart's canvas are not transparent (axes, grid, lines). */
const inkedPixels = (page, id) =>
  page.evaluate((sel) => {
    const c = document.querySelector(`${sel} canvas`);
    const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
    let n = 0;
    for (let i = 3; i < d.length; i += 4) if (d[i] > 0) n++;
    return n;
  }, id);

/** Click `trigger` and return the download's file name and bytes. */
async function download(page, trigger) {
  const [dl] = await Promise.all([page.waitForEvent('download', { timeout: 20_000 }), trigger()]);
  const file = await dl.path();
  return { name: dl.suggestedFilename(), bytes: fs.readFileSync(file) };
}

/** A CSV line split into fields (quoted fields may hold commas and doubled quotes). */
function csvFields(line) {
  const out = [];
  let cur = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (quoted) {
      if (c === '"' && line[i + 1] === '"') {
        cur += '"';
        i++;
      } else if (c === '"') quoted = false;
      else cur += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      out.push(cur);
      cur = '';
    } else cur += c;
  }
  out.push(cur);
  return out;
}

/** The same bias-corrected EMA as chart.js, written out again to check it. */
function ema(values, a) {
  let m = 0;
  let w = 0;
  return values.map((v) => {
    m = a * m + (1 - a) * v;
    w = a * w + (1 - a);
    return m / w;
  });
}

test('curves: empty axes, every series, log scale, smoothing, error view, legend, zoom, export', { timeout: 420_000 }, async (t) => {
  const { page, errors } = await openPage(env.browser, env.server, t, { hash: HASH });
  try {
    assert.equal(await errorBanner(page), null);

    // ------------------------------------------------ before training: empty axes
    for (const id of ['#chart-loss', '#chart-accuracy']) {
      assert.equal(await page.locator(id).getAttribute('data-points'), '0');
      assert.equal(await page.locator(`${id} canvas`).count(), 1);
      const ink = await inkedPixels(page, id);
      assert.ok(ink > 2000, `${id}: the empty chart draws its axes and grid (${ink} pixels inked)`);
      await assert.doesNotReject(page.locator(`${id} .chart-empty`).waitFor({ state: 'visible', timeout: 2000 }));
    }
    assert.equal(await page.evaluate(() => window.rngdLab.charts.loss.scaleDistr()), 3, 'the loss starts on a log scale');

    // ------------------------------------------------------------- train a little
    await page.getByTestId('start').click();
    await waitForSteps(page, RUNS, 100, 240_000);
    assert.equal(await errorBanner(page), null);
    await page.getByTestId('pause').click();
    await page.waitForFunction(() => document.querySelector('#controls').dataset.mode === 'paused', null, { timeout: 20_000 });
    await page.waitForTimeout(300);

    const histories = await page.evaluate((ids) => Object.fromEntries(ids.map((id) => [id, window.rngdLab.history(id)])), RUNS);
    for (const id of RUNS) assert.ok(histories[id].length >= 4, `${id}: ${histories[id].length} points`);

    await t.test('every series has every point', async () => {
      const counts = await page.evaluate((ids) => {
        const { loss, accuracy } = window.rngdLab.charts;
        return Object.fromEntries(ids.map((id) => [id, [loss.pointCount(`${id}:train`), loss.pointCount(`${id}:test`), accuracy.pointCount(id)]]));
      }, RUNS);
      for (const id of RUNS) {
        const n = histories[id].length;
        assert.deepEqual(counts[id], [n, n, n], id);
      }
      // The raw values are the snapshots' own.
      const [xs, ys] = await page.evaluate(() => window.rngdLab.charts.loss.seriesData('rngd:test'));
      assert.deepEqual(xs, histories.rngd.map((s) => s.step));
      assert.deepEqual(ys, histories.rngd.map((s) => s.test_loss));
      for (const id of ['#chart-loss', '#chart-accuracy']) await page.locator(`${id} .chart-empty`).waitFor({ state: 'hidden' });
      // Train and test differ by more than colour: dash pattern and legend text.
      const legend = await page.locator('#chart-loss .u-legend').innerText();
      for (const run of ['SGD', 'Adam', 'RNGD( \\(fast\\))?']) {
        for (const part of ['train', 'test']) assert.match(legend, new RegExp(`${run} ${part}`));
      }
      const dashes = await page.evaluate(() =>
        [...document.querySelectorAll('#chart-loss .u-legend .u-series .u-marker')].map((m) => m.style.borderStyle).slice(1),
      );
      assert.deepEqual(dashes, ['solid', 'dashed', 'solid', 'dashed', 'solid', 'dashed']);
    });

    await t.test('the log toggle switches the loss scale', async () => {
      const box = page.getByTestId('loss-log');
      assert.equal(await box.isChecked(), true);
      await box.uncheck();
      assert.equal(await page.evaluate(() => window.rngdLab.charts.loss.scaleDistr()), 1);
      assert.equal(await page.locator('#chart-loss').getAttribute('data-log'), 'false');
      const linear = await page.evaluate(() => window.rngdLab.charts.loss.shownData('sgd:train'));
      assert.ok(linear.filter((v) => v != null).length === histories.sgd.length);
      await box.check();
      assert.equal(await page.evaluate(() => window.rngdLab.charts.loss.scaleDistr()), 3);
      assert.equal(await page.locator('#chart-loss').getAttribute('data-log'), 'true');
    });

    await t.test('smoothing draws a bias-corrected EMA and keeps the raw values', async () => {
      await page.getByTestId('loss-smoothing').evaluate((el) => {
        el.value = '0.6';
        el.dispatchEvent(new Event('input', { bubbles: true }));
      });
      const shown = (await page.evaluate(() => window.rngdLab.charts.loss.shownData('adam:train'))).filter((v) => v != null);
      const expected = ema(histories.adam.map((s) => s.train_loss), 0.6);
      assert.equal(shown.length, expected.length);
      shown.forEach((v, i) => assert.ok(Math.abs(v - expected[i]) <= 1e-9 * Math.abs(expected[i]), `point ${i}: ${v} vs ${expected[i]}`));
      assert.notEqual(shown[shown.length - 1], histories.adam[histories.adam.length - 1].train_loss);
      const [, raw] = await page.evaluate(() => window.rngdLab.charts.loss.seriesData('adam:train'));
      assert.deepEqual(raw, histories.adam.map((s) => s.train_loss), 'raw values are kept');
      await page.getByTestId('loss-smoothing').evaluate((el) => {
        el.value = '0';
        el.dispatchEvent(new Event('input', { bubbles: true }));
      });
      const back = (await page.evaluate(() => window.rngdLab.charts.loss.shownData('adam:train'))).filter((v) => v != null);
      assert.deepEqual(back, histories.adam.map((s) => s.train_loss));
    });

    await t.test('the accuracy chart shows the error on request', async () => {
      await page.getByTestId('accuracy-view').selectOption('error');
      const shown = (await page.evaluate(() => window.rngdLab.charts.accuracy.shownData('sgd'))).filter((v) => v != null);
      const expected = histories.sgd.map((s) => 100 - 100 * s.test_accuracy);
      shown.forEach((v, i) => assert.ok(Math.abs(v - expected[i]) < 1e-9, `error ${v} vs ${expected[i]}`));
      assert.match(await page.locator('#chart-accuracy').getAttribute('data-view'), /error/);
      // The error on a log scale.
      await page.getByTestId('accuracy-log').check();
      assert.equal(await page.evaluate(() => window.rngdLab.charts.accuracy.scaleDistr()), 3);
      const logShown = (await page.evaluate(() => window.rngdLab.charts.accuracy.shownData('sgd'))).filter((v) => v != null);
      assert.equal(logShown.length, expected.filter((v) => v > 0).length);
      await page.getByTestId('accuracy-log').uncheck();
      assert.equal(await page.evaluate(() => window.rngdLab.charts.accuracy.scaleDistr()), 1);
      await page.getByTestId('accuracy-view').selectOption('accuracy');
      const acc = (await page.evaluate(() => window.rngdLab.charts.accuracy.shownData('sgd'))).filter((v) => v != null);
      acc.forEach((v, i) => assert.ok(Math.abs(v - 100 * histories.sgd[i].test_accuracy) < 1e-9));
    });

    await t.test('a click on a legend entry hides its line, a second shows it', async () => {
      const entry = page.locator('#chart-loss .u-legend .u-series', { hasText: 'Adam test' }).locator('th');
      await entry.click();
      assert.equal(await page.evaluate(() => window.rngdLab.charts.loss.isVisible('adam:test')), false);
      assert.equal(await page.locator('#chart-loss').getAttribute('data-hidden'), 'adam:test');
      assert.match(await entry.getAttribute('aria-pressed'), /false/);
      assert.equal(await page.evaluate(() => window.rngdLab.charts.loss.isVisible('adam:train')), true);
      // By keyboard too.
      await entry.focus();
      await page.keyboard.press('Enter');
      assert.equal(await page.evaluate(() => window.rngdLab.charts.loss.isVisible('adam:test')), true);
      assert.equal(await page.locator('#chart-loss').getAttribute('data-hidden'), '');
    });

    await t.test('hovering a point shows its values in the legend', async () => {
      const { min, max } = await page.evaluate(() => window.rngdLab.charts.loss.xRange());
      const over = page.locator('#chart-loss .u-over');
      const box = await over.boundingBox();
      const i = 1;
      const x = box.x + ((histories.sgd[i].step - min) / (max - min)) * box.width;
      await page.mouse.move(x, box.y + box.height / 2);
      const values = await page.evaluate(() =>
        Object.fromEntries(
          [...document.querySelectorAll('#chart-loss .u-legend .u-series')].map((row) => [
            row.querySelector('.u-label').textContent,
            row.querySelector('.u-value').textContent,
          ]),
        ),
      );
      assert.equal(Number(Object.values(values)[0]), histories.sgd[i].step, `hovered x: ${JSON.stringify(values)}`);
      const close = (text, v) => Math.abs(Number(text) - v) <= 1e-3 * Math.abs(v);
      assert.ok(close(values['SGD train'], histories.sgd[i].train_loss), `SGD train ${values['SGD train']} vs ${histories.sgd[i].train_loss}`);
      assert.ok(close(values['Adam test'], histories.adam[i].test_loss), `Adam test ${values['Adam test']} vs ${histories.adam[i].test_loss}`);
      await page.mouse.move(box.x - 40, box.y - 40);
    });

    await t.test('dragging zooms in on x, Reset zoom and a double-click undo it', async () => {
      const full = await page.evaluate(() => window.rngdLab.charts.loss.xRange());
      const steps = histories.sgd.map((s) => s.step);
      assert.equal(full.min, steps[0]);
      assert.equal(full.max, steps[steps.length - 1]);
      const reset = page.getByTestId('loss-reset-zoom');
      assert.equal(await reset.isDisabled(), true);

      const over = page.locator('#chart-loss .u-over');
      const box = await over.boundingBox();
      const drag = async () => {
        await page.mouse.move(box.x + box.width * 0.3, box.y + box.height / 2);
        await page.mouse.down();
        await page.mouse.move(box.x + box.width * 0.5, box.y + box.height / 2, { steps: 5 });
        await page.mouse.move(box.x + box.width * 0.7, box.y + box.height / 2, { steps: 5 });
        await page.mouse.up();
      };
      await drag();
      const zoomed = await page.evaluate(() => window.rngdLab.charts.loss.xRange());
      const span = full.max - full.min;
      assert.ok(Math.abs(zoomed.min - (full.min + 0.3 * span)) < 0.05 * span, `zoomed min ${zoomed.min} of ${JSON.stringify(full)}`);
      assert.ok(Math.abs(zoomed.max - (full.min + 0.7 * span)) < 0.05 * span, `zoomed max ${zoomed.max} of ${JSON.stringify(full)}`);
      assert.equal(await page.locator('#chart-loss').getAttribute('data-zoomed'), 'true');
      assert.equal(await reset.isDisabled(), false);
      await reset.click();
      assert.deepEqual(await page.evaluate(() => window.rngdLab.charts.loss.xRange()), full);
      assert.equal(await reset.isDisabled(), true);

      await drag();
      assert.equal(await page.evaluate(() => window.rngdLab.charts.loss.isZoomed()), true);
      await over.dblclick({ position: { x: box.width / 2, y: box.height / 2 } });
      assert.deepEqual(await page.evaluate(() => window.rngdLab.charts.loss.xRange()), full);
      assert.equal(await page.locator('#chart-loss').getAttribute('data-zoomed'), 'false');
    });

    await t.test('the keyboard zooms and pans as the mouse does', async () => {
      const range = () => page.evaluate(() => window.rngdLab.charts.loss.xRange());
      const full = await range();
      const span = full.max - full.min;
      await page.locator('#chart-loss').focus();
      await page.keyboard.press('+');
      const inner = await range();
      const mid = (full.min + full.max) / 2;
      assert.ok(Math.abs(inner.min - (mid - span / 4)) < 1e-9 * span && Math.abs(inner.max - (mid + span / 4)) < 1e-9 * span, JSON.stringify(inner));
      await page.keyboard.press('ArrowLeft');
      const left = await range();
      assert.ok(Math.abs(left.min - (inner.min - span / 8)) < 1e-9 * span, `panned ${JSON.stringify(left)}`);
      await page.keyboard.press('ArrowLeft');
      await page.keyboard.press('ArrowLeft');
      assert.equal((await range()).min, full.min, 'panning stops at the first point');
      await page.keyboard.press('0');
      assert.deepEqual(await range(), full);
      assert.equal(await page.locator('#chart-loss').getAttribute('data-zoomed'), 'false');
    });

    await t.test('the curves export as CSV with every point and each run’s config', async () => {
      const { name, bytes } = await download(page, () => page.getByTestId('export-csv').click());
      assert.match(name, /^rngd-lab-curves-\d{8}-\d{6}\.csv$/);
      const lines = bytes.toString('utf8').trim().split('\n');
      const head = csvFields(lines[0]);
      for (const col of ['run', 'label', 'step', 'epoch', 'seconds', 'train_loss', 'test_loss', 'test_accuracy', 'config.optimizer', 'config.seed']) {
        assert.ok(head.includes(col), `column ${col} in ${head.join(',')}`);
      }
      const rows = lines.slice(1).map(csvFields);
      assert.equal(rows.length, RUNS.reduce((n, id) => n + histories[id].length, 0));
      const col = (c) => head.indexOf(c);
      for (const id of RUNS) {
        const mine = rows.filter((r) => r[col('run')] === id);
        assert.deepEqual(mine.map((r) => Number(r[col('step')])), histories[id].map((s) => s.step));
        assert.deepEqual(mine.map((r) => Number(r[col('train_loss')])), histories[id].map((s) => s.train_loss));
        assert.deepEqual(mine.map((r) => Number(r[col('test_accuracy')])), histories[id].map((s) => s.test_accuracy));
        assert.ok(mine.every((r) => r[col('config.optimizer')] === id && r[col('config.seed')] === '3'));
      }
    });

    await t.test('the curves export as JSON with every point and each run’s config', async () => {
      const { name, bytes } = await download(page, () => page.getByTestId('export-json').click());
      assert.match(name, /^rngd-lab-curves-\d{8}-\d{6}\.json$/);
      const record = JSON.parse(bytes.toString('utf8'));
      assert.equal(record.kind, 'rngd-lab curves');
      assert.deepEqual(record.runs.map((r) => r.id), RUNS);
      for (const r of record.runs) {
        assert.deepEqual(r.points, histories[r.id]);
        assert.equal(r.config.optimizer, r.id);
        assert.equal(r.config.seed, 3);
      }
      assert.equal(record.runs.find((r) => r.id === 'rngd').config.rngd != null, true, 'RNGD’s preset settings are in its config');
    });

    await t.test('each chart exports as a readable PNG', async () => {
      for (const chart of ['loss', 'accuracy']) {
        const { name, bytes } = await download(page, () => page.getByTestId(`${chart}-png`).click());
        assert.match(name, new RegExp(`^rngd-lab-${chart}-\\d{8}-\\d{6}\\.png$`));
        assert.deepEqual([...bytes.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], 'PNG signature');
        // IHDR: width and height, big-endian, at bytes 16 and 20; the plot plus a title and legend.
        const [w, h] = [bytes.readUInt32BE(16), bytes.readUInt32BE(20)];
        const plot = await page.evaluate((id) => document.querySelector(`#chart-${id} canvas`).getBoundingClientRect().toJSON(), chart);
        assert.equal(w, Math.round(plot.width));
        assert.ok(h > plot.height + 40, `PNG ${w}×${h} for a plot of ${plot.width}×${plot.height}`);
        assert.ok(bytes.length > 5000, `${bytes.length} bytes`);
        fs.mkdirSync(ARTIFACTS, { recursive: true });
        fs.writeFileSync(path.join(ARTIFACTS, `export-${chart}.png`), bytes);
      }
    });

    await t.test('a run’s weights and config export as JSON', async () => {
      const runIds = await page.locator('[data-testid="export-run"] option').evaluateAll((os) => os.map((o) => o.value));
      assert.deepEqual(runIds, RUNS);
      await page.getByTestId('export-run').selectOption('sgd');
      const status = page.getByTestId('export-status');
      const [d] = await Promise.all([page.waitForEvent('download', { timeout: 30_000 }), page.getByTestId('export-weights').click()]);
      const record = JSON.parse(fs.readFileSync(await d.path(), 'utf8'));
      assert.match(d.suggestedFilename(), /^rngd-lab-weights-sgd-\d{8}-\d{6}\.json$/);
      assert.equal(record.run, 'sgd');
      assert.equal(record.config.optimizer, 'sgd');
      // The trainer's step: that of the run's last point, or past it by the steps of a slice not yet tested.
      const coordinatorStep = await page.evaluate(() => window.__rngdLab.steps().sgd);
      assert.ok(record.step >= histories.sgd[histories.sgd.length - 1].step, `weights at step ${record.step}`);
      if (Number.isFinite(coordinatorStep)) assert.equal(record.step, coordinatorStep);
      assert.deepEqual(record.sizes, [784, 80, 80, 80, 10]);
      assert.equal(record.layers.length, 4, 'four weight layers');
      record.layers.forEach((layer, i) => {
        assert.equal(layer.inputs, record.sizes[i]);
        assert.equal(layer.outputs, record.sizes[i + 1]);
        assert.equal(layer.weights.length, layer.inputs * layer.outputs);
        assert.equal(layer.biases.length, layer.outputs);
        assert.ok(layer.weights.every(Number.isFinite) && layer.biases.every(Number.isFinite));
      });
      // Real weights, not a placeholder: many distinct values.
      assert.ok(new Set(record.layers[0].weights.slice(0, 100)).size > 50);
      assert.match(await status.innerText(), /Saved the SGD run's weights/);

      // The file is the network: its forward pass (plain ReLU net, z = h·W + b, softmax)
      // gives the trainer's own probabilities for an input.
      assert.equal(record.config.arch, 'plain');
      assert.equal(record.config.activation, 'relu');
      const pixels = Array.from({ length: 784 }, (_, i) => ((i * 37) % 256) / 255);
      const predicted = await page.evaluate((px) => window.rngdLab.race.call('sgd', 'predict', new Float32Array(px)), pixels);
      let h = pixels;
      record.layers.forEach((layer, l) => {
        const z = layer.biases.slice();
        for (let i = 0; i < layer.inputs; i++) {
          if (h[i] === 0) continue;
          for (let j = 0; j < layer.outputs; j++) z[j] += h[i] * layer.weights[i * layer.outputs + j];
        }
        h = l < record.layers.length - 1 ? z.map((v) => Math.max(0, v)) : z;
      });
      const top = Math.max(...h);
      const e = h.map((v) => Math.exp(v - top));
      const sum = e.reduce((a, v) => a + v, 0);
      const probs = e.map((v) => v / sum);
      const theirs = Array.from(predicted.probabilities);
      probs.forEach((p, k) => assert.ok(Math.abs(p - theirs[k]) < 1e-4, `class ${k}: ${p} from the file, ${theirs[k]} from the trainer`));
      assert.equal(probs.indexOf(Math.max(...probs)), predicted.label);
    });

    await screenshot(page, 'charts.png');
    assert.deepEqual(errors, [], 'console errors');
  } catch (e) {
    await saveFailure(t, page);
    throw e;
  }
});
