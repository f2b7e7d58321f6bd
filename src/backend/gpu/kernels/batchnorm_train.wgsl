// BNA's hidden layer in training mode, fused with its activation: a = f(z),
// batch statistics per column, x^ = (a - mean) / sqrt(var + eps), output
// scale * x^ + shift into the next layer's augmented input [h, 1]. Also moves
// the running statistics (unbiased variance, at the step's bias-corrected
// rate `bn_rate`, see bn_running_rate in src/model/mlp.rs) and writes RNGD's selectors.
// One workgroup per column; the batch is reduced in workgroup memory.

struct Params {
    rows: u32,
    width: u32,
    kind: u32,
    write_nu: u32,
    param: f32,
    omega: f32,
    eps: f32,
    scale_off: u32,  // offsets of scale and shift in the parameter arena
    shift_off: u32,
    pad0: u32,
    pad1: u32,
    pad2: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> z: array<f32>;              // rows x width
@group(0) @binding(2) var<storage, read> params: array<f32>;         // the arena
@group(0) @binding(3) var<storage, read_write> h: array<f32>;        // rows x (width + 1)
@group(0) @binding(4) var<storage, read_write> xhat: array<f32>;     // rows x width
@group(0) @binding(5) var<storage, read_write> stats: array<f32>;    // [mean | var | inv_std], 3 x width
@group(0) @binding(6) var<storage, read_write> running: array<f32>;  // [mean | var], 2 x width
@group(0) @binding(7) var<storage, read_write> nu: array<f32>;       // rows x width
@group(1) @binding(0) var<uniform> step: StepInfo;

// `WG` and `reduce` come from reduce64.wgsl.

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) li: vec3<u32>) {
    let j = wg.x;
    let lid = li.x;
    let w = p.width;
    let n = f32(p.rows);
    var s = 0.0;
    for (var k = lid; k < p.rows; k += WG) { s += act_f(p.kind, p.param, z[k * w + j]); }
    let mean = reduce(s, lid) / n;
    var q = 0.0;
    for (var k = lid; k < p.rows; k += WG) {
        let d = act_f(p.kind, p.param, z[k * w + j]) - mean;
        q += d * d;
    }
    let var_ = reduce(q, lid) / n;
    let inv_std = 1.0 / sqrt(var_ + p.eps);
    let scale = params[p.scale_off + j];
    let shift = params[p.shift_off + j];
    for (var k = lid; k < p.rows; k += WG) {
        let t = z[k * w + j];
        let xh = (act_f(p.kind, p.param, t) - mean) * inv_std;
        xhat[k * w + j] = xh;
        h[k * (w + 1u) + j] = xh * scale + shift;
        if (j == 0u) { h[k * (w + 1u) + w] = 1.0; }
        if (p.write_nu == 1u) { nu[k * w + j] = act_nu(p.kind, p.param, p.omega, t); }
    }
    if (lid == 0u) {
        stats[j] = mean;
        stats[w + j] = var_;
        stats[2u * w + j] = inv_std;
        let correction = select(1.0, n / (n - 1.0), p.rows > 1u);
        let a = step.bn_rate;
        running[j] = (1.0 - a) * running[j] + a * mean;
        running[w + j] = (1.0 - a) * running[w + j] + a * var_ * correction;
    }
}
