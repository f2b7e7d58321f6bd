// End-to-end tests of the lessons (b) one sigmoid neuron on MNIST 3 vs 5 and
// (d) the exact natural gradient of a tiny MLP next to RNGD: each mounts when
// scrolled into view, draws its canvases from the crate's numbers, and
// recomputes when a control changes.
//   node --test --test-reporter=spec tests/e2e/lessons-bd.test.mjs

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { READY_TIMEOUT, useBrowser, withPage } from './helpers.mjs';
import { computed, assertDrawn, change } from './lesson-helpers.mjs';

const env = useBrowser();

/** The rows of a lesson table as arrays of cell texts. */
const rows = (page, testid) =>
  page.getByTestId(testid).locator('tbody tr').evaluateAll((trs) => trs.map((tr) => [...tr.cells].map((c) => c.textContent)));

/** The crate's own compute time, from a lesson's status line. */
async function computeMs(page, testid) {
  const m = (await page.getByTestId(testid).innerText()).match(/computed by the crate in ([\d.e+-]+) ms/);
  return m ? Number(m[1]) : NaN;
}

test('(b) one sigmoid neuron: NGD and whitening outrun GD, and the controls recompute', { timeout: READY_TIMEOUT + 180_000 }, async (t) => {
  await withPage(env, t, async ({ page, errors }) => {
    await computed(page, 'neuron');
    for (const id of ['neuron-loss', 'neuron-accuracy', 'neuron-spectrum']) await assertDrawn(page, id);
    console.log(`lesson (b), default settings: ${await computeMs(page, 'neuron-status')} ms in the crate (wasm)`);

    const table = await rows(page, 'neuron-table');
    assert.deepEqual(table.map((r) => r[0]), ['GD', 'NGD (RFIM)', 'whitened GD']);
    const finalLoss = (r) => Number.parseFloat(r[2]);
    const [gd, ngd, white] = table;
    assert.ok(finalLoss(ngd) < finalLoss(gd), `NGD ${ngd[2]} vs GD ${gd[2]}`);
    assert.ok(finalLoss(white) < finalLoss(gd), `whitened ${white[2]} vs GD ${gd[2]}`);
    // Steps to reach GD's final loss: GD needs all 100 of them, NGD a handful, whitened GD fewer than GD.
    assert.equal(gd[5], '100');
    assert.ok(Number(ngd[5]) <= 10 && Number(white[5]) < 100, `steps to GD's loss: ${ngd[5]}, ${white[5]}`);
    const metrics = await rows(page, 'neuron-metrics');
    assert.match(metrics[0][1], /^200 of 785$/, 'the second moment of 200 digits has rank 200');
    assert.ok(Number.parseFloat(metrics[0][4]) > 1e3, `κ of the second moment ${metrics[0][4]}`);
    assert.equal(await page.locator('[data-role="weights"] canvas').count(), 3);
    assert.equal(await page.locator('#lesson-neuron [data-role="nearest"] canvas').count(), 8);

    // A larger GD learning rate changes GD's numbers and leaves NGD's alone.
    await change(page, 'neuron', 'neuron-lr-gd', -0.7);
    const after = await rows(page, 'neuron-table');
    assert.equal(after[0][1], '0.2');
    assert.notEqual(after[0][2], gd[2], 'GD final loss did not change with its learning rate');
    assert.equal(after[1][2], ngd[2]);
    // Fewer digits: the metric's rank follows.
    await change(page, 'neuron', 'neuron-samples', 100);
    assert.match((await rows(page, 'neuron-metrics'))[0][1], /^100 of 785$/);
    console.log(`lesson (b), 100 digits: ${await computeMs(page, 'neuron-status')} ms in the crate (wasm)`);
    assert.deepEqual(errors, []);
  });
});

test('(d) exact natural gradient: ranks grow with the batch, damping turns the step to the gradient', { timeout: READY_TIMEOUT + 120_000 }, async (t) => {
  await withPage(env, t, async ({ page, errors }) => {
    await computed(page, 'exact');
    for (const id of ['exact-rank-curve', 'exact-spectrum', 'exact-matrices', 'exact-steps']) await assertDrawn(page, id);
    console.log(`lesson (d), default settings: ${await computeMs(page, 'exact-status')} ms in the crate (wasm)`);

    const ranks = page.getByTestId('exact-ranks');
    // Defaults: 2-3-3-2, 29 parameters, B = 8, C = 2: rank ≤ 8; RNGD's blocks are full rank.
    assert.match(await ranks.innerText(), /Full FIM: rank 8 of 29 \(bound min\(B·\(C − 1\), P\) = 8\)/);
    assert.equal(await ranks.getAttribute('data-rfim-rank'), '29');
    const blocks = await rows(page, 'exact-blocks');
    assert.equal(blocks.length, 5, 'input (shared), three per-neuron blocks, softmax (shared)');
    for (const b of blocks) assert.ok(Number(b[3]) <= Number(b[4]), `block rank ${b[3]} over its bound ${b[4]}`);

    await change(page, 'exact', 'exact-batch', 2);
    assert.equal(await ranks.getAttribute('data-fisher-rank'), '2');
    assert.ok(Number(await ranks.getAttribute('data-rfim-rank')) < 29, 'blocks of width 4 are singular with 2 points');

    const cosine = async () => Number(await page.getByTestId('exact-cosines').getAttribute('data-exact-rngd'));
    const before = await cosine();
    await change(page, 'exact', 'exact-damping', 4);
    assert.notEqual(await cosine(), before, 'the damping did not change the steps');
    assert.match(await page.getByTestId('exact-cosines').innerText(), /exact NG vs g 1(\.0+)?;/);
    assert.deepEqual(errors, []);
  });
});
