// End-to-end tests of the controls: the crate's own limits shown next to
// their fields, every control in the URL hash, the presets and the fast
// switch, single steps, one optimizer alone, reset to the same initial
// weights, and a diverging run that stops alone.
//   node --test tests/e2e/controls.test.mjs
// Needs the wasm package in www/pkg/, the npm dependencies and Chromium.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { useBrowser, withPage, errorBanner, chooseRuns, cell, runStep, waitForSteps, screenshot } from './helpers.mjs';

const env = useBrowser();
const RUNS = ['sgd', 'adam', 'rngd'];

const mode = (page) => page.locator('#controls').getAttribute('data-mode');
const waitMode = (page, modes) =>
  page.waitForFunction((ms) => ms.includes(document.querySelector('#controls').dataset.mode), modes, { timeout: 60_000 });
/** Every named control of the form: text and selects as strings, checkboxes as booleans. */
const formState = (page) =>
  page.evaluate(() =>
    Object.fromEntries(
      [...document.querySelectorAll('#controls form [name]')].map((el) => [el.name, el.type === 'checkbox' ? el.checked : el.value]),
    ),
  );
const history = (page, id) => page.evaluate((x) => window.rngdLab.history(x), id);
const openGroup = async (page, testid) => {
  const d = page.getByTestId(testid);
  if (!(await d.evaluate((el) => el.open))) await d.locator('summary').click();
};

test('the crate refuses an absurd SGD learning rate next to its field; fixing it clears the message', { timeout: 120_000 }, async (t) => {
  await withPage(env, t, async ({ page, errors }) => {
    assert.equal(await errorBanner(page), null);
    const lr = page.getByTestId('lr-sgd');
    const msg = page.getByTestId('lr-sgd-error');
    const start = page.getByTestId('start');
    assert.equal(await start.isDisabled(), false);

    // The crate's limit (lr ≤ 100), not a copy of it on the page.
    await lr.fill('1e9');
    await msg.waitFor({ state: 'visible', timeout: 5000 });
    assert.match(await msg.innerText(), /^SGD learning rate: lr 1e9 is too large \(at most 100\)\.$/);
    assert.equal(await lr.getAttribute('aria-invalid'), 'true');
    assert.match(await lr.getAttribute('aria-describedby'), /lr-sgd-error/);
    assert.equal(await lr.getAttribute('aria-label'), 'SGD learning rate');
    assert.equal(await msg.getAttribute('role'), 'alert');
    assert.equal(await start.isDisabled(), true, 'Start is disabled while a message shows');
    assert.equal(await page.getByTestId('step').isDisabled(), true);
    assert.equal(await errorBanner(page), null, 'no banner: the message is next to the field');
    // Only SGD's field: the other runs' fields stay clean.
    for (const id of ['adam', 'rngd']) assert.equal(await page.getByTestId(`lr-${id}-error`).isHidden(), true);
    // With SGD off, its learning rate does not matter.
    await chooseRuns(page, ['adam', 'rngd']);
    await msg.waitFor({ state: 'hidden', timeout: 5000 });
    assert.equal(await start.isDisabled(), false);
    await chooseRuns(page, RUNS);
    await msg.waitFor({ state: 'visible', timeout: 5000 });

    // The page itself catches what is not a number, before the crate.
    await lr.fill('abc');
    assert.match(await msg.innerText(), /must be a number/);
    // Fixed: the message goes at once.
    await lr.fill('0.05');
    await msg.waitFor({ state: 'hidden', timeout: 5000 });
    assert.equal(await lr.getAttribute('aria-invalid'), 'false');
    assert.equal(await start.isDisabled(), false);

    // Other fields map the crate's field names: hidden sizes, batch, RNGD's λ.
    const hidden = page.getByTestId('hidden-input');
    await hidden.fill('80,x');
    assert.match(await page.getByTestId('hidden-error').innerText(), /whole numbers separated by commas/);
    await hidden.fill('80,0');
    assert.match(await page.getByTestId('hidden-error').innerText(), /^Hidden sizes: .*hidden width/);
    assert.equal(await start.isDisabled(), true);
    await hidden.fill('');
    await page.getByTestId('hidden-error').waitFor({ state: 'hidden', timeout: 5000 });
    const batch = page.getByTestId('batch-input');
    await batch.fill('0');
    assert.match(await page.getByTestId('batch-error').innerText(), /^Batch size: .*batch must be in 1\.\.=/);
    await batch.fill('');
    // A message inside the collapsed RNGD group opens it (the value typed in
    // while it was closed: as a link would set it).
    assert.equal(await page.getByTestId('rngd-settings').evaluate((el) => el.open), false);
    await page.getByTestId('rngd-lambda').evaluate((el) => {
      el.value = '2';
      el.dispatchEvent(new Event('input', { bubbles: true }));
    });
    await page.getByTestId('rngd-lambda-error').waitFor({ state: 'visible', timeout: 5000 });
    assert.match(await page.getByTestId('rngd-lambda-error').innerText(), /^RNGD λ.*lambda must be in \(0, 1\]/);
    assert.equal(await page.getByTestId('rngd-settings').evaluate((el) => el.open), true);
    await page.getByTestId('rngd-lambda').fill('0.01');
    await page.getByTestId('rngd-lambda-error').waitFor({ state: 'hidden', timeout: 5000 });

    // Valid again: Start trains with the fixed value, and no banner is left over.
    await chooseRuns(page, ['sgd']);
    await start.click();
    await waitForSteps(page, ['sgd'], 25);
    assert.equal(await errorBanner(page), null);
    assert.equal(await cell(page, 'lr-in-force', 'sgd').innerText(), '0.05');
    await page.getByTestId('pause').click();
    assert.deepEqual(errors, [], 'console errors');
  });
});

test('a link with bad values opens with their messages and nothing can start', { timeout: 60_000 }, async (t) => {
  await withPage(
    env,
    t,
    async ({ page, errors }) => {
      await page.getByTestId('lr-sgd-error').waitFor({ state: 'visible', timeout: 10_000 });
      assert.match(await page.getByTestId('lr-sgd-error').innerText(), /at most 100/);
      assert.match(await page.getByTestId('hidden-error').innerText(), /hidden width/);
      assert.equal(await page.getByTestId('start').isDisabled(), true);
      assert.equal(await page.getByTestId('step').isDisabled(), true);
      assert.equal(await errorBanner(page), null);
      assert.match(await page.evaluate(() => location.hash), /lr-sgd=1e9/, 'the link is kept as it was');
      assert.deepEqual(errors, []);
    },
    { hash: 'lr-sgd=1e9&hidden=80,0' },
  );
});

test('every control round-trips through the URL hash', { timeout: 120_000 }, async (t) => {
  let hash;
  let wanted;
  await withPage(env, t, async ({ page }) => {
    await chooseRuns(page, ['sgd', 'rngd']);
    await page.getByTestId('arch-select').selectOption('bna');
    await page.getByTestId('activation-select').selectOption('tanh');
    await page.getByTestId('backend-select').selectOption('cpu');
    await page.getByTestId('free-running').setChecked(true);
    const texts = {
      'lr-sgd': '0.05',
      'lr-adam': '0.002',
      'lr-rngd': '0.02',
      'hidden-input': '64,32',
      'batch-input': '100',
      'seed-input': '7',
    };
    for (const [id, v] of Object.entries(texts)) await page.getByTestId(id).fill(v);
    await openGroup(page, 'advanced');
    await page.getByTestId('l2-input').fill('0.0005');
    await page.getByTestId('spf-input').fill('5');
    await openGroup(page, 'rngd-settings');
    const rngd = {
      'rngd-lambda': '0.01',
      'rngd-refresh': '50',
      'rngd-eps-rel': '0.001',
      'rngd-omega': '0.5',
      'rngd-metric-every': '2',
      'rngd-input-rank': '8',
    };
    for (const [id, v] of Object.entries(rngd)) await page.getByTestId(id).fill(v);
    wanted = await formState(page);
    assert.equal(wanted.preset, 'custom');
    assert.equal(wanted['fast-rngd'], false);
    assert.equal(await errorBanner(page), null);
    assert.equal(await page.getByTestId('start').isDisabled(), false, 'all of it is valid');
    hash = await page.evaluate(() => location.hash);
    for (const part of ['runs=sgd,rngd', 'arch=bna', 'act=tanh', 'backend=cpu', 'mode=free', 'hidden=64,32', 'batch=100', 'seed=7', 'l2=0.0005', 'spf=5', 'lr-adam=0.002', 'rngd-omega=0.5', 'rngd-input-rank=8']) {
      assert.ok(hash.includes(part), `${part} in ${hash}`);
    }
  });
  // A fresh page from the link has every control as it was.
  await withPage(
    env,
    t,
    async ({ page, errors }) => {
      const got = await formState(page);
      // Every control of the form, none forgotten.
      assert.deepEqual(Object.keys(wanted).sort(), [
        'activation', 'arch', 'backend', 'batch', 'fast-rngd', 'free', 'hidden', 'l2',
        'lr-adam', 'lr-rngd', 'lr-sgd', 'on-adam', 'on-rngd', 'on-sgd', 'preset',
        'rngd-eps-rel', 'rngd-input-rank', 'rngd-lambda', 'rngd-metric-every', 'rngd-omega', 'rngd-refresh',
        'seed', 'spf',
      ]);
      assert.deepEqual(got, wanted);
      assert.equal(await page.evaluate(() => location.hash), hash, 'and the same link');
      assert.deepEqual(errors, []);
    },
    { hash },
  );
  // A preset by link (every preset field), and an old link's `rngd-preset=fast`.
  await withPage(
    env,
    t,
    async ({ page }) => {
      assert.equal(await page.getByTestId('fast-rngd').isChecked(), true);
      assert.equal(await page.getByTestId('preset-select').inputValue(), 'fast');
      assert.match(await page.evaluate(() => location.hash), /rngd-metric-every=\d+/);
    },
    { hash: 'runs=sgd,rngd&rngd-preset=fast' },
  );
});

test('presets fill the controls; an edit shows "custom"; the fast switch is RNGD’s fast preset', { timeout: 120_000 }, async (t) => {
  await withPage(env, t, async ({ page, errors }) => {
    const preset = page.getByTestId('preset-select');
    const fast = page.getByTestId('fast-rngd');
    const value = (id) => page.getByTestId(id).inputValue();
    const crate = await page.evaluate(() => window.rngdLab.presets().find((p) => p.name === 'fast').settings);
    assert.equal(await preset.inputValue(), 'paper', 'the default form is the paper setting');
    assert.deepEqual(await preset.locator('option').allTextContents(), ['Paper setting', 'Quick demo', 'Fast RNGD', 'Ill-conditioned', 'Custom']);

    await preset.selectOption('quick');
    assert.equal(await value('hidden-input'), '32,32');
    assert.equal(await value('batch-input'), '50');
    assert.equal(await fast.isChecked(), true);
    assert.match(await page.getByTestId('preset-description').innerText(), /^Quick demo: /);

    await preset.selectOption('ill');
    assert.equal(await value('activation-select'), 'sigmoid');
    assert.equal(await value('arch-select'), 'plain');
    assert.equal(await value('hidden-input'), '', 'back to the default network');
    assert.equal(await fast.isChecked(), false);

    await preset.selectOption('fast');
    assert.equal(await value('activation-select'), 'relu');
    assert.equal(await value('rngd-metric-every'), String(crate.metric_every));
    assert.equal(await value('rngd-input-rank'), String(crate.input_rank));
    assert.equal(await value('rngd-refresh'), String(crate.refresh));
    assert.equal(await fast.isChecked(), true);

    // An edit makes it custom; undoing the edit finds the preset again.
    await page.getByTestId('hidden-input').fill('100');
    assert.equal(await preset.inputValue(), 'custom');
    await page.getByTestId('hidden-input').fill('');
    assert.equal(await preset.inputValue(), 'fast');

    // The switch off: the literal algorithm (empty fields = the crate's defaults), the paper setting again.
    await fast.setChecked(false);
    assert.equal(await value('rngd-metric-every'), '');
    assert.equal(await preset.inputValue(), 'paper');
    await fast.setChecked(true);
    assert.equal(await preset.inputValue(), 'fast');
    // Editing a speed field turns the switch off.
    await openGroup(page, 'rngd-settings');
    await page.getByTestId('rngd-metric-every').fill('3');
    assert.equal(await fast.isChecked(), false);
    assert.equal(await preset.inputValue(), 'custom');

    // The fast preset goes into the run: the crate labels it.
    await preset.selectOption('fast');
    await chooseRuns(page, ['rngd']);
    await page.getByTestId('backend-select').selectOption('cpu');
    await page.getByTestId('step').click();
    await waitForSteps(page, ['rngd'], 1);
    assert.equal(await page.locator('tr.run-row[data-run="rngd"] .run-label').innerText(), 'RNGD (fast)');
    assert.deepEqual(errors, []);
  });
});

test('Step advances every run by exactly one step with a point; Reset gives the same first point', { timeout: 120_000 }, async (t) => {
  await withPage(
    env,
    t,
    async ({ page, errors }) => {
      const step = page.getByTestId('step');
      await step.click();
      await waitForSteps(page, RUNS, 1);
      await waitMode(page, ['paused']);
      assert.deepEqual(await page.evaluate(() => window.__rngdLab.steps()), { sgd: 1, adam: 1, rngd: 1 });
      const first = Object.fromEntries(await Promise.all(RUNS.map(async (id) => [id, await history(page, id)])));
      for (const id of RUNS) {
        assert.deepEqual(first[id].map((s) => s.step), [1], `${id}: one point at step 1`);
        assert.equal(await cell(page, 'steps', id).innerText(), '1');
      }
      assert.equal(await page.evaluate(() => window.rngdLab.charts.accuracy.pointCount('sgd')), 1, 'the chart has the point');

      // Again: step 2, one more point each.
      await step.click();
      await waitForSteps(page, RUNS, 2);
      await waitMode(page, ['paused']);
      assert.deepEqual(await page.evaluate(() => window.__rngdLab.steps()), { sgd: 2, adam: 2, rngd: 2 });
      for (const id of RUNS) assert.deepEqual((await history(page, id)).map((s) => s.step), [1, 2]);

      // Reset: new runs from the same initial weights, so the same first step gives the same point.
      await page.getByTestId('reset').click();
      await waitMode(page, ['ready']);
      for (const id of RUNS) assert.equal((await history(page, id)).length, 0);
      await step.click();
      await waitForSteps(page, RUNS, 1);
      for (const id of RUNS) {
        const again = await history(page, id);
        assert.equal(again.length, 1);
        for (const key of ['step', 'train_loss', 'test_loss', 'test_accuracy']) {
          assert.equal(again[0][key], first[id][0][key], `${id} ${key} after reset`);
        }
      }
      // Then Start goes on from there in lock-step, and points line up at multiples of 25.
      await page.getByTestId('start').click();
      await waitForSteps(page, RUNS, 25);
      await page.getByTestId('pause').click();
      await waitMode(page, ['paused']);
      for (const id of RUNS) assert.equal((await history(page, id))[1].step, 25);
      assert.deepEqual(errors, []);
    },
    { hash: 'backend=cpu' },
  );
});

test('one optimizer on its own: one worker, one row, its points', { timeout: 120_000 }, async (t) => {
  await withPage(env, t, async ({ page, errors }) => {
    await chooseRuns(page, ['adam']);
    await page.getByTestId('start').click();
    await waitForSteps(page, ['adam'], 50);
    assert.equal(await errorBanner(page), null);
    assert.equal(await page.evaluate(() => window.__rngdLab.workers), 1);
    assert.deepEqual(await page.evaluate(() => window.rngdLab.race.runIds()), ['adam']);
    assert.equal(await cell(page, 'run-state', 'adam').innerText(), 'training');
    for (const id of ['sgd', 'rngd']) assert.equal(await cell(page, 'run-state', id).innerText(), 'not included');
    const h = await history(page, 'adam');
    assert.ok(h.length >= 2 && h[h.length - 1].train_loss < h[0].train_loss, 'Adam alone learns');
    assert.match(await page.evaluate(() => location.hash), /runs=adam(&|$)/);
    // Three steps per frame (from the link): the points still fall on every 25th step.
    assert.equal(await page.getByTestId('spf-input').inputValue(), '3');
    assert.ok(h.every((s, i) => s.step === 25 * (i + 1)), `steps ${h.map((s) => s.step)}`);
    await page.getByTestId('pause').click();
    assert.deepEqual(errors, []);
  }, { hash: 'spf=3' });
});

test('a run that diverges stops alone, says at which step, and the others go on', { timeout: 180_000 }, async (t) => {
  await withPage(
    env,
    t,
    async ({ page, errors }) => {
      // The largest learning rate the crate accepts; SGD diverges within its first few steps.
      await page.getByTestId('lr-sgd').fill('100');
      await page.getByTestId('start').click();
      const message = page.locator('[data-testid="run-message"][data-run="sgd"]');
      await message.waitFor({ state: 'visible', timeout: 60_000 });
      const text = await message.innerText();
      const m = /^SGD diverged at step (\d+) \(the loss (?:became \S+|reached [^)]+)\) and was stopped; Adam and RNGD go on\. The learning rate \(lr = 100; sgd's default is 0\.1\) is the likely cause: try a smaller one\.$/.exec(
        text,
      );
      assert.ok(m, `the message: ${text}`);
      const at = Number(m[1]);
      assert.ok(at >= 1, `step ${at}`);
      // The table shows the step it diverged at, also before any point.
      assert.equal(await cell(page, 'steps', 'sgd').innerText(), String(at));
      assert.equal(await cell(page, 'run-state', 'sgd').innerText(), 'stopped (error)');
      assert.equal(await errorBanner(page), null, 'no banner for one run');
      const from = Math.max(await runStep(page, 'adam'), await runStep(page, 'rngd'));
      await waitForSteps(page, ['adam', 'rngd'], from + 50);
      for (const id of ['adam', 'rngd']) assert.equal(await cell(page, 'run-state', id).innerText(), 'training');
      assert.equal(await cell(page, 'steps', 'sgd').innerText(), String(at), 'the diverged run stays where it stopped');
      await screenshot(page, 'controls-diverged.png');
      await page.getByTestId('pause').click();
      assert.deepEqual(errors, []);
    },
    { hash: 'backend=cpu' },
  );
});
