// Mounts the lessons of <section id="lessons">: each <article data-lesson=NAME>
// gets its module, ./NAME.js, whose `mount(article, compute)` builds the
// controls and plots. Nothing is loaded or computed at start-up: a lesson is
// mounted when its article first comes near the viewport (or is opened, for
// an article inside a closed <details>), and the lesson worker is started by
// the first request.
//
// compute(params, {mnist}) → Promise<result>: runs the lesson in the worker
// (the crate's runLesson). While a request of the same lesson is in flight,
// further calls are coalesced: only the newest parameters are computed next,
// and the calls they replaced resolve with that newest result, so a dragged
// slider never queues up stale work.

let worker = null;
let nextReq = 1;
const pending = new Map(); // req → {resolve, reject}

function getWorker() {
  if (!worker) {
    worker = new Worker(new URL('./worker.js', import.meta.url), { type: 'module' });
    worker.onmessage = (ev) => {
      const { req, data, error } = ev.data;
      const p = pending.get(req);
      if (!p) return;
      pending.delete(req);
      if (error !== undefined) p.reject(new Error(error));
      else p.resolve(data);
    };
    worker.onerror = (ev) => {
      const err = new Error(`The lesson worker failed: ${ev.message || 'unknown error'}`);
      for (const p of pending.values()) p.reject(err);
      pending.clear();
    };
  }
  return worker;
}

function request(name, params, mnist) {
  return new Promise((resolve, reject) => {
    const req = nextReq++;
    pending.set(req, { resolve, reject });
    getWorker().postMessage({ req, name, params, mnist: Boolean(mnist) });
  });
}

/** A lesson's compute function, with its requests coalesced. */
export function computeFor(name) {
  let running = false;
  let next = null; // {params, options, waiters: [{resolve, reject}]}
  const pump = async () => {
    running = true;
    while (next) {
      const job = next;
      next = null;
      try {
        const data = await request(name, job.params, job.options?.mnist);
        for (const w of job.waiters) w.resolve(data);
      } catch (e) {
        for (const w of job.waiters) w.reject(e);
      }
    }
    running = false;
  };
  return (params, options = {}) =>
    new Promise((resolve, reject) => {
      // A newer request replaces one not yet sent; its callers get the newer result.
      const waiters = next ? next.waiters : [];
      waiters.push({ resolve, reject });
      next = { params, options, waiters };
      if (!running) pump();
    });
}

async function mountLesson(article) {
  if (article.dataset.state) return;
  const name = article.dataset.lesson;
  article.dataset.state = 'loading';
  try {
    const mod = await import(`./${name}.js`);
    await mod.mount(article, computeFor(name));
    article.dataset.state = 'mounted';
  } catch (e) {
    article.dataset.state = 'error';
    showError(article, e);
  }
}

/** Shows a lesson's error in its article (one line, replaced by the next). */
export function showError(article, e) {
  let el = article.querySelector(':scope .lesson-error');
  if (!el) {
    el = document.createElement('p');
    el.className = 'lesson-error';
    el.setAttribute('role', 'alert');
    el.dataset.testid = 'lesson-error';
    article.append(el);
  }
  el.textContent = e ? (e instanceof Error ? e.message : String(e)) : '';
  el.hidden = !e;
}

function start() {
  const articles = [...document.querySelectorAll('#lessons article[data-lesson]')];
  if (!articles.length) return;
  const observer = new IntersectionObserver(
    (entries) => {
      for (const en of entries) {
        if (!en.isIntersecting) continue;
        observer.unobserve(en.target);
        mountLesson(en.target);
      }
    },
    { rootMargin: '300px 0px' },
  );
  for (const a of articles) {
    observer.observe(a);
    a.closest('details')?.addEventListener('toggle', (ev) => {
      if (ev.target.open) mountLesson(a);
    });
  }
  // A link to a lesson (#lesson-NAME) mounts it at once.
  const fromHash = () => {
    const a = document.getElementById(location.hash.slice(1));
    if (a?.matches('#lessons article[data-lesson]')) mountLesson(a);
  };
  window.addEventListener('hashchange', fromHash);
  fromHash();
}

if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start);
else start();
