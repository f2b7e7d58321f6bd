// Per-neuron RFIM update of RNGD, one dispatch for all neurons of a layer:
//
//   G_i <- (1 - lambda) * G_i + (lambda / B) * sum_k nu[k, i] * h[k] h[k]^T
//
// Each workgroup computes one 16x16 tile of one neuron's D x D metric. G is
// symmetric, so tiles below the diagonal are skipped and the tiles above it
// write their mirror image too: about half the multiply-adds of the literal
// update. This relies on G being symmetric on entry, which holds because it
// starts at the identity and every update is symmetric.

struct Params {
    batch: u32,    // B, samples in the minibatch
    dim: u32,      // D = d_in + 1, the augmented input width
    neurons: u32,  // m, neurons in the layer (one metric each)
    lambda: f32,   // EMA rate
}

@group(0) @binding(0) var<uniform> params: Params;
// Augmented inputs h~, B x D row-major; the last column is 1.
@group(0) @binding(1) var<storage, read> h: array<f32>;
// Selectors nu_f(w_i, h_k), B x m row-major.
@group(0) @binding(2) var<storage, read> nu: array<f32>;
// The metrics, m x D x D, updated in place.
@group(0) @binding(3) var<storage, read_write> g: array<f32>;

const TILE: u32 = 16u;

// A 16-sample slab of the two column blocks of h this tile needs, and the
// matching selectors: 2 KiB + 64 B of workgroup memory.
var<workgroup> rows_a: array<array<f32, TILE>, TILE>;  // [k][a]
var<workgroup> rows_b: array<array<f32, TILE>, TILE>;  // [k][b]
var<workgroup> sel: array<f32, TILE>;                    // [k]

@compute @workgroup_size(16, 16, 1)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
    // workgroup_id is uniform, so this early exit keeps the barriers below in uniform control flow.
    if (wg.y > wg.x) {
        return;
    }
    let neuron = wg.z;
    let dim = params.dim;
    let a = wg.y * TILE + lid.y;
    let b = wg.x * TILE + lid.x;

    var acc = 0.0;
    for (var k0 = 0u; k0 < params.batch; k0 += TILE) {
        // Thread (y, x) loads sample k0 + y, columns x of both blocks: reads along a row are contiguous.
        let k = k0 + lid.y;
        let col_a = wg.y * TILE + lid.x;
        let col_b = wg.x * TILE + lid.x;
        var va = 0.0;
        var vb = 0.0;
        if (k < params.batch) {
            if (col_a < dim) { va = h[k * dim + col_a]; }
            if (col_b < dim) { vb = h[k * dim + col_b]; }
        }
        rows_a[lid.y][lid.x] = va;
        rows_b[lid.y][lid.x] = vb;
        if (lid.y == 0u) {
            let ks = k0 + lid.x;
            var s = 0.0;
            if (ks < params.batch) { s = nu[ks * params.neurons + neuron]; }
            sel[lid.x] = s;
        }
        workgroupBarrier();
        for (var kk = 0u; kk < TILE; kk++) {
            acc += sel[kk] * rows_a[kk][lid.y] * rows_b[kk][lid.x];
        }
        workgroupBarrier();
    }

    if (a < dim && b < dim) {
        let base = neuron * dim * dim;
        let updated = (1.0 - params.lambda) * g[base + a * dim + b] + (params.lambda / f32(params.batch)) * acc;
        g[base + a * dim + b] = updated;
        if (wg.x != wg.y) {
            g[base + b * dim + a] = updated;
        }
    }
}
