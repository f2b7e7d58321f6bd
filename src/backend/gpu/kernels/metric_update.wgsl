// RNGD's metric update, one dispatch for all neurons of a layer:
//
//   G_i <- (1 - lambda) * G_i + (lambda / B) * sum_k nu[k, i] * h[k] h[k]^T
//
// or, for a shared (linear-layer) metric, the same with every nu = 1.
//
// G is symmetric on entry (it starts at the identity and every update is
// symmetric), so only the upper triangle is read and computed.

struct Params {
    batch: u32,    // B, samples in the minibatch
    dim: u32,      // D = d_in + 1, the augmented input width
    neurons: u32,  // m, neurons in the layer (one metric each)
    lambda: f32,   // EMA rate
    one_metric: u32,  // 1: one metric for the layer, every selector 1 (the linear-layer RFIM)
    pad0: u32,
    pad1: u32,
    pad2: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
// Augmented inputs h~, B x D row-major; the last column is 1.
@group(0) @binding(1) var<storage, read> h: array<f32>;
// Selectors nu_f(w_i, h_k), B x m row-major.
@group(0) @binding(2) var<storage, read> nu: array<f32>;
// The metrics, m x D x D, updated in place.
@group(0) @binding(3) var<storage, read_write> g: array<f32>;

// Each invocation owns a 4x4 block of one neuron's metric, rows a0.. and
// columns b0.., on or above the diagonal: 16 multiply-adds per 8 loads. It
// writes each entry with a <= b and its mirror, so G stays exactly symmetric
// and only the upper triangle is computed: half the multiply-adds of the
// literal update. No workgroup memory or barriers (see gemm.wgsl for why).
@compute @workgroup_size(8, 8, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
    let a0 = gid.y * 4u;
    let b0 = gid.x * 4u;
    let neuron = gid.z;
    let dim = params.dim;
    if (a0 >= dim || b0 >= dim || a0 > b0) { return; }
    let last = dim - 1u;
    let ca = vec4<u32>(a0, min(a0 + 1u, last), min(a0 + 2u, last), min(a0 + 3u, last));
    let cb = vec4<u32>(b0, min(b0 + 1u, last), min(b0 + 2u, last), min(b0 + 3u, last));
    var acc0 = vec4<f32>(0.0);
    var acc1 = vec4<f32>(0.0);
    var acc2 = vec4<f32>(0.0);
    var acc3 = vec4<f32>(0.0);
    for (var k = 0u; k < params.batch; k++) {
        var s = 1.0;
        if (params.one_metric == 0u) { s = nu[k * params.neurons + neuron]; }
        let row = k * dim;
        let hb = vec4<f32>(h[row + cb.x], h[row + cb.y], h[row + cb.z], h[row + cb.w]);
        acc0 += (s * h[row + ca.x]) * hb;
        acc1 += (s * h[row + ca.y]) * hb;
        acc2 += (s * h[row + ca.z]) * hb;
        acc3 += (s * h[row + ca.w]) * hb;
    }
    let base = neuron * dim * dim;
    let scale = params.lambda / f32(params.batch);
    let accs = array<vec4<f32>, 4>(acc0, acc1, acc2, acc3);
    for (var i = 0u; i < 4u; i++) {
        let a = a0 + i;
        for (var j = 0u; j < 4u; j++) {
            let b = b0 + j;
            if (a < dim && b < dim && a <= b) {
                let updated = (1.0 - params.lambda) * g[base + a * dim + b] + scale * accs[i][j];
                g[base + a * dim + b] = updated;
                g[base + b * dim + a] = updated;
            }
        }
    }
}
