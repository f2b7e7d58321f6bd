// End-to-end tests of bad input on the page: a network over the tab's memory
// budget is refused next to the hidden-sizes control before anything starts,
// and the wasm API the workers use (checkConfig, Trainer.create, step) refuses
// NaN, Infinity, functions and bad counts by name instead of training with a
// default or trapping.
//   node --test --test-reporter=spec tests/e2e/bad-input.test.mjs
// Needs the wasm package in www/pkg/, the npm dependencies and Chromium.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { useBrowser, withPage, errorBanner, chooseRuns, artifactPath } from './helpers.mjs';

const env = useBrowser();

test('RNGD at 4096,4096 shows the memory budget next to Hidden sizes and Start stays disabled', { timeout: 120_000 }, async (t) => {
  await withPage(env, t, async ({ page, errors }) => {
    assert.equal(await errorBanner(page), null);
    await chooseRuns(page, ['rngd']);
    const start = page.getByTestId('start');
    const hidden = page.getByTestId('hidden-input');
    const msg = page.getByTestId('hidden-error');
    assert.equal(await start.isDisabled(), false);

    await hidden.fill('4096,4096');
    await msg.waitFor({ state: 'visible', timeout: 10_000 });
    const text = await msg.innerText();
    // The crate's own message (src/memory), not a copy of the budget on the page.
    assert.match(text, /^Hidden sizes: this network needs [\d.]+ [KMGT]iB of memory, over the budget of 1 GiB/, text);
    assert.match(text, /the largest part is RNGD's per-neuron metrics of layer 1/, text);
    assert.equal(await hidden.getAttribute('aria-invalid'), 'true');
    assert.equal(await start.isDisabled(), true, 'Start is disabled while the message shows');
    assert.equal(await page.getByTestId('step').isDisabled(), true);
    assert.equal(await errorBanner(page), null, 'no banner: the message is next to the field');
    await hidden.scrollIntoViewIfNeeded();
    await page.getByTestId('hidden-input').locator('xpath=ancestor::fieldset[1]').screenshot({ path: artifactPath('bad-input-memory.png') });

    // A network that fits clears it.
    await hidden.fill('80,80');
    await msg.waitFor({ state: 'hidden', timeout: 10_000 });
    assert.equal(await start.isDisabled(), false);
    assert.deepEqual(errors, []);
  });
});

test('the wasm API refuses NaN, Infinity, functions and bad counts by name', { timeout: 120_000 }, async (t) => {
  await withPage(env, t, async ({ page, errors }) => {
    const result = await page.evaluate(async () => {
      const wasm = await import(new URL('pkg/rngd_lab.js', document.baseURI).href);
      await wasm.default();
      const { fetchMnist } = await import(new URL('mnist.js', document.baseURI).href);
      const { loadCrate } = await import(new URL('crate.js', document.baseURI).href);
      const data = wasm.Dataset.fromIdx(...(await fetchMnist()));
      const rows = data.trainLen;
      const refusal = async (promise) => {
        try {
          await promise;
          return null;
        } catch (e) {
          return { name: e?.name ?? null, field: e?.field ?? null, message: e?.message ?? String(e) };
        }
      };
      const out = {};
      out.checkNaN = wasm.checkConfig({ lr: NaN }, rows);
      out.checkInfinity = wasm.checkConfig({ optimizer: 'adam', lr: Infinity }, rows);
      out.checkMomentum = wasm.checkConfig({ momentum: NaN }, rows);
      out.checkFunction = wasm.checkConfig({ lr: () => 0.1 }, rows);
      out.checkLambda = wasm.checkConfig({ optimizer: 'rngd', rngd: { lambda: -Infinity } }, rows);
      out.checkNumber = wasm.checkConfig(42, rows);
      out.checkValid = wasm.checkConfig({ optimizer: 'rngd', lr: 0.05 }, rows);
      // The page's own wrapper maps hidden[1] to the hidden-sizes control.
      out.pageHidden = (await loadCrate()).checkConfig({ hidden: [80, 1.5] }, rows);
      out.createNaN = await refusal(wasm.Trainer.create({ lr: NaN, backend: 'cpu' }, data));
      out.createInfinity = await refusal(wasm.Trainer.create({ lr: Infinity, backend: 'cpu' }, data));
      const trainer = await wasm.Trainer.create({ lr: 0.05, hidden: [16], backend: 'cpu' }, data);
      out.stepMinus = await refusal(trainer.step(-1));
      out.stepNaN = await refusal(trainer.step(NaN));
      out.stepFraction = await refusal(trainer.step(1.5));
      out.stepOk = await refusal(trainer.step(2));
      out.neuron = await refusal(trainer.neuron(-1, 0, 1));
      out.lr = trainer.config().lr;
      trainer.free();
      return out;
    });
    const field = (problem) => problem && [problem.field, problem.message];
    assert.deepEqual(field(result.checkNaN), ['lr', 'invalid config: lr must be a finite number, got NaN']);
    assert.deepEqual(field(result.checkInfinity), ['lr', 'invalid config: lr must be a finite number, got Infinity']);
    assert.deepEqual(field(result.checkMomentum), ['momentum', 'invalid config: momentum must be a finite number, got NaN']);
    assert.equal(result.checkFunction.field, 'lr');
    assert.match(result.checkFunction.message, /^invalid config: lr must be .*, got a function$/);
    assert.deepEqual(field(result.checkLambda), ['rngd.lambda', 'invalid config: rngd.lambda must be a finite number, got -Infinity']);
    assert.equal(result.checkNumber.field, 'config');
    assert.match(result.checkNumber.message, /must be a plain object.*got 42$/);
    assert.equal(result.checkValid, null);
    assert.equal(result.pageHidden.field, 'hidden');
    assert.match(result.pageHidden.message, /^invalid config: hidden\[1\]: invalid type: floating point `1\.5`/);

    assert.deepEqual(result.createNaN, { name: 'Error', field: 'lr', message: 'invalid config: lr must be a finite number, got NaN' });
    assert.deepEqual(result.createInfinity, {
      name: 'Error',
      field: 'lr',
      message: 'invalid config: lr must be a finite number, got Infinity',
    });
    assert.match(result.stepMinus.message, /^Trainer\.step: n must be a whole number from 0 to 4294967295, got -1$/);
    assert.match(result.stepNaN.message, /^Trainer\.step: n must be a whole number from 0 to 4294967295, got NaN$/);
    assert.match(result.stepFraction.message, /got 1\.5$/);
    assert.equal(result.stepOk, null);
    assert.match(result.neuron.message, /^Trainer\.neuron: layer must be a whole number/);
    assert.equal(result.lr, 0.05);
    for (const r of [result.createNaN, result.stepMinus, result.stepNaN, result.neuron]) {
      assert.notEqual(r.name, 'RuntimeError', 'an error, not a trap');
    }
    assert.deepEqual(errors, []);
  });
});
