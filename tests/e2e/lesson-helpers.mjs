// What the lesson tests share: waiting for a lesson's next result, telling a
// drawn canvas from a blank one, and changing a control.

import assert from 'node:assert/strict';

/** Long enough for a lesson that loads the MNIST subset in the lesson worker first. */
const LESSON_TIMEOUT = 90_000;

/** Scrolls lesson `name` into view and waits for its computation number `n`;
 *  fails if the lesson shows an error instead. Resolves to its count. */
export async function computed(page, name, n = 1) {
  await page.locator(`#lesson-${name}`).scrollIntoViewIfNeeded();
  await page.waitForFunction(
    ([sel, k]) => {
      const a = document.querySelector(sel);
      return Number(a?.dataset.computed) >= k || a?.dataset.state === 'error' || a?.querySelector('.lesson-error:not([hidden])');
    },
    [`#lesson-${name}`, n],
    { timeout: LESSON_TIMEOUT, polling: 100 },
  );
  const err = page.locator(`#lesson-${name} .lesson-error:not([hidden])`);
  assert.equal(await err.count(), 0, `lesson ${name} shows an error: ${(await err.count()) && (await err.innerText())}`);
  return Number(await page.locator(`#lesson-${name}`).getAttribute('data-computed'));
}

/** How many distinct colours a canvas holds: a drawn plot has many, a blank one one. */
export function colours(page, testid) {
  return page.getByTestId(testid).evaluate((cv) => {
    const d = cv.getContext('2d').getImageData(0, 0, cv.width, cv.height).data;
    const seen = new Set();
    for (let i = 0; i < d.length; i += 4 * 7) seen.add((d[i] << 16) | (d[i + 1] << 8) | d[i + 2]);
    return seen.size;
  });
}

export async function assertDrawn(page, testid) {
  const n = await colours(page, testid);
  assert.ok(n > 20, `${testid} looks blank (${n} colours)`);
}

/** Sets a control (a range or text by value, a select by option) and waits for the lesson's next result. */
export async function change(page, name, testid, value) {
  const before = Number(await page.locator(`#lesson-${name}`).getAttribute('data-computed'));
  const el = page.getByTestId(testid);
  if ((await el.evaluate((e) => e.tagName)) === 'SELECT') await el.selectOption(String(value));
  else await el.fill(String(value));
  await computed(page, name, before + 1);
}
