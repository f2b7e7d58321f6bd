// Lesson worker: computes the page's lessons with the crate (runLesson), off
// the main thread so that dragging a lesson's control never stalls the page
// or the training runs. It loads the wasm package on the first request and the
// MNIST subset only when a lesson asks for it.
//
// page → worker  {req, name, params, mnist}   mnist: the lesson uses the dataset
// worker → page  {req, data}                  the lesson's result (plain data)
//                {req, error}                 a message (the crate's, naming the bad parameter)

import { fetchMnist } from '../mnist.js';

let wasm = null; // promise of the initialised module
let dataset = null; // promise of the Dataset

function messageOf(e) {
  if (e instanceof Error) return e.message || String(e);
  return typeof e === 'string' ? e : String(e);
}

function loadModule() {
  wasm ??= (async () => {
    let mod;
    try {
      mod = await import('../pkg/rngd_lab.js');
    } catch (e) {
      throw new Error(`The wasm package www/pkg/rngd_lab.js could not be loaded: ${messageOf(e)}`);
    }
    await mod.default();
    return mod;
  })();
  // A failure is not kept: the next request tries again.
  wasm.catch(() => {
    wasm = null;
  });
  return wasm;
}

function loadData(mod) {
  dataset ??= fetchMnist().then((bytes) => mod.Dataset.fromIdx(...bytes));
  const pending = dataset;
  pending.catch(() => {
    if (dataset === pending) dataset = null;
  });
  return pending;
}

// Requests are answered in order; the page coalesces a lesson's requests, so
// at most one per lesson waits here.
let queue = Promise.resolve();

self.onmessage = (ev) => {
  const { req, name, params, mnist } = ev.data;
  queue = queue.then(async () => {
    try {
      const mod = await loadModule();
      const data = mnist ? (await loadData(mod)).runLesson(name, params) : mod.runLesson(name, params);
      self.postMessage({ req, data });
    } catch (e) {
      self.postMessage({ req, error: messageOf(e) });
    }
  });
};
