// The bundled MNIST subset: the four IDX files the page's workers and the
// benchmark page both load, fetched relative to this module (www/), so the
// list and the error messages live in one place.

const FILES = [
  'train-images-idx3-ubyte.gz',
  'train-labels-idx1-ubyte.gz',
  'test-images-idx3-ubyte.gz',
  'test-labels-idx1-ubyte.gz',
];

/** One of FILES' bytes, as served (the draw view reads the test digits alone). */
export async function fetchBytes(name) {
  const url = new URL(`assets/mnist/${name}`, import.meta.url);
  let res;
  try {
    res = await fetch(url);
  } catch (e) {
    throw new Error(`Could not fetch ${url.pathname}: ${e instanceof Error ? e.message : String(e)}`);
  }
  if (!res.ok) {
    throw new Error(`Could not fetch ${url.pathname}: HTTP ${res.status} ${res.statusText}`.trim());
  }
  return new Uint8Array(await res.arrayBuffer());
}

/** The four files' bytes, in the order `Dataset.fromIdx` takes them. */
export function fetchMnist() {
  return Promise.all(FILES.map(fetchBytes));
}
