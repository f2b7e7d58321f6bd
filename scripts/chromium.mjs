// The flags every headless Chromium of this project starts with (the
// end-to-end tests and the browser benchmark; webdriver.json has the same
// list for wasm-pack test): WebGPU on, and nothing that reaches for the network.

export const CHROMIUM_ARGS = [
  '--enable-unsafe-webgpu',
  '--no-sandbox',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
