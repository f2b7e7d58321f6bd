// End-to-end tests of the page's look and its guarantees: the
// Content-Security-Policy (and no violation of it, no request off the
// origin), dark mode following the system, the phone layout (no sideways
// scrolling, Start and every run's results in view), visible keyboard focus,
// and the frame rate while training (measured and printed, not asserted).
//   node --test --test-reporter=spec tests/e2e/look.test.mjs
// Needs the wasm package in www/pkg/, the npm dependencies and Chromium.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { useBrowser, errorBanner, waitForSteps, screenshot, saveFailure, collectErrors, READY_TIMEOUT } from './helpers.mjs';

const RUNS = ['sgd', 'adam', 'rngd'];
const HASH = 'runs=sgd,adam,rngd&rngd-preset=fast';
const PHONE = { width: 360, height: 740 };
const DESKTOP = { width: 1280, height: 900 };

const env = useBrowser();

/**
 * Open the page with CSP violations recorded (window.__csp) and every request
 * off the server's origin blocked and counted.
 */
async function open(t, { viewport = DESKTOP, colorScheme = 'light', hash = HASH } = {}) {
  const context = await env.browser.newContext({ viewport, colorScheme });
  t.after(() => context.close().catch(() => {}));
  const origin = new URL(env.server.url).origin;
  const offOrigin = [];
  await context.route('**/*', (route) => {
    const url = route.request().url();
    if (url.startsWith(origin) || url.startsWith('data:') || url.startsWith('blob:')) return route.continue();
    offOrigin.push(url);
    return route.abort('blockedbyclient');
  });
  await context.addInitScript(() => {
    window.__csp = [];
    document.addEventListener('securitypolicyviolation', (e) =>
      window.__csp.push(`${e.violatedDirective}: ${e.blockedURI || '(inline)'} ${e.sourceFile}:${e.lineNumber}`),
    );
  });
  const page = await context.newPage();
  const errors = collectErrors(page);
  await page.goto(`${env.server.url}#${hash}`);
  await page.waitForFunction(
    () => document.body.dataset.ready === 'true' || !document.querySelector('#error').hidden,
    null,
    { timeout: READY_TIMEOUT, polling: 200 },
  );
  return { page, errors, offOrigin };
}

/** Frames drawn in `ms` milliseconds, counted with requestAnimationFrame, and the longest frame. */
const measureFps = (page, ms = 3000) =>
  page.evaluate(
    (duration) =>
      new Promise((resolve) => {
        let frames = 0;
        let worst = 0;
        const t0 = performance.now();
        let last = t0;
        const tick = (now) => {
          frames++;
          worst = Math.max(worst, now - last);
          last = now;
          if (now - t0 < duration) requestAnimationFrame(tick);
          else resolve({ fps: (frames - 1) / ((now - t0) / 1000), worstMs: worst });
        };
        requestAnimationFrame(tick);
      }),
    ms,
  );

test('the CSP allows only the page’s origin, and the page loads and trains under it without violations', { timeout: 240_000 }, async (t) => {
  const { page, errors, offOrigin } = await open(t);
  try {
    const csp = await page.locator('meta[http-equiv="Content-Security-Policy"]').getAttribute('content');
    const directives = Object.fromEntries(
      csp
        .split(';')
        .map((d) => d.trim().split(/\s+/))
        .filter((d) => d[0])
        .map(([k, ...v]) => [k, v.join(' ')]),
    );
    assert.equal(directives['default-src'], "'self'");
    assert.equal(directives['script-src'], "'self' 'wasm-unsafe-eval'", 'no unsafe-eval, no inline scripts');
    assert.equal(directives['style-src'], "'self'", 'no inline styles');
    assert.equal(directives['connect-src'], "'self'");
    assert.equal(directives['worker-src'], "'self'");
    assert.equal(directives['object-src'], "'none'");
    assert.equal(directives['base-uri'], "'none'");
    assert.equal(directives['form-action'], "'none'");
    assert.doesNotMatch(csp, /'unsafe-inline'|'unsafe-eval'|https?:|\*/);
    // Nothing in the served markup needs an exception: no inline style or script,
    // no inline handlers. (Styles set from scripts through the CSSOM are allowed.)
    const html = await page.evaluate(() => fetch('./').then((r) => r.text()));
    assert.doesNotMatch(html, /\sstyle\s*=/i, 'a style attribute in index.html');
    assert.doesNotMatch(html, /<style[\s>]/i, 'a <style> element in index.html');
    assert.doesNotMatch(html, /<script(?![^>]*\ssrc=)[^>]*>/i, 'an inline <script> in index.html');
    assert.doesNotMatch(html, /\son[a-z]+\s*=/i, 'an inline event handler in index.html');
    const handlers = await page.evaluate(
      () => [...document.querySelectorAll('*')].filter((el) => [...el.attributes].some((a) => /^on/i.test(a.name))).length,
    );
    assert.equal(handlers, 0, 'inline event handlers in the live page');

    assert.equal(await errorBanner(page), null);
    await page.getByTestId('start').click();
    await waitForSteps(page, RUNS, 50, 120_000);
    assert.equal(await errorBanner(page), null);
    // The views that draw on demand: the geometry refreshes, a chart exports.
    await page.getByTestId('pause').click();
    await page.waitForFunction(() => document.querySelector('#controls').dataset.mode === 'paused', null, { timeout: 20_000 });
    await page.waitForTimeout(500);
    assert.deepEqual(await page.evaluate(() => window.__csp), [], 'CSP violations');
    assert.deepEqual(offOrigin, [], 'requests off the page’s origin');
    assert.deepEqual(errors, [], 'console errors');

    // The policy is enforced (and the listener hears it): an inline style and a
    // request to another origin are refused by the browser itself.
    const probe = await page.evaluate(async () => {
      const div = document.createElement('div');
      div.innerHTML = '<span style="color: red">x</span>';
      document.body.append(div);
      const styled = getComputedStyle(div.firstChild).color;
      div.remove();
      let fetched = 'allowed';
      try {
        await fetch('https://example.com/');
      } catch (e) {
        fetched = 'refused';
      }
      await new Promise((r) => setTimeout(r, 100));
      return { styled, fetched, violations: window.__csp.map((v) => v.split(':')[0]) };
    });
    assert.notEqual(probe.styled, 'rgb(255, 0, 0)', 'an inline style attribute was applied');
    assert.equal(probe.fetched, 'refused');
    assert.ok(probe.violations.some((v) => v.startsWith('style-src')), `violations ${probe.violations}`);
    assert.ok(probe.violations.includes('connect-src'), `violations ${probe.violations}`);
    assert.deepEqual(offOrigin, [], 'the CSP refused the request before it left');
  } catch (e) {
    await saveFailure(t, page);
    throw e;
  }
});

test('dark mode follows the system: the background, the text and the charts’ colours change', { timeout: 180_000 }, async (t) => {
  const { page, errors } = await open(t);
  try {
    const look = () =>
      page.evaluate(() => {
        const root = getComputedStyle(document.documentElement);
        return {
          bg: getComputedStyle(document.body).backgroundColor,
          text: getComputedStyle(document.body).color,
          card: getComputedStyle(document.querySelector('.card')).backgroundColor,
          sgd: root.getPropertyValue('--run-sgd').trim(),
          strokes: window.rngdLab.charts.loss.strokes(),
        };
      });
    const lum = (rgb) => {
      const [r, g, b] = rgb.match(/\d+/g).map(Number);
      return 0.2126 * r + 0.7152 * g + 0.0722 * b;
    };
    const light = await look();
    await page.emulateMedia({ colorScheme: 'dark' });
    await page.waitForFunction((before) => getComputedStyle(document.body).backgroundColor !== before, light.bg, { timeout: 5000 });
    const dark = await look();
    assert.ok(lum(light.bg) > 200 && lum(dark.bg) < 40, `background ${light.bg} → ${dark.bg}`);
    assert.ok(lum(dark.text) > 180, `text ${dark.text} on dark`);
    assert.notEqual(dark.card, light.card);
    assert.notEqual(dark.sgd, light.sgd, 'the SGD colour is lighter on dark');
    assert.ok(light.strokes.length === 6 && light.strokes.every((c) => /^#|rgb/.test(c)), `resolved strokes ${light.strokes}`);
    assert.equal(dark.strokes[0], dark.sgd, 'the loss chart redrew with the dark palette');
    assert.notDeepEqual(dark.strokes, light.strokes);
    await screenshot(page, 'look-desktop-dark.png');
    await page.emulateMedia({ colorScheme: 'light' });
    await page.waitForFunction((before) => getComputedStyle(document.body).backgroundColor === before, light.bg, { timeout: 5000 });
    assert.deepEqual((await look()).strokes, light.strokes);
    assert.deepEqual(errors, [], 'console errors');
  } catch (e) {
    await saveFailure(t, page);
    throw e;
  }
});

test('keyboard focus is visible', { timeout: 120_000 }, async (t) => {
  const { page } = await open(t);
  try {
    const seen = [];
    for (let i = 0; i < 12; i++) {
      await page.keyboard.press('Tab');
      seen.push(
        await page.evaluate(() => {
          const el = document.activeElement;
          const s = getComputedStyle(el);
          const ring = s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) >= 1;
          return { tag: el.tagName, id: el.id || el.dataset.testid || '', ring };
        }),
      );
    }
    const focusable = seen.filter((s) => s.tag !== 'BODY');
    assert.ok(focusable.length >= 8, `focus reached ${JSON.stringify(seen)}`);
    const without = focusable.filter((s) => !s.ring);
    assert.deepEqual(without, [], 'elements focused by keyboard without a visible outline');
  } catch (e) {
    await saveFailure(t, page);
    throw e;
  }
});

test('on a 360 px phone nothing scrolls sideways; Start and each run’s results are in view', { timeout: 300_000 }, async (t) => {
  for (const colorScheme of ['light', 'dark']) {
    const { page, errors } = await open(t, { viewport: PHONE, colorScheme });
    try {
      const sideways = () => page.evaluate(() => [document.scrollingElement.scrollWidth, innerWidth]);
      let [scrollWidth, width] = await sideways();
      assert.ok(scrollWidth <= width, `${colorScheme}: the page is ${scrollWidth} px wide in a ${width} px viewport`);

      // Start is on the first screen.
      const start = page.getByTestId('start');
      const box = await start.boundingBox();
      assert.ok(box && box.y >= 0 && box.y + box.height <= PHONE.height && box.x >= 0 && box.x + box.width <= PHONE.width,
        `Start at ${JSON.stringify(box)}`);
      if (colorScheme === 'light') await screenshot(page, 'look-phone-top.png');

      await start.click();
      await waitForSteps(page, RUNS, 50, 180_000);
      assert.equal(await errorBanner(page), null);
      await page.getByTestId('pause').click();
      await page.waitForFunction(() => document.querySelector('#controls').dataset.mode === 'paused', null, { timeout: 20_000 });

      [scrollWidth, width] = await sideways();
      assert.ok(scrollWidth <= width, `${colorScheme}, after training: ${scrollWidth} px wide in ${width} px`);
      for (const run of RUNS) {
        for (const testid of ['train-loss', 'test-loss', 'test-accuracy']) {
          const cell = page.locator(`[data-testid="${testid}"][data-run="${run}"]`);
          await cell.scrollIntoViewIfNeeded();
          const b = await cell.boundingBox();
          assert.ok(b && b.width > 0 && b.x >= 0 && b.x + b.width <= PHONE.width, `${run} ${testid} at ${JSON.stringify(b)}`);
          // The value itself is inside the cell's box, not clipped.
          const clipped = await cell.evaluate((el) => el.scrollWidth > el.clientWidth + 1);
          assert.equal(clipped, false, `${run} ${testid} is clipped`);
          assert.match(await cell.innerText(), /\d/);
        }
      }
      // After a scroll back to the top the page is still no wider than the phone.
      await page.evaluate(() => scrollTo(0, 0));
      await screenshot(page, `look-phone-${colorScheme}.png`);
      assert.deepEqual(errors, [], 'console errors');
    } catch (e) {
      await saveFailure(t, page);
      throw e;
    }
  }
});

test('the frame rate while training is measured and printed', { timeout: 300_000 }, async (t) => {
  for (const [name, viewport] of [['desktop', DESKTOP], ['phone', PHONE]]) {
    // The page's own defaults: SGD, Adam and the literal RNGD, in lock-step.
    const { page } = await open(t, { viewport, hash: '' });
    try {
      const idle = await measureFps(page, 1500);
      await page.getByTestId('start').click();
      await waitForSteps(page, RUNS, 25, 120_000);
      const training = await measureFps(page, 3000);
      const steps = await page.evaluate(() => Number(document.querySelector('[data-testid="test-accuracy"][data-run="rngd"]').dataset.step));
      await page.getByTestId('pause').click();
      const line =
        `frame rate (${name}, ${viewport.width} px, SGD + Adam + RNGD training, default settings): ` +
        `${training.fps.toFixed(1)} fps, longest frame ${training.worstMs.toFixed(0)} ms ` +
        `(idle before training: ${idle.fps.toFixed(1)} fps; at step ${steps})`;
      console.log(line);
      t.diagnostic(line);
      // Measured, not asserted: the rate depends on the machine. It must be a real measurement.
      assert.ok(training.fps > 0 && Number.isFinite(training.fps));
    } catch (e) {
      await saveFailure(t, page);
      throw e;
    }
  }
});
