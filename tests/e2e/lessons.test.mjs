// End-to-end tests of the lessons (a) Gaussian, (c) ReLU RFIM and (e) mirror
// descent: each mounts when scrolled into view, draws its canvases from the
// crate's numbers, and recomputes when a control changes.
//   node --test --test-reporter=spec tests/e2e/lessons.test.mjs

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { READY_TIMEOUT, useBrowser, withPage } from './helpers.mjs';
import { computed, assertDrawn, change } from './lesson-helpers.mjs';

const env = useBrowser();

test('the lessons section lists five lessons and computes none at start-up', { timeout: READY_TIMEOUT + 30_000 }, async (t) => {
  await withPage(env, t, async ({ page, errors }) => {
    const names = await page.locator('#lessons article[data-lesson]').evaluateAll((as) => as.map((a) => a.dataset.lesson));
    assert.deepEqual(names, ['gaussian', 'neuron', 'relu', 'exact', 'mirror']);
    assert.equal(await page.locator('#lesson-mirror').getAttribute('data-state'), null, 'a lesson far below the fold was mounted');
    assert.deepEqual(errors, []);
  });
});

test('(a) Gaussian: NGD is invariant, GD is not, and KL curves like the Fisher', { timeout: READY_TIMEOUT + 120_000 }, async (t) => {
  await withPage(env, t, async ({ page, errors }) => {
    await computed(page, 'gaussian');
    await assertDrawn(page, 'gaussian-surface');
    await assertDrawn(page, 'gaussian-invariance');
    const spread = page.getByTestId('gaussian-spread');
    // With the defaults (η ≈ 0.03) all three GD paths exist, and differ far more than NGD's.
    assert.equal(Number(await spread.getAttribute('data-gd-stopped')), 0);
    const ngd = Number(await spread.getAttribute('data-ngd'));
    const gd = Number(await spread.getAttribute('data-gd'));
    assert.ok(ngd < 0.1 * gd, `NGD spread ${ngd} vs GD ${gd}`);
    // KL / ½δᵀFδ → 1 as the step shrinks: the last row (smallest r) is close to 1.
    const ratios = await page.getByTestId('gaussian-kl').locator('tbody tr td:last-child').allInnerTexts();
    assert.equal(ratios.length, 4);
    assert.ok(Math.abs(Number(ratios[3]) - 1) < 0.05, `ratios ${ratios}`);

    const summary = page.locator('#lesson-gaussian [data-role="summary"]');
    const s0 = await summary.innerText();
    await change(page, 'gaussian', 'gaussian-scale', 'precision');
    const s1 = await summary.innerText();
    assert.notEqual(s1, s0, 'switching the parameterisation changed nothing');
    // NGD's final point is (nearly) the same in both parameterisations, GD's is not.
    const ngdAt = (s) => s.match(/NGD at μ = ([-\d.e]+), σ = ([-\d.e]+)/).slice(1).map(Number);
    const gdAt = (s) => s.match(/GD at μ = ([-\d.e]+), σ = ([-\d.e]+)/).slice(1).map(Number);
    assert.ok(Math.abs(ngdAt(s0)[1] - ngdAt(s1)[1]) < 0.05, `NGD σ ${ngdAt(s0)} vs ${ngdAt(s1)}`);
    assert.ok(Math.abs(gdAt(s0)[1] - gdAt(s1)[1]) > 0.05, `GD σ ${gdAt(s0)} vs ${gdAt(s1)}`);

    await change(page, 'gaussian', 'gaussian-steps', 40);
    assert.notEqual(await summary.innerText(), s1);
    // η = 0.1 is fine for σ and log σ, but GD in τ = 1/σ² overshoots below τ = 0 at once: the page says so.
    await change(page, 'gaussian', 'gaussian-eta', -1);
    assert.ok(Number(await spread.getAttribute('data-gd-stopped')) > 0);
    assert.match(await spread.innerText(), /GD in τ = 1\/σ² left its domain at step 1/);
    // A click on the surface moves the start point.
    const box = await page.getByTestId('gaussian-surface').boundingBox();
    const before = Number(await page.locator('#lesson-gaussian').getAttribute('data-computed'));
    await page.mouse.click(box.x + box.width * 0.3, box.y + box.height * 0.5);
    await computed(page, 'gaussian', before + 1);
    assert.deepEqual(errors, []);
  });
});

test('(c) ReLU RFIM: Monte Carlo matches the closed form, the bias moves ν', { timeout: READY_TIMEOUT + 120_000 }, async (t) => {
  await withPage(env, t, async ({ page, errors }) => {
    await computed(page, 'relu');
    await assertDrawn(page, 'relu-nu');
    await assertDrawn(page, 'relu-spectrum');
    const summary = page.getByTestId('relu-summary');
    const worst = Number(await page.getByTestId('relu-agreement').getAttribute('data-worst'));
    assert.ok(worst < 6, `Monte Carlo ${worst} SE from the closed form`);
    const active0 = Number(await summary.getAttribute('data-active'));
    await change(page, 'relu', 'relu-bias', -3);
    const active1 = Number(await summary.getAttribute('data-active'));
    assert.ok(active1 < active0, `a lower bias left ${active1} of ${active0} samples active`);
    assert.ok(Number(await summary.getAttribute('data-trace')) > 0);
    assert.match(await page.getByTestId('relu-shared').innerText(), /differ by 0/);

    await change(page, 'relu', 'relu-inputs', 'mnist');
    await page.getByTestId('relu-most').locator('canvas').first().waitFor();
    assert.equal(await page.getByTestId('relu-most').locator('canvas').count(), 6);
    assert.match(await summary.innerText(), /50 × 50 matrix/);
    assert.deepEqual(errors, []);
  });
});

test('(e) mirror descent: the iterates equal natural gradient in μ', { timeout: READY_TIMEOUT + 120_000 }, async (t) => {
  await withPage(env, t, async ({ page, errors }) => {
    await computed(page, 'mirror');
    await assertDrawn(page, 'mirror-path');
    await assertDrawn(page, 'mirror-loss');
    const summary = page.getByTestId('mirror-summary');
    assert.ok(Number(await summary.getAttribute('data-exact')) < 1e-9);
    // Only the chosen family's start and target controls show.
    assert.equal(await page.getByTestId('mirror-start').isVisible(), true);
    assert.equal(await page.getByTestId('mirror-m0').isVisible(), false);
    const rows = page.getByTestId('mirror-table').locator('tbody tr');
    assert.equal(await rows.count(), 13);
    const gap1 = Number(await summary.getAttribute('data-one-step'));
    assert.ok(gap1 > 0);
    // η from 0.32 to 0.16: the one-step gap shrinks (about 4× once η is small).
    await change(page, 'mirror', 'mirror-eta', Math.log10(0.15).toFixed(2));
    const gap2 = Number(await summary.getAttribute('data-one-step'));
    assert.ok(gap2 < gap1 / 2, `one-step gap ${gap1} then ${gap2}`);

    await change(page, 'mirror', 'mirror-family', 'gaussian');
    assert.equal(await page.getByTestId('mirror-m0').isVisible(), true);
    assert.equal(await page.getByTestId('mirror-start').isVisible(), false);
    assert.ok(Number(await summary.getAttribute('data-exact')) < 1e-9);
    assert.match(await rows.first().locator('td').nth(1).innerText(), /^\(/, 'Gaussian iterates have two coordinates');
    assert.deepEqual(errors, []);
  });
});
