// The lab's wasm module is built with WebAssembly SIMD (simd128). A browser
// without it cannot even compile the module, so the page asks first, with a
// module of a few bytes, and says so plainly instead of failing later in a
// worker.

// (module (func (result v128) i32.const 0 i8x16.splat))
const SIMD_PROBE = new Uint8Array([
  0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, // magic, version 1
  0x01, 0x05, 0x01, 0x60, 0x00, 0x01, 0x7b, // type section: () -> v128
  0x03, 0x02, 0x01, 0x00, // function section: one function of type 0
  0x0a, 0x08, 0x01, 0x06, 0x00, 0x41, 0x00, 0xfd, 0x0f, 0x0b, // code: i32.const 0, i8x16.splat, end
]);

export const NO_SIMD_MESSAGE =
  'This browser lacks WebAssembly SIMD, which the lab’s build needs, so nothing can be trained here. ' +
  'Please use a current Chrome, Edge, Firefox or Safari.';

/** Null when WebAssembly with SIMD is there; otherwise the message for the page. */
export function missingWasmFeature() {
  if (typeof WebAssembly !== 'object' || typeof WebAssembly.validate !== 'function') {
    return 'This browser has no WebAssembly, which the lab needs. Please use a current Chrome, Edge, Firefox or Safari.';
  }
  try {
    if (WebAssembly.validate(SIMD_PROBE)) return null;
  } catch {
    // a browser that throws here has no SIMD either
  }
  return NO_SIMD_MESSAGE;
}
