// A screenshot of every view of the page, at desktop and phone width, in the
// light and the dark theme, after some training: the artifacts a reviewer
// looks at (tests/e2e/artifacts/view-*.png). The test also checks that each
// view is on screen with a size, so a view that collapsed to nothing fails.

import { test } from 'node:test';
import assert from 'node:assert/strict';

import { useBrowser, withPage, screenshot, artifactPath, waitForSteps, chooseRuns } from './helpers.mjs';

const env = useBrowser();

/** The page's views: [artifact name, selector]. */
const VIEWS = [
  ['controls', '#controls'],
  ['curves', '#charts'],
  ['draw', '#draw'],
  ['geometry', '#geometry'],
  ['lessons', '#lessons'],
];

const WIDTHS = [
  ['desktop', { width: 1280, height: 900 }],
  ['phone', { width: 360, height: 740 }],
];

for (const [device, viewport] of WIDTHS) {
  test(`every view has a screenshot at ${device} width, light and dark`, { timeout: 240_000 }, async (t) => {
    await withPage(
      env,
      t,
      async ({ page, errors }) => {
        await chooseRuns(page, ['sgd', 'adam']);
        await page.getByTestId('start').click();
        await waitForSteps(page, ['sgd', 'adam'], 50);
        await page.getByTestId('pause').click();
        for (const scheme of ['light', 'dark']) {
          await page.emulateMedia({ colorScheme: scheme });
          for (const [name, selector] of VIEWS) {
            const view = page.locator(selector);
            await view.scrollIntoViewIfNeeded();
            // Views that compute on sight (lessons, geometry) get a moment to draw.
            await page.waitForTimeout(name === 'lessons' || name === 'geometry' ? 1500 : 200);
            const box = await view.boundingBox();
            assert.ok(box && box.width > 0 && box.height > 0, `${name} has no size at ${device} width`);
            assert.ok(box.width <= viewport.width + 1, `${name} is wider (${box.width}px) than the ${device} viewport`);
            await view.screenshot({ path: artifactPath(`view-${name}-${device}-${scheme}.png`) });
          }
          // Each lesson on its own, as the README shows them.
          for (const article of await page.locator('#lessons article[data-lesson]').all()) {
            const name = await article.getAttribute('data-lesson');
            await article.scrollIntoViewIfNeeded();
            await page.waitForTimeout(1000);
            await article.screenshot({ path: artifactPath(`view-lesson-${name}-${device}-${scheme}.png`) });
          }
          await screenshot(page, `view-page-${device}-${scheme}.png`);
        }
        assert.deepEqual(errors, []);
      },
      { viewport },
    );
  });
}
